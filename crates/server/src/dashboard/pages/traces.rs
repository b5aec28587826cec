//! `/traces`: the trace list with every filter of `/api/v1/traces` (the URL's query string is
//! passed to the API as it is, so a shared link shows the same list), sortable columns, keyset
//! pages, and new traces arriving at the top while the first page is open.

use axum::http::header::HOST;
use axum::http::HeaderMap;
use axum::response::Response;
use maud::{html, Markup};

use crate::api::shapes::{Page, TraceSummary};
use crate::dashboard::format as f;
use crate::dashboard::layout::{self, Nav};
use crate::dashboard::query::{enc, Query};
use crate::dashboard::viewer::Viewer;

const ROUTE: &str = "/api/v1/traces";

/// The filters shown as form fields: (parameter, label, placeholder).
const FIELDS: &[(&str, &str, &str)] = &[
    ("service", "Service", "checkout-api"),
    ("agent", "Agent", "planner"),
    ("model", "Model", "gpt-4o"),
    ("provider", "Provider", "openai"),
    ("user_id", "User", "user-42"),
    ("session_id", "Session", "conv-1"),
    ("tenant_id", "Tenant", "acme"),
    ("kind", "Kind", "llm"),
    ("name", "Observation name", "chat gpt-4o"),
    ("min_duration", "Min duration", "2s"),
    ("trace_id", "Trace id", "32 hex digits"),
];

pub async fn page(v: Viewer, headers: HeaderMap) -> Response {
    let q = &v.query;
    let api = q.for_api(ROUTE);
    let found = v.read.traces(api.encode()).await;
    let filtered = !api.pick(&filter_names()).is_empty();
    let empty_project = match &found {
        Ok(p) if p.data.is_empty() && !filtered => v
            .read
            .traces("limit=1")
            .await
            .map(|p| p.data.is_empty())
            .unwrap_or(false),
        _ => false,
    };
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:4318");
    let live = q.get("cursor").is_none()
        && matches!(q.get("sort"), None | Some("start"))
        && matches!(q.get("order"), None | Some("desc"));
    let now = v.read.now_ns();
    let body = html! {
        div.page-head {
            h1 { "Traces" }
            @if live { span.muted.small { "new traces appear at the top as they are stored" } }
            div.spacer {}
            (layout::range_picker("/traces", q, q.get("since").unwrap_or("")))
        }
        (filters(q))
        div data-live=[live.then_some("observations")] {
            div #list data-refresh {
                @match &found {
                    Err(e) => (layout::error_box(e)),
                    Ok(p) if p.data.is_empty() && empty_project => (layout::empty("No traces yet", layout::getting_started(host))),
                    Ok(p) if p.data.is_empty() => (layout::empty("No traces match", html! {
                        p { "Nothing matches these filters in this range. "
                            a href="/traces" { "Clear every filter" } " or widen the range." }
                    })),
                    Ok(p) => section.card { (table(p, q, now)) },
                }
            }
        }
    };
    layout::ok(layout::page(
        "Traces",
        Nav::Traces,
        v.read.key_id(),
        None,
        body,
    ))
}

/// Every parameter that narrows the list (not the window, sort or page).
fn filter_names() -> Vec<&'static str> {
    crate::api::params::OBSERVATION_FILTERS.to_vec()
}

/// The filter form: search, status and range up front, the other filters folded below; each
/// active filter also shows as a chip that removes it.
fn filters(q: &Query) -> Markup {
    let more_open = FIELDS.iter().any(|(n, _, _)| q.get(n).is_some())
        || !q.all("tag").is_empty()
        || !q.all("attribute").is_empty();
    let active: Vec<(&str, &str)> = filter_names()
        .into_iter()
        .flat_map(|n| q.all(n).into_iter().map(move |v| (n, v)))
        .collect();
    html! {
        form.filters method="get" action="/traces" {
            div.row {
                input.grow type="search" name="q" value=[q.get("q")] placeholder="Search names, inputs and outputs";
                select name="status" {
                    option value="" { "any status" }
                    option value="error" selected[q.get("status") == Some("error")] { "errors" }
                    option value="ok" selected[q.get("status") == Some("ok")] { "ok" }
                }
                select name="since" {
                    option value="" { "all time" }
                    @if let Some(custom) = q.get("since").filter(|s| !layout::RANGES.contains(s)) {
                        option value=(custom) selected { "last " (custom) }
                    }
                    @for r in layout::RANGES {
                        option value=(r) selected[q.get("since") == Some(*r)] { "last " (r) }
                    }
                }
                @for keep in ["sort", "order", "limit", "from", "to"] {
                    @if let Some(v) = q.get(keep) { input type="hidden" name=(keep) value=(v); }
                }
                button type="submit" { "Filter" }
            }
            details open[more_open] {
                summary { "More filters" }
                div.fields {
                    @for (name, label, hint) in FIELDS {
                        label { span { (label) } input name=(name) value=[q.get(name)] placeholder=(hint); }
                    }
                    @for (name, label, hint) in [("tag", "Tag", "prod"), ("attribute", "Attribute", "http.status_code=500")] {
                        @for value in q.all(name) {
                            label { span { (label) } input name=(name) value=(value); }
                        }
                        label { span { (label) } input name=(name) placeholder=(hint); }
                    }
                }
            }
            @if !active.is_empty() {
                div.chips {
                    @for (name, value) in &active {
                        @let rest = without(q, name, value);
                        a.chip href=(rest.href("/traces")) title="Remove this filter" { (name) " = " (value) " ×" }
                    }
                }
            }
        }
    }
}

/// `q` without the one pair `name=value` (and back on the first page).
fn without(q: &Query, name: &str, value: &str) -> Query {
    let others: Vec<&str> = q.all(name).into_iter().filter(|v| *v != value).collect();
    let mut out = q.with(name, None).with("cursor", None);
    for o in others {
        out = out.and(name, o);
    }
    out
}

/// A column header that sorts by `key`, toggling the order when it already does.
fn sort_header(q: &Query, key: &str, label: &str) -> Markup {
    let current = q.get("sort").unwrap_or("start");
    let desc = q.get("order") != Some("asc");
    let on = current == key;
    let next_order = if on && desc { "asc" } else { "desc" };
    let href = q
        .with("sort", Some(key))
        .with("order", Some(next_order))
        .with("cursor", None)
        .href("/traces");
    html! {
        a.sort.on[on] href=(href) {
            (label) @if on { @if desc { " ↓" } @else { " ↑" } }
        }
    }
}

fn table(p: &Page<TraceSummary>, q: &Query, now: i64) -> Markup {
    html! {
        table.data.traces {
            thead { tr {
                th { (sort_header(q, "start", "Started")) }
                th { "Trace" }
                th { "Agent" }
                th { "Service" }
                th.num { "Spans" }
                th.num { (sort_header(q, "duration", "Duration")) }
                th.num { (sort_header(q, "tokens", "Tokens")) }
                th.num { (sort_header(q, "cost", "Cost")) }
                th { "User" }
                th { "Session" }
                th { "Tenant" }
            } }
            tbody {
                @for t in &p.data {
                    tr data-id=(t.trace_id) class=[(t.error_count > 0).then_some("failed")] {
                        td.nowrap { time datetime=(f::iso(t.start_ns)) title=(t.start_time) { (f::time(t.start_ns, now)) } }
                        td.name {
                            a href={ "/traces/" (t.trace_id) } {
                                (f::clip(t.root_name.as_deref().unwrap_or("(no root span)"), 60))
                            }
                            @if t.error_count > 0 { " " span.badge.err title="observations that failed" { (t.error_count) " failed" } }
                        }
                        td { (cell(q, "agent", t.agent_name.as_deref())) }
                        td { (cell(q, "service", t.service_name.as_deref())) }
                        td.num { (t.span_count) }
                        td.num { (f::duration(t.duration_ns)) }
                        td.num { (f::count(t.total_tokens)) }
                        td.num { (f::usd_opt(t.cost_nano_usd)) }
                        td { (cell(q, "user_id", t.user_id.as_deref())) }
                        td {
                            @if let Some(s) = &t.session_id {
                                a href={ "/sessions/" (enc(s)) } title=(s) { (f::clip(s, 18)) }
                            }
                        }
                        td { (cell(q, "tenant_id", t.tenant_id.as_deref())) }
                    }
                }
            }
        }
        (layout::pager("/traces", q, p.next_cursor.as_deref()))
    }
}

/// A value that filters the list by itself when clicked.
fn cell(q: &Query, name: &str, value: Option<&str>) -> Markup {
    match value {
        Some(v) => html! {
            a.filter-link href=(q.with(name, Some(v)).with("cursor", None).href("/traces")) title={ "Only " (name) " = " (v) } { (f::clip(v, 24)) }
        },
        None => html! {},
    }
}
