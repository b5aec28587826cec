//! The cost-attribution contract: cost, tokens, requests, errors and latency of model calls
//! (llm and embedding observations), grouped by project-level dimensions, optionally bucketed
//! by UTC hour, day or month, ranked for top-k. Totals are exact integers (nano-USD, tokens).
//! Also the fixed log-spaced latency histogram engines may keep in rollups.

use async_trait::async_trait;
use sightline_core::time::{day_start_ns, month_start_ns, HOUR_NS};
use sightline_core::ProjectId;

use crate::StoreError;

/// What a cost row may be grouped by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CostDimension {
    Tenant,
    /// The observation's `workspace_id` (normalization reads it from the span's attributes,
    /// then its resource's; see `sightline_core::normalize::workspace`).
    Workspace,
    /// The agent name.
    Agent,
    User,
    Session,
    /// The answered model, else the requested one (as a filter, a model as people name it:
    /// the requested model, the answered model or its family, as the observation filter).
    Model,
    /// The requested model (the answered one when no separate request model was recorded).
    RequestModel,
    /// The family of [`CostDimension::Model`] (`sightline_core::model_name::family`):
    /// `gpt-4o-2024-08-06` and `gpt-4o-2024-05-13` are `gpt-4o`.
    ModelFamily,
    Provider,
    /// `service.name`.
    Service,
    /// A span attribute (then resource attribute) of this key, rendered as text.
    Attribute(String),
}

impl CostDimension {
    /// The name used by the API (`tenant`, ..., `attribute`).
    pub fn name(&self) -> &str {
        match self {
            CostDimension::Tenant => "tenant",
            CostDimension::Workspace => "workspace",
            CostDimension::Agent => "agent",
            CostDimension::User => "user",
            CostDimension::Session => "session",
            CostDimension::Model => "model",
            CostDimension::RequestModel => "request_model",
            CostDimension::ModelFamily => "model_family",
            CostDimension::Provider => "provider",
            CostDimension::Service => "service",
            CostDimension::Attribute(_) => "attribute",
        }
    }
}

/// Calendar buckets, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostBucket {
    Hour,
    Day,
    Month,
}

impl CostBucket {
    /// The start (UTC ns) of the bucket holding `ns`.
    pub fn start_of(self, ns: i64) -> i64 {
        match self {
            CostBucket::Hour => ns.div_euclid(HOUR_NS) * HOUR_NS,
            CostBucket::Day => day_start_ns(ns),
            CostBucket::Month => month_start_ns(ns),
        }
    }
}

/// What top-k ranks groups by (descending; ties by group values ascending).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CostOrder {
    #[default]
    Cost,
    Tokens,
    Requests,
}

/// A cost question: model calls starting in `[from_ns, to_ns)` that pass `filters`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CostQuery {
    pub from_ns: i64,
    pub to_ns: i64,
    /// Distinct dimensions, in the order the answer's `group` lists them; empty: one total.
    pub group_by: Vec<CostDimension>,
    /// `None`: one row per group for the whole window.
    pub bucket: Option<CostBucket>,
    pub order_by: CostOrder,
    /// Keep only the `top` groups by `order_by` over the whole window (all their buckets).
    pub top: Option<usize>,
    /// Only calls whose value of each dimension equals the text given (all must hold; a call
    /// without a value never matches), but a [`CostDimension::Model`] filter matches a model as
    /// people name it. Combines with grouping, buckets and top-k.
    pub filters: Vec<(CostDimension, String)>,
}

/// The aggregates of one group (in one bucket).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CostRow {
    /// Bucket start (UTC ns); `None` when not bucketed.
    pub bucket_start_ns: Option<i64>,
    /// One value per `group_by` dimension, in its order; `None`: the calls had no value.
    pub group: Vec<Option<String>>,
    pub requests: i64,
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// The total given by the call, else input + output.
    pub total_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub reasoning_tokens: i64,
    /// Sum of the known costs (0 when none is known).
    pub cost_nano_usd: i64,
    /// How many of the requests had a known cost.
    pub costed_requests: i64,
    pub latency_p50_ns: i64,
    pub latency_p95_ns: i64,
    pub latency_p99_ns: i64,
}

/// Rows ordered by group rank (by `order_by` over the window), then bucket start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CostReport {
    pub rows: Vec<CostRow>,
    /// Latency percentiles come from [`LatencyHistogram`] (within its error bound), not from
    /// the exact durations.
    pub approximate_latency: bool,
}

/// Cost attribution and rollups.
#[async_trait]
pub trait CostReader: Send + Sync {
    async fn costs(&self, project: ProjectId, query: &CostQuery) -> Result<CostReport, StoreError>;
}

/// Sub-buckets per doubling of the latency histogram.
pub const HISTOGRAM_STEPS_PER_OCTAVE: f64 = 8.0;

/// A log-spaced latency histogram: bucket `i` holds durations in `[2^(i/8), 2^((i+1)/8))` ns
/// (durations below 1 ns in bucket 0). A percentile reports the geometric middle of its bucket,
/// clamped to the exact minimum and maximum, so it is within 2^(1/16) - 1 ≈ 4.4 % of the
/// nearest-rank value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencyHistogram {
    /// (bucket index, count), sorted by index, counts > 0.
    pub buckets: Vec<(u16, u64)>,
    pub min_ns: i64,
    pub max_ns: i64,
}

impl LatencyHistogram {
    pub fn index_of(ns: i64) -> u16 {
        if ns <= 1 {
            return 0;
        }
        // Not money: a float logarithm is fine for picking a bucket.
        ((ns as f64).log2() * HISTOGRAM_STEPS_PER_OCTAVE).floor() as u16
    }

    fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.1).sum()
    }

    pub fn add(&mut self, ns: i64, count: u64) {
        if count == 0 {
            return;
        }
        if self.buckets.is_empty() {
            self.min_ns = ns;
            self.max_ns = ns;
        } else {
            self.min_ns = self.min_ns.min(ns);
            self.max_ns = self.max_ns.max(ns);
        }
        self.add_bucket(Self::index_of(ns), count);
    }

    fn add_bucket(&mut self, index: u16, count: u64) {
        match self.buckets.binary_search_by_key(&index, |b| b.0) {
            Ok(at) => self.buckets[at].1 += count,
            Err(at) => self.buckets.insert(at, (index, count)),
        }
    }

    pub fn merge(&mut self, other: &LatencyHistogram) {
        if other.buckets.is_empty() {
            return;
        }
        if self.buckets.is_empty() {
            self.min_ns = other.min_ns;
            self.max_ns = other.max_ns;
        } else {
            self.min_ns = self.min_ns.min(other.min_ns);
            self.max_ns = self.max_ns.max(other.max_ns);
        }
        for (i, c) in &other.buckets {
            self.add_bucket(*i, *c);
        }
    }

    /// The nearest-rank percentile `p` (0-100), approximated as documented on the type.
    pub fn percentile(&self, p: u32) -> i64 {
        let n = self.count();
        if n == 0 {
            return 0;
        }
        let rank = (n * u64::from(p)).div_ceil(100).clamp(1, n);
        let mut seen = 0;
        for (i, c) in &self.buckets {
            seen += c;
            if seen >= rank {
                let mid = 2f64.powf((f64::from(*i) + 0.5) / HISTOGRAM_STEPS_PER_OCTAVE);
                return (mid as i64).clamp(self.min_ns, self.max_ns);
            }
        }
        self.max_ns
    }

    /// Bytes: min, max (i64 LE), then (index u16 LE, count u64 LE) per bucket.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.buckets.len() * 10);
        out.extend_from_slice(&self.min_ns.to_le_bytes());
        out.extend_from_slice(&self.max_ns.to_le_bytes());
        for (i, c) in &self.buckets {
            out.extend_from_slice(&i.to_le_bytes());
            out.extend_from_slice(&c.to_le_bytes());
        }
        out
    }

    pub fn decode(b: &[u8]) -> Result<Self, StoreError> {
        let bad = || StoreError::Engine("a stored latency histogram is corrupt".into());
        if b.len() < 16 || !(b.len() - 16).is_multiple_of(10) {
            return Err(bad());
        }
        let i64_at = |at: usize| -> Result<i64, StoreError> {
            Ok(i64::from_le_bytes(
                b.get(at..at + 8)
                    .ok_or_else(bad)?
                    .try_into()
                    .map_err(|_| bad())?,
            ))
        };
        let mut h = LatencyHistogram {
            buckets: Vec::with_capacity((b.len() - 16) / 10),
            min_ns: i64_at(0)?,
            max_ns: i64_at(8)?,
        };
        for chunk in b[16..].chunks_exact(10) {
            let i = u16::from_le_bytes([chunk[0], chunk[1]]);
            let c = u64::from_le_bytes(chunk[2..10].try_into().map_err(|_| bad())?);
            h.add_bucket(i, c);
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_buckets_start_on_the_first_utc_day() {
        use sightline_core::time::{days_from_civil, DAY_NS};
        // 2024-02-29T13:00:00Z -> 2024-02-01T00:00:00Z
        let feb29 = days_from_civil(2024, 2, 29) * DAY_NS + 13 * HOUR_NS;
        assert_eq!(
            CostBucket::Month.start_of(feb29),
            days_from_civil(2024, 2, 1) * DAY_NS
        );
        assert_eq!(
            CostBucket::Day.start_of(feb29),
            days_from_civil(2024, 2, 29) * DAY_NS
        );
        assert_eq!(CostBucket::Hour.start_of(feb29 + 59), feb29);
    }

    #[test]
    fn histogram_percentiles_stay_within_the_bound_and_round_trip() {
        let mut h = LatencyHistogram::default();
        let mut values: Vec<i64> = (1..=1000).map(|i| i * 7_919 + 13).collect();
        for v in &values {
            h.add(*v, 1);
        }
        values.sort_unstable();
        for p in [50u32, 95, 99] {
            let exact = values[(values.len() * p as usize).div_ceil(100) - 1] as f64;
            let got = h.percentile(p) as f64;
            assert!(
                (got - exact).abs() / exact <= 0.045,
                "p{p}: {got} vs {exact}"
            );
        }
        assert_eq!(LatencyHistogram::decode(&h.encode()).unwrap(), h);
        let mut one = LatencyHistogram::default();
        one.add(1234, 3);
        assert_eq!(one.percentile(99), 1234);
    }
}
