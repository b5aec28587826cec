//! `GET /api/v1/metrics`: time-bucketed aggregates of matching observations. Chooses the
//! window (default the last hour) and the bucket (default about 60 of them), and refuses
//! windows that would need more than [`MAX_BUCKETS`].

use axum::extract::{RawQuery, State};
use sightline_core::time::format_rfc3339;
use sightline_store::{GroupBy, MetricsQuery};

use super::params::{duration_or_integer, invalid, Params, OBSERVATION_FILTERS, TIME};
use super::shapes::Metrics;
use super::ApiState;
use crate::auth::Caller;
use crate::error::ApiError;

pub const MAX_BUCKETS: i64 = 100_000;
const SEC: i64 = 1_000_000_000;
pub(super) const DEFAULT_WINDOW: i64 = 3_600 * SEC;
/// Bucket widths the default picks from (seconds), for about 60 buckets.
const NICE_BUCKETS: &[i64] = &[
    1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400,
];
const TARGET_BUCKETS: i64 = 60;

pub const PARAMS: &[&[&str]] = &[TIME, OBSERVATION_FILTERS, &["bucket", "group_by"]];

pub async fn metrics(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Metrics>, ApiError> {
    let project = caller.project();
    let p = Params::parse(query.as_deref(), PARAMS)?;
    let now = state.clock.now_ns();
    let mut filter = p.observation_filter(now)?;
    let to_ns = filter.to_ns.unwrap_or(now);
    let from_ns = filter
        .from_ns
        .unwrap_or_else(|| to_ns.saturating_sub(DEFAULT_WINDOW));
    if to_ns <= from_ns {
        return Err(invalid(format!(
            "to: must be after from ({} is not after {}); widen the window",
            format_rfc3339(to_ns),
            format_rfc3339(from_ns)
        )));
    }
    (filter.from_ns, filter.to_ns) = (Some(from_ns), Some(to_ns));
    let bucket_ns = bucket(p.get("bucket")?, from_ns, to_ns)?;
    let group_by = p.get("group_by")?.map(group_by).transpose()?;
    let q = MetricsQuery {
        filter,
        from_ns,
        to_ns,
        bucket_ns,
        group_by,
    };
    let result = state.metrics.metrics(project, &q).await?;
    Ok(axum::Json(Metrics::new(&q, &result)))
}

/// The bucket width in ns: whole seconds, at most [`MAX_BUCKETS`] over `[from, to)`.
pub(super) fn bucket(given: Option<&str>, from_ns: i64, to_ns: i64) -> Result<i64, ApiError> {
    let width = to_ns - from_ns;
    let bucket_ns = match given {
        Some(v) => match duration_or_integer(v, SEC) {
            Some(b) if b >= SEC && b % SEC == 0 => b,
            _ => {
                return Err(invalid(format!(
                "bucket: must be a whole number of seconds such as 1m, 5m, 1h, 1d or 30, got {v:?}"
            )))
            }
        },
        None => {
            let ideal = (width + TARGET_BUCKETS - 1) / TARGET_BUCKETS;
            NICE_BUCKETS
                .iter()
                .map(|s| s * SEC)
                .find(|b| *b >= ideal)
                .unwrap_or_else(|| (ideal + 86_400 * SEC - 1) / (86_400 * SEC) * 86_400 * SEC)
        }
    };
    let count = bucket_count(from_ns, to_ns, bucket_ns);
    if count > MAX_BUCKETS {
        return Err(invalid(format!(
            "bucket: {count} buckets of {}s would cover the window, more than {MAX_BUCKETS}; \
             use a larger bucket or a shorter window",
            bucket_ns / SEC
        )));
    }
    Ok(bucket_ns)
}

/// Buckets (aligned to multiples of `bucket_ns` since the epoch) that `[from, to)` touches.
fn bucket_count(from_ns: i64, to_ns: i64, bucket_ns: i64) -> i64 {
    (to_ns - 1).div_euclid(bucket_ns) - from_ns.div_euclid(bucket_ns) + 1
}

fn group_by(v: &str) -> Result<GroupBy, ApiError> {
    Ok(match v {
        "service" => GroupBy::Service,
        "agent" => GroupBy::Agent,
        "model" => GroupBy::Model,
        "provider" => GroupBy::Provider,
        "operation" => GroupBy::Operation,
        "kind" => GroupBy::Kind,
        _ => {
            return Err(invalid(format!(
                "group_by: must be service, agent, model, provider, operation or kind, got {v:?}"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_store::{MetricPoint, MetricsResult};

    const T0: i64 = 1_768_386_600 * SEC;

    #[test]
    fn default_bucket_gives_about_sixty() {
        assert_eq!(bucket(None, T0 - 3_600 * SEC, T0).unwrap(), 60 * SEC);
        assert_eq!(bucket(None, T0 - 86_400 * SEC, T0).unwrap(), 1_800 * SEC);
        assert_eq!(bucket(None, T0 - 30 * SEC, T0).unwrap(), SEC);
        let year = 365 * 86_400 * SEC;
        assert_eq!(bucket(None, T0 - year, T0).unwrap(), 7 * 86_400 * SEC);
    }

    #[test]
    fn given_buckets_are_whole_seconds_and_capped() {
        assert_eq!(bucket(Some("5m"), T0 - 3_600 * SEC, T0).unwrap(), 300 * SEC);
        assert_eq!(bucket(Some("30"), T0 - 3_600 * SEC, T0).unwrap(), 30 * SEC);
        for bad in ["250ms", "0", "fast", "1500ms"] {
            let e = bucket(Some(bad), T0 - 3_600 * SEC, T0).unwrap_err();
            assert!(
                e.message.starts_with("bucket: must be a whole number"),
                "{bad}"
            );
        }
        // 100,000 one-second buckets fit; one more does not.
        assert!(bucket(Some("1s"), T0 - MAX_BUCKETS * SEC, T0).is_ok());
        let e = bucket(Some("1s"), T0 - MAX_BUCKETS * SEC - 1, T0).unwrap_err();
        assert!(
            e.message.starts_with("bucket: 100001 buckets"),
            "{}",
            e.message
        );
    }

    #[test]
    fn points_become_one_series_per_group_with_rates_and_milliseconds() {
        let point = |group: Option<&str>, start: i64, requests: i64, errors: i64| MetricPoint {
            bucket_start_ns: start,
            group: group.map(str::to_owned),
            requests,
            errors,
            latency_p50_ns: 820_000_000,
            latency_p95_ns: 1_900_500_000,
            cost_nano_usd: Some(7),
            ..Default::default()
        };
        let q = MetricsQuery {
            filter: Default::default(),
            from_ns: 0,
            to_ns: 120 * SEC,
            bucket_ns: 60 * SEC,
            group_by: Some(GroupBy::Model),
        };
        let points = vec![
            point(None, 0, 1, 0),
            point(Some("gpt-4o"), 0, 12, 1),
            point(Some("gpt-4o"), 60 * SEC, 4, 0),
        ];
        let answer = serde_json::to_value(Metrics::new(&q, &MetricsResult { points })).unwrap();
        assert_eq!(answer["group_by"], "model");
        assert_eq!(answer["bucket_seconds"], 60);
        let series = answer["series"].as_array().unwrap();
        assert_eq!(series.len(), 2);
        assert!(series[0].get("group").is_none(), "no value: group left out");
        assert_eq!(series[1]["group"], "gpt-4o");
        let p = &series[1]["points"][0];
        assert_eq!(p["error_rate"].as_f64().unwrap(), 1.0 / 12.0);
        assert_eq!(p["latency_p50_ms"].as_f64().unwrap(), 820.0);
        assert_eq!(p["latency_p95_ms"].as_f64().unwrap(), 1900.5);
        assert_eq!(p["cost_nano_usd"], 7);
        assert_eq!(p["time"], "1970-01-01T00:00:00.000000000Z");
        assert_eq!(series[1]["points"][1]["time_ns"], 60 * SEC);
    }
}
