//! The shared state handlers receive.

use std::sync::Arc;

use sightline_store::{
    ChangeFeed, CostReader, LogReader, MetricsReader, SessionReader, TraceReader,
};
use tokio::sync::watch;

use crate::admission::Admission;
use crate::auth::Authenticator;
use crate::ingest::IngestService;
use crate::metrics::Metrics;
use crate::pricing::PriceBook;

#[derive(Clone)]
pub struct AppState {
    pub ingest: Arc<IngestService>,
    pub auth: Arc<Authenticator>,
    pub traces: Arc<dyn TraceReader>,
    pub sessions: Arc<dyn SessionReader>,
    pub logs: Arc<dyn LogReader>,
    /// Time-bucketed aggregates for `/api/v1/metrics` (not the Prometheus counters).
    pub metrics_reader: Arc<dyn MetricsReader>,
    /// Cost attribution for `/api/v1/costs`.
    pub costs: Arc<dyn CostReader>,
    /// The change feed behind the live stream.
    pub feed: Arc<dyn ChangeFeed>,
    /// Turns true when the server starts shutting down: live streams end on it.
    pub shutdown: watch::Receiver<bool>,
    pub admission: Admission,
    pub max_http_body_bytes: usize,
    /// Counters served at `/metrics`, shared with the ingest service.
    pub metrics: Arc<Metrics>,
    /// Per-project prices: the bundled table with each project's overrides.
    pub prices: Arc<PriceBook>,
}
