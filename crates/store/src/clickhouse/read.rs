//! Reads of whole traces and single observations from ClickHouse. A span retried before a merge
//! may be stored twice: every read keeps one row per span (`LIMIT 1 BY span_id`). The trace
//! summary is merged from the states the writer keeps (summaries.rs).

use std::collections::HashMap;

use sightline_core::{LogRecord, Observation, ProjectId, Resource, SpanId, TraceId};

use super::client::Client;
use super::rowbinary::{bin, RowReader};
use super::summaries::{merged, read_summary, Summaries};
use crate::codec::{decode_log, decode_resource, decode_span, LogColumns, SpanColumns};
use crate::{StoreError, TraceDetail, TraceIdPrefix, TraceSummary};

/// The span columns a read decodes, in [`read_span`]'s order; `{payload}` is `payload` or `''`.
pub(crate) const SPAN_SELECT: &str =
    "SELECT trace_id, span_id, parent_span_id, toInt64(start_ns), \
    duration_ns, kind, name, status, service, agent, provider, model, request_model, input_tokens, \
    output_tokens, total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, \
    cost_nano_usd, user_id, session_id, tenant_id, operation, resource_hash, detail, {payload} \
    FROM spans";

pub(crate) fn read_span(r: &mut RowReader<'_>) -> Result<(SpanColumns, i64), StoreError> {
    let cols = SpanColumns {
        trace_id: r.fixed(16)?,
        span_id: r.fixed(8)?,
        parent_span_id: r.opt_fixed(8)?,
        start_ns: r.i64()?,
        duration_ns: r.i64()?,
        kind: i64::from(r.u8()?),
        name: r.string()?,
        status: i64::from(r.u8()?),
        service: r.opt_string()?,
        agent: r.opt_string()?,
        provider: r.opt_string()?,
        model: r.opt_string()?,
        request_model: r.opt_string()?,
        tokens: [
            r.opt_i64()?,
            r.opt_i64()?,
            r.opt_i64()?,
            r.opt_i64()?,
            r.opt_i64()?,
            r.opt_i64()?,
        ],
        cost_nano_usd: r.opt_i64()?,
        user_id: r.opt_string()?,
        session_id: r.opt_string()?,
        tenant_id: r.opt_string()?,
        operation: r.opt_string()?,
        detail: Vec::new(),
        payload: None,
    };
    let hash = r.i64()?;
    let detail = r.bytes()?;
    let payload = r.bytes()?;
    Ok((
        SpanColumns {
            detail,
            payload: (!payload.is_empty()).then_some(payload),
            ..cols
        },
        hash,
    ))
}

/// Reads rows of [`SPAN_SELECT`].
pub(crate) fn read_spans(rows: &[u8]) -> Result<Vec<(SpanColumns, i64)>, StoreError> {
    let mut r = RowReader::new(rows);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(read_span(&mut r)?);
    }
    Ok(out)
}

/// Spans matching `filter` (a WHERE clause), one row per span, in start order.
async fn select_spans(
    client: &Client,
    filter: &str,
    payloads: bool,
) -> Result<Vec<(SpanColumns, i64)>, StoreError> {
    let select = SPAN_SELECT.replace("{payload}", if payloads { "payload" } else { "''" });
    let rows = client
        .query(&format!(
            "{select} WHERE {filter} ORDER BY start_ns, span_id, seq LIMIT 1 BY span_id"
        ))
        .await?;
    read_spans(&rows)
}

async fn select_logs(
    client: &Client,
    project: ProjectId,
    trace_id: &TraceId,
) -> Result<Vec<(LogColumns, i64)>, StoreError> {
    let rows = client
        .query(&format!(
            "SELECT {LOG_SELECT} FROM logs \
             WHERE project_id = {} AND trace_id = {} ORDER BY time_ns, seq",
            project.0,
            bin(&trace_id.0)
        ))
        .await?;
    let mut r = RowReader::new(&rows);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(read_log(&mut r)?);
    }
    Ok(out)
}

/// The log columns a read decodes, in [`read_log`]'s order.
pub(crate) const LOG_SELECT: &str = "toInt64(time_ns), trace_id, span_id, severity, \
    severity_text, service, session_id, agent, body, resource_hash, detail";

pub(crate) fn read_log(r: &mut RowReader<'_>) -> Result<(LogColumns, i64), StoreError> {
    {
        let time_ns = r.i64()?;
        let trace = r.fixed(16)?;
        let cols = LogColumns {
            time_ns,
            trace_id: (trace != [0u8; 16]).then_some(trace),
            span_id: r.opt_fixed(8)?,
            severity: i64::from(r.i32()?),
            severity_text: r.opt_string()?,
            service: r.opt_string()?,
            session_id: r.opt_string()?,
            agent: r.opt_string()?,
            body: r.opt_string()?,
            detail: Vec::new(),
        };
        let hash = r.i64()?;
        let detail = r.bytes()?;
        Ok((LogColumns { detail, ..cols }, hash))
    }
}

/// The attributes of the project's resources with these hashes.
pub(crate) async fn select_resources(
    client: &Client,
    project: ProjectId,
    hashes: &[i64],
) -> Result<HashMap<i64, Vec<u8>>, StoreError> {
    if hashes.is_empty() {
        return Ok(HashMap::new());
    }
    let list = hashes
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let rows = client
        .query(&format!(
            "SELECT hash, attributes FROM resources WHERE project_id = {} AND hash IN ({list}) \
             LIMIT 1 BY hash",
            project.0
        ))
        .await?;
    let mut r = RowReader::new(&rows);
    let mut out = HashMap::new();
    while !r.is_empty() {
        let hash = r.i64()?;
        out.insert(hash, r.bytes()?);
    }
    Ok(out)
}

/// Gives each distinct resource hash an index into `resources`, in first-use order.
pub(crate) struct ResourceIndex {
    index: HashMap<i64, usize>,
    hashes: Vec<i64>,
}

impl ResourceIndex {
    pub(crate) fn new() -> Self {
        ResourceIndex {
            index: HashMap::new(),
            hashes: Vec::new(),
        }
    }
    pub(crate) fn of(&mut self, hash: i64) -> usize {
        *self.index.entry(hash).or_insert_with(|| {
            self.hashes.push(hash);
            self.hashes.len() - 1
        })
    }
    pub(crate) async fn resolve(
        self,
        client: &Client,
        project: ProjectId,
    ) -> Result<Vec<Resource>, StoreError> {
        let blobs = select_resources(client, project, &self.hashes).await?;
        self.hashes
            .iter()
            .map(|h| {
                Ok(Resource {
                    attributes: match blobs.get(h) {
                        Some(b) => decode_resource(b)?,
                        None => Vec::new(),
                    },
                })
            })
            .collect()
    }
}

fn trace_filter(project: ProjectId, trace_id: &TraceId) -> String {
    format!(
        "project_id = {} AND trace_id = {}",
        project.0,
        bin(&trace_id.0)
    )
}

/// Spans starting between a trace's first and last span start (from its summary): a test on
/// the partition key, so a read by trace id opens only the parts holding those times, not one
/// granule of every part of the table.
fn within(first_ns: i64, last_ns: i64) -> String {
    format!(
        "start_ns >= {} AND start_ns <= {}",
        first_ns.max(0),
        last_ns.max(0)
    )
}

/// The ids of `project`'s trace summaries between the prefix's bounds, in id order.
pub(crate) async fn trace_ids_with_prefix(
    client: &Client,
    project: ProjectId,
    prefix: &TraceIdPrefix,
    limit: usize,
) -> Result<Vec<TraceId>, StoreError> {
    let rows = client
        .query(&format!(
            "SELECT DISTINCT trace_id FROM trace_summaries WHERE project_id = {} \
             AND trace_id BETWEEN {} AND {} ORDER BY trace_id LIMIT {limit}",
            project.0,
            bin(&prefix.low),
            bin(&prefix.high)
        ))
        .await?;
    let mut r = RowReader::new(&rows);
    let mut ids = Vec::new();
    while !r.is_empty() {
        if let Ok(id) = <[u8; 16]>::try_from(r.fixed(16)?) {
            ids.push(TraceId(id));
        }
    }
    Ok(ids)
}

pub(crate) async fn read_trace(
    client: &Client,
    project: ProjectId,
    trace_id: TraceId,
    payloads: bool,
) -> Result<Option<TraceDetail>, StoreError> {
    let filter = trace_filter(project, &trace_id);
    let summary_query = format!(
        "SELECT {}, toInt64(minMerge(start)), toInt64(maxMerge(last)) FROM trace_summaries \
         WHERE {filter}",
        merged()
    );
    let (summary_rows, log_rows) = tokio::try_join!(
        client.query(&summary_query),
        select_logs(client, project, &trace_id),
    )?;
    let mut summaries = Summaries::default();
    let mut r = RowReader::new(&summary_rows);
    read_summary(&mut r, &trace_id, &mut summaries)?;
    let (first, last) = (r.i64()?, r.i64()?);
    let summary = summaries.exact(client, project).await?.pop();
    let window = match &summary {
        Some(_) => within(first, last),
        None => "1".to_owned(),
    };
    let span_rows = select_spans(client, &format!("{filter} AND {window}"), payloads).await?;
    // A trace known only from its logs (spans not arrived, or an agent sending only events)
    // still reads back, with an empty span list.
    let summary = match summary {
        Some(s) => s,
        None if !log_rows.is_empty() => TraceSummary {
            trace_id: trace_id.to_hex(),
            ..Default::default()
        },
        None => return Ok(None),
    };
    let mut index = ResourceIndex::new();
    let mut observations: Vec<Observation> = Vec::with_capacity(span_rows.len());
    for (cols, hash) in span_rows {
        let i = index.of(hash);
        observations.push(decode_span(cols, i)?);
    }
    let mut logs: Vec<LogRecord> = Vec::with_capacity(log_rows.len());
    for (cols, hash) in log_rows {
        let i = index.of(hash);
        logs.push(decode_log(cols, i)?);
    }
    let resources = index.resolve(client, project).await?;
    Ok(Some(TraceDetail {
        summary,
        resources,
        observations,
        logs,
    }))
}

pub(crate) async fn read_observation(
    client: &Client,
    project: ProjectId,
    trace_id: TraceId,
    span_id: SpanId,
) -> Result<Option<(Resource, Observation)>, StoreError> {
    let trace = trace_filter(project, &trace_id);
    let rows = client
        .query(&format!(
            "SELECT toInt64(minMerge(start)), toInt64(maxMerge(last)), toUInt64(countMerge(spans)) \
             FROM trace_summaries WHERE {trace}"
        ))
        .await?;
    let mut r = RowReader::new(&rows);
    let (start, end, count) = (r.i64()?, r.i64()?, r.u64()?);
    let window = if count > 0 {
        within(start, end)
    } else {
        "1".to_owned()
    };
    let filter = format!("{trace} AND span_id = {} AND {window}", bin(&span_id.0));
    let Some((cols, hash)) = select_spans(client, &filter, true)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let observation = decode_span(cols, 0)?;
    let mut index = ResourceIndex::new();
    index.of(hash);
    let resource = index
        .resolve(client, project)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    Ok(Some((resource, observation)))
}
