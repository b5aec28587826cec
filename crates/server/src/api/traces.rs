//! `GET /api/v1/traces`, `/traces/{trace_id}` (the tree; the id may be shortened to a prefix
//! only one of the project's traces starts with) and `/traces/{trace_id}/observations/{span_id}`.

use axum::extract::{Path, RawQuery, State};
use sightline_core::{ProjectId, SpanId, TraceId};
use sightline_store::{TraceIdPrefix, TraceQuery, TraceSort};

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
    let id = resolve_trace_id(&state, project, &trace_id).await?;
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

/// Fewest hex digits a shortened trace id may have.
const MIN_PREFIX_DIGITS: usize = 4;

/// Most ids an ambiguous prefix's message names.
const SHOWN_MATCHES: usize = 5;

/// The trace `text` names: a whole id, or the start of exactly one of the project's trace ids.
async fn resolve_trace_id(
    state: &ApiState,
    project: ProjectId,
    text: &str,
) -> Result<TraceId, ApiError> {
    if text.len() == 32 {
        return params::trace_id("trace_id", text);
    }
    let prefix = Some(text)
        .filter(|t| t.len() >= MIN_PREFIX_DIGITS)
        .and_then(TraceIdPrefix::parse)
        .ok_or_else(|| {
            invalid(format!(
                "trace_id: {text:?} must be 32 hex digits, or a start of one at least \
                 {MIN_PREFIX_DIGITS} digits long"
            ))
        })?;
    let found = state
        .traces
        .trace_ids_with_prefix(project, &prefix, SHOWN_MATCHES)
        .await?;
    match found.as_slice() {
        [] => Err(not_found(format!(
            "trace_id: no trace starting with {text} was found in this project; \
             GET /api/v1/traces lists whole ids"
        ))),
        [one] => Ok(*one),
        several => {
            let ids: Vec<String> = several.iter().map(TraceId::to_hex).collect();
            let more = if several.len() == SHOWN_MATCHES {
                " and maybe more"
            } else {
                ""
            };
            Err(invalid(format!(
                "trace_id: {text} starts several traces ({}{more}); give more digits",
                ids.join(", ")
            )))
        }
    }
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
