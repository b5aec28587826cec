//! `GET /api/v1/traces`, `/traces/{trace_id}` (the tree) and
//! `/traces/{trace_id}/observations/{span_id}`.

use axum::extract::{Path, RawQuery, State};
use sightline_core::SpanId;
use sightline_store::{TraceQuery, TraceSort};

use super::cursor::{self, Ordering};
use super::params::{self, invalid, Params, OBSERVATION_FILTERS, PAGE, TIME};
use super::shapes::{Observation, Page, TraceSummary, TraceTree};
use super::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};

pub const LIST_PARAMS: &[&[&str]] = &[TIME, OBSERVATION_FILTERS, PAGE, &["sort", "order"]];
pub const TRACE_PARAMS: &[&[&str]] = &[&["payloads"]];

pub async fn list_traces(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Page<TraceSummary>>, ApiError> {
    let project = caller.project();
    let p = Params::parse(query.as_deref(), LIST_PARAMS)?;
    let sort = match p.get("sort")? {
        None | Some("start") => TraceSort::Start,
        Some("duration") => TraceSort::Duration,
        Some("tokens") => TraceSort::Tokens,
        Some("cost") => TraceSort::Cost,
        Some(v) => {
            return Err(invalid(format!(
                "sort: must be start, duration, tokens or cost, got {v:?}"
            )))
        }
    };
    let descending = p.descending()?;
    let ordering = Ordering::Traces { sort, descending };
    let after = p
        .get("cursor")?
        .map(|c| cursor::decode_trace(project, ordering, c))
        .transpose()?;
    let q = TraceQuery {
        filter: p.observation_filter(state.clock.now_ns())?,
        sort,
        descending,
        limit: p.limit()?,
        after,
    };
    let found = state.traces.list_traces(project, &q).await?;
    Ok(axum::Json(Page::new(
        found.traces.iter().map(TraceSummary::from).collect(),
        found
            .next
            .map(|n| cursor::encode_trace(project, ordering, &n)),
    )))
}

/// `GET /api/v1/traces/{trace_id}`: the trace as a tree; payloads only with `payloads=true`.
pub async fn get_trace(
    State(state): State<ApiState>,
    caller: Caller,
    Path(trace_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<TraceTree>, ApiError> {
    let project = caller.project();
    let p = Params::parse(query.as_deref(), TRACE_PARAMS)?;
    let id = params::trace_id("trace_id", &trace_id)?;
    let payloads = p.flag("payloads", false)?;
    let t = state
        .traces
        .trace(project, id, payloads)
        .await?
        .ok_or_else(|| {
            not_found(format!(
                "trace {} was not found in this project",
                id.to_hex()
            ))
        })?;
    Ok(axum::Json(TraceTree::from(&t)))
}

/// `GET /api/v1/traces/{trace_id}/observations/{span_id}`: one observation, full payload.
pub async fn get_observation(
    State(state): State<ApiState>,
    caller: Caller,
    Path((trace_id, span_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Observation>, ApiError> {
    let project = caller.project();
    Params::parse(query.as_deref(), &[])?;
    let tid = params::trace_id("trace_id", &trace_id)?;
    let sid = SpanId::from_hex(&span_id).map_err(|e| {
        invalid(format!(
            "span_id: {span_id:?} {e}; pass the 16-character hex span id"
        ))
    })?;
    let (resource, o) = state
        .traces
        .observation(project, tid, sid)
        .await?
        .ok_or_else(|| {
            not_found(format!(
                "observation {} of trace {} was not found in this project",
                sid.to_hex(),
                tid.to_hex()
            ))
        })?;
    let mut o = o;
    o.resource_index = 0;
    Ok(axum::Json(Observation::new(
        &o,
        std::slice::from_ref(&resource),
    )))
}

fn not_found(message: String) -> ApiError {
    ApiError::new(ErrorCode::NotFound, message)
}
