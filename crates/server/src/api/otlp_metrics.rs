//! `GET /api/v1/metric-names` and `GET /api/v1/metric-series`: the OTLP metrics the project
//! stored, and one metric's points in time buckets, grouped by an attribute and filtered by
//! attributes. Window and bucket as `/api/v1/metrics` chooses them.

use axum::extract::{RawQuery, State};
use sightline_store::MetricSeriesQuery;

use super::metrics::{bucket, DEFAULT_WINDOW};
use super::params::{invalid, Params, TIME};
use super::shapes::{OtlpMetric, OtlpMetricNames};
use super::ApiState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};

pub const NAMES_PARAMS: &[&[&str]] = &[];
pub const SERIES_PARAMS: &[&[&str]] = &[TIME, &["name", "bucket", "group_by", "attribute"]];

pub async fn metric_names(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<OtlpMetricNames>, ApiError> {
    Params::parse(query.as_deref(), NAMES_PARAMS)?;
    let names = state.otlp_metrics.metric_names(caller.project()).await?;
    Ok(axum::Json(OtlpMetricNames::new(
        &names,
        state.max_metric_series,
    )))
}

pub async fn metric_series(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<OtlpMetric>, ApiError> {
    let p = Params::parse(query.as_deref(), SERIES_PARAMS)?;
    let name = p.get("name")?.ok_or_else(|| {
        invalid("name: required; give the metric's name (GET /api/v1/metric-names lists them)")
    })?;
    let now = state.clock.now_ns();
    let (from, to) = p.window(now)?;
    let to_ns = to.unwrap_or(now);
    let from_ns = from.unwrap_or_else(|| to_ns.saturating_sub(DEFAULT_WINDOW));
    if to_ns <= from_ns {
        return Err(invalid(
            "to: must be after from (the window defaults to the hour before to); widen the window",
        ));
    }
    let attributes = p
        .all("attribute")?
        .into_iter()
        .map(|v| match v.split_once('=') {
            Some((k, val)) if !k.is_empty() => Ok((k.to_owned(), val.to_owned())),
            _ => Err(invalid(format!(
                "attribute: must be key=value (e.g. attribute=gen_ai.token.type=input), got {v:?}"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let q = MetricSeriesQuery {
        name: name.to_owned(),
        from_ns,
        to_ns,
        bucket_ns: bucket(p.get("bucket")?, from_ns, to_ns)?,
        group_by: p.get("group_by")?.map(str::to_owned),
        attributes,
    };
    let result = state
        .otlp_metrics
        .metric_series(caller.project(), &q)
        .await?;
    OtlpMetric::new(&q, &result).map(axum::Json).ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotFound,
            format!(
                "name: no metric {name:?} is stored in this project; GET /api/v1/metric-names \
                 lists the stored ones"
            ),
        )
    })
}
