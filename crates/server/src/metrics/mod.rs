//! Prometheus `GET /metrics`: counters kept in memory since start, fed by the ingest service after
//! each durable write (`llm_*` series per project, tenant, workspace, agent, model and provider)
//! and by the receivers (`sightline_ingest_*`). An operator endpoint: it spans every project.
//! `GET /metrics/otlp` (`otlp.rs`) serves the OTLP metric series stored, read at each scrape.

mod llm;
pub mod otlp;
#[cfg(test)]
mod otlp_tests;
#[cfg(test)]
mod tests;
mod text;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use llm::{Calls, LATENCY_BUCKETS_NS, OVERFLOW};
pub use text::CONTENT_TYPE;

use crate::auth::ScrapeAccess;
use crate::ingest::{Commit, CommitListener, MetricsCommit};
use text::Text;

/// How many distinct `llm_*` label sets are kept by default; calls with a new label set beyond
/// it are counted under one set whose labels are all [`OVERFLOW`].
pub const DEFAULT_MAX_SERIES: usize = 2000;

/// Every counter `/metrics` shows.
pub struct Metrics {
    llm: Mutex<llm::Table>,
    spans_accepted: AtomicU64,
    spans_duplicate: AtomicU64,
    spans_rejected: AtomicU64,
    logs_accepted: AtomicU64,
    logs_rejected: AtomicU64,
    /// OTLP metric data points by outcome, and new series refused past a project's limit.
    points_accepted: AtomicU64,
    points_duplicate: AtomicU64,
    points_rejected: AtomicU64,
    points_refused: AtomicU64,
    series_refused: AtomicU64,
    /// Requests by (receiver, status code).
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    retention: Mutex<RetentionStats>,
    /// The last disk sample against the budget.
    disk: Mutex<Option<sightline_store::DiskStatus>>,
}

/// What the retention sweeps did since start-up.
#[derive(Default)]
struct RetentionStats {
    ok: u64,
    failed: u64,
    spans: u64,
    logs: u64,
    /// The last successful run's cutoff (UTC ns).
    cutoff_ns: Option<i64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(DEFAULT_MAX_SERIES)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves plain counters intact.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Metrics {
    pub fn new(max_series: usize) -> Self {
        Metrics {
            llm: Mutex::new(llm::Table::new(max_series)),
            spans_accepted: AtomicU64::new(0),
            spans_duplicate: AtomicU64::new(0),
            spans_rejected: AtomicU64::new(0),
            logs_accepted: AtomicU64::new(0),
            logs_rejected: AtomicU64::new(0),
            points_accepted: AtomicU64::new(0),
            points_duplicate: AtomicU64::new(0),
            points_rejected: AtomicU64::new(0),
            points_refused: AtomicU64::new(0),
            series_refused: AtomicU64::new(0),
            requests: Mutex::new(BTreeMap::new()),
            retention: Mutex::new(RetentionStats::default()),
            disk: Mutex::new(None),
        }
    }

    /// Keeps the last disk sample for `/metrics`.
    pub fn disk(&self, status: &sightline_store::DiskStatus) {
        *lock(&self.disk) = Some(status.clone());
    }

    fn render_disk(&self, out: &mut Text) {
        let Some(d) = lock(&self.disk).clone() else {
            return;
        };
        out.family(
            "sightline_store_disk_bytes",
            "gauge",
            "Bytes the store's data takes on disk (last sample).",
        );
        out.sample("sightline_store_disk_bytes", &[], d.usage.used_bytes);
        if let Some(cap) = d.budget.max_bytes {
            out.family(
                "sightline_store_disk_limit_bytes",
                "gauge",
                "The store's disk cap (store.max_disk_bytes).",
            );
            out.sample("sightline_store_disk_limit_bytes", &[], cap);
        }
        if let Some(free) = d.usage.free_bytes {
            out.family(
                "sightline_store_disk_free_bytes",
                "gauge",
                "Free bytes on the store's volume (last sample).",
            );
            out.sample("sightline_store_disk_free_bytes", &[], free);
            out.family(
                "sightline_store_disk_free_floor_bytes",
                "gauge",
                "The free-space floor (store.min_free_disk_bytes).",
            );
            out.sample(
                "sightline_store_disk_free_floor_bytes",
                &[],
                d.budget.min_free_bytes,
            );
        }
        out.family(
            "sightline_store_disk_state",
            "gauge",
            "Where the store stands against its disk budget: 1 for the current state (ok, approaching, full; ingest is refused while full).",
        );
        for state in [
            sightline_store::DiskState::Ok,
            sightline_store::DiskState::Approaching,
            sightline_store::DiskState::Full,
        ] {
            out.sample(
                "sightline_store_disk_state",
                &[("state", state.as_str())],
                u64::from(state == d.state),
            );
        }
    }

    /// Counts one retention sweep (`None`: it failed).
    pub fn retention_run(&self, outcome: Option<&sightline_store::RetentionOutcome>) {
        let mut r = lock(&self.retention);
        match outcome {
            Some(o) => {
                r.ok += 1;
                r.spans += o.spans;
                r.logs += o.logs;
                r.cutoff_ns = Some(o.cutoff_ns);
            }
            None => r.failed += 1,
        }
    }

    /// Counts one answered ingest request.
    pub fn request(&self, receiver: &'static str, code: u16) {
        *lock(&self.requests).entry((receiver, code)).or_default() += 1;
    }

    /// Counts an OTLP/gRPC answer by its `grpc-status` (absent in the headers means OK: tonic
    /// sends errors of unary calls as trailers-only answers) and passes it on.
    pub fn grpc_answer<B>(&self, resp: axum::http::Response<B>) -> axum::http::Response<B> {
        let code = resp
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u16>().ok())
            .unwrap_or(0);
        self.request("otlp_grpc", code);
        resp
    }

    fn render_retention(&self, out: &mut Text) {
        let r = lock(&self.retention);
        out.family(
            "sightline_retention_runs_total",
            "counter",
            "Retention sweeps (retention_days) by outcome: ok or failed.",
        );
        out.sample("sightline_retention_runs_total", &[("outcome", "ok")], r.ok);
        out.sample(
            "sightline_retention_runs_total",
            &[("outcome", "failed")],
            r.failed,
        );
        out.family(
            "sightline_retention_deleted_total",
            "counter",
            "Spans and log records deleted by retention sweeps.",
        );
        out.sample(
            "sightline_retention_deleted_total",
            &[("kind", "spans")],
            r.spans,
        );
        out.sample(
            "sightline_retention_deleted_total",
            &[("kind", "logs")],
            r.logs,
        );
        if let Some(cutoff) = r.cutoff_ns {
            out.family(
                "sightline_retention_cutoff_seconds",
                "gauge",
                "The last successful sweep's cutoff (Unix seconds): older data is gone.",
            );
            out.sample(
                "sightline_retention_cutoff_seconds",
                &[],
                cutoff / 1_000_000_000,
            );
        }
    }

    /// The whole exposition.
    pub fn render(&self) -> String {
        let mut out = Text::default();
        let (folded, distinct) = {
            let table = lock(&self.llm);
            table.render(&mut out);
            (table.folded, table.distinct())
        };
        out.family(
            "sightline_metrics_series",
            "gauge",
            "Distinct llm_* label sets kept (the overflow set not counted).",
        );
        out.sample("sightline_metrics_series", &[], distinct);
        out.family(
            "sightline_metrics_overflow_calls_total",
            "counter",
            "Calls counted under the __other__ label set because the label-set cap was reached.",
        );
        out.sample("sightline_metrics_overflow_calls_total", &[], folded);

        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.family(
            "sightline_ingest_spans_total",
            "counter",
            "Spans by outcome: accepted (newly stored), duplicate (already stored), rejected.",
        );
        for (outcome, c) in [
            ("accepted", &self.spans_accepted),
            ("duplicate", &self.spans_duplicate),
            ("rejected", &self.spans_rejected),
        ] {
            out.sample(
                "sightline_ingest_spans_total",
                &[("outcome", outcome)],
                get(c),
            );
        }
        out.family(
            "sightline_ingest_logs_total",
            "counter",
            "Log records by outcome: accepted (stored) or rejected.",
        );
        for (outcome, c) in [
            ("accepted", &self.logs_accepted),
            ("rejected", &self.logs_rejected),
        ] {
            out.sample(
                "sightline_ingest_logs_total",
                &[("outcome", outcome)],
                get(c),
            );
        }
        out.family(
            "sightline_ingest_metric_points_total",
            "counter",
            "OTLP metric data points by outcome: accepted (stored), duplicate (already stored, or older than their cumulative series), rejected (invalid), refused (of a new series past the project's limit).",
        );
        for (outcome, c) in [
            ("accepted", &self.points_accepted),
            ("duplicate", &self.points_duplicate),
            ("rejected", &self.points_rejected),
            ("refused", &self.points_refused),
        ] {
            out.sample(
                "sightline_ingest_metric_points_total",
                &[("outcome", outcome)],
                get(c),
            );
        }
        out.family(
            "sightline_metrics_series_refused_total",
            "counter",
            "New OTLP metric series refused because their project had reached ingest.max_metric_series (counted once per export that carried them).",
        );
        out.sample(
            "sightline_metrics_series_refused_total",
            &[],
            get(&self.series_refused),
        );
        out.family(
            "sightline_ingest_requests_total",
            "counter",
            "Ingest requests by receiver and answer: the HTTP status, or the gRPC status code for otlp_grpc.",
        );
        for ((receiver, code), n) in lock(&self.requests).iter() {
            let code = code.to_string();
            let labels = [("receiver", *receiver), ("code", code.as_str())];
            out.sample("sightline_ingest_requests_total", &labels, n);
        }
        self.render_retention(&mut out);
        self.render_disk(&mut out);
        if let Some(rss) = resident_bytes() {
            out.family(
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
            );
            out.sample("process_resident_memory_bytes", &[], rss);
        }
        out.finish()
    }
}

/// The process's resident set size, from `/proc/self/status` (Linux only).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The receiver an HTTP ingest path belongs to; `None` for every other route.
fn receiver_of(path: &str) -> Option<&'static str> {
    match path {
        "/v1/traces" => Some("otlp_http_traces"),
        "/v1/logs" => Some("otlp_http_logs"),
        "/v1/metrics" => Some("otlp_http_metrics"),
        "/api/public/otel/v1/traces" => Some("langfuse_otel_traces"),
        "/api/v1/events" => Some("events"),
        _ => None,
    }
}

/// Counts what each ingest request committed. A batch the store already held entirely (a
/// client retry) adds no calls; a partly new batch adds all of its calls, as the store does not
/// say which spans were new.
impl CommitListener for Metrics {
    fn committed(&self, c: &Commit<'_>) {
        let add = |counter: &AtomicU64, n: u64| counter.fetch_add(n, Ordering::Relaxed);
        add(&self.spans_accepted, c.written.observations as u64);
        add(&self.spans_duplicate, c.written.duplicates as u64);
        add(&self.spans_rejected, c.rejected_spans);
        add(&self.logs_accepted, c.written.logs as u64);
        add(&self.logs_rejected, c.rejected_logs);
        if c.written.observations > 0 && !c.calls.is_empty() {
            lock(&self.llm).add(Calls::of(c.project, c.calls));
        }
    }

    fn metrics_committed(&self, c: &MetricsCommit<'_>) {
        let add = |counter: &AtomicU64, n: usize| counter.fetch_add(n as u64, Ordering::Relaxed);
        let w = c.written;
        add(&self.points_accepted, w.points);
        add(&self.points_duplicate, w.duplicates);
        add(&self.points_refused, w.refused_points);
        self.points_rejected
            .fetch_add(c.rejected_points, Ordering::Relaxed);
        add(
            &self.series_refused,
            w.refused_series.iter().map(|(_, n)| n).sum(),
        );
    }
}

/// Middleware: counts each answered HTTP ingest request by receiver and status.
pub async fn count_http(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let receiver = receiver_of(req.uri().path());
    let resp = next.run(req).await;
    if let Some(receiver) = receiver {
        metrics.request(receiver, resp.status().as_u16());
    }
    resp
}

/// `GET /metrics`: every counter in the Prometheus text format, for an admin key or the scrape
/// token (open on loopback while no key exists).
pub async fn serve(_: ScrapeAccess, State(metrics): State<Arc<Metrics>>) -> Response {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render()).into_response()
}
