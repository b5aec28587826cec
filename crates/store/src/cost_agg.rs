//! The engine-neutral part of cost attribution: per-group running sums fed with raw model
//! calls or rollup rows, then ranking, top-k and percentiles. Both engines use it.

use std::collections::{BTreeMap, HashMap};

use crate::costs::{CostOrder, CostQuery, CostReport, CostRow, LatencyHistogram};

/// One group's running sums (shared by both engines).
#[derive(Default)]
pub(crate) struct Acc {
    pub row: CostRow,
    pub hist: LatencyHistogram,
    pub durations: Vec<i64>,
}

type Key = (Option<i64>, Vec<Option<String>>);

/// Groups, sums, ranks and cuts to top-k; engines feed it rows.
#[derive(Default)]
pub(crate) struct Aggregator {
    groups: HashMap<Key, Acc>,
    approximate: bool,
}

pub(crate) fn none_if_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

fn nearest_rank(sorted: &[i64], p: u32) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let n = sorted.len();
    sorted[(n * p as usize).div_ceil(100).clamp(1, n) - 1]
}

impl Aggregator {
    pub fn acc(&mut self, bucket: Option<i64>, group: Vec<Option<String>>) -> &mut Acc {
        self.groups.entry((bucket, group)).or_default()
    }

    pub fn mark_approximate(&mut self) {
        self.approximate = true;
    }

    pub fn finish(self, q: &CostQuery) -> CostReport {
        let metric = |r: &CostRow| match q.order_by {
            CostOrder::Cost => r.cost_nano_usd,
            CostOrder::Tokens => r.total_tokens,
            CostOrder::Requests => r.requests,
        };
        let mut totals: BTreeMap<Vec<Option<String>>, i64> = BTreeMap::new();
        for ((_, g), a) in &self.groups {
            let t = totals.entry(g.clone()).or_default();
            *t = t.saturating_add(metric(&a.row));
        }
        let mut ranked: Vec<(Vec<Option<String>>, i64)> = totals.into_iter().collect();
        // Stable sort over the BTreeMap order: ties stay in group order.
        ranked.sort_by_key(|r| std::cmp::Reverse(r.1));
        if let Some(top) = q.top {
            ranked.truncate(top);
        }
        let rank: HashMap<Vec<Option<String>>, usize> = ranked
            .into_iter()
            .enumerate()
            .map(|(i, (g, _))| (g, i))
            .collect();
        let approximate = self.approximate;
        let mut rows: Vec<(usize, CostRow)> = self
            .groups
            .into_iter()
            .filter_map(|((bucket, group), mut a)| {
                let r = *rank.get(&group)?;
                a.row.bucket_start_ns = bucket;
                a.row.group = group;
                if approximate {
                    a.row.latency_p50_ns = a.hist.percentile(50);
                    a.row.latency_p95_ns = a.hist.percentile(95);
                    a.row.latency_p99_ns = a.hist.percentile(99);
                } else {
                    a.durations.sort_unstable();
                    a.row.latency_p50_ns = nearest_rank(&a.durations, 50);
                    a.row.latency_p95_ns = nearest_rank(&a.durations, 95);
                    a.row.latency_p99_ns = nearest_rank(&a.durations, 99);
                }
                Some((r, a.row))
            })
            .collect();
        rows.sort_by_key(|r| (r.0, r.1.bucket_start_ns));
        CostReport {
            rows: rows.into_iter().map(|r| r.1).collect(),
            approximate_latency: approximate,
        }
    }
}

/// One raw model call, as both engines read it.
pub(crate) struct RawCall {
    pub start_ns: i64,
    pub duration_ns: i64,
    pub is_error: bool,
    /// input, output, total, cache read, cache write, reasoning.
    pub tokens: [Option<i64>; 6],
    pub cost: Option<i64>,
}

impl Acc {
    pub fn add_raw(&mut self, c: &RawCall) {
        let t = c.tokens;
        let total = t[2].or(match (t[0], t[1]) {
            (Some(i), Some(o)) => Some(i.saturating_add(o)),
            (i, o) => i.or(o),
        });
        let r = &mut self.row;
        for (slot, v) in [
            &mut r.input_tokens,
            &mut r.output_tokens,
            &mut r.total_tokens,
            &mut r.cache_read_tokens,
            &mut r.cache_write_tokens,
            &mut r.reasoning_tokens,
        ]
        .into_iter()
        .zip([t[0], t[1], total, t[3], t[4], t[5]])
        {
            *slot = slot.saturating_add(v.unwrap_or(0));
        }
        if let Some(cost) = c.cost {
            r.cost_nano_usd = r.cost_nano_usd.saturating_add(cost);
            r.costed_requests += 1;
        }
        r.requests += 1;
        r.errors += i64::from(c.is_error);
        self.hist.add(c.duration_ns, 1);
        self.durations.push(c.duration_ns);
    }
}

/// An attribute's value as text: strings as they are, other scalars as JSON.
fn json_text(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value as Json;
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Null | Json::Array(_) | Json::Object(_) => None,
        other => Some(other.to_string()),
    }
}

/// The first non-empty value of `keys` among the span's attributes, then its resource's.
pub(crate) fn attribute_value(
    span: Option<&serde_json::Map<String, serde_json::Value>>,
    resource: Option<&[(String, sightline_core::AttrValue)]>,
    keys: &[&str],
) -> Option<String> {
    let on_span = span.and_then(|a| {
        keys.iter()
            .find_map(|k| a.get(*k).and_then(json_text).filter(|s| !s.is_empty()))
    });
    on_span.or_else(|| {
        resource.and_then(|res| {
            keys.iter().find_map(|k| {
                res.iter()
                    .find(|(key, _)| key == k)
                    .and_then(|(_, v)| v.to_text())
                    .filter(|s| !s.is_empty())
            })
        })
    })
}
