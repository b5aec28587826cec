//! The group-commit writer: one thread owns the write connection; requests wait on the bounded
//! write queue (write_queue.rs); each loop takes everything queued, writes it in one
//! transaction, commits (WAL, synchronous=FULL) and only then acknowledges every request in the
//! group.

use std::collections::HashMap;

use rusqlite::{params, Connection, Transaction};
use sightline_core::{LogRecord, Observation, ObservationKind, ProjectId};

use super::rollup::Rollup;
use super::session_rollup::{SessionRollup, TraceState, TRACE_STATE_COLUMNS};
use crate::codec::{encode_log_body, encode_log_detail, encode_span, kind_code, SpanRow};
use crate::metric::job::MetricJob;
use crate::write_queue::{KnownResources, Receiver};
use crate::{MetricWriteOutcome, StoreError, WriteOutcome};

/// One observation with its encoded blobs; the payload fields of `obs` are already moved out.
pub(crate) struct EncodedSpan {
    pub obs: Observation,
    pub row: SpanRow,
}

pub(crate) struct EncodedLog {
    pub log: LogRecord,
    pub detail: Vec<u8>,
    pub body: Option<String>,
}

/// Everything one request writes, encoded by the caller so the writer thread only inserts.
pub(crate) struct WriteJob {
    pub project: ProjectId,
    /// (hash, encoded attributes) per resource, in batch order.
    pub resources: Vec<(i64, Vec<u8>)>,
    pub spans: Vec<EncodedSpan>,
    pub logs: Vec<EncodedLog>,
    /// A metrics write (sqlite/metrics.rs), answered on its own channel after the commit.
    pub metrics: Option<MetricJob>,
}

impl WriteJob {
    /// The job of a metrics write.
    pub fn metrics(project: ProjectId, job: MetricJob) -> WriteJob {
        WriteJob {
            project,
            resources: Vec::new(),
            spans: Vec::new(),
            logs: Vec::new(),
            metrics: Some(job),
        }
    }

    /// The stored hash of the resource at `index` in this job's batch.
    fn resource_hash(&self, index: usize) -> i64 {
        self.resources.get(index).map(|r| r.0).unwrap_or(0)
    }
}

pub(crate) fn encode_job(
    project: ProjectId,
    batch: sightline_core::WriteBatch,
) -> Result<WriteJob, StoreError> {
    let resources = batch
        .resources
        .iter()
        .map(|r| crate::codec::encode_resource(&r.attributes))
        .collect::<Result<Vec<_>, _>>()?;
    let mut spans = Vec::with_capacity(batch.observations.len());
    for mut obs in batch.observations {
        let row = encode_span(&obs)?;
        obs.input = None;
        obs.output = None;
        obs.attributes = Vec::new();
        obs.events = Vec::new();
        obs.tool_arguments = None;
        obs.tool_result = None;
        obs.request_params = Default::default();
        spans.push(EncodedSpan { obs, row });
    }
    let mut logs = Vec::with_capacity(batch.logs.len());
    for mut log in batch.logs {
        let detail = encode_log_detail(&log)?;
        let body = encode_log_body(&log.body);
        log.attributes = Vec::new();
        log.body = None;
        logs.push(EncodedLog { log, detail, body });
    }
    Ok(WriteJob {
        project,
        resources,
        spans,
        logs,
        metrics: None,
    })
}

/// Most spans one transaction takes before committing (bounds commit latency).
const MAX_GROUP_COST: usize = 50_000;

/// Starts the writer thread on `conn`, taking its jobs from `queue`.
pub(crate) fn spawn(
    conn: Connection,
    queue: Receiver<WriteJob>,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name("sqlite-writer".into())
        .spawn(move || run(conn, queue))
        .map_err(|e| StoreError::Engine(format!("cannot start the writer thread: {e}")))
}

fn run(mut conn: Connection, mut queue: Receiver<WriteJob>) {
    let mut known_resources = KnownResources::default();
    while let Some(mut group) = queue.blocking_next_group(MAX_GROUP_COST) {
        let result = write_group(&mut conn, &group.jobs, &mut known_resources);
        known_resources.after_write(&result);
        let result = result.map(|(outcomes, metrics)| {
            // Committed: the metrics jobs get their answers.
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

/// Each job's outcome, and the metrics jobs' (by index in the group).
type GroupOutcome = (Vec<WriteOutcome>, Vec<(usize, MetricWriteOutcome)>);

fn write_group(
    conn: &mut Connection,
    group: &[WriteJob],
    known_resources: &mut KnownResources,
) -> Result<GroupOutcome, StoreError> {
    let tx = conn.transaction()?;
    let mut outcomes = Vec::with_capacity(group.len());
    let mut metrics = Vec::new();
    let mut traces: HashMap<(i64, [u8; 16]), TraceAgg> = HashMap::new();
    let mut new_resources = Vec::new();
    let mut rollup = Rollup::default();
    for (i, job) in group.iter().enumerate() {
        let project = job.project.0;
        if let Some(m) = &job.metrics {
            metrics.push((i, super::metrics::write(&tx, project, m)?));
        }
        for (hash, blob) in &job.resources {
            if !known_resources.contains(&(project, *hash)) {
                tx.prepare_cached("INSERT OR IGNORE INTO resources (project_id, hash, attributes) VALUES (?1, ?2, ?3)")?
                    .execute(params![project, hash, blob])?;
                new_resources.push((project, *hash));
            }
        }
        let mut outcome = WriteOutcome::default();
        for span in &job.spans {
            if insert_span(
                &tx,
                project,
                span,
                job.resource_hash(span.obs.resource_index),
            )? {
                outcome.observations += 1;
                traces
                    .entry((project, span.obs.trace_id.0))
                    .or_default()
                    .add(&span.obs, span.row.trace_name.as_deref());
                rollup.add(
                    project,
                    &span.obs,
                    span.row.model.as_deref(),
                    span.row.request_model.as_deref(),
                );
            } else {
                outcome.duplicates += 1;
            }
        }
        for log in &job.logs {
            insert_log(&tx, project, log, job.resource_hash(log.log.resource_index))?;
            outcome.logs += 1;
        }
        outcomes.push(outcome);
    }
    let mut sessions = SessionRollup::default();
    for ((project, trace_id), agg) in &traces {
        let before = TraceState::stored(&tx, *project, trace_id)?;
        let after = upsert_trace(&tx, *project, trace_id, agg)?;
        sessions.add(*project, before.as_ref(), &after);
    }
    sessions.flush(&tx)?;
    rollup.flush(&tx)?;
    tx.commit()?;
    known_resources.extend(new_resources);
    Ok((outcomes, metrics))
}

/// Inserts one span; false when (project, trace, span) was already stored.
fn insert_span(
    tx: &Transaction<'_>,
    project: i64,
    s: &EncodedSpan,
    resource_hash: i64,
) -> Result<bool, StoreError> {
    let o = &s.obs;
    let n = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO spans (project_id, trace_id, span_id, parent_span_id, start_ns, duration_ns, \
             kind, name, status, is_error, service, agent, provider, model, input_tokens, output_tokens, \
             total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nano_usd, user_id, \
             session_id, tenant_id, resource_hash, detail, payload, operation, request_model, model_family) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, \
             ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30)",
        )?
        .execute(params![
            project,
            &o.trace_id.0[..],
            &o.span_id.0[..],
            o.parent_span_id.as_ref().map(|p| &p.0[..]),
            o.start_ns,
            o.end_ns.saturating_sub(o.start_ns),
            kind_code(o.kind),
            o.name,
            o.status.as_i32(),
            o.is_error(),
            o.service_name,
            o.agent_name,
            o.provider,
            s.row.model,
            o.usage.input,
            o.usage.output,
            o.usage.total,
            o.usage.cache_read,
            o.usage.cache_write,
            o.usage.reasoning,
            o.cost.as_ref().and_then(|c| c.nano_usd),
            o.user_id,
            o.session_id,
            o.tenant_id,
            resource_hash,
            s.row.detail,
            s.row.payload,
            o.operation,
            s.row.request_model,
            s.row.model_family,
        ])?;
    Ok(n == 1)
}

fn insert_log(
    tx: &Transaction<'_>,
    project: i64,
    l: &EncodedLog,
    resource_hash: i64,
) -> Result<(), StoreError> {
    let log = &l.log;
    tx.prepare_cached(
        "INSERT INTO logs (project_id, time_ns, trace_id, span_id, severity, severity_text, service, \
         session_id, agent, body, resource_hash, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        project,
        log.time_ns,
        log.trace_id.as_ref().map(|t| &t.0[..]),
        log.span_id.as_ref().map(|s| &s.0[..]),
        log.severity_number,
        log.severity_text,
        log.service_name,
        log.session_id,
        log.agent_name,
        l.body,
        resource_hash,
        l.detail,
    ])?;
    Ok(())
}

/// What one group adds to a trace's summary.
#[derive(Default)]
struct TraceAgg {
    start_ns: i64,
    end_ns: i64,
    spans: i64,
    errors: i64,
    tokens: [i64; 6],
    cost: Option<i64>,
    root_name: Option<String>,
    root_span_id: Option<[u8; 8]>,
    service: Option<String>,
    agent: Option<String>,
    user: Option<String>,
    session: Option<String>,
    tenant: Option<String>,
}

impl TraceAgg {
    /// Adds one span; `trace_name` is the name it gives the trace (a root's names it).
    fn add(&mut self, o: &Observation, trace_name: Option<&str>) {
        if self.spans == 0 || o.start_ns < self.start_ns {
            self.start_ns = o.start_ns;
        }
        self.end_ns = self.end_ns.max(o.end_ns);
        self.spans += 1;
        self.errors += i64::from(o.is_error());
        // Only model calls count tokens and cost: agent spans often repeat their children's sums.
        if matches!(o.kind, ObservationKind::Llm | ObservationKind::Embedding) {
            let u = &o.usage;
            let total = u.total.or(match (u.input, u.output) {
                (Some(i), Some(out)) => Some(i + out),
                (i, out) => i.or(out),
            });
            for (slot, v) in self.tokens.iter_mut().zip([
                u.input,
                u.output,
                total,
                u.cache_read,
                u.cache_write,
                u.reasoning,
            ]) {
                *slot = slot.saturating_add(v.unwrap_or(0));
            }
            if let Some(c) = o.cost.as_ref().and_then(|c| c.nano_usd) {
                self.cost = Some(self.cost.unwrap_or(0).saturating_add(c));
            }
        }
        let is_root = o.parent_span_id.is_none();
        if is_root {
            self.root_name = Some(trace_name.unwrap_or(&o.name).to_owned());
            self.root_span_id = Some(o.span_id.0);
        }
        for (slot, v) in [
            (&mut self.service, &o.service_name),
            (&mut self.agent, &o.agent_name),
            (&mut self.user, &o.user_id),
            (&mut self.session, &o.session_id),
            (&mut self.tenant, &o.tenant_id),
        ] {
            if v.is_some() && (is_root || slot.is_none()) {
                slot.clone_from(v);
            }
        }
    }
}

/// Adds a group's aggregate to the trace's summary; returns what the session summary needs of it.
fn upsert_trace(
    tx: &Transaction<'_>,
    project: i64,
    trace_id: &[u8; 16],
    a: &TraceAgg,
) -> Result<TraceState, StoreError> {
    // A group holding the root span overrides the dimensions; otherwise the first value stays.
    let state = tx.prepare_cached(&format!(
        "INSERT INTO traces (project_id, trace_id, root_name, root_span_id, start_ns, end_ns, span_count, \
         error_count, input_tokens, output_tokens, total_tokens, cache_read_tokens, cache_write_tokens, \
         reasoning_tokens, cost_nano_usd, service, agent, user_id, session_id, tenant_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20) \
         ON CONFLICT (project_id, trace_id) DO UPDATE SET \
           root_name = COALESCE(excluded.root_name, traces.root_name), \
           root_span_id = COALESCE(excluded.root_span_id, traces.root_span_id), \
           start_ns = MIN(traces.start_ns, excluded.start_ns), \
           end_ns = MAX(traces.end_ns, excluded.end_ns), \
           span_count = traces.span_count + excluded.span_count, \
           error_count = traces.error_count + excluded.error_count, \
           input_tokens = traces.input_tokens + excluded.input_tokens, \
           output_tokens = traces.output_tokens + excluded.output_tokens, \
           total_tokens = traces.total_tokens + excluded.total_tokens, \
           cache_read_tokens = traces.cache_read_tokens + excluded.cache_read_tokens, \
           cache_write_tokens = traces.cache_write_tokens + excluded.cache_write_tokens, \
           reasoning_tokens = traces.reasoning_tokens + excluded.reasoning_tokens, \
           cost_nano_usd = CASE WHEN excluded.cost_nano_usd IS NULL THEN traces.cost_nano_usd \
                ELSE COALESCE(traces.cost_nano_usd, 0) + excluded.cost_nano_usd END, \
           service = CASE WHEN excluded.root_span_id IS NOT NULL THEN COALESCE(excluded.service, traces.service) ELSE COALESCE(traces.service, excluded.service) END, \
           agent = CASE WHEN excluded.root_span_id IS NOT NULL THEN COALESCE(excluded.agent, traces.agent) ELSE COALESCE(traces.agent, excluded.agent) END, \
           user_id = CASE WHEN excluded.root_span_id IS NOT NULL THEN COALESCE(excluded.user_id, traces.user_id) ELSE COALESCE(traces.user_id, excluded.user_id) END, \
           session_id = CASE WHEN excluded.root_span_id IS NOT NULL THEN COALESCE(excluded.session_id, traces.session_id) ELSE COALESCE(traces.session_id, excluded.session_id) END, \
           tenant_id = CASE WHEN excluded.root_span_id IS NOT NULL THEN COALESCE(excluded.tenant_id, traces.tenant_id) ELSE COALESCE(traces.tenant_id, excluded.tenant_id) END \
         RETURNING {TRACE_STATE_COLUMNS}",
    ))?
    .query_row(params![
        project,
        &trace_id[..],
        a.root_name,
        a.root_span_id.as_ref().map(|s| &s[..]),
        a.start_ns,
        a.end_ns,
        a.spans,
        a.errors,
        a.tokens[0],
        a.tokens[1],
        a.tokens[2],
        a.tokens[3],
        a.tokens[4],
        a.tokens[5],
        a.cost,
        a.service,
        a.agent,
        a.user,
        a.session,
        a.tenant,
    ], TraceState::read)?;
    Ok(state)
}
