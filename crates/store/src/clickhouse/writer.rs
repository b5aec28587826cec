//! Batched inserts: callers encode their batch to RowBinary rows on their own task, queue it on
//! the bounded write queue (write_queue.rs) and wait; one writer task takes everything queued,
//! drops spans already stored (idempotent retries), inserts the group with one INSERT per table
//! and only then acknowledges every request in it. ClickHouse answers an INSERT after the rows
//! are written to its parts.

use std::collections::HashSet;

use sightline_core::{ProjectId, WriteBatch};

use super::client::Client;
use super::rowbinary::{bin, RowReader, RowWriter};
use crate::codec::{
    encode_log_body, encode_log_detail, encode_resource, encode_span, kind_code, SearchColumns,
};
use crate::metric::job::MetricJob;
use crate::write_queue::{KnownResources, Receiver};
use crate::{MetricWriteOutcome, StoreError, WriteOutcome};

pub(crate) const SPAN_COLUMNS: &str = "project_id, trace_id, span_id, parent_span_id, start_ns, \
    duration_ns, kind, name, status, is_error, service, agent, provider, model, input_tokens, \
    output_tokens, total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, \
    cost_nano_usd, user_id, session_id, tenant_id, operation, resource_hash, detail, payload, \
    attr_keys, attr_values, tags, search_text, workspace, request_model, model_family, \
    trace_name, seq";

const LOG_COLUMNS: &str = "project_id, trace_id, span_id, time_ns, severity, severity_text, \
    service, session_id, agent, body, resource_hash, detail, seq";

/// Most spans and logs one group inserts (bounds insert size and latency).
const MAX_GROUP_COST: usize = 20_000;

type SpanKey = (i64, [u8; 16], [u8; 8]);

/// One span as RowBinary, every column but the trailing `seq` (given at insert time).
struct EncodedSpan {
    key: SpanKey,
    start_ns: u64,
    row: Vec<u8>,
}

/// Everything one request writes, encoded by the caller so the writer only inserts.
pub(crate) struct WriteJob {
    project: i64,
    /// (hash, encoded attributes) per resource, in batch order.
    resources: Vec<(i64, Vec<u8>)>,
    spans: Vec<EncodedSpan>,
    /// One RowBinary log row each, without the trailing `seq`.
    logs: Vec<Vec<u8>>,
    /// A metrics write (metrics.rs), answered on its own channel after the group is stored.
    metrics: Option<MetricJob>,
}

impl WriteJob {
    /// The job of a metrics write.
    pub fn metrics(project: ProjectId, job: MetricJob) -> WriteJob {
        WriteJob {
            project: project.0,
            resources: Vec::new(),
            spans: Vec::new(),
            logs: Vec::new(),
            metrics: Some(job),
        }
    }
}

fn clamp_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(crate) fn encode_job(project: ProjectId, batch: WriteBatch) -> Result<WriteJob, StoreError> {
    let resources = batch
        .resources
        .iter()
        .map(|r| encode_resource(&r.attributes))
        .collect::<Result<Vec<_>, _>>()?;
    let resource_hash = |index: usize| resources.get(index).map(|r| r.0).unwrap_or(0);
    let mut spans = Vec::with_capacity(batch.observations.len());
    for o in &batch.observations {
        let encoded = encode_span(o)?;
        let mut w = RowWriter::default();
        w.i64(project.0);
        w.fixed(&o.trace_id.0);
        w.fixed(&o.span_id.0);
        w.opt_fixed(o.parent_span_id.as_ref().map(|p| &p.0[..]));
        w.u64(clamp_u64(o.start_ns));
        w.i64(o.end_ns.saturating_sub(o.start_ns));
        w.u8(u8::try_from(kind_code(o.kind)).unwrap_or(0));
        w.str(&o.name);
        w.u8(u8::try_from(o.status.as_i32()).unwrap_or(0));
        w.u8(u8::from(o.is_error()));
        w.opt_str(o.service_name.as_deref());
        w.opt_str(o.agent_name.as_deref());
        w.opt_str(o.provider.as_deref());
        w.opt_str(encoded.model.as_deref());
        for v in [
            o.usage.input,
            o.usage.output,
            o.usage.total,
            o.usage.cache_read,
            o.usage.cache_write,
            o.usage.reasoning,
            o.cost.as_ref().and_then(|c| c.nano_usd),
        ] {
            w.opt_i64(v);
        }
        w.opt_str(o.user_id.as_deref());
        w.opt_str(o.session_id.as_deref());
        w.opt_str(o.tenant_id.as_deref());
        w.opt_str(o.operation.as_deref());
        w.i64(resource_hash(o.resource_index));
        w.bytes(&encoded.detail);
        w.bytes(encoded.payload.as_deref().unwrap_or_default());
        let search = SearchColumns::of(o);
        w.str_array(&search.attr_keys);
        w.str_array(&search.attr_values);
        w.str_array(&o.tags);
        w.str(&search.text);
        w.opt_str(o.workspace_id.as_deref());
        w.opt_str(encoded.request_model.as_deref());
        w.opt_str(encoded.model_family.as_deref());
        w.opt_str(encoded.trace_name.as_deref());
        spans.push(EncodedSpan {
            key: (project.0, o.trace_id.0, o.span_id.0),
            start_ns: clamp_u64(o.start_ns),
            row: w.buf,
        });
    }
    let mut logs = Vec::with_capacity(batch.logs.len());
    for log in &batch.logs {
        let mut w = RowWriter::default();
        w.i64(project.0);
        w.fixed(&log.trace_id.map(|t| t.0).unwrap_or([0; 16]));
        w.opt_fixed(log.span_id.as_ref().map(|s| &s.0[..]));
        w.u64(clamp_u64(log.time_ns));
        w.i32(log.severity_number);
        w.opt_str(log.severity_text.as_deref());
        w.opt_str(log.service_name.as_deref());
        w.opt_str(log.session_id.as_deref());
        w.opt_str(log.agent_name.as_deref());
        w.opt_str(encode_log_body(&log.body).as_deref());
        w.i64(resource_hash(log.resource_index));
        w.bytes(&encode_log_detail(log)?);
        logs.push(w.buf);
    }
    Ok(WriteJob {
        project: project.0,
        resources,
        spans,
        logs,
        metrics: None,
    })
}

/// Starts the writer task, taking its jobs from `queue`.
pub(crate) fn spawn(client: Client, queue: Receiver<WriteJob>) -> tokio::task::JoinHandle<()> {
    // Owned by the store: `shutdown` closes the queue and joins this handle.
    #[allow(clippy::disallowed_methods)]
    tokio::spawn(run(client, queue))
}

/// Storage order for rows written by this node: nanoseconds since the epoch, strictly
/// increasing even if the clock steps back.
pub(crate) struct Sequence(u64);

impl Sequence {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = super::now_ns().max(self.0 + 1);
        self.0
    }
}

async fn run(client: Client, mut queue: Receiver<WriteJob>) {
    let mut known_resources = KnownResources::default();
    let mut seq = Sequence(0);
    while let Some(mut group) = queue.next_group(MAX_GROUP_COST).await {
        let result = write_group(&client, &group.jobs, &mut known_resources, &mut seq).await;
        known_resources.after_write(&result);
        let result = result.map(|(outcomes, metrics)| {
            // Stored: the metrics jobs get their answers.
            for (i, outcome) in metrics {
                if let Some(job) = group.jobs.get_mut(i).and_then(|j| j.metrics.as_mut()) {
                    job.answer(outcome);
                }
            }
            outcomes
        });
        group.finish(result);
    }
}

/// The (project, trace, span) keys among `keys` that are already stored. A retried span starts
/// when it did the first time, so only rows starting within `starts` (the group's earliest and
/// latest start) are looked at: the day partitions the group writes to, not the whole table.
async fn stored_keys(
    client: &Client,
    keys: &[SpanKey],
    starts: (u64, u64),
) -> Result<HashSet<SpanKey>, StoreError> {
    let traces: HashSet<(i64, [u8; 16])> = keys.iter().map(|k| (k.0, k.1)).collect();
    if traces.is_empty() {
        return Ok(HashSet::new());
    }
    let list = traces
        .iter()
        .map(|(p, t)| format!("({p}, {})", bin(t)))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = client
        .query(&format!(
            "SELECT project_id, trace_id, span_id FROM spans WHERE (project_id, trace_id) IN ({list}) \
             AND start_ns >= {} AND start_ns <= {}",
            starts.0, starts.1
        ))
        .await?;
    let mut r = RowReader::new(&rows);
    let mut found = HashSet::new();
    while !r.is_empty() {
        let project = r.i64()?;
        let mut trace = [0u8; 16];
        trace.copy_from_slice(&r.fixed(16)?);
        let mut span = [0u8; 8];
        span.copy_from_slice(&r.fixed(8)?);
        found.insert((project, trace, span));
    }
    Ok(found)
}

/// Each job's outcome, and the metrics jobs' (by index in the group).
type GroupOutcome = (Vec<WriteOutcome>, Vec<(usize, MetricWriteOutcome)>);

async fn write_group(
    client: &Client,
    group: &[WriteJob],
    known_resources: &mut KnownResources,
    seq: &mut Sequence,
) -> Result<GroupOutcome, StoreError> {
    let keys: Vec<SpanKey> = group
        .iter()
        .flat_map(|j| j.spans.iter().map(|s| s.key))
        .collect();
    let starts = group
        .iter()
        .flat_map(|j| j.spans.iter().map(|s| s.start_ns))
        .fold((u64::MAX, 0), |(lo, hi), s| (lo.min(s), hi.max(s)));
    let mut seen = stored_keys(client, &keys, starts).await?;

    let mut resources = RowWriter::default();
    let mut new_resources = Vec::new();
    let mut spans = Vec::new();
    let mut logs = Vec::new();
    let mut outcomes = Vec::with_capacity(group.len());
    for job in group {
        for (hash, blob) in &job.resources {
            let key = (job.project, *hash);
            if !known_resources.contains(&key) && !new_resources.contains(&key) {
                resources.i64(job.project);
                resources.i64(*hash);
                resources.bytes(blob);
                new_resources.push(key);
            }
        }
        let mut outcome = WriteOutcome::default();
        for span in &job.spans {
            if seen.insert(span.key) {
                spans.extend_from_slice(&span.row);
                spans.extend_from_slice(&seq.next().to_le_bytes());
                outcome.observations += 1;
            } else {
                outcome.duplicates += 1;
            }
        }
        for log in &job.logs {
            logs.extend_from_slice(log);
            logs.extend_from_slice(&seq.next().to_le_bytes());
            outcome.logs += 1;
        }
        outcomes.push(outcome);
    }
    // Resources first: a reader that sees a span also finds its resource.
    client
        .insert("resources", "project_id, hash, attributes", resources.buf)
        .await?;
    known_resources.extend(new_resources);
    tokio::try_join!(
        client.insert("spans", SPAN_COLUMNS, spans),
        client.insert("logs", LOG_COLUMNS, logs),
    )?;
    let mut metrics = Vec::new();
    for (i, job) in group.iter().enumerate() {
        if let Some(m) = &job.metrics {
            metrics.push((i, super::metrics::write(client, job.project, m, seq).await?));
        }
    }
    Ok((outcomes, metrics))
}
