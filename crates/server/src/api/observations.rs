//! `GET /api/v1/observations`: observations across traces, by start time.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use sightline_store::ObservationQuery;

use super::cursor::{self, Ordering};
use super::params::{Params, OBSERVATION_FILTERS, PAGE, TIME};
use super::{authenticate, page, reply};
use crate::state::AppState;
use crate::views;

pub const PARAMS: &[&[&str]] = &[TIME, OBSERVATION_FILTERS, PAGE, &["order", "payloads"]];

pub async fn list_observations(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    reply(
        async {
            let project = authenticate(&state, &headers).await?;
            let p = Params::parse(query.as_deref(), PARAMS)?;
            let descending = p.descending()?;
            let ordering = Ordering::Observations { descending };
            let after = p
                .get("cursor")?
                .map(|c| cursor::decode_observation(project, ordering, c))
                .transpose()?;
            let q = ObservationQuery {
                filter: p.observation_filter(state.ingest.clock().now_ns())?,
                descending,
                limit: p.limit()?,
                after,
                payloads: p.flag("payloads", false)?,
            };
            let found = state.traces.list_observations(project, &q).await?;
            Ok(page(
                found
                    .observations
                    .iter()
                    .map(|o| views::observation(o, &found.resources))
                    .collect(),
                found
                    .next
                    .map(|n| cursor::encode_observation(project, ordering, &n)),
            ))
        }
        .await,
    )
}
