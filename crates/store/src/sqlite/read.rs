//! Reads of whole traces from the embedded engine.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use sightline_core::{Observation, ProjectId, Resource, SpanId, TraceId};

use super::query::{read_summary, ResourceSet, TRACE_SELECT};
use super::rows::{read_log_columns, read_span_columns, LOG_SELECT, SPAN_SELECT, SPAN_SELECT_LEN};
use super::SqliteStore;
use crate::codec::{decode_log, decode_span};
use crate::{
    ObservationPage, ObservationQuery, StoreError, TraceDetail, TraceIdPrefix, TracePage,
    TraceQuery, TraceReader, TraceSummary,
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

    async fn trace_ids_with_prefix(
        &self,
        project: ProjectId,
        prefix: &TraceIdPrefix,
        limit: usize,
    ) -> Result<Vec<TraceId>, StoreError> {
        let (low, high) = (prefix.low, prefix.high);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT trace_id FROM traces WHERE project_id = ?1 \
                 AND trace_id BETWEEN ?2 AND ?3 ORDER BY trace_id LIMIT ?4",
            )?;
            let ids = stmt
                .query_map(params![project.0, &low[..], &high[..], limit], |r| {
                    r.get::<_, Vec<u8>>(0)
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ids
                .into_iter()
                .filter_map(|id| id.try_into().ok().map(TraceId))
                .collect())
        })
        .await
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
        .prepare_cached(&format!(
            "SELECT {TRACE_SELECT} FROM traces WHERE project_id = ?1 AND trace_id = ?2"
        ))?
        .query_row(params![project, tid], |r| read_summary(r, 0))
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

    let mut resources = ResourceSet::default();
    // `+start_ns` / `+time_ns`: sorting a trace's few rows beats walking the project's time
    // index, which the planner would otherwise pick to avoid the sort.
    let payload = if payloads { "payload" } else { "NULL" };
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {SPAN_SELECT}, {payload} FROM spans WHERE project_id = ?1 AND trace_id = ?2 \
             ORDER BY +start_ns, span_id"
        ))?
        .query_map(params![project, tid], |r| {
            read_span_columns(r, 0, Some(SPAN_SELECT_LEN))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut observations = Vec::with_capacity(rows.len());
    for (cols, hash) in rows {
        let idx = resources.index_of(conn, project, hash)?;
        observations.push(decode_span(cols, idx)?);
    }

    let log_rows = conn
        .prepare_cached(&format!(
            "SELECT {LOG_SELECT} FROM logs WHERE project_id = ?1 AND trace_id = ?2 ORDER BY +time_ns, id"
        ))?
        .query_map(params![project, tid], |r| read_log_columns(r, 0))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut logs = Vec::with_capacity(log_rows.len());
    for (cols, hash) in log_rows {
        let idx = resources.index_of(conn, project, hash)?;
        logs.push(decode_log(cols, idx)?);
    }
    Ok(Some(TraceDetail {
        summary,
        resources: resources.resources,
        observations,
        logs,
    }))
}
