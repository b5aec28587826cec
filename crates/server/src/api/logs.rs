//! `GET /api/v1/logs`: log search by time.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use sightline_store::LogQuery;

use super::cursor::{self, Ordering};
use super::params::{Params, LOG_FILTERS, PAGE, TIME};
use super::{authenticate, page, reply};
use crate::state::AppState;
use crate::views;

pub const PARAMS: &[&[&str]] = &[TIME, LOG_FILTERS, PAGE, &["order"]];

pub async fn list_logs(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    reply(
        async {
            let project = authenticate(&state, &headers).await?;
            let p = Params::parse(query.as_deref(), PARAMS)?;
            let descending = p.descending()?;
            let ordering = Ordering::Logs { descending };
            let after = p
                .get("cursor")?
                .map(|c| cursor::decode_log(project, ordering, c))
                .transpose()?;
            let q = LogQuery {
                filter: p.log_filter(state.ingest.clock().now_ns())?,
                descending,
                limit: p.limit()?,
                after,
            };
            let found = state.logs.list_logs(project, &q).await?;
            Ok(page(
                found
                    .logs
                    .iter()
                    .map(|l| views::log(l, &found.resources))
                    .collect(),
                found
                    .next
                    .map(|n| cursor::encode_log(project, ordering, &n)),
            ))
        }
        .await,
    )
}
