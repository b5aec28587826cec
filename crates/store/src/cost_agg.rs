//! The engine-neutral part of cost attribution: a raw call's dimension values (for grouping
//! and filters), per-group running sums fed with raw model calls or rollup rows, then ranking,
//! top-k and percentiles. Both engines use it.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value as Json};
use sightline_core::model_name::{family, model_matches};
use sightline_core::AttrValue;

use crate::codec::StoredWorkspace;
use crate::costs::{CostDimension, CostOrder, CostQuery, CostReport, CostRow, LatencyHistogram};

/// One group's running sums (shared by both engines).
#[derive(Default)]
pub(crate) struct Acc {
    pub row: CostRow,
    pub hist: LatencyHistogram,
    pub durations: Vec<i64>,
}

impl Acc {
    /// Adds one rollup row: its requests, errors, input, output, total, cache read, cache
    /// write and reasoning tokens, cost and costed requests, in that order, and its latency
    /// histogram.
    pub fn add_rollup(&mut self, sums: [i64; 10], hist: &LatencyHistogram) {
        let row = &mut self.row;
        for (slot, v) in [
            &mut row.requests,
            &mut row.errors,
            &mut row.input_tokens,
            &mut row.output_tokens,
            &mut row.total_tokens,
            &mut row.cache_read_tokens,
            &mut row.cache_write_tokens,
            &mut row.reasoning_tokens,
            &mut row.cost_nano_usd,
            &mut row.costed_requests,
        ]
        .into_iter()
        .zip(sums)
        {
            *slot = slot.saturating_add(v);
        }
        self.hist.merge(hist);
    }
}

type Key = (Option<i64>, Vec<Option<String>>);

/// Groups, sums, ranks and cuts to top-k; engines feed it rows.
#[derive(Default)]
pub(crate) struct Aggregator {
    groups: HashMap<Key, Acc>,
    approximate: bool,
}

/// The hour both engines' rollups are kept by.
pub(crate) use sightline_core::time::HOUR_NS;

/// The rollup column holding a dimension as is; `None` for the model dimensions (made from the
/// `model` and `request_model` columns, see [`model_value`]) and those only raw spans know.
fn rollup_column(d: &CostDimension) -> Option<&'static str> {
    Some(match d {
        CostDimension::Tenant => "tenant",
        CostDimension::Workspace => "workspace",
        CostDimension::Agent => "agent",
        CostDimension::User => "user_id",
        CostDimension::Provider => "provider",
        CostDimension::Service => "service",
        _ => return None,
    })
}

/// The rollup columns a dimension's value is made of; `None` when only raw spans know it
/// (grouping or filtering by it scans the raw spans of the whole window).
fn rollup_reads(d: &CostDimension) -> Option<Vec<&'static str>> {
    match d {
        CostDimension::Model | CostDimension::RequestModel | CostDimension::ModelFamily => {
            Some(vec!["model", "request_model"])
        }
        d => rollup_column(d).map(|c| vec![c]),
    }
}

/// The value of a model dimension from a call's `model` and `request_model` columns (the
/// requested model when it differs from `model`); `None` for other dimensions.
fn model_value(
    d: &CostDimension,
    model: Option<String>,
    request: Option<String>,
) -> Option<Option<String>> {
    Some(match d {
        CostDimension::Model => model,
        CostDimension::RequestModel => request.or(model),
        CostDimension::ModelFamily => model.map(|m| family(&m).to_owned()),
        _ => return None,
    })
}

/// Whether a call with these `model` and `request_model` columns passes a model filter.
fn model_passes(wanted: &str, model: Option<&str>, request: Option<&str>) -> bool {
    model_matches(wanted, request.or(model), model)
}

/// The rollup part of a cost question: the columns read and grouped by, (column, value)
/// filters run in SQL, and the whole hours `[from, to)` read from the rollup; the window's
/// edges before and after are read raw. Model filters and dimensions are worked out from the
/// columns read ([`RollupPlan::group`]).
pub(crate) struct RollupPlan<'a> {
    pub cols: Vec<&'static str>,
    pub filters: Vec<(&'static str, &'a str)>,
    pub from: i64,
    pub to: i64,
    query: &'a CostQuery,
}

impl RollupPlan<'_> {
    /// The group of a rollup row whose [`RollupPlan::cols`] hold `values` ('' for none), or
    /// `None` when it fails a filter not run in SQL.
    pub fn group(&self, values: &[String]) -> Option<Vec<Option<String>>> {
        let get = |name: &str| {
            self.cols
                .iter()
                .position(|c| *c == name)
                .and_then(|i| none_if_empty(values.get(i).cloned()))
        };
        let value = |d: &CostDimension| match model_value(d, get("model"), get("request_model")) {
            Some(v) => v,
            None => rollup_column(d).and_then(get),
        };
        for (d, want) in &self.query.filters {
            let pass = match d {
                CostDimension::Model => model_passes(
                    want,
                    get("model").as_deref(),
                    get("request_model").as_deref(),
                ),
                d if rollup_column(d).is_some() => true, // run in SQL
                d => value(d).as_deref() == Some(want.as_str()),
            };
            if !pass {
                return None;
            }
        }
        Some(self.query.group_by.iter().map(value).collect())
    }
}

/// How `q` splits between an hourly rollup that covers the hours from `covered_from` on and
/// raw spans; `None` when it reads raw spans only (a dimension the rollup lacks, or no whole
/// covered hour in the window).
pub(crate) fn rollup_plan(q: &CostQuery, covered_from: i64) -> Option<RollupPlan<'_>> {
    let mut cols: Vec<&'static str> = Vec::new();
    let mut filters = Vec::new();
    for d in &q.group_by {
        cols.extend(rollup_reads(d)?);
    }
    for (d, v) in &q.filters {
        match rollup_column(d) {
            Some(c) => filters.push((c, v.as_str())),
            None => cols.extend(rollup_reads(d)?),
        }
    }
    let mut seen = Vec::new();
    cols.retain(|c| {
        let new = !seen.contains(c);
        seen.push(*c);
        new
    });
    let from = q.from_ns;
    let to = q.to_ns.max(from);
    let first_hour = from.div_euclid(HOUR_NS) * HOUR_NS
        + if from.rem_euclid(HOUR_NS) == 0 {
            0
        } else {
            HOUR_NS
        };
    let first_hour = first_hour.max(covered_from);
    let last_hour = to.div_euclid(HOUR_NS) * HOUR_NS;
    (first_hour < last_hour).then_some(RollupPlan {
        cols,
        filters,
        from: first_hour,
        to: last_hour,
        query: q,
    })
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
fn json_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Null | Json::Array(_) | Json::Object(_) => None,
        other => Some(other.to_string()),
    }
}

/// The first non-empty value of `keys` among the span's attributes, then its resource's.
fn attribute_value(
    span: Option<&Map<String, Json>>,
    resource: Option<&[(String, AttrValue)]>,
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

/// The span column holding a dimension as is, named alike on both engines; `None` for the
/// model dimensions made from two columns and those read from attributes (workspace, custom
/// attributes).
fn span_column(d: &CostDimension) -> Option<&'static str> {
    Some(match d {
        CostDimension::Tenant => "tenant_id",
        CostDimension::Agent => "agent",
        CostDimension::User => "user_id",
        CostDimension::Session => "session_id",
        CostDimension::Model => "model",
        CostDimension::Provider => "provider",
        CostDimension::Service => "service",
        _ => return None,
    })
}

/// The filters of `q` a raw scan runs in SQL, as (columns, value): a call passes when one of
/// the columns equals the value. Every filter is checked again on the rows read
/// ([`CallView::group`]).
pub(crate) fn span_filters(q: &CostQuery) -> Vec<(Vec<&'static str>, &str)> {
    q.filters
        .iter()
        .filter_map(|(d, v)| match d {
            CostDimension::Model => Some((crate::filter::MODEL_COLUMNS.to_vec(), v.as_str())),
            d => span_column(d).map(|c| (vec![c], v.as_str())),
        })
        .collect()
}

/// The span columns a raw scan selects for [`CallView::columns`], in that order.
pub(crate) const CALL_COLUMNS: &str =
    "tenant_id, agent, user_id, session_id, model, provider, service, request_model";

/// Whether the query groups or filters by a dimension read from attributes: the raw scan then
/// needs the `detail` blob and the resource.
pub(crate) fn needs_attributes(q: &CostQuery) -> bool {
    q.group_by
        .iter()
        .chain(q.filters.iter().map(|f| &f.0))
        .any(|d| matches!(d, CostDimension::Workspace | CostDimension::Attribute(_)))
}

/// What a raw scan knows of one call's dimensions.
pub(crate) struct CallView<'a> {
    /// The [`CALL_COLUMNS`] values.
    pub columns: &'a [Option<String>; 8],
    /// The span's attributes and stored workspace, when the scan read `detail`.
    pub detail: Option<&'a StoredWorkspace>,
    /// The resource's attributes, when the scan read them.
    pub resource: Option<&'a [(String, AttrValue)]>,
}

impl CallView<'_> {
    /// The call's value of `d` (empty text counts as no value).
    pub fn value(&self, d: &CostDimension) -> Option<String> {
        let column = |i: usize| none_if_empty(self.columns[i].clone());
        if let Some(v) = model_value(d, column(4), column(7)) {
            return v;
        }
        none_if_empty(match d {
            CostDimension::Tenant => column(0),
            CostDimension::Agent => column(1),
            CostDimension::User => column(2),
            CostDimension::Session => column(3),
            CostDimension::Provider => column(5),
            CostDimension::Service => column(6),
            CostDimension::Workspace => self.detail.and_then(|d| d.of(self.resource)),
            CostDimension::Attribute(k) => attribute_value(
                self.detail.map(|d| &d.attributes),
                self.resource,
                &[k.as_str()],
            ),
            CostDimension::Model | CostDimension::RequestModel | CostDimension::ModelFamily => {
                None // model_value above
            }
        })
    }

    /// The call's group under `q`, or `None` when it fails one of `q.filters`.
    pub fn group(&self, q: &CostQuery) -> Option<Vec<Option<String>>> {
        for (d, want) in &q.filters {
            let pass = match d {
                CostDimension::Model => model_passes(
                    want,
                    self.columns[4].as_deref().filter(|s| !s.is_empty()),
                    self.columns[7].as_deref().filter(|s| !s.is_empty()),
                ),
                d => self.value(d).as_deref() == Some(want.as_str()),
            };
            if !pass {
                return None;
            }
        }
        Some(q.group_by.iter().map(|d| self.value(d)).collect())
    }
}
