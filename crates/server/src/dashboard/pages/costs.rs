//! `/costs`: spend over time grouped by model, agent, user, tenant, provider, service,
//! workspace, session or a custom attribute (`?by=`, `attribute_key=`), bucketed by hour, day
//! or month, with the top groups, the trend against the window before, and for models the price
//! that applies and how recent calls were priced (reported, computed, estimated, unknown). All
//! from `/api/v1/costs` (the hourly rollup), `/prices/lookup` and `/observations`.

use std::collections::BTreeMap;

use axum::response::Response;
use maud::{html, Markup};

use crate::api::shapes::{CostRow, Costs, Observation, Page, PriceLookup};
use crate::dashboard::charts::{self, Axis, Series, PALETTE};
use crate::dashboard::format as f;
use crate::dashboard::layout::{self, Nav};
use crate::dashboard::query::{enc, Query};
use crate::dashboard::viewer::Viewer;
use crate::error::ApiError;

const SEC: i64 = 1_000_000_000;
/// The dimensions to group by, with the trace-list filter each one maps to.
const DIMENSIONS: &[(&str, Option<&str>)] = &[
    ("model", Some("model")),
    ("agent", Some("agent")),
    ("user", Some("user_id")),
    ("tenant", Some("tenant_id")),
    ("provider", Some("provider")),
    ("service", Some("service")),
    ("workspace", None),
    ("session", Some("session_id")),
    ("attribute", None),
];
/// The API's cost filters, each once.
const FILTERS: &[&str] = crate::api::COST_FILTERS;
/// Groups drawn in the chart; the rest are "other".
const STACKED: usize = 6;
/// Recent calls sampled per model to show how they were priced.
const SAMPLE: usize = 20;

pub async fn page(v: Viewer) -> Response {
    let q = &v.query;
    let since = q.get("since").unwrap_or("7d").to_owned();
    let by = q
        .get("by")
        .filter(|b| DIMENSIONS.iter().any(|(d, _)| d == b))
        .unwrap_or("model")
        .to_owned();
    let window = crate::api::params::parse_duration(&since).unwrap_or(7 * 86_400 * SEC);
    let bucket = q
        .get("bucket")
        .unwrap_or(if window <= 2 * 86_400 * SEC {
            "hour"
        } else {
            "day"
        })
        .to_owned();
    let now = v.read.now_ns();
    // A window of a day or more starts on the hour, so the hourly rollup answers all of it but
    // the current hour (a partial hour is read from the spans).
    let hour = 3_600 * SEC;
    let align = |t: i64| {
        if window >= 24 * hour {
            t.div_euclid(hour) * hour
        } else {
            t
        }
    };
    let from = align(now - window);
    let prev_from = align(from - window);
    let filters = q.pick(FILTERS).encode();
    let and_filters = if filters.is_empty() {
        String::new()
    } else {
        format!("&{filters}")
    };
    let base = format!("from={from}{and_filters}");
    let mut group = format!("group_by={by}");
    if by == "attribute" {
        match q.get("attribute_key") {
            Some(k) => group.push_str(&format!("&attribute_key={}", enc(k))),
            None => group = String::new(),
        }
    }
    let prev = format!("from={prev_from}&to={from}{and_filters}");
    let r = &v.read;
    let grouped = !group.is_empty();
    let (stacked, per_bucket, table, before) = tokio::join!(
        r.costs(format!(
            "{base}&bucket={bucket}&top={STACKED}{}",
            opt(grouped, &group)
        )),
        r.costs(format!("{base}&bucket={bucket}")),
        r.costs(format!("{base}&top=50{}", opt(grouped, &group))),
        r.costs(prev.clone()),
    );
    let totals = per_bucket
        .as_ref()
        .map(|c| sum(&c.rows))
        .map_err(Clone::clone);
    let models: Vec<String> = match (&table, by.as_str()) {
        (Ok(t), "model") => t
            .rows
            .iter()
            .take(8)
            .filter_map(|row| row.group.get("model").cloned())
            .collect(),
        _ => Vec::new(),
    };
    let priced = prices(&v, &models, &since).await;
    let bucket_ns = match bucket.as_str() {
        "hour" => 3_600 * SEC,
        "month" => 31 * 86_400 * SEC,
        _ => 86_400 * SEC,
    };
    let axis = Axis {
        from_ns: from,
        to_ns: now,
        bucket_ns,
    };
    let body = html! {
        div.page-head {
            h1 { "Costs" }
            span.muted.small { "model calls (llm and embedding) by " (by) ", exact to the nano-dollar" }
            div.spacer {}
            (layout::range_picker("/costs", q, &since))
        }
        (form(q, &by, &bucket, &since))
        @if by == "attribute" && q.get("attribute_key").is_none() {
            p.notice { "Give the attribute to group by (e.g. " code { "team" } ") in the form above." }
        }
        (summary(&totals, &before, &since))
        section.card {
            h2 { "Spend per " (bucket) span.muted.small { " top " (STACKED) " " (by) "s, the rest as other" } }
            (chart(&stacked, &per_bucket, &by, axis))
        }
        section.card {
            h2 { "By " (by) }
            (top_table(&table, &by, &since, &priced))
        }
    };
    layout::ok(layout::page(
        "Costs",
        Nav::Costs,
        v.read.key_id(),
        None,
        body,
    ))
}

fn opt(on: bool, s: &str) -> String {
    if on {
        format!("&{s}")
    } else {
        String::new()
    }
}

fn form(q: &Query, by: &str, bucket: &str, since: &str) -> Markup {
    html! {
        form.filters method="get" action="/costs" {
            div.row {
                label.inline { "group by "
                    select name="by" {
                        @for (d, _) in DIMENSIONS { option value=(d) selected[*d == by] { (d) } }
                    }
                }
                input name="attribute_key" value=[q.get("attribute_key")] placeholder="attribute key";
                label.inline { "per "
                    select name="bucket" {
                        @for b in ["hour", "day", "month"] { option value=(b) selected[b == bucket] { (b) } }
                    }
                }
                input type="hidden" name="since" value=(since);
                button type="submit" { "Show" }
            }
            details open[!q.pick(FILTERS).is_empty()] {
                summary { "Only calls where…" }
                div.fields {
                    @for name in FILTERS {
                        label { span { (name) } input name=(name) value=[q.get(name)]; }
                    }
                }
            }
        }
    }
}

/// The window's totals: the sum of its buckets (all additive but latency, which is not shown).
fn sum(rows: &[CostRow]) -> CostRow {
    let mut t = CostRow::default();
    for r in rows {
        t.requests += r.requests;
        t.errors += r.errors;
        t.input_tokens += r.input_tokens;
        t.output_tokens += r.output_tokens;
        t.cache_read_tokens += r.cache_read_tokens;
        t.total_tokens += r.total_tokens;
        t.cost_nano_usd += r.cost_nano_usd;
        t.costed_requests += r.costed_requests;
    }
    t.error_rate = if t.requests > 0 {
        t.errors as f64 / t.requests as f64
    } else {
        0.0
    };
    t
}

fn summary(
    totals: &Result<CostRow, ApiError>,
    before: &Result<Costs, ApiError>,
    since: &str,
) -> Markup {
    let t = match totals {
        Ok(t) => t.clone(),
        Err(e) => return layout::error_box(e),
    };
    let b = before
        .as_ref()
        .ok()
        .and_then(|b| b.rows.first().cloned())
        .unwrap_or_default();
    let change = |now: i64, was: i64| -> Markup {
        if was <= 0 {
            return html! { span.muted { "no spend the " (since) " before" } };
        }
        let c = (now - was) as f64 / was as f64;
        html! { span class={ "trend " (if c > 0.0 { "up" } else { "down" }) } { (if c > 0.0 { "▲ " } else { "▼ " }) (f::percent(c.abs())) } " vs the " (since) " before (" (f::usd(was)) ")" }
    };
    html! {
        div.kpis {
            (layout::kpi("Spend", f::usd(t.cost_nano_usd), change(t.cost_nano_usd, b.cost_nano_usd), false))
            (layout::kpi("Model calls", f::count(t.requests), html! { (f::percent(t.error_rate)) " failed" }, false))
            (layout::kpi("Tokens", f::count(t.total_tokens), html! { (f::count(t.input_tokens)) " in · " (f::count(t.output_tokens)) " out" }, false))
            (layout::kpi("Cache reads", f::count(t.cache_read_tokens), html! { "input tokens from cache" }, false))
            (layout::kpi("Per call", f::usd(if t.costed_requests > 0 { t.cost_nano_usd / t.costed_requests } else { 0 }), html! { "average over priced calls" }, false))
            (layout::kpi(
                "Priced",
                f::percent(if t.requests > 0 { t.costed_requests as f64 / t.requests as f64 } else { 1.0 }),
                html! {
                    @if t.costed_requests < t.requests { (f::count(t.requests - t.costed_requests)) " calls without a price" }
                    @else { "every call has a cost" }
                },
                t.costed_requests < t.requests,
            ))
        }
    }
}

fn chart(
    stacked: &Result<Costs, ApiError>,
    per_bucket: &Result<Costs, ApiError>,
    by: &str,
    axis: Axis,
) -> Markup {
    let (s, all) = match (stacked, per_bucket) {
        (Ok(s), Ok(a)) => (s, a),
        (Err(e), _) | (_, Err(e)) => return layout::error_box(e),
    };
    let mut series: Vec<Series> = Vec::new();
    let mut named: BTreeMap<i64, f64> = BTreeMap::new();
    let mut index: Vec<String> = Vec::new();
    for row in &s.rows {
        let name = group_name(row, by);
        let i = match index.iter().position(|n| *n == name) {
            Some(i) => i,
            None => {
                index.push(name.clone());
                series.push(Series {
                    label: name,
                    class: PALETTE[(index.len() - 1) % PALETTE.len()],
                    points: Vec::new(),
                });
                index.len() - 1
            }
        };
        if let Some(t) = row.bucket_start_ns {
            series[i].points.push((t, row.cost_nano_usd as f64));
            *named.entry(t).or_default() += row.cost_nano_usd as f64;
        }
    }
    let other: Vec<(i64, f64)> = all
        .rows
        .iter()
        .filter_map(|r| {
            let t = r.bucket_start_ns?;
            let rest = r.cost_nano_usd as f64 - named.get(&t).copied().unwrap_or(0.0);
            (rest > 0.5).then_some((t, rest))
        })
        .collect();
    if !other.is_empty() && !series.is_empty() {
        series.push(Series {
            label: "other".into(),
            class: "c7",
            points: other,
        });
    } else if series.is_empty() {
        series.push(Series {
            label: "spend".into(),
            class: "c0",
            points: all
                .rows
                .iter()
                .filter_map(|r| Some((r.bucket_start_ns?, r.cost_nano_usd as f64)))
                .collect(),
        });
    }
    if series.iter().all(|s| s.points.is_empty()) {
        return html! { p.muted.nodata { "No priced model calls in this range. Costs come from llm and embedding spans with a model and token usage (or a reported cost)." } };
    }
    html! {
        (charts::bars(&series, axis, 1200.0, &|v| f::usd(v as i64)))
        div.legend {
            @for s in &series { span { i class=(s.class) {} (f::clip(&s.label, 40)) } }
        }
    }
}

fn group_name(row: &CostRow, by: &str) -> String {
    row.group
        .get(by)
        .cloned()
        .unwrap_or_else(|| format!("(no {by})"))
}

/// For each model: the price that applies now and how its recent calls were priced.
async fn prices(v: &Viewer, models: &[String], since: &str) -> Priced {
    let lookups = models.iter().map(|m| async move {
        let price = v.read.price(Query::default().and("model", m).encode());
        let sample = v.read.observations(
            Query::default()
                .and("since", since)
                .and("model", m)
                .and("limit", &SAMPLE.to_string())
                .encode(),
        );
        let (price, sample) = tokio::join!(price, sample);
        (m.clone(), (price, sample))
    });
    futures_util::future::join_all(lookups)
        .await
        .into_iter()
        .collect()
}

type Priced = BTreeMap<
    String,
    (
        Result<PriceLookup, ApiError>,
        Result<Page<Observation>, ApiError>,
    ),
>;

fn top_table(table: &Result<Costs, ApiError>, by: &str, since: &str, priced: &Priced) -> Markup {
    let t = match table {
        Ok(t) => t,
        Err(e) => return layout::error_box(e),
    };
    if t.rows.is_empty() {
        return html! { p.muted.nodata { "No model calls in this range." } };
    }
    let whole: i64 = t.rows.iter().map(|r| r.cost_nano_usd).sum();
    let trace_filter = DIMENSIONS
        .iter()
        .find(|(d, _)| *d == by)
        .and_then(|(_, f)| *f);
    html! {
        div.scroll-x { table.data {
            thead { tr {
                th { (by) } th { "share" } th.num { "spend" } th.num { "calls" } th.num { "failed" }
                th.num { "tokens in" } th.num { "out" } th.num { "p95" } th.num { "priced" }
                @if by == "model" { th { "price / 1M tokens" } th { "latest calls" } }
            } }
            tbody {
                @for r in &t.rows {
                    @let name = group_name(r, by);
                    tr {
                        td.group title=(name) {
                            @match (trace_filter, r.group.get(by)) {
                                (Some(filter), Some(value)) => a href={ "/traces?" (filter) "=" (enc(value)) "&since=" (since) } { (name) },
                                _ => (name),
                            }
                        }
                        td.sharecell { (charts::share(r.cost_nano_usd as f64, whole as f64, "c0")) span.muted.small { (f::percent(if whole > 0 { r.cost_nano_usd as f64 / whole as f64 } else { 0.0 })) } }
                        td.num { strong { (f::usd(r.cost_nano_usd)) } }
                        td.num { (f::count(r.requests)) }
                        td.num.bad[r.errors > 0] { (f::percent(r.error_rate)) }
                        td.num { (f::count(r.input_tokens)) }
                        td.num { (f::count(r.output_tokens)) }
                        td.num { (f::millis(r.latency_p95_ms)) }
                        td.num.bad[r.costed_requests < r.requests] { (r.costed_requests) "/" (r.requests) }
                        @if by == "model" {
                            @match r.group.get("model").and_then(|m| priced.get(m)) {
                                Some((price, sample)) => {
                                    td { (price_cell(price)) }
                                    td { (sources(sample)) }
                                }
                                None => { td {} td {} }
                            }
                        }
                    }
                }
            }
        } }
        @if t.approximate_latency { p.muted.small { "Latency percentiles come from hourly histograms (within about 4%)." } }
    }
}

fn price_cell(p: &Result<PriceLookup, ApiError>) -> Markup {
    match p {
        Ok(l) => html! {
            "$" (l.entry.input) " / $" (l.entry.output)
            div.muted.small {
                (l.entry.source)
                @if l.entry.model != l.model { " · " (l.rule.replace('_', " ")) " " code { (l.entry.model) } }
            }
        },
        Err(_) => html! { span.bad { "no known price" } },
    }
}

/// How the sampled calls got their cost: counts per source, `estimated` and `unknown` marked.
fn sources(sample: &Result<Page<Observation>, ApiError>) -> Markup {
    let Ok(page) = sample else { return html! {} };
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for o in &page.data {
        let source = match o.cost.as_ref().map(|c| c.source) {
            Some(sightline_core::CostSource::Provided) => "reported",
            Some(sightline_core::CostSource::Computed) => "computed",
            Some(sightline_core::CostSource::Estimated) => "estimated",
            Some(sightline_core::CostSource::Unknown) | None => "unknown",
        };
        *counts.entry(source).or_default() += 1;
    }
    html! {
        @for (source, n) in &counts {
            span class={ "badge src-" (source) } title={ (n) " of the latest " (page.data.len()) " calls" } { (source) " " (n) }
            " "
        }
    }
}
