//! OTLP metric series: the write contract ([`MetricWriter`], with the per-project bound on
//! distinct series), the read contract ([`MetricSeriesReader`]: names, time-bucketed series,
//! the current totals for Prometheus) and what both engines share: `plan.rs` decides what a
//! write stores (series admitted, increases, duplicates) and `agg.rs` buckets and groups what a
//! read fetched. Engines only fetch and insert rows.

pub(crate) mod agg;
pub(crate) mod job;
pub(crate) mod plan;
pub(crate) mod rows;

use async_trait::async_trait;
use sightline_core::metrics::{
    Histogram, MetricBatch, MetricKind, PointValue, Series, Temporality,
};
use sightline_core::ProjectId;

use crate::StoreError;

/// What a metrics write stored and refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricWriteOutcome {
    /// Data points newly stored.
    pub points: usize,
    /// Points not stored: already stored (a retried export), or cumulative points no newer
    /// than their series' newest point.
    pub duplicates: usize,
    /// Points refused because their series was new and the project had reached its limit.
    pub refused_points: usize,
    /// The new series refused, per metric name, in the order met.
    pub refused_series: Vec<(String, usize)>,
    /// The project's series after the write.
    pub series: usize,
}

/// Durable writes of metric points.
#[async_trait]
pub trait MetricWriter: Send + Sync {
    /// Stores `batch` in `project`. A series the project does not have yet is refused (with its
    /// points) once the project has `max_series` series. Returns after the commit.
    async fn write_metrics(
        &self,
        project: ProjectId,
        batch: MetricBatch,
        max_series: usize,
    ) -> Result<MetricWriteOutcome, StoreError>;
}

/// One stored metric: its newest definition and how many series it has.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricInfo {
    pub name: String,
    pub kind: MetricKind,
    pub temporality: Temporality,
    pub monotonic: bool,
    pub unit: String,
    pub description: String,
    pub series: u64,
    /// The newest point of any of its series (UTC ns).
    pub last_ns: i64,
}

/// Time buckets of one metric's points in `[from_ns, to_ns)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricSeriesQuery {
    pub name: String,
    pub from_ns: i64,
    pub to_ns: i64,
    /// Buckets start at multiples of it since the Unix epoch.
    pub bucket_ns: i64,
    /// An attribute key: one group per value (point attributes first, then the resource's).
    pub group_by: Option<String>,
    /// Only series whose attribute (point, else resource) equals the value, as text.
    pub attributes: Vec<(String, String)>,
}

/// One bucket of one group: what its series' points add up to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricBucket {
    pub start_ns: i64,
    /// Points in the bucket.
    pub samples: u64,
    /// Sum of the points' values: a gauge's values, a sum's increases, a histogram's sum
    /// increases.
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    /// Each series' last level in the bucket, added over the group's series: a gauge's or
    /// up-down sum's current value, a counter's running total.
    pub last: f64,
    /// A histogram's increases merged.
    pub histogram: Option<Histogram>,
}

/// One group's buckets; `group` is `None` when not grouped, or for series without the key.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricGroup {
    pub group: Option<String>,
    /// The group's series (with points in the window or not).
    pub series: usize,
    /// Non-empty buckets in time order.
    pub buckets: Vec<MetricBucket>,
}

/// The answer to a [`MetricSeriesQuery`]; `info` is `None` for a metric never stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricSeriesResult {
    pub info: Option<MetricInfo>,
    /// Ordered by group (no value first).
    pub groups: Vec<MetricGroup>,
}

/// A series as it stands now: its totals since it was first stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSnapshot {
    pub project: ProjectId,
    pub series: Series,
    /// [`sightline_core::metrics::SeriesState::total`].
    pub total: PointValue,
    pub time_ns: i64,
}

/// Reads of metric series.
#[async_trait]
pub trait MetricSeriesReader: Send + Sync {
    /// The project's metrics by name.
    async fn metric_names(&self, project: ProjectId) -> Result<Vec<MetricInfo>, StoreError>;

    /// One metric's points, bucketed and grouped.
    async fn metric_series(
        &self,
        project: ProjectId,
        query: &MetricSeriesQuery,
    ) -> Result<MetricSeriesResult, StoreError>;

    /// Every project's series with their totals, by (project, name), at most `limit` of them.
    async fn metric_snapshot(&self, limit: usize) -> Result<Vec<SeriesSnapshot>, StoreError>;
}

/// Most points one series read may fetch before it is refused as too large.
pub const MAX_POINTS_READ: usize = 1_000_000;
