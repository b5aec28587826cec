//! Every HTTP route, in one place (the dashboard's pages in `dashboard::router`). Failures the
//! router answers itself (unknown route, wrong method) get the problem shape from
//! `error::problem_bodies`.

use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post, put};
use axum::Router;

use super::state::AppState;
use crate::api;
use crate::dashboard;
use crate::error;
use crate::gateway;
use crate::ingest::http;
use crate::metrics;

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/v1/traces", post(http::otlp_traces))
        .route("/api/public/otel/v1/traces", post(http::otlp_traces))
        .route("/v1/logs", post(http::otlp_logs))
        .route("/v1/metrics", post(http::otlp_metrics))
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
        .route("/api/v1/metric-names", get(api::metric_names))
        .route("/api/v1/metric-series", get(api::metric_series))
        .route("/api/v1/costs", get(api::costs))
        .route("/api/v1/stream", get(api::stream))
        .route("/api/v1/prices", get(api::list_prices))
        .route("/api/v1/prices/lookup", get(api::lookup_price))
        .route("/api/v1/prices/overrides", put(api::put_override))
        .route(
            "/api/v1/prices/overrides/{id}",
            delete(api::delete_override),
        )
        .route("/api/v1/keys", get(api::list_keys).post(api::create_key))
        .route("/api/v1/keys/{key}", delete(api::revoke_key))
        .route(
            "/api/v1/budgets",
            get(gateway::list_budgets).put(gateway::put_budget),
        )
        .route("/api/v1/budgets/events", get(gateway::list_budget_events))
        .route("/api/v1/budgets/{id}", delete(gateway::delete_budget))
        .route("/api/v1/gateway", get(gateway::upstreams))
        .route(
            "/api/v1/gateway/rate-limits",
            get(gateway::list_rate_limits).put(gateway::put_rate_limit),
        )
        .route(
            "/api/v1/gateway/rate-limits/{id}",
            delete(gateway::delete_rate_limit),
        )
        .route(
            "/api/v1/gateway/keys",
            get(gateway::list_keys).put(gateway::put_key),
        )
        .route("/api/v1/gateway/keys/{id}", delete(gateway::delete_key))
        .route("/gateway/{upstream}/{*path}", any(gateway::proxy))
        .route("/health", get(health))
        .route("/metrics", get(metrics::serve))
        .route("/metrics/otlp", get(metrics::otlp::serve))
        .merge(dashboard::router())
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::count_http,
        ))
        .layer(DefaultBodyLimit::disable())
        .with_state(state);
    // Around the whole router, so it also sees the 404 of an unknown route and the `Allow`
    // header a wrong method's 405 gets on its way out.
    Router::new()
        .fallback_service(routes)
        .layer(axum::middleware::from_fn(error::problem_bodies))
}

/// `GET /health`: the process answers.
async fn health() -> Response {
    axum::Json(serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
        .into_response()
}
