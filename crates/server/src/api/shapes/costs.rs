//! `/costs`: the question as understood (window, grouping, bucket, ranking, filters) and one
//! row per group and bucket. Money is integer nano-USD, with `cost_usd` the same amount as
//! exact decimal text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sightline_core::money::usd_exact;
use sightline_core::time::format_rfc3339;
use sightline_store::{CostBucket, CostDimension, CostOrder, CostQuery, CostReport};

use super::{millis, rate};

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct Costs {
    pub from_ns: i64,
    pub from: String,
    pub to_ns: i64,
    pub to: String,
    /// The dimensions, in the order given.
    pub group_by: Vec<String>,
    /// The key of the `attribute` dimension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_key: Option<String>,
    /// `hour`, `day` or `month`; absent for totals over the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// `cost`, `tokens` or `requests`.
    pub order_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top: Option<usize>,
    /// The filters given, dimension name to value; absent without filters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filters: Option<BTreeMap<String, String>>,
    /// Latency percentiles come from rollup histograms, not the exact durations.
    pub approximate_latency: bool,
    pub rows: Vec<CostRow>,
}

/// The aggregates of one group in one bucket.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct CostRow {
    /// Dimension name to value; a dimension the calls had no value for is left out.
    pub group: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_start_ns: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_start: Option<String>,
    pub requests: i64,
    pub errors: i64,
    pub error_rate: f64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub reasoning_tokens: i64,
    pub total_tokens: i64,
    /// Sum of the known costs (0 when none is known).
    pub cost_nano_usd: i64,
    pub cost_usd: String,
    /// How many requests had a known cost.
    pub costed_requests: i64,
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    pub latency_p99_ms: f64,
}

impl Costs {
    /// The answer to `q`.
    pub fn new(q: &CostQuery, report: &CostReport) -> Self {
        let names: Vec<String> = q.group_by.iter().map(|d| d.name().to_owned()).collect();
        let filters: BTreeMap<String, String> = q
            .filters
            .iter()
            .map(|(d, v)| (d.name().to_owned(), v.clone()))
            .collect();
        Costs {
            from_ns: q.from_ns,
            from: format_rfc3339(q.from_ns),
            to_ns: q.to_ns,
            to: format_rfc3339(q.to_ns),
            attribute_key: q.group_by.iter().find_map(|d| match d {
                CostDimension::Attribute(k) => Some(k.clone()),
                _ => None,
            }),
            bucket: q.bucket.map(|b| bucket_name(b).to_owned()),
            order_by: order_name(q.order_by).to_owned(),
            top: q.top,
            filters: (!filters.is_empty()).then_some(filters),
            approximate_latency: report.approximate_latency,
            rows: report
                .rows
                .iter()
                .map(|r| CostRow::new(&names, r))
                .collect(),
            group_by: names,
        }
    }
}

impl CostRow {
    /// `r`, whose group values follow `names` (the `group_by` dimensions).
    pub fn new(names: &[String], r: &sightline_store::CostRow) -> Self {
        CostRow {
            group: names
                .iter()
                .zip(&r.group)
                .filter_map(|(n, v)| Some((n.clone(), v.clone()?)))
                .collect(),
            bucket_start_ns: r.bucket_start_ns,
            bucket_start: r.bucket_start_ns.map(format_rfc3339),
            requests: r.requests,
            errors: r.errors,
            error_rate: rate(r.errors, r.requests),
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            cache_read_tokens: r.cache_read_tokens,
            cache_write_tokens: r.cache_write_tokens,
            reasoning_tokens: r.reasoning_tokens,
            total_tokens: r.total_tokens,
            cost_nano_usd: r.cost_nano_usd,
            cost_usd: usd_exact(r.cost_nano_usd.into()),
            costed_requests: r.costed_requests,
            latency_p50_ms: millis(r.latency_p50_ns),
            latency_p95_ms: millis(r.latency_p95_ns),
            latency_p99_ms: millis(r.latency_p99_ns),
        }
    }
}

fn bucket_name(b: CostBucket) -> &'static str {
    match b {
        CostBucket::Hour => "hour",
        CostBucket::Day => "day",
        CostBucket::Month => "month",
    }
}

fn order_name(o: CostOrder) -> &'static str {
    match o {
        CostOrder::Cost => "cost",
        CostOrder::Tokens => "tokens",
        CostOrder::Requests => "requests",
    }
}
