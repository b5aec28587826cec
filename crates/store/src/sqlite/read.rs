//! Reads of whole traces from the embedded engine.

use std::collections::HashMap;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use sightline_core::{Observation, ProjectId, Resource, SpanId, TraceId};

use super::rows::{decode_log, decode_resource, decode_span, LogColumns, SpanColumns};
use super::SqliteStore;
use crate::{
    ObservationPage, ObservationQuery, StoreError, TraceDetail, TracePage, TraceQuery, TraceReader,
    TraceSummary,
};

#[async_trait]
impl TraceReader for SqliteStore {
    async fn trace(
        &self,
        project: ProjectId,
        trace_id: TraceId,
        payloads: bool,
    ) -> Result<Option<TraceDetail>, StoreError> {
        self.with_conn(move |conn| read_trace(conn, project.0, &trace_id, payloads))
            .await
    }

    async fn list_traces(
        &self,
        project: ProjectId,
        query: &TraceQuery,
    ) -> Result<TracePage, StoreError> {
        self.list_traces_impl(project, query).await
    }

    async fn list_observations(
        &self,
        project: ProjectId,
        query: &ObservationQuery,
    ) -> Result<ObservationPage, StoreError> {
        self.list_observations_impl(project, query).await
    }

    async fn observation(
        &self,
        project: ProjectId,
        trace_id: TraceId,
        span_id: SpanId,
    ) -> Result<Option<(Resource, Observation)>, StoreError> {
        self.observation_impl(project, trace_id, span_id).await
    }
}

fn read_trace(
    conn: &mut Connection,
    project: i64,
    trace_id: &TraceId,
    payloads: bool,
) -> Result<Option<TraceDetail>, StoreError> {
    let tid = &trace_id.0[..];
    let summary = conn
        .prepare_cached(
            "SELECT root_name, root_span_id, start_ns, end_ns, span_count, error_count, input_tokens, \
             output_tokens, total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, \
             cost_nano_usd, service, agent, user_id, session_id, tenant_id \
             FROM traces WHERE project_id = ?1 AND trace_id = ?2",
        )?
        .query_row(params![project, tid], |r| {
            Ok(TraceSummary {
                trace_id: trace_id.to_hex(),
                root_name: r.get(0)?,
                root_span_id: r.get::<_, Option<Vec<u8>>>(1)?.map(|b| hex::encode(&b)),
                start_ns: r.get(2)?,
                end_ns: r.get(3)?,
                span_count: r.get(4)?,
                error_count: r.get(5)?,
                input_tokens: r.get(6)?,
                output_tokens: r.get(7)?,
                total_tokens: r.get(8)?,
                cache_read_tokens: r.get(9)?,
                cache_write_tokens: r.get(10)?,
                reasoning_tokens: r.get(11)?,
                cost_nano_usd: r.get(12)?,
                service_name: r.get(13)?,
                agent_name: r.get(14)?,
                user_id: r.get(15)?,
                session_id: r.get(16)?,
                tenant_id: r.get(17)?,
            })
        })
        .optional()?;
    let has_logs = |conn: &Connection| -> Result<bool, StoreError> {
        Ok(conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM logs WHERE project_id = ?1 AND trace_id = ?2)",
            )?
            .query_row(params![project, tid], |r| r.get::<_, bool>(0))?)
    };
    // A trace known only from its logs (spans not arrived, or an agent sending only events)
    // still reads back, with an empty span list.
    let summary = match summary {
        Some(s) => s,
        None if has_logs(conn)? => TraceSummary {
            trace_id: trace_id.to_hex(),
            ..Default::default()
        },
        None => return Ok(None),
    };

    let mut resource_index: HashMap<i64, usize> = HashMap::new();
    let mut resources = Vec::new();
    let mut index_of = |conn: &Connection, hash: i64| -> Result<usize, StoreError> {
        if let Some(i) = resource_index.get(&hash) {
            return Ok(*i);
        }
        let blob: Option<Vec<u8>> = conn
            .prepare_cached("SELECT attributes FROM resources WHERE project_id = ?1 AND hash = ?2")?
            .query_row(params![project, hash], |r| r.get(0))
            .optional()?;
        let attributes = match blob {
            Some(b) => decode_resource(&b)?,
            None => Vec::new(),
        };
        resources.push(Resource { attributes });
        resource_index.insert(hash, resources.len() - 1);
        Ok(resources.len() - 1)
    };

    let mut rows = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT trace_id, span_id, parent_span_id, start_ns, duration_ns, kind, name, status, service, \
             agent, provider, model, input_tokens, output_tokens, total_tokens, cache_read_tokens, \
             cache_write_tokens, reasoning_tokens, cost_nano_usd, user_id, session_id, tenant_id, \
             resource_hash, detail, payload \
             FROM spans WHERE project_id = ?1 AND trace_id = ?2 ORDER BY start_ns, span_id",
        )?;
        let mapped = stmt.query_map(params![project, tid], |r| {
            Ok((
                SpanColumns {
                    trace_id: r.get(0)?,
                    span_id: r.get(1)?,
                    parent_span_id: r.get(2)?,
                    start_ns: r.get(3)?,
                    duration_ns: r.get(4)?,
                    kind: r.get(5)?,
                    name: r.get(6)?,
                    status: r.get(7)?,
                    service: r.get(8)?,
                    agent: r.get(9)?,
                    provider: r.get(10)?,
                    model: r.get(11)?,
                    tokens: [
                        r.get(12)?,
                        r.get(13)?,
                        r.get(14)?,
                        r.get(15)?,
                        r.get(16)?,
                        r.get(17)?,
                    ],
                    cost_nano_usd: r.get(18)?,
                    user_id: r.get(19)?,
                    session_id: r.get(20)?,
                    tenant_id: r.get(21)?,
                    detail: r.get(23)?,
                    payload: if payloads { r.get(24)? } else { None },
                },
                r.get::<_, i64>(22)?,
            ))
        })?;
        for row in mapped {
            rows.push(row?);
        }
    }
    let mut observations = Vec::with_capacity(rows.len());
    for (cols, hash) in rows {
        let idx = index_of(conn, hash)?;
        observations.push(decode_span(cols, idx)?);
    }

    let mut log_rows = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT time_ns, trace_id, span_id, severity, severity_text, service, session_id, agent, body, \
             resource_hash, detail FROM logs WHERE project_id = ?1 AND trace_id = ?2 ORDER BY time_ns, id",
        )?;
        let mapped = stmt.query_map(params![project, tid], |r| {
            Ok((
                LogColumns {
                    time_ns: r.get(0)?,
                    trace_id: r.get(1)?,
                    span_id: r.get(2)?,
                    severity: r.get(3)?,
                    severity_text: r.get(4)?,
                    service: r.get(5)?,
                    session_id: r.get(6)?,
                    agent: r.get(7)?,
                    body: r.get(8)?,
                    detail: r.get(10)?,
                },
                r.get::<_, i64>(9)?,
            ))
        })?;
        for row in mapped {
            log_rows.push(row?);
        }
    }
    let mut logs = Vec::with_capacity(log_rows.len());
    for (cols, hash) in log_rows {
        let idx = index_of(conn, hash)?;
        logs.push(decode_log(cols, idx)?);
    }
    Ok(Some(TraceDetail {
        summary,
        resources,
        observations,
        logs,
    }))
}
