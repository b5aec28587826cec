//! Every HTTP route, in one place.

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::http;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/traces", post(http::otlp_traces))
        .route("/api/public/otel/v1/traces", post(http::otlp_traces))
        .route("/v1/logs", post(http::otlp_logs))
        .route("/api/v1/events", post(http::events))
        .route("/api/v1/traces/{trace_id}", get(http::get_trace))
        .route("/health", get(http::health))
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}
