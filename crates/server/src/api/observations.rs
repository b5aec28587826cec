//! `GET /api/v1/observations`: observations across traces, by start time.

use axum::extract::{RawQuery, State};
use sightline_store::ObservationQuery;

use super::cursor::{self, Ordering};
use super::params::{Params, OBSERVATION_FILTERS, PAGE, TIME};
use super::shapes::{Observation, Page};
use super::ApiState;
use crate::auth::Caller;
use crate::error::ApiError;

pub const PARAMS: &[&[&str]] = &[TIME, OBSERVATION_FILTERS, PAGE, &["order", "payloads"]];

pub async fn list_observations(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Page<Observation>>, ApiError> {
    let project = caller.project();
    let p = Params::parse(query.as_deref(), PARAMS)?;
    let descending = p.descending()?;
    let ordering = Ordering::Observations { descending };
    let after = p
        .get("cursor")?
        .map(|c| cursor::decode_observation(project, ordering, c))
        .transpose()?;
    let q = ObservationQuery {
        filter: p.observation_filter(state.clock.now_ns())?,
        descending,
        limit: p.limit()?,
        after,
        payloads: p.flag("payloads", false)?,
    };
    let found = state.traces.list_observations(project, &q).await?;
    Ok(axum::Json(Page::new(
        found
            .observations
            .iter()
            .map(|o| Observation::new(o, &found.resources))
            .collect(),
        found
            .next
            .map(|n| cursor::encode_observation(project, ordering, &n)),
    )))
}
