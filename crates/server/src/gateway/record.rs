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
use sightline_core::cost::{compute_cost, PriceRegistry, UsageSemantics};
use sightline_core::{AttrValue, ProjectId, RawBatch, Resource, SpanId, TraceId, Usage};
use sightline_store::CachedResponse;
use tokio::sync::{mpsc, watch};

use super::budgets::Reservation;
use super::cache::ResponseCache;
use super::headers::CallHeaders;
use super::limits::{Admitted, Limits};
use super::providers::{Endpoint, ProviderKind, RequestInfo, Summary};
use super::sse;
use crate::ingest::IngestService;

/// Most bytes of bodies the recording queue holds, whatever the count of calls.
const MAX_QUEUED_BYTES: usize = 256 << 20;

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
    /// The bodies it holds, for the queue's byte bound.
    fn size(&self) -> usize {
        let answer = match &self.outcome {
            Outcome::Answered { body, .. } => body.len(),
            Outcome::CacheHit(entry) => entry.body.len(),
            _ => 0,
        };
        self.request.len() + answer
    }

    pub(super) fn ok(&self) -> bool {
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
    /// Bytes of request and answer bodies waiting in the queue.
    queued_bytes: std::sync::atomic::AtomicUsize,
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
            queued_bytes: std::sync::atomic::AtomicUsize::new(0),
            stats: RecorderStats::default(),
        }
    }

    /// Hands a finished call over; never waits. With the queue full the call is settled here
    /// and its recording dropped (counted).
    pub fn submit(&self, record: CallRecord) {
        let size = record.size();
        let queued = self.queued_bytes.fetch_add(size, Ordering::Relaxed) + size;
        let over = queued > MAX_QUEUED_BYTES;
        let refused = if over {
            Err(record)
        } else {
            self.tx.try_send(record).map_err(|e| match e {
                mpsc::error::TrySendError::Full(r) | mpsc::error::TrySendError::Closed(r) => r,
            })
        };
        if let Err(mut record) = refused {
            self.queued_bytes.fetch_sub(size, Ordering::Relaxed);
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
            self.queued_bytes
                .fetch_sub(record.size(), Ordering::Relaxed);
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
            for span in super::spans::spans(&record, &settled.summary) {
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

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
