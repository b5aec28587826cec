//! `/metrics`: the window, the bucket and one series of buckets per group.

use serde::{Deserialize, Serialize};
use sightline_core::time::format_rfc3339;
use sightline_store::{GroupBy, MetricsQuery, MetricsResult};

use super::{millis, rate};

const SEC: i64 = 1_000_000_000;

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct Metrics {
    pub from_ns: i64,
    pub from: String,
    pub to_ns: i64,
    pub to: String,
    pub bucket_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    pub series: Vec<MetricSeries>,
}

/// One group's buckets; `group` is absent for the ungrouped series and for "no value".
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct MetricSeries {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub points: Vec<MetricPoint>,
}

/// One bucket; latencies in milliseconds, `error_rate` = errors / requests.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct MetricPoint {
    /// Bucket start.
    pub time_ns: i64,
    pub time: String,
    pub requests: i64,
    pub errors: i64,
    pub error_rate: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub latency_p99_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_nano_usd: Option<i64>,
}

impl Metrics {
    /// The answer to `q`: points ordered by (group, bucket start) become one series per group.
    pub fn new(q: &MetricsQuery, result: &MetricsResult) -> Self {
        let mut series: Vec<MetricSeries> = Vec::new();
        for p in &result.points {
            match series.last_mut() {
                Some(s) if s.group == p.group => s.points.push(MetricPoint::from(p)),
                _ => series.push(MetricSeries {
                    group: p.group.clone(),
                    points: vec![MetricPoint::from(p)],
                }),
            }
        }
        Metrics {
            from_ns: q.from_ns,
            from: format_rfc3339(q.from_ns),
            to_ns: q.to_ns,
            to: format_rfc3339(q.to_ns),
            bucket_seconds: q.bucket_ns / SEC,
            group_by: q.group_by.map(|g| group_name(g).to_owned()),
            series,
        }
    }
}

impl From<&sightline_store::MetricPoint> for MetricPoint {
    fn from(p: &sightline_store::MetricPoint) -> Self {
        MetricPoint {
            time_ns: p.bucket_start_ns,
            time: format_rfc3339(p.bucket_start_ns),
            requests: p.requests,
            errors: p.errors,
            error_rate: rate(p.errors, p.requests),
            input_tokens: p.input_tokens,
            output_tokens: p.output_tokens,
            total_tokens: p.total_tokens,
            latency_p50_ms: millis(p.latency_p50_ns),
            latency_p95_ms: millis(p.latency_p95_ns),
            latency_p99_ms: millis(p.latency_p99_ns),
            cost_nano_usd: p.cost_nano_usd,
        }
    }
}

/// The name `group_by` takes for `g`.
fn group_name(g: GroupBy) -> &'static str {
    match g {
        GroupBy::Service => "service",
        GroupBy::Agent => "agent",
        GroupBy::Model => "model",
        GroupBy::Provider => "provider",
        GroupBy::Operation => "operation",
        GroupBy::Kind => "kind",
    }
}
