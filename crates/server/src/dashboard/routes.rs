//! The dashboard's routes, merged into the app's router by `app/routes.rs`: one page per URL
//! (the query string carries filters, range and paging), the inspector fragment the trace page
//! loads, the key prompt and logout, and the embedded assets.

use std::sync::Arc;

use axum::extract::FromRef;
use axum::routing::{get, post};
use axum::Router;

use super::assets;
use super::pages::{costs, login, logs, overview, sessions, trace, traces};
use crate::api::ApiState;
use crate::auth::{self, Authenticator};

/// Every dashboard route, for any app state that has the API's state and the authenticator.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    ApiState: FromRef<S>,
    Arc<Authenticator>: FromRef<S>,
{
    Router::new()
        .route("/", get(overview::page))
        .route("/traces", get(traces::page))
        .route("/traces/{trace_id}", get(trace::page))
        .route("/traces/{trace_id}/spans/{span_id}", get(trace::inspector))
        .route("/sessions", get(sessions::list))
        .route("/sessions/{session_id}", get(sessions::page))
        .route("/costs", get(costs::page))
        .route("/logs", get(logs::page))
        .route("/login", get(login::page).post(auth::session::login))
        .route("/logout", post(auth::session::logout))
        .route("/assets/{name}", get(assets::serve))
}
