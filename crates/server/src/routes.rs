//! Every HTTP route, in one place.

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::api;
use crate::http;
use crate::metrics;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/traces", post(http::otlp_traces))
        .route("/api/public/otel/v1/traces", post(http::otlp_traces))
        .route("/v1/logs", post(http::otlp_logs))
        .route("/api/v1/events", post(http::events))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/traces", get(api::list_traces))
        .route("/api/v1/traces/{trace_id}", get(api::get_trace))
        .route(
            "/api/v1/traces/{trace_id}/observations/{span_id}",
            get(api::get_observation),
        )
        .route("/api/v1/observations", get(api::list_observations))
        .route("/api/v1/sessions", get(api::list_sessions))
        .route("/api/v1/sessions/{session_id}", get(api::get_session))
        .route("/api/v1/logs", get(api::list_logs))
        .route("/api/v1/metrics", get(api::metrics))
        .route("/api/v1/costs", get(api::costs))
        .route("/api/v1/stream", get(api::stream))
        .route("/api/v1/prices", get(api::list_prices))
        .route("/api/v1/prices/lookup", get(api::lookup_price))
        .route("/api/v1/prices/overrides", put(api::put_override))
        .route(
            "/api/v1/prices/overrides/{id}",
            delete(api::delete_override),
        )
        .route("/health", get(http::health))
        .route("/metrics", get(metrics::serve))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count_http,
        ))
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}
