//! `GET /api/v1/logs`: log search by time.

use axum::extract::{RawQuery, State};
use sightline_store::LogQuery;

use super::cursor::{self, Ordering};
use super::params::{Params, LOG_FILTERS, PAGE, TIME};
use super::shapes::{Log, Page};
use super::ApiState;
use crate::auth::Caller;
use crate::error::ApiError;

pub const PARAMS: &[&[&str]] = &[TIME, LOG_FILTERS, PAGE, &["order"]];

pub async fn list_logs(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Page<Log>>, ApiError> {
    let project = caller.project();
    let p = Params::parse(query.as_deref(), PARAMS)?;
    let descending = p.descending()?;
    let ordering = Ordering::Logs { descending };
    let after = p
        .get("cursor")?
        .map(|c| cursor::decode_log(project, ordering, c))
        .transpose()?;
    let q = LogQuery {
        filter: p.log_filter(state.clock.now_ns())?,
        descending,
        limit: p.limit()?,
        after,
    };
    let found = state.logs.list_logs(project, &q).await?;
    Ok(axum::Json(Page::new(
        found
            .logs
            .iter()
            .map(|l| Log::new(l, &found.resources))
            .collect(),
        found
            .next
            .map(|n| cursor::encode_log(project, ordering, &n)),
    )))
}
