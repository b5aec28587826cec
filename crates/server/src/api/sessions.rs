//! `GET /api/v1/sessions` (by last activity) and `/sessions/{session_id}` (the conversation).

use axum::extract::{Path, RawQuery, State};
use sightline_store::SessionQuery;

use super::cursor;
use super::params::{Params, PAGE, TIME};
use super::shapes::{Page, SessionDetail, SessionSummary};
use super::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};

/// Most traces a session answer holds (the earliest ones).
pub const MAX_TURNS: usize = 1000;

pub const LIST_PARAMS: &[&[&str]] = &[TIME, PAGE, &["user_id", "tenant_id"]];

pub async fn list_sessions(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Page<SessionSummary>>, ApiError> {
    let project = caller.project();
    let p = Params::parse(query.as_deref(), LIST_PARAMS)?;
    let (from_ns, to_ns) = p.window(state.clock.now_ns())?;
    let after = p
        .get("cursor")?
        .map(|c| cursor::decode_session(project, c))
        .transpose()?;
    let q = SessionQuery {
        from_ns,
        to_ns,
        user_id: p.get("user_id")?.map(str::to_owned),
        tenant_id: p.get("tenant_id")?.map(str::to_owned),
        limit: p.limit()?,
        after,
    };
    let found = state.sessions.list_sessions(project, &q).await?;
    Ok(axum::Json(Page::new(
        found.sessions.iter().map(SessionSummary::from).collect(),
        found.next.map(|n| cursor::encode_session(project, &n)),
    )))
}

pub async fn get_session(
    State(state): State<ApiState>,
    caller: Caller,
    Path(session_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<SessionDetail>, ApiError> {
    let project = caller.project();
    Params::parse(query.as_deref(), &[])?;
    let s = state
        .sessions
        .session(project, &session_id, MAX_TURNS)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("session {session_id:?} was not found in this project"),
            )
        })?;
    Ok(axum::Json(SessionDetail::from(&s)))
}
