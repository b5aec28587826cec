//! `/metric-names` and `/metric-series`: the OTLP metrics a project stored, and one metric's
//! points in time buckets, one series of buckets per group. What a bucket shows depends on the
//! metric's kind (docs/api.md): gauges avg/min/max/last, sums increase/rate/last, histograms
//! count/sum/avg, percentiles and the merged buckets.

use serde::{Deserialize, Serialize};
use sightline_core::metrics::{MetricKind, Temporality};
use sightline_core::time::format_rfc3339;
use sightline_store::{MetricBucket, MetricInfo, MetricSeriesQuery, MetricSeriesResult};

const SEC: i64 = 1_000_000_000;

/// `GET /api/v1/metric-names`.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct OtlpMetricNames {
    pub metrics: Vec<OtlpMetricName>,
    /// The project's series, all metrics together.
    pub series: u64,
    /// The most series the project may have (`ingest.max_metric_series`).
    pub series_limit: u64,
}

/// One stored metric.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct OtlpMetricName {
    pub name: String,
    /// `gauge`, `sum` or `histogram`.
    pub kind: String,
    /// `delta` or `cumulative`, as sent; absent for gauges.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporality: Option<String>,
    /// Sums: whether it only goes up (a counter).
    pub monotonic: bool,
    pub unit: String,
    pub description: String,
    pub series: u64,
    /// Its newest point.
    pub last_time_ns: i64,
    pub last_time: String,
}

fn temporality(kind: MetricKind, t: Temporality) -> Option<String> {
    (kind != MetricKind::Gauge).then(|| t.as_str().to_owned())
}

impl From<&MetricInfo> for OtlpMetricName {
    fn from(m: &MetricInfo) -> Self {
        OtlpMetricName {
            name: m.name.clone(),
            kind: m.kind.as_str().to_owned(),
            temporality: temporality(m.kind, m.temporality),
            monotonic: m.monotonic,
            unit: m.unit.clone(),
            description: m.description.clone(),
            series: m.series,
            last_time_ns: m.last_ns,
            last_time: format_rfc3339(m.last_ns),
        }
    }
}

impl OtlpMetricNames {
    pub fn new(metrics: &[MetricInfo], series_limit: usize) -> Self {
        OtlpMetricNames {
            metrics: metrics.iter().map(OtlpMetricName::from).collect(),
            series: metrics.iter().map(|m| m.series).sum(),
            series_limit: series_limit as u64,
        }
    }
}

/// `GET /api/v1/metric-series`.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct OtlpMetric {
    /// The metric, as `/metric-names` lists it.
    pub metric: OtlpMetricName,
    pub from_ns: i64,
    pub from: String,
    pub to_ns: i64,
    pub to: String,
    pub bucket_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    pub groups: Vec<OtlpMetricGroup>,
}

/// One group's buckets; `group` is absent when not grouped and for series without the key.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct OtlpMetricGroup {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The group's series.
    pub series: u64,
    pub points: Vec<OtlpMetricPoint>,
}

/// One bucket. Absent fields do not apply to the metric's kind.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct OtlpMetricPoint {
    /// Bucket start.
    pub time_ns: i64,
    pub time: String,
    /// Data points in the bucket.
    pub samples: u64,
    /// Sums: what the sum grew by in the bucket (negative for an up-down sum going down).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub increase: Option<f64>,
    /// Sums: `increase` per second of bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Gauges and sums: each series' newest value in the bucket (a counter's running total),
    /// added over the group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<f64>,
    /// Gauges: over the bucket's points. Histograms: `sum / count`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Histograms: values recorded in the bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Histograms: their sum (absent when the sender gave none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
    /// Histograms: percentiles estimated from the buckets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
    /// Histograms: bucket upper bounds; `bucket_counts` has one more entry (above the last).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bounds: Vec<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bucket_counts: Vec<u64>,
}

impl OtlpMetricPoint {
    fn new(kind: MetricKind, bucket_ns: i64, b: &MetricBucket) -> Self {
        let mut p = OtlpMetricPoint {
            time_ns: b.start_ns,
            time: format_rfc3339(b.start_ns),
            samples: b.samples,
            ..Default::default()
        };
        match kind {
            MetricKind::Gauge => {
                p.avg = Some(b.sum / b.samples.max(1) as f64);
                (p.min, p.max, p.last) = (Some(b.min), Some(b.max), Some(b.last));
            }
            MetricKind::Sum => {
                p.increase = Some(b.sum);
                p.rate = Some(b.sum * SEC as f64 / bucket_ns.max(1) as f64);
                p.last = Some(b.last);
            }
            MetricKind::Histogram => {
                let h = b.histogram.clone().unwrap_or_default();
                p.count = Some(h.count);
                p.sum = h.sum;
                p.avg = h.sum.filter(|_| h.count > 0).map(|s| s / h.count as f64);
                (p.p50, p.p95, p.p99) = (h.quantile(0.5), h.quantile(0.95), h.quantile(0.99));
                (p.bounds, p.bucket_counts) = (h.bounds, h.counts);
            }
        }
        p
    }
}

impl OtlpMetric {
    /// The answer to `q`; `None` when the metric is not stored.
    pub fn new(q: &MetricSeriesQuery, result: &MetricSeriesResult) -> Option<Self> {
        let info = result.info.as_ref()?;
        Some(OtlpMetric {
            metric: OtlpMetricName::from(info),
            from_ns: q.from_ns,
            from: format_rfc3339(q.from_ns),
            to_ns: q.to_ns,
            to: format_rfc3339(q.to_ns),
            bucket_seconds: q.bucket_ns / SEC,
            group_by: q.group_by.clone(),
            groups: result
                .groups
                .iter()
                .map(|g| OtlpMetricGroup {
                    group: g.group.clone(),
                    series: g.series as u64,
                    points: g
                        .buckets
                        .iter()
                        .map(|b| OtlpMetricPoint::new(info.kind, q.bucket_ns, b))
                        .collect(),
                })
                .collect(),
        })
    }
}
