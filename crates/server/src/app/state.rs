//! The router's state: one sub-state per part of the server, each handler extracting only the
//! part it needs (`State<ApiState>`, `State<IngestState>`, the [`Caller`](crate::auth::Caller)
//! through the authenticator).

use std::sync::Arc;

use axum::extract::FromRef;

use crate::api::ApiState;
use crate::auth::{Authenticator, ScrapePolicy};
use crate::gateway::GatewayState;
use crate::ingest::IngestState;
use crate::metrics::otlp::OtlpSource;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub auth: Arc<Authenticator>,
    /// Who may read `/metrics`.
    pub scrape: Arc<ScrapePolicy>,
    pub ingest: IngestState,
    pub api: ApiState,
    /// Counters served at `/metrics`, also a listener of the ingest service.
    pub metrics: Arc<Metrics>,
    /// The LLM gateway under `/gateway/`.
    pub gateway: GatewayState,
    /// The stored OTLP metric series served at `/metrics/otlp`.
    pub otlp: OtlpSource,
}

impl FromRef<AppState> for OtlpSource {
    fn from_ref(s: &AppState) -> Self {
        s.otlp.clone()
    }
}

impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(s: &AppState) -> Self {
        s.auth.clone()
    }
}

impl FromRef<AppState> for Arc<ScrapePolicy> {
    fn from_ref(s: &AppState) -> Self {
        s.scrape.clone()
    }
}

impl FromRef<AppState> for IngestState {
    fn from_ref(s: &AppState) -> Self {
        s.ingest.clone()
    }
}

impl FromRef<AppState> for ApiState {
    fn from_ref(s: &AppState) -> Self {
        s.api.clone()
    }
}

impl FromRef<AppState> for Arc<Metrics> {
    fn from_ref(s: &AppState) -> Self {
        s.metrics.clone()
    }
}

impl FromRef<AppState> for GatewayState {
    fn from_ref(s: &AppState) -> Self {
        s.gateway.clone()
    }
}
