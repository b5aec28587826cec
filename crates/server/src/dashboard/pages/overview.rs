//! `/`: is the swarm healthy right now. Agent health (runs, success and error rate, p50/p95 per
//! agent), throughput by kind and the failure rate, tokens and spend per hour and per day with
//! their trend, top models and spenders, recent errors and live activity, over a picked range
//! (`?since=15m` .. `30d`). Everything comes from `/api/v1/metrics` (spans in the window),
//! `/api/v1/costs` (the hourly rollup), `/observations` and `/traces`; the page refreshes
//! itself when the live stream says something was stored.

use std::collections::BTreeMap;

use axum::http::header::HOST;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{html, Markup};

use crate::api::shapes::{Costs, MetricPoint, Metrics, Observation, Page, TraceSummary};
use crate::dashboard::charts::{self, Axis, Series};
use crate::dashboard::format::{self as f};
use crate::dashboard::layout::{self, Nav};
use crate::dashboard::query::enc;
use crate::dashboard::viewer::Viewer;
use crate::error::ApiError;

const SEC: i64 = 1_000_000_000;
/// One bucket wider than any window: metrics over the whole window in one point (exact
/// percentiles per agent).
const WHOLE_WINDOW: &str = "36500d";

/// The bucket for about 30-60 bars over a `since` window.
fn bucket_for(window_ns: i64) -> (&'static str, i64) {
    const CHOICES: &[(&str, i64)] = &[
        ("30s", 30),
        ("1m", 60),
        ("5m", 300),
        ("10m", 600),
        ("30m", 1_800),
        ("1h", 3_600),
        ("3h", 10_800),
        ("6h", 21_600),
        ("12h", 43_200),
        ("1d", 86_400),
    ];
    CHOICES
        .iter()
        .find(|(_, s)| window_ns / (s * SEC) <= 60)
        .map(|(n, s)| (*n, s * SEC))
        .unwrap_or(("1d", 86_400 * SEC))
}

pub async fn page(v: Viewer, headers: HeaderMap) -> Response {
    let since = v.query.get("since").unwrap_or("1h").to_owned();
    let Some(window_ns) = crate::api::params::parse_duration(&since).filter(|d| *d > 0) else {
        let e = crate::api::params::invalid(format!(
            "since: must be a duration such as 15m, 1h or 7d, got {since:?}"
        ));
        return layout::error_page(&e);
    };
    let now = v.read.now_ns();
    let (bucket, bucket_ns) = bucket_for(window_ns);
    let r = &v.read;
    let s = format!("since={since}");
    let whole = format!("bucket={WHOLE_WINDOW}");
    // The spend charts start on a UTC hour (a day), so the cost rollup answers all but the
    // current hour; the window's totals come from the metrics of the window's own spans.
    let hour = 3_600 * SEC;
    let hours_from = (now - 23 * hour).div_euclid(hour) * hour;
    let days_from = (now - 29 * 24 * hour).div_euclid(24 * hour) * 24 * hour;
    let (by_kind, agents, agent_llm, models, users, hourly, daily, errors, recent) = tokio::join!(
        r.metrics(format!("{s}&bucket={bucket}&group_by=kind")),
        r.metrics(format!("{s}&kind=agent&group_by=agent&{whole}")),
        r.metrics(format!("{s}&kind=llm&group_by=agent&{whole}")),
        r.metrics(format!("{s}&group_by=model&{whole}")),
        r.costs(format!("{s}&group_by=user&top=5")),
        r.costs(format!("from={hours_from}&bucket=hour")),
        r.costs(format!("from={days_from}&bucket=day")),
        r.observations(format!("{s}&status=error&limit=8")),
        r.traces("limit=10"),
    );
    let axis = Axis {
        from_ns: now - window_ns,
        to_ns: now,
        bucket_ns,
    };
    let empty_project = matches!(&recent, Ok(p) if p.data.is_empty());
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:4318")
        .to_owned();
    let body = html! {
        div.page-head {
            h1 { "Overview" }
            span.muted.updated { "last " (since) " · updated " time datetime=(f::iso(now)) { (f::time(now, now)) " UTC" } }
            div.spacer {}
            (layout::range_picker("/", &v.query, &since))
        }
        @if empty_project {
            (layout::empty("Welcome to Sightline", layout::getting_started(&host)))
        }
        section #kpis data-refresh {
            (kpis(&by_kind, &agents))
        }
        div.grid2 data-refresh #charts {
            (card("Throughput", &format!("observations per {bucket}, by kind"), throughput(&by_kind, axis)))
            (card("Failure rate", "share of agent runs and llm calls that failed", failure_rate(&by_kind, axis)))
        }
        section.card #agents data-refresh {
            (agent_health(&agents, &agent_llm, &since))
        }
        div.grid2 #spend data-refresh {
            (spend_card("Spend per hour", "last 24 hours", &hourly, now, 3_600 * SEC, 24))
            (spend_card("Spend per day", "last 30 days", &daily, now, 86_400 * SEC, 30))
        }
        div.grid2 #tops data-refresh {
            (top_table("Top models", "model", &top_models(&models), &since))
            (top_table("Top spenders", "user", &top_users(&users), &since))
        }
        div.grid2 {
            section.card #errors data-refresh {
                h2 { "Recent errors" a.more href={ "/traces?status=error&since=" (since) } { "all failed traces →" } }
                (recent_errors(&errors, now))
            }
            section.card {
                h2 { "Live activity" a.more href="/traces" { "all traces →" } }
                p.muted.small { "Newest traces, and each observation as it is stored." }
                (activity(&recent, now))
            }
        }
    };
    layout::ok(layout::page(
        "Overview",
        Nav::Overview,
        v.read.key_id(),
        None,
        html! { div data-live="observations" { (body) } },
    ))
}

fn card(title: &str, subtitle: &str, content: Markup) -> Markup {
    html! {
        section.card {
            h2 { (title) }
            p.muted.small { (subtitle) }
            (content)
        }
    }
}

/// Sum of a field over every point of every series.
fn total(
    m: &Metrics,
    group: Option<&str>,
    field: fn(&crate::api::shapes::MetricPoint) -> i64,
) -> i64 {
    m.series
        .iter()
        .filter(|s| group.is_none() || s.group.as_deref() == group)
        .flat_map(|s| s.points.iter())
        .map(field)
        .sum()
}

/// `now` against `before` as a signed percentage, when there was a before.
fn trend(now: i64, before: i64) -> Markup {
    if before <= 0 {
        return html! {};
    }
    let change = (now - before) as f64 / before as f64;
    let class = if change > 0.0 { "up" } else { "down" };
    let arrow = if change > 0.0 { "▲" } else { "▼" };
    html! {
        span class={ "trend " (class) } title="against the window before" {
            (arrow) " " (f::percent(change.abs()))
        }
    }
}

fn kpis(by_kind: &Result<Metrics, ApiError>, agents: &Result<Metrics, ApiError>) -> Markup {
    let (Ok(by_kind), Ok(agents)) = (by_kind, agents) else {
        let e = [by_kind.as_ref().err(), agents.as_ref().err()];
        return html! { @for e in e.into_iter().flatten() { (layout::error_box(e)) } };
    };
    let of = |kind: &'static str| {
        (
            total(by_kind, Some(kind), |p| p.requests),
            total(by_kind, Some(kind), |p| p.errors),
        )
    };
    let ((runs, run_errors), (llm, llm_errors), (tools, tool_errors)) =
        (of("agent"), of("llm"), of("tool"));
    // Tokens and cost are counted for llm and embedding calls only, as everywhere.
    let tokens = total(by_kind, None, |p| p.total_tokens);
    let spend = total(by_kind, None, |p| p.cost_nano_usd.unwrap_or(0));
    let input = total(by_kind, None, |p| p.input_tokens);
    let output = total(by_kind, None, |p| p.output_tokens);
    let active = agents.series.iter().filter(|s| s.group.is_some()).count();
    let p95 = agents
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .map(|p| p.latency_p95_ms)
        .fold(0.0, f64::max);
    let rate = |e: i64, n: i64| if n > 0 { e as f64 / n as f64 } else { 0.0 };
    html! {
        div.kpis {
            (layout::kpi("Agent runs", f::count(runs), html! { (f::percent(rate(run_errors, runs))) " failed" }, run_errors > 0))
            (layout::kpi("Active agents", active, html! { "slowest p95 " (f::millis(p95)) }, false))
            (layout::kpi("LLM calls", f::count(llm), html! { (f::percent(rate(llm_errors, llm))) " errors" }, llm_errors > 0))
            (layout::kpi("Tool calls", f::count(tools), html! { (f::percent(rate(tool_errors, tools))) " failed" }, tool_errors > 0))
            (layout::kpi("Tokens", f::count(tokens), html! { (f::count(input)) " in · " (f::count(output)) " out" }, false))
            (layout::kpi("Spend", f::usd(spend), html! { (f::usd(if llm > 0 { spend / llm } else { 0 })) " per llm call" }, false))
        }
    }
}

/// Observations per bucket by kind: agent runs, llm calls, tool calls, everything else.
fn throughput(by_kind: &Result<Metrics, ApiError>, axis: Axis) -> Markup {
    let m = match by_kind {
        Ok(m) => m,
        Err(e) => return layout::error_box(e),
    };
    let mut other: BTreeMap<i64, f64> = BTreeMap::new();
    let mut named = Vec::new();
    for (kind, class, label) in [
        ("agent", "fk-agent", "agent runs"),
        ("llm", "fk-llm", "llm calls"),
        ("tool", "fk-tool", "tool calls"),
    ] {
        let points = m
            .series
            .iter()
            .filter(|s| s.group.as_deref() == Some(kind))
            .flat_map(|s| s.points.iter().map(|p| (p.time_ns, p.requests as f64)))
            .collect();
        named.push(Series {
            label: label.into(),
            class,
            points,
        });
    }
    for s in m
        .series
        .iter()
        .filter(|s| !matches!(s.group.as_deref(), Some("agent" | "llm" | "tool")))
    {
        for p in &s.points {
            *other.entry(p.time_ns).or_default() += p.requests as f64;
        }
    }
    named.push(Series {
        label: "other".into(),
        class: "fk-other",
        points: other.into_iter().collect(),
    });
    if named.iter().all(|s| s.points.is_empty()) {
        return html! { p.muted.nodata { "No observations in this range." } };
    }
    html! {
        (charts::bars(&named, axis, 600.0, &|v| f::short(v)))
        (legend(&named))
    }
}

fn legend(series: &[Series]) -> Markup {
    html! {
        div.legend {
            @for s in series {
                span { i class=(s.class) {} (s.label) }
            }
        }
    }
}

/// Error rate per bucket of agent runs and of llm calls.
fn failure_rate(by_kind: &Result<Metrics, ApiError>, axis: Axis) -> Markup {
    let Ok(m) = by_kind else {
        return html! {};
    };
    let series = |kind: &str, class: &'static str, label: &str| Series {
        label: label.into(),
        class,
        points: m
            .series
            .iter()
            .filter(|s| s.group.as_deref() == Some(kind))
            .flat_map(|s| s.points.iter().map(|p| (p.time_ns, p.error_rate)))
            .collect(),
    };
    let runs = series("agent", "err", "agent runs failed");
    let llm = series("llm", "fk-llm", "llm calls failed");
    let main = if runs.points.is_empty() { &llm } else { &runs };
    if main.points.is_empty() {
        return html! { p.muted.nodata { "No agent runs or llm calls in this range." } };
    }
    html! {
        (charts::line(main, axis, 600.0, &|v| f::percent(v)))
        (legend(std::slice::from_ref(main)))
    }
}

fn agent_health(
    agents: &Result<Metrics, ApiError>,
    llm: &Result<Metrics, ApiError>,
    since: &str,
) -> Markup {
    let agents = match agents {
        Ok(m) => m,
        Err(e) => return layout::error_box(e),
    };
    let calls: BTreeMap<&str, &MetricPoint> = llm
        .as_ref()
        .map(|m| {
            m.series
                .iter()
                .filter_map(|s| Some((s.group.as_deref()?, s.points.first()?)))
                .collect()
        })
        .unwrap_or_default();
    let mut rows: Vec<_> = agents
        .series
        .iter()
        .filter_map(|s| Some((s.group.as_deref()?, s.points.first()?)))
        .collect();
    rows.sort_by(|a, b| b.1.requests.cmp(&a.1.requests).then(a.0.cmp(b.0)));
    let dash = || "—".to_owned();
    html! {
        h2 { "Agent health" span.muted.small { " agent runs (spans of kind agent) in the last " (since) } }
        @if rows.is_empty() {
            p.muted.nodata { "No agent runs in this range. Agents appear here when their spans carry "
                code { "gen_ai.agent.name" } " (or another convention's agent name) and kind agent, e.g. "
                code { "invoke_agent" } " spans." }
        } @else {
            table.data {
                thead { tr {
                    th { "Agent" } th.num { "Runs" } th { "Success" } th.num { "Errors" }
                    th.num { "p50" } th.num { "p95" } th.num { "LLM calls" } th.num { "LLM errors" } th.num { "Tokens" } th.num { "Spend" }
                } }
                tbody {
                    @for (name, p) in &rows {
                        @let c = calls.get(name);
                        tr {
                            td { a href={ "/traces?agent=" (enc(name)) "&since=" (since) } { (layout::kind("agent")) " " (name) } }
                            td.num { (f::count(p.requests)) }
                            td.sharecell { (charts::share(1.0 - p.error_rate, 1.0, "ok")) span.small { (f::percent(1.0 - p.error_rate)) } }
                            td.num.bad[p.errors > 0] {
                                @if p.errors > 0 {
                                    a href={ "/traces?agent=" (enc(name)) "&status=error&since=" (since) } { (f::count(p.errors)) }
                                } @else { "0" }
                            }
                            td.num { (f::millis(p.latency_p50_ms)) }
                            td.num { (f::millis(p.latency_p95_ms)) }
                            td.num { (c.map(|c| f::count(c.requests)).unwrap_or_else(dash)) }
                            td.num.bad[c.is_some_and(|c| c.errors > 0)] { (c.map(|c| f::count(c.errors)).unwrap_or_else(dash)) }
                            td.num { (c.map(|c| f::count(c.total_tokens)).unwrap_or_else(dash)) }
                            td.num { (c.map(|c| f::usd_opt(c.cost_nano_usd)).unwrap_or_else(dash)) }
                        }
                    }
                }
            }
        }
    }
}

/// Spend per bucket over the last `count` buckets, with the trend of the last half against the
/// half before.
fn spend_card(
    title: &str,
    subtitle: &str,
    costs: &Result<Costs, ApiError>,
    now: i64,
    bucket_ns: i64,
    count: i64,
) -> Markup {
    let c = match costs {
        Ok(c) => c,
        Err(e) => return card(title, subtitle, layout::error_box(e)),
    };
    let end = now.div_euclid(bucket_ns) * bucket_ns + bucket_ns;
    let axis = Axis {
        from_ns: end - count * bucket_ns,
        to_ns: end,
        bucket_ns,
    };
    let points: Vec<(i64, f64)> = c
        .rows
        .iter()
        .filter_map(|r| Some((r.bucket_start_ns?, r.cost_nano_usd as f64)))
        .collect();
    let sum = |from: i64, to: i64| -> (i64, i64) {
        c.rows
            .iter()
            .filter(|r| r.bucket_start_ns.is_some_and(|t| t >= from && t < to))
            .fold((0, 0), |(cost, tok), r| {
                (cost + r.cost_nano_usd, tok + r.total_tokens)
            })
    };
    let half = count / 2 * bucket_ns;
    let (recent, recent_tokens) = sum(end - half, end);
    let (before, _) = sum(end - 2 * half, end - half);
    let (shown, shown_tokens) = sum(axis.from_ns, end);
    let series = [Series {
        label: "spend".into(),
        class: "c0",
        points,
    }];
    html! {
        section.card {
            h2 { (title) span.muted.small { " " (subtitle) } }
            p.small {
                strong { (f::usd(shown)) } " · " (f::count(shown_tokens)) " tokens · the last "
                (count / 2) " " (if bucket_ns < 86_400 * SEC { "hours" } else { "days" }) " "
                (f::usd(recent)) " (" (f::count(recent_tokens)) " tokens)"
                @if before > 0 { " " (trend(recent, before)) " vs the " (count / 2) " before" }
            }
            @if series[0].points.is_empty() {
                p.muted.nodata { "No priced model calls yet." }
            } @else {
                (charts::bars(&series, axis, 600.0, &|v| f::usd(v as i64)))
            }
        }
    }
}

/// A row of a top table: the group, its calls, tokens and spend.
struct Top {
    name: Option<String>,
    calls: i64,
    tokens: i64,
    spend: i64,
}

/// The five models with the most spend (then calls) in the window, from the metrics by model.
fn top_models(m: &Result<Metrics, ApiError>) -> Result<Vec<Top>, ApiError> {
    let m = m.as_ref().map_err(Clone::clone)?;
    let mut rows: Vec<Top> = m
        .series
        .iter()
        .filter(|s| s.group.is_some())
        .filter_map(|s| {
            let p = s.points.first()?;
            Some(Top {
                name: s.group.clone(),
                calls: p.requests,
                tokens: p.total_tokens,
                spend: p.cost_nano_usd.unwrap_or(0),
            })
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse((r.spend, r.calls)));
    rows.truncate(5);
    Ok(rows)
}

/// The top users of the cost query.
fn top_users(c: &Result<Costs, ApiError>) -> Result<Vec<Top>, ApiError> {
    let c = c.as_ref().map_err(Clone::clone)?;
    Ok(c.rows
        .iter()
        .map(|r| Top {
            name: r.group.get("user").cloned(),
            calls: r.requests,
            tokens: r.total_tokens,
            spend: r.cost_nano_usd,
        })
        .collect())
}

fn top_table(
    title: &str,
    dimension: &str,
    rows: &Result<Vec<Top>, ApiError>,
    since: &str,
) -> Markup {
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return card(title, "", layout::error_box(e)),
    };
    let whole: i64 = rows.iter().map(|r| r.spend).sum();
    let filter = match dimension {
        "user" => "user_id",
        other => other,
    };
    html! {
        section.card {
            h2 { (title) a.more href={ "/costs?by=" (dimension) "&since=" (since) } { "costs →" } }
            @if rows.is_empty() {
                p.muted.nodata { "No model calls with a " (dimension) " in this range." }
            } @else {
                table.data.compact {
                    thead { tr { th { (dimension) } th.num { "calls" } th.num { "tokens" } th.num { "spend" } } }
                    tbody {
                        @for r in rows {
                            tr {
                                td {
                                    @match &r.name {
                                        Some(name) => a href={ "/traces?" (filter) "=" (enc(name)) "&since=" (since) } { (f::clip(name, 40)) },
                                        None => span.muted { "(none)" },
                                    }
                                    (charts::share(r.spend as f64, whole as f64, "c0"))
                                }
                                td.num { (f::count(r.calls)) }
                                td.num { (f::count(r.tokens)) }
                                td.num { (f::usd(r.spend)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn recent_errors(errors: &Result<Page<Observation>, ApiError>, now: i64) -> Markup {
    let page = match errors {
        Ok(p) => p,
        Err(e) => return layout::error_box(e),
    };
    html! {
        @if page.data.is_empty() {
            p.muted.nodata { "No failed observations in this range." }
        } @else {
            ul.events {
                @for o in &page.data {
                    li {
                        a href={ "/traces/" (o.trace_id) "?span=" (o.span_id) } {
                            (layout::kind(o.kind.as_str()))
                            span.name { (f::clip(&o.name, 48)) }
                        }
                        span.muted { (o.agent_name.as_deref().unwrap_or("")) }
                        span.err-text { (f::clip(&f::error_line(o), 90)) }
                        time.muted datetime=(f::iso(o.start_ns)) { (f::ago(o.start_ns, now)) }
                    }
                }
            }
        }
    }
}

/// The newest traces; the live stream adds observations on top.
fn activity(recent: &Result<Page<TraceSummary>, ApiError>, now: i64) -> Markup {
    let page = match recent {
        Ok(p) => p,
        Err(e) => return layout::error_box(e),
    };
    html! {
        ul.events #activity data-activity {
            @for t in &page.data {
                li {
                    a href={ "/traces/" (t.trace_id) } {
                        (layout::kind("agent"))
                        span.name { (f::clip(t.root_name.as_deref().unwrap_or(&t.trace_id), 48)) }
                    }
                    span.muted { (t.agent_name.as_deref().unwrap_or("")) }
                    span { (t.span_count) " spans · " (f::duration(t.duration_ns)) }
                    @if t.error_count > 0 { (layout::status(true)) }
                    time.muted datetime=(f::iso(t.end_ns)) { (f::ago(t.end_ns, now)) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_give_at_most_sixty_bars() {
        assert_eq!(bucket_for(15 * 60 * SEC).0, "30s");
        assert_eq!(bucket_for(3_600 * SEC).0, "1m");
        assert_eq!(bucket_for(6 * 3_600 * SEC).0, "10m");
        assert_eq!(bucket_for(86_400 * SEC).0, "30m");
        assert_eq!(bucket_for(7 * 86_400 * SEC).0, "3h");
        assert_eq!(bucket_for(30 * 86_400 * SEC).0, "12h");
    }
}
