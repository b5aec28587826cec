//! `/traces/{trace_id}`: one trace. The summary, the agent graph of a multi-agent trace, the
//! waterfall (timeline bars in tree order with kind icons, errors in red, tokens and cost per
//! row, collapsible subtrees; `trace.js` draws only the rows in view, so 10,000 spans stay
//! smooth) and the inspector of the selected observation (`?span=`), which is also served alone
//! at `/traces/{trace_id}/spans/{span_id}` for the script to load: input and output as a
//! conversation with a raw JSON toggle, usage, cost and the price applied, the error with its
//! stack, attributes, events and the span's logs.

use axum::extract::Path;
use axum::response::Response;
use maud::{html, Markup, PreEscaped};
use serde_json::{json, Value as Json};

use crate::api::shapes::{Log, Observation, PriceLookup, TraceTree};
use crate::dashboard::chat;
use crate::dashboard::format as f;
use crate::dashboard::graph;
use crate::dashboard::layout::{self, Nav};
use crate::dashboard::query::{enc, Query};
use crate::dashboard::read::Reader;
use crate::dashboard::viewer::Viewer;
use crate::error::ApiError;

pub async fn page(v: Viewer, Path(trace_id): Path<String>) -> Response {
    let tree = match v.read.trace(&trace_id, false).await {
        Ok(t) => t,
        Err(e) => return layout::error_page(&e),
    };
    let selected = v.query.get("span").map(str::to_owned);
    let inspector = match &selected {
        Some(span) => inspect(&v.read, &tree.trace_id, span, SpanLogs::In(&tree))
            .await
            .unwrap_or_else(|e| layout::error_box(&e)),
        None => hint(&tree),
    };
    let now = v.read.now_ns();
    let s = &tree.summary;
    let agents = graph::build(&tree.observations);
    let title = s.root_name.clone().unwrap_or_else(|| tree.trace_id.clone());
    let body = html! {
        div.trace-head {
            div {
                h1 { (title) " " (layout::status(s.error_count > 0)) }
                div.facts {
                    span.mono title="trace id" { (tree.trace_id) }
                    span { "started " time datetime=(f::iso(s.start_ns)) title=(s.start_time) { (f::time(s.start_ns, now)) " UTC" } }
                    @if let Some(x) = &s.service_name { span { "service " a href={ "/traces?service=" (enc(x)) } { (x) } } }
                    @if let Some(x) = &s.agent_name { span { "agent " a href={ "/traces?agent=" (enc(x)) } { (x) } } }
                    @if let Some(x) = &s.user_id { span { "user " a href={ "/traces?user_id=" (enc(x)) } { (x) } } }
                    @if let Some(x) = &s.session_id { span { "session " a #session-link href={ "/sessions/" (enc(x)) } { (x) } } }
                    @if let Some(x) = &s.tenant_id { span { "tenant " a href={ "/traces?tenant_id=" (enc(x)) } { (x) } } }
                }
            }
            div.totals {
                div { span.label { "duration" } strong { (f::duration(s.duration_ns)) } }
                div { span.label { "spans" } strong { (tree.observation_count) } }
                div { span.label { "failed" } strong class=[(s.error_count > 0).then_some("bad")] { (s.error_count) } }
                div { span.label { "tokens in / out" } strong { (f::count(s.input_tokens)) " / " (f::count(s.output_tokens)) } }
                div { span.label { "cost" } strong { (f::usd_opt(s.cost_nano_usd)) } }
            }
            nav.links {
                a href={ "/logs?trace_id=" (tree.trace_id) } { "Logs" }
                a href={ "/api/v1/traces/" (tree.trace_id) "?payloads=true" } { "JSON" }
            }
        }
        @if tree.orphan_count > 0 {
            p.notice { (tree.orphan_count) " observation(s) arrived without their parent; they are shown as roots, marked ⚠." }
        }
        @if let Some(svg) = graph::svg(&agents) {
            details.card.graph open {
                summary { h2 { "Agent graph" } span.muted.small { " who delegated to whom, with call counts" } }
                div.graph-scroll { (svg) }
            }
        }
        div.trace-body {
            section.card.waterfall-card {
                div.wf-tools {
                    input #wf-find type="search" placeholder="Find a span by name";
                    button #wf-collapse type="button" { "Collapse all" }
                    button #wf-expand type="button" { "Expand all" }
                    span.spacer {}
                    span.muted.small #wf-count { (tree.observation_count) " observations" }
                }
                div #waterfall data-trace=(tree.trace_id) data-duration=(s.duration_ns.max(1)) data-selected=[selected.as_deref()] tabindex="0" {
                    noscript { p { "The waterfall needs JavaScript; the inspector works without it: add "
                        code { "?span=SPAN_ID" } " to the URL, or read " a href={ "/api/v1/traces/" (tree.trace_id) } { "the JSON" } "." } }
                }
                script #wf-data type="application/json" { (PreEscaped(rows_json(&tree))) }
            }
            aside.card #inspector { (inspector) }
        }
        @if !tree.logs.is_empty() {
            details.card {
                summary { h2 { "Trace logs" } span.muted.small { " " (tree.logs.len()) " logs not attached to a span" } }
                (logs_table(&tree.logs, now))
            }
        }
    };
    layout::ok(layout::page(
        &f::clip(&title, 60),
        Nav::Traces,
        v.read.key_id(),
        Some("trace.js"),
        body,
    ))
}

/// `GET /traces/{trace_id}/spans/{span_id}`: the inspector alone, for the waterfall's script.
/// `?logs=0` (the waterfall knows a span's log count) saves reading the trace for its logs.
pub async fn inspector(v: Viewer, Path((trace_id, span_id)): Path<(String, String)>) -> Response {
    let logs = if v.query.get("logs") == Some("0") {
        SpanLogs::None
    } else {
        SpanLogs::Read
    };
    match inspect(&v.read, &trace_id, &span_id, logs).await {
        Ok(markup) => layout::ok(markup),
        Err(e) => layout::respond(e.code.status(), layout::error_box(&e)),
    }
}

fn hint(tree: &TraceTree) -> Markup {
    html! {
        div.inspector-hint {
            h2 { "Inspector" }
            p.muted { "Select a row of the waterfall to see its input and output, usage, cost, error, attributes, events and logs. Arrow keys move, ← and → fold." }
            @if tree.observations.is_empty() {
                p { "This trace is known only from its logs." }
            }
        }
    }
}

/// The rows the waterfall draws, as compact JSON arrays in tree order: span id, depth, name,
/// kind, start offset (ns), duration (ns), failed, tokens, cost (nano-USD), label (model, tool
/// or agent), child count, orphan, log count. Escaped for a `<script type="application/json">`.
fn rows_json(tree: &TraceTree) -> String {
    let start = tree.summary.start_ns;
    let rows: Vec<Json> = tree
        .observations
        .iter()
        .map(|t| {
            let o = &t.observation;
            let tokens = o
                .usage
                .total
                .or_else(|| Some(o.usage.input? + o.usage.output?));
            let label = o
                .model
                .as_deref()
                .or(o.tool_name.as_deref())
                .or(o.agent_name.as_deref())
                .unwrap_or("");
            json!([
                o.span_id,
                t.depth,
                o.name,
                o.kind.as_str(),
                o.start_ns - start,
                o.duration_ns,
                u8::from(o.is_error),
                tokens,
                o.cost.as_ref().and_then(|c| c.nano_usd),
                label,
                t.child_count,
                u8::from(t.orphan),
                t.logs.len(),
            ])
        })
        .collect();
    script_json(&Json::Array(rows))
}

/// JSON that is safe inside `<script type="application/json">`: no `<`, `>` or `&` that could
/// end the element or start a comment.
pub fn script_json(v: &Json) -> String {
    serde_json::to_string(v)
        .unwrap_or_else(|_| "[]".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The inspector of one observation, or the error that stopped it.
/// Where the inspector finds a span's logs: the trace tree (which places each log under its
/// span), already read or to be read, or nowhere when the span has none.
enum SpanLogs<'a> {
    In(&'a TraceTree),
    Read,
    None,
}

impl SpanLogs<'_> {
    async fn of(&self, read: &Reader, trace_id: &str, span_id: &str) -> Result<Vec<Log>, ApiError> {
        let find = |t: &TraceTree| {
            t.observations
                .iter()
                .find(|o| o.observation.span_id == span_id)
                .map(|o| o.logs.clone())
                .unwrap_or_default()
        };
        match self {
            SpanLogs::In(tree) => Ok(find(tree)),
            SpanLogs::Read => Ok(find(&read.trace(trace_id, false).await?)),
            SpanLogs::None => Ok(Vec::new()),
        }
    }
}

async fn inspect(
    read: &Reader,
    trace_id: &str,
    span_id: &str,
    logs: SpanLogs<'_>,
) -> Result<Markup, ApiError> {
    let o = read.observation(trace_id, span_id).await?;
    let price_query = o.model.as_ref().map(|m| {
        let q = Query::default()
            .and("model", m)
            .and("at", &o.start_ns.to_string());
        match &o.provider {
            Some(p) => q.and("provider", p),
            None => q,
        }
    });
    let (logs, price) = tokio::join!(logs.of(read, trace_id, span_id), async {
        match &price_query {
            Some(q) => Some(read.price(q.encode()).await),
            None => None,
        }
    });
    Ok(observation(&o, &logs, price.as_ref(), read.now_ns()))
}

/// Everything about one observation.
fn observation(
    o: &Observation,
    logs: &Result<Vec<Log>, ApiError>,
    price: Option<&Result<PriceLookup, ApiError>>,
    now: i64,
) -> Markup {
    let raw = serde_json::to_string_pretty(o).unwrap_or_default();
    html! {
        div.inspector data-span=(o.span_id) {
            div.insp-head {
                h2 { (layout::kind(o.kind.as_str())) " " (o.name) }
                div.facts {
                    (layout::status(o.is_error))
                    span { (o.kind.as_str()) }
                    span { (f::duration(o.duration_ns)) }
                    span { time datetime=(f::iso(o.start_ns)) title=(o.start_time) { (f::time(o.start_ns, now)) " UTC" } }
                    span.mono title="span id" { (o.span_id) }
                }
            }
            @if o.is_error {
                div.error-box.exception {
                    strong { (f::error_line(o)) }
                    @if let Some(stack) = o.error.as_ref().and_then(|e| e.stacktrace.as_deref()) {
                        pre.stack { (stack) }
                    }
                }
            }
            dl.grid { (facts(o)) }
            @if let Some(cost) = &o.cost {
                h3 { "Usage and cost" }
                dl.grid {
                    (usage(o))
                    dt { "cost" }
                    dd {
                        (f::usd_opt(cost.nano_usd)) " "
                        span class={ "badge src-" (cost_source(cost)) } { (cost_source(cost)) }
                        @if let Some(r) = &cost.reason { div.muted.small { (r) } }
                    }
                    @if let Some(p) = price { (price_applied(p)) }
                }
            } @else if o.usage.input.is_some() || o.usage.output.is_some() {
                h3 { "Usage" }
                dl.grid { (usage(o)) }
            }
            @if let Some(input) = &o.input { h3 { "Input" } (chat::payload(input)) }
            @if let Some(args) = &o.tool_arguments { h3 { "Tool arguments" } (chat::value(args)) }
            @if let Some(output) = &o.output { h3 { "Output" } (chat::payload(output)) }
            @if let Some(result) = &o.tool_result { h3 { "Tool result" } (chat::value(result)) }
            @if !o.attributes.is_empty() {
                h3 { "Attributes" }
                (attributes(&o.attributes))
            }
            @if !o.events.is_empty() {
                h3 { "Events" }
                ul.plain {
                    @for e in &o.events {
                        li {
                            strong { (e.name) } " " span.muted { "+" (f::duration(e.time_ns - o.start_ns)) }
                            @if !e.attributes.is_empty() { (attributes(&e.attributes)) }
                        }
                    }
                }
            }
            h3 { "Logs of this span" }
            @match logs {
                Err(e) => (layout::error_box(e)),
                Ok(l) if l.is_empty() => p.muted.small { "No logs carry this span's id." },
                Ok(l) => (logs_table(l, now)),
            }
            @if !o.resource.is_empty() {
                details {
                    summary { "Resource" }
                    (attributes(&o.resource))
                }
            }
            details.raw {
                summary { "Raw JSON" }
                pre.json { (raw) }
            }
        }
    }
}

fn cost_source(c: &sightline_core::Cost) -> &'static str {
    match c.source {
        sightline_core::CostSource::Provided => "provided",
        sightline_core::CostSource::Computed => "computed",
        sightline_core::CostSource::Estimated => "estimated",
        sightline_core::CostSource::Unknown => "unknown",
    }
}

fn facts(o: &Observation) -> Markup {
    let text = |v: &Option<String>| v.clone();
    let rows: [(&str, Option<String>); 15] = [
        (
            "model",
            o.model.clone().map(|m| match &o.request_model {
                Some(r) if *r != m => format!("{m} (asked for {r})"),
                _ => m,
            }),
        ),
        ("provider", text(&o.provider)),
        ("operation", text(&o.operation)),
        (
            "agent",
            match (&o.agent_name, &o.agent_id) {
                (Some(n), Some(id)) => Some(format!("{n} ({id})")),
                (n, id) => n.clone().or(id.clone()),
            },
        ),
        ("tool", text(&o.tool_name)),
        ("tool call", text(&o.tool_call_id)),
        ("time to first token", o.ttft_ns.map(f::duration)),
        (
            "finish",
            (!o.finish_reasons.is_empty()).then(|| o.finish_reasons.join(", ")),
        ),
        (
            "parameters",
            (!o.request_params.is_empty())
                .then(|| Json::Object(o.request_params.clone()).to_string()),
        ),
        ("service", text(&o.service_name)),
        (
            "scope",
            o.scope.name.clone().map(|n| match &o.scope.version {
                Some(v) => format!("{n} {v}"),
                None => n,
            }),
        ),
        ("user", text(&o.user_id)),
        ("session", text(&o.session_id)),
        ("tenant", text(&o.tenant_id)),
        ("tags", (!o.tags.is_empty()).then(|| o.tags.join(", "))),
    ];
    html! {
        @for (label, value) in rows {
            @if let Some(v) = value { dt { (label) } dd { (v) } }
        }
        @if let Some(p) = &o.parent_span_id { dt { "parent" } dd.mono { (p) } }
        @if let Some(m) = &o.status_message { dt { "status message" } dd { (m) } }
        @for l in &o.links { dt { "link" } dd.mono { a href={ "/traces/" (l.trace_id) "?span=" (l.span_id) } { (l.trace_id) " / " (l.span_id) } } }
    }
}

fn usage(o: &Observation) -> Markup {
    let u = &o.usage;
    let rows = [
        ("input tokens", u.input),
        ("output tokens", u.output),
        ("cache read", u.cache_read),
        ("cache write", u.cache_write),
        ("reasoning", u.reasoning),
        ("total tokens", u.total),
    ];
    html! {
        @for (label, v) in rows {
            @if let Some(v) = v { dt { (label) } dd { (f::count(v)) } }
        }
    }
}

/// The price entry that prices this model at the call's time, with today's price table.
fn price_applied(p: &Result<PriceLookup, ApiError>) -> Markup {
    match p {
        Err(e) if e.code == crate::error::ErrorCode::NotFound => html! {
            dt { "price" } dd.muted { "no known price for this model" }
        },
        Err(e) => html! { dt { "price" } dd { (layout::error_box(e)) } },
        Ok(l) => {
            let e = &l.entry;
            html! {
                dt { "price" }
                dd {
                    "$" (e.input) " in / $" (e.output) " out"
                    @if let Some(c) = &e.cache_read { " / $" (c) " cache read" }
                    " per 1M tokens"
                    div.muted.small {
                        (e.source) " entry " code { (e.model) }
                        @if !e.provider.is_empty() { " at " (e.provider) }
                        " (" (l.rule.replace('_', " ")) ")"
                    }
                }
            }
        }
    }
}

fn attributes(map: &serde_json::Map<String, Json>) -> Markup {
    html! {
        table.kv {
            tbody {
                @for (k, v) in map {
                    tr {
                        th { (k) }
                        td {
                            @match v {
                                Json::String(s) => (s),
                                other => code { (other.to_string()) },
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Logs as rows: time, level, body.
pub fn logs_table(logs: &[Log], now: i64) -> Markup {
    html! {
        table.data.logs {
            tbody {
                @for l in logs {
                    tr class={ "sev-" (super::logs::severity_class(l.severity_number)) } {
                        td.nowrap { time datetime=(f::iso(l.time_ns)) { (f::time(l.time_ns, now)) } }
                        td { span.level { (super::logs::level_name(l)) } }
                        td.body { (super::logs::body_text(l)) }
                    }
                }
            }
        }
    }
}
