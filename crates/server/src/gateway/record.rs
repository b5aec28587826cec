//! Recording: every finished call becomes an llm (or embedding) span in the OpenTelemetry
//! GenAI conventions, ingested through the one [`IngestService`] (same normalization, pricing,
//! storage and live stream as telemetry). Calls are handed over on a bounded queue and the
//! response never waits for them: when the queue is full the recording is dropped and counted,
//! but the call is still settled (budgets, rate limits) on the spot. The recorder's task also
//! settles, fills the cache and writes each retry and fallback as a span of its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::Value as Json;
use sightline_core::calls::GATEWAY_SCOPE;
use sightline_core::cost::{compute_cost, PriceRegistry, UsageSemantics};
use sightline_core::money::usd_exact;
use sightline_core::{
    AttrValue, ProjectId, RawBatch, RawSpan, Resource, SpanId, SpanKind, StatusCode, TraceId, Usage,
};
use sightline_store::CachedResponse;
use tokio::sync::{mpsc, watch};

use super::budgets::Reservation;
use super::cache::ResponseCache;
use super::headers::CallHeaders;
use super::limits::{Admitted, Limits};
use super::providers::{Endpoint, ProviderKind, RequestInfo, Summary};
use super::sse;
use crate::ingest::IngestService;

/// Calls recorded together: one ingest request. Small, so that the recorder (on the same
/// worker threads as the requests) gives the threads back often.
const RECORD_BATCH: usize = 32;

/// At shutdown, how long the recorder waits for another call before it ends.
pub const DRAIN_IDLE: std::time::Duration = std::time::Duration::from_millis(500);

/// One try at an upstream.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub upstream: String,
    pub model: String,
    pub span_id: SpanId,
    pub status: Option<u16>,
    /// Why it failed without an answer (connection refused, timeout).
    pub error: Option<String>,
    pub start_ns: i64,
    pub end_ns: i64,
}

/// How a call ended.
#[derive(Debug)]
pub enum Outcome {
    /// The upstream answered (any status).
    Answered {
        status: u16,
        content_type: String,
        body: Bytes,
        stream: bool,
        /// The whole answer went to the client.
        complete: bool,
        /// The client went away first.
        client_gone: bool,
        /// The stream's usage event was the gateway's and was kept from the client.
        strip_usage: bool,
    },
    /// No upstream answered.
    Failed { message: String },
    /// The client went away before an answer came; the upstream call was abandoned (it may
    /// still have cost something, so its reservation counts in full).
    Abandoned,
    /// Answered from the cache.
    CacheHit(Box<CachedResponse>),
}

/// Where a successful answer goes in the cache.
#[derive(Debug, Clone)]
pub struct CachePut {
    pub key: String,
    pub slot: u32,
    pub expires_ns: i64,
}

/// Everything about one finished call.
pub struct CallRecord {
    pub project: ProjectId,
    pub key_id: Option<String>,
    /// The upstream that answered (or was tried last).
    pub upstream: String,
    pub kind: ProviderKind,
    pub endpoint: Endpoint,
    pub headers: CallHeaders,
    pub request: Bytes,
    pub info: RequestInfo,
    pub trace_id: TraceId,
    pub parent: Option<SpanId>,
    /// The call's own span (the attempts' parent when there were several).
    pub span_id: SpanId,
    pub start_ns: i64,
    pub end_ns: i64,
    /// First byte of the answer after the start.
    pub ttft_ns: Option<i64>,
    pub outcome: Outcome,
    pub attempts: Vec<Attempt>,
    pub prices: Arc<PriceRegistry>,
    pub reservation: Option<Reservation>,
    pub limits: Option<Admitted>,
    pub cache_put: Option<CachePut>,
}

/// What settling found.
struct Settled {
    summary: Summary,
    cost: Option<i64>,
}

impl CallRecord {
    fn ok(&self) -> bool {
        match &self.outcome {
            Outcome::Answered { status, .. } => (200..300).contains(status),
            Outcome::CacheHit(_) => true,
            Outcome::Failed { .. } | Outcome::Abandoned => false,
        }
    }

    /// What the answer says, its cost, and the settlement of the call's reservation and rate
    /// limits. Synchronous: it also runs on the request's task when the queue is full.
    fn settle(&mut self, limits: &Limits) -> Settled {
        let provider = self.kind.provider();
        let summary = match &self.outcome {
            Outcome::Answered {
                body,
                stream: false,
                ..
            } => provider.summarize(self.endpoint, body),
            Outcome::Answered {
                body, stream: true, ..
            } => {
                let datas: Vec<Vec<u8>> = sse::events(body)
                    .iter()
                    .filter_map(|e| sse::data(e))
                    .collect();
                provider.summarize_stream(self.endpoint, &datas)
            }
            Outcome::CacheHit(entry) => Summary {
                model: entry.model.clone(),
                usage: entry.usage,
                ..Summary::default()
            },
            Outcome::Failed { .. } | Outcome::Abandoned => Summary::default(),
        };
        let cost = if self.ok() && !matches!(self.outcome, Outcome::CacheHit(_)) {
            let models = [summary.model.as_deref(), Some(self.info.model.as_str())];
            price(
                &self.prices,
                &self.upstream,
                &models,
                &summary.usage,
                self.start_ns,
            )
        } else {
            None
        };
        let complete = match &self.outcome {
            Outcome::Answered { complete, .. } => *complete,
            _ => true,
        };
        if let Some(r) = self.reservation.take() {
            // An answer cut short or without usage counts at its worst case: never under.
            let abandoned = matches!(self.outcome, Outcome::Abandoned);
            let actual = match (self.ok(), complete, cost) {
                (false, _, _) if abandoned => r.amount(),
                (false, _, _) => 0,
                (true, true, Some(c)) => c,
                (true, _, c) => c.unwrap_or(0).max(r.amount()),
            };
            r.settle(actual);
        }
        if let Some(admitted) = &self.limits {
            let tokens = summary
                .usage
                .total
                .or_else(|| Some(summary.usage.input? + summary.usage.output?))
                .unwrap_or(0);
            let tokens = u64::try_from(tokens).unwrap_or(0);
            let cost_u = u64::try_from(cost.unwrap_or(0)).unwrap_or(0);
            limits.spend(self.project, admitted, tokens, cost_u, self.end_ns);
        }
        Settled { summary, cost }
    }
}

/// The price of `usage` for the first of `models` the registry knows at `provider`.
fn price(
    prices: &PriceRegistry,
    provider: &str,
    models: &[Option<&str>],
    usage: &Usage,
    at_ns: i64,
) -> Option<i64> {
    if usage.input.is_none() && usage.output.is_none() {
        return None;
    }
    let entry = models
        .iter()
        .flatten()
        .find_map(|m| prices.lookup(Some(provider), m, at_ns))?;
    Some(compute_cost(entry, usage, UsageSemantics::OPENTELEMETRY).total)
}

/// Counts of what the recorder did since start.
#[derive(Debug, Default)]
pub struct RecorderStats {
    pub recorded: AtomicU64,
    /// Recordings dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Recordings the ingest service refused (storage full or failing).
    pub failed: AtomicU64,
}

pub struct Recorder {
    tx: mpsc::Sender<CallRecord>,
    rx: Mutex<Option<mpsc::Receiver<CallRecord>>>,
    ingest: Arc<IngestService>,
    cache: Arc<ResponseCache>,
    limits: Arc<Limits>,
    pub stats: RecorderStats,
}

impl Recorder {
    pub fn new(
        capacity: usize,
        ingest: Arc<IngestService>,
        cache: Arc<ResponseCache>,
        limits: Arc<Limits>,
    ) -> Recorder {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        Recorder {
            tx,
            rx: Mutex::new(Some(rx)),
            ingest,
            cache,
            limits,
            stats: RecorderStats::default(),
        }
    }

    /// Hands a finished call over; never waits. With the queue full the call is settled here
    /// and its recording dropped (counted).
    pub fn submit(&self, record: CallRecord) {
        if let Err(e) = self.tx.try_send(record) {
            let mut record = match e {
                mpsc::error::TrySendError::Full(r) | mpsc::error::TrySendError::Closed(r) => r,
            };
            record.settle(&self.limits);
            let n = self.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n,
                    "the gateway's recording queue is full: calls are answered but not recorded"
                );
            }
        }
    }

    /// Records queued calls. After `stop` turns true it keeps going while calls still arrive
    /// (requests draining at shutdown) and ends once none came for [`DRAIN_IDLE`].
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let Some(mut rx) = self.rx.lock().ok().and_then(|mut r| r.take()) else {
            return;
        };
        let mut stopping = false;
        loop {
            let first = if stopping {
                tokio::time::timeout(DRAIN_IDLE, rx.recv())
                    .await
                    .ok()
                    .flatten()
            } else {
                tokio::select! {
                    r = rx.recv() => r,
                    _ = stop.changed() => {
                        stopping = true;
                        continue;
                    }
                }
            };
            let Some(first) = first else { break };
            let mut batch = vec![first];
            while batch.len() < RECORD_BATCH {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            self.record(batch).await;
        }
    }

    async fn record(&self, batch: Vec<CallRecord>) {
        let mut by_project: HashMap<ProjectId, RawBatch> = HashMap::new();
        for mut record in batch {
            let settled = record.settle(&self.limits);
            if let (Some(put), true) = (&record.cache_put, record.ok()) {
                if let Some(entry) = cache_entry(&record, put, &settled) {
                    if let Err(e) = self.cache.put(record.project, &entry).await {
                        tracing::warn!(error = %e, "cannot store a cached response");
                    }
                }
            }
            let raw = by_project.entry(record.project).or_default();
            let resource = raw.resources.len();
            let service = record
                .headers
                .service
                .clone()
                .unwrap_or_else(|| "sightline-gateway".into());
            raw.resources.push(Resource {
                attributes: vec![("service.name".into(), AttrValue::Str(service))],
            });
            for span in spans(&record, &settled) {
                raw.spans.push((resource, span));
            }
            // Parsing and building a call's spans takes a while: let requests in between.
            tokio::task::yield_now().await;
        }
        for (project, raw) in by_project {
            let n = raw.spans.len() as u64;
            match self.ingest.ingest(project, raw).await {
                Ok(_) => {
                    self.stats.recorded.fetch_add(n, Ordering::Relaxed);
                }
                Err(e) => {
                    self.stats.failed.fetch_add(n, Ordering::Relaxed);
                    tracing::warn!(project = project.0, error = %e, "gateway calls not recorded");
                }
            }
        }
    }
}

/// A call in progress: its record, handed to the recorder when it finishes, or (if the handler
/// or stream is dropped first: the client left) as abandoned.
pub struct Call {
    recorder: Arc<Recorder>,
    record: Option<CallRecord>,
    clock: Arc<dyn sightline_core::time::Clock>,
}

impl Call {
    pub fn new(
        recorder: Arc<Recorder>,
        clock: Arc<dyn sightline_core::time::Clock>,
        record: CallRecord,
    ) -> Call {
        Call {
            recorder,
            record: Some(record),
            clock,
        }
    }

    /// Finishes the call: `f` fills in how it ended, then it is recorded.
    pub fn finish(mut self, f: impl FnOnce(&mut CallRecord)) {
        if let Some(mut record) = self.record.take() {
            record.end_ns = self.clock.now_ns();
            f(&mut record);
            self.recorder.submit(record);
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if let Some(mut record) = self.record.take() {
            record.end_ns = self.clock.now_ns();
            self.recorder.submit(record);
        }
    }
}

/// The cache entry of a successful, complete answer.
fn cache_entry(record: &CallRecord, put: &CachePut, settled: &Settled) -> Option<CachedResponse> {
    let Outcome::Answered {
        status,
        content_type,
        body,
        stream,
        complete: true,
        strip_usage,
        ..
    } = &record.outcome
    else {
        return None;
    };
    let body = if *strip_usage {
        visible_stream(record, body)
    } else {
        body.to_vec()
    };
    Some(CachedResponse {
        key: put.key.clone(),
        slot: put.slot,
        status: *status,
        content_type: content_type.clone(),
        stream: *stream,
        body,
        model: settled.summary.model.clone(),
        usage: settled.summary.usage,
        cost_nano_usd: settled.cost,
        created_ns: record.end_ns,
        expires_ns: put.expires_ns,
    })
}

/// The stream as the client saw it: without the usage event the gateway asked for.
fn visible_stream(record: &CallRecord, body: &[u8]) -> Vec<u8> {
    let provider = record.kind.provider();
    sse::events(body)
        .into_iter()
        .filter(|e| sse::data(e).is_none_or(|d| !provider.is_usage_event(record.endpoint, &d)))
        .flat_map(|e| e.to_vec())
        .collect()
}

fn put(attrs: &mut Vec<(String, AttrValue)>, key: &str, value: AttrValue) {
    attrs.push((key.to_owned(), value));
}

fn text(s: &str) -> AttrValue {
    AttrValue::Str(s.to_owned())
}

/// The call's spans: one llm/embedding span; with several attempts, a parent span and one
/// model span per attempt (the last one carrying the answer).
fn spans(record: &CallRecord, settled: &Settled) -> Vec<RawSpan> {
    let tried = record.attempts.len();
    let mut out = Vec::new();
    let call_parent = record.parent;
    if tried > 1 {
        let mut attrs = Vec::new();
        put(
            &mut attrs,
            "sightline.gateway.attempts",
            AttrValue::Int(tried as i64),
        );
        put(
            &mut attrs,
            "sightline.gateway.upstream",
            text(&record.upstream),
        );
        out.push(raw_span(
            record,
            record.span_id,
            call_parent,
            format!(
                "gateway {} {}",
                record.endpoint.operation(),
                record.info.model
            ),
            record.start_ns,
            record.end_ns,
            attrs,
            if record.ok() {
                StatusCode::Ok
            } else {
                StatusCode::Error
            },
            String::new(),
        ));
        for a in &record.attempts[..tried - 1] {
            out.push(failed_attempt(record, a));
        }
    }
    out.push(answer_span(record, settled, tried > 1));
    out
}

#[allow(clippy::too_many_arguments)]
fn raw_span(
    record: &CallRecord,
    span_id: SpanId,
    parent: Option<SpanId>,
    name: String,
    start_ns: i64,
    end_ns: i64,
    attributes: Vec<(String, AttrValue)>,
    status: StatusCode,
    message: String,
) -> RawSpan {
    RawSpan {
        trace_id: record.trace_id,
        span_id,
        parent_span_id: parent,
        name,
        span_kind: SpanKind::Client,
        start_ns,
        end_ns: end_ns.max(start_ns),
        status_code: status,
        status_message: message,
        attributes,
        events: Vec::new(),
        links: Vec::new(),
        scope_name: GATEWAY_SCOPE.into(),
        scope_version: env!("CARGO_PKG_VERSION").into(),
    }
}

/// Attributes every model span of the call shares: operation, provider, the model asked, who
/// the call is for.
fn common(record: &CallRecord, upstream: &str, model: &str) -> Vec<(String, AttrValue)> {
    let mut a = Vec::new();
    put(
        &mut a,
        "gen_ai.operation.name",
        text(record.endpoint.operation()),
    );
    put(&mut a, "gen_ai.provider.name", text(upstream));
    put(&mut a, "gen_ai.request.model", text(model));
    put(&mut a, "sightline.gateway.upstream", text(upstream));
    let h = &record.headers;
    let user = h.user.as_deref().or(record.info.user.as_deref());
    for (key, value) in [
        ("user.id", user),
        ("session.id", h.session.as_deref()),
        ("tenant.id", h.tenant.as_deref()),
        ("gen_ai.agent.name", h.agent.as_deref()),
        ("sightline.session.path", h.session_path.as_deref()),
        ("sightline.session.name", h.session_name.as_deref()),
        ("sightline.gateway.request_id", h.request_id.as_deref()),
        ("sightline.gateway.key", record.key_id.as_deref()),
    ] {
        if let Some(v) = value {
            put(&mut a, key, text(v));
        }
    }
    for (name, value) in &h.properties {
        put(&mut a, &format!("sightline.property.{name}"), text(value));
    }
    a
}

fn failed_attempt(record: &CallRecord, a: &Attempt) -> RawSpan {
    let mut attrs = common(record, &a.upstream, &a.model);
    let message = match (a.status, &a.error) {
        (Some(status), _) => {
            put(
                &mut attrs,
                "http.response.status_code",
                AttrValue::Int(i64::from(status)),
            );
            put(&mut attrs, "error.type", text(&status.to_string()));
            format!("{} answered {status}", a.upstream)
        }
        (None, Some(e)) => {
            put(&mut attrs, "error.type", text("upstream_unreachable"));
            e.clone()
        }
        (None, None) => String::new(),
    };
    raw_span(
        record,
        a.span_id,
        Some(record.span_id),
        format!("{} {}", record.endpoint.operation(), a.model),
        a.start_ns,
        a.end_ns,
        attrs,
        StatusCode::Error,
        message,
    )
}

/// The span of the answering attempt (or of the only one), with the request, the answer, the
/// usage and the timing.
fn answer_span(record: &CallRecord, settled: &Settled, child: bool) -> RawSpan {
    let last = record.attempts.last();
    let upstream = last.map_or(record.upstream.as_str(), |a| a.upstream.as_str());
    let model = last.map_or(record.info.model.as_str(), |a| a.model.as_str());
    let mut attrs = common(record, upstream, model);
    let s = &settled.summary;
    if let Some(m) = &s.model {
        put(&mut attrs, "gen_ai.response.model", text(m));
    }
    if let Some(id) = &s.response_id {
        put(&mut attrs, "gen_ai.response.id", text(id));
    }
    if !s.finish_reasons.is_empty() {
        let reasons = s.finish_reasons.iter().map(|r| text(r)).collect();
        put(
            &mut attrs,
            "gen_ai.response.finish_reasons",
            AttrValue::Array(reasons),
        );
    }
    usage_attrs(&mut attrs, record, &s.usage);
    if let Some(ttft) = record.ttft_ns.filter(|t| *t > 0) {
        put(
            &mut attrs,
            "gen_ai.response.time_to_first_chunk",
            AttrValue::Double(ttft as f64 / 1e9),
        );
    }
    request_attrs(&mut attrs, record);
    if !record.headers.omit_response {
        if let Some(output) = &s.output {
            put(
                &mut attrs,
                "gen_ai.output.messages",
                text(&output.to_string()),
            );
        }
    }
    let (status, message) = match &record.outcome {
        Outcome::Answered {
            status,
            complete,
            client_gone,
            stream,
            ..
        } => {
            put(
                &mut attrs,
                "http.response.status_code",
                AttrValue::Int(i64::from(*status)),
            );
            if *stream {
                put(&mut attrs, "gen_ai.request.stream", AttrValue::Bool(true));
            }
            if !complete {
                put(
                    &mut attrs,
                    "sightline.gateway.stream_complete",
                    AttrValue::Bool(false),
                );
            }
            if *client_gone {
                put(
                    &mut attrs,
                    "sightline.gateway.client_disconnected",
                    AttrValue::Bool(true),
                );
            }
            if (200..300).contains(status) {
                (StatusCode::Ok, String::new())
            } else {
                put(&mut attrs, "error.type", text(&status.to_string()));
                (StatusCode::Error, format!("{upstream} answered {status}"))
            }
        }
        Outcome::Failed { message } => {
            put(&mut attrs, "error.type", text("upstream_unreachable"));
            (StatusCode::Error, message.clone())
        }
        Outcome::Abandoned => {
            put(
                &mut attrs,
                "sightline.gateway.client_disconnected",
                AttrValue::Bool(true),
            );
            put(&mut attrs, "error.type", text("client_disconnected"));
            (
                StatusCode::Error,
                "the client disconnected before the answer".to_owned(),
            )
        }
        Outcome::CacheHit(entry) => {
            put(&mut attrs, "sightline.gateway.cache", text("hit"));
            if let Some(saved) = entry.cost_nano_usd {
                put(
                    &mut attrs,
                    "sightline.gateway.cost_saved_usd",
                    text(&usd_exact(i128::from(saved))),
                );
            }
            (StatusCode::Ok, String::new())
        }
    };
    if record.cache_put.is_some() {
        put(&mut attrs, "sightline.gateway.cache", text("miss"));
    }
    let (span_id, parent, start) = match (child, last) {
        (true, Some(a)) => (a.span_id, Some(record.span_id), a.start_ns),
        _ => (record.span_id, record.parent, record.start_ns),
    };
    raw_span(
        record,
        span_id,
        parent,
        format!("{} {model}", record.endpoint.operation()),
        start,
        record.end_ns,
        attrs,
        status,
        message,
    )
}

fn usage_attrs(attrs: &mut Vec<(String, AttrValue)>, record: &CallRecord, u: &Usage) {
    if let Outcome::CacheHit(_) = record.outcome {
        // A hit used no tokens: its cost is zero, the original's is the saving.
        put(attrs, "gen_ai.usage.input_tokens", AttrValue::Int(0));
        put(attrs, "gen_ai.usage.output_tokens", AttrValue::Int(0));
        return;
    }
    for (key, value) in [
        ("gen_ai.usage.input_tokens", u.input),
        ("gen_ai.usage.output_tokens", u.output),
        ("gen_ai.usage.total_tokens", u.total),
        ("gen_ai.usage.cache_read.input_tokens", u.cache_read),
        ("gen_ai.usage.cache_write.input_tokens", u.cache_write),
        ("gen_ai.usage.reasoning.output_tokens", u.reasoning),
    ] {
        if let Some(v) = value {
            put(attrs, key, AttrValue::Int(v));
        }
    }
}

/// Request parameters and, unless omitted, the input messages.
fn request_attrs(attrs: &mut Vec<(String, AttrValue)>, record: &CallRecord) {
    let Ok(request) = serde_json::from_slice::<Json>(&record.request) else {
        return;
    };
    for key in [
        "max_tokens",
        "max_completion_tokens",
        "max_output_tokens",
        "temperature",
        "top_p",
        "top_k",
        "seed",
        "frequency_penalty",
        "presence_penalty",
    ] {
        if let Some(v) = request.get(key).filter(|v| v.is_number()) {
            put(
                attrs,
                &format!("gen_ai.request.{key}"),
                AttrValue::from_json(v),
            );
        }
    }
    if record.headers.omit_request {
        return;
    }
    let prompt = record.kind.provider().prompt(record.endpoint, &request);
    match (record.endpoint, prompt.input) {
        (Endpoint::Embeddings, Some(input)) => {
            put(attrs, "input.value", text(&input.to_string()));
            put(attrs, "input.mime_type", text("application/json"));
        }
        (_, Some(input)) => put(attrs, "gen_ai.input.messages", text(&input.to_string())),
        _ => {}
    }
    if let Some(system) = prompt.system {
        put(
            attrs,
            "gen_ai.system_instructions",
            text(&system.to_string()),
        );
    }
}
