//! `/sessions`: sessions by last activity (filters and pages of `/api/v1/sessions`), and
//! `/sessions/{id}`: one session as a conversation across its traces, each turn showing what
//! was asked and answered, with its trace's status, duration, tokens and cost.

use axum::extract::Path;
use axum::response::Response;
use maud::html;

use crate::dashboard::chat;
use crate::dashboard::format as f;
use crate::dashboard::layout::{self, Nav};
use crate::dashboard::query::enc;
use crate::dashboard::viewer::Viewer;

const ROUTE: &str = "/api/v1/sessions";

pub async fn list(v: Viewer) -> Response {
    let q = &v.query;
    let found = v.read.sessions(&q.for_api(ROUTE).encode()).await;
    let now = v.read.now_ns();
    let body = html! {
        div.page-head {
            h1 { "Sessions" }
            span.muted.small { "conversations: traces that share a session id, most recent first" }
            div.spacer {}
            (layout::range_picker("/sessions", q, q.get("since").unwrap_or("")))
        }
        form.filters method="get" action="/sessions" {
            div.row {
                input name="user_id" value=[q.get("user_id")] placeholder="user";
                input name="tenant_id" value=[q.get("tenant_id")] placeholder="tenant";
                @if let Some(s) = q.get("since") { input type="hidden" name="since" value=(s); }
                button type="submit" { "Filter" }
            }
        }
        @match &found {
            Err(e) => (layout::error_box(e)),
            Ok(p) if p.data.is_empty() => (layout::empty("No sessions", html! {
                p { "Traces join a session when their spans carry a session id ("
                    code { "session.id" } ", " code { "gen_ai.conversation.id" } ", "
                    code { "langfuse.session.id" } ", ...). " code { "sightline demo" } " sends multi-trace sessions." }
            })),
            Ok(p) => section.card {
                table.data {
                    thead { tr {
                        th { "Session" } th { "Users" } th { "First seen" } th { "Last active" }
                        th.num { "Traces" } th.num { "Spans" } th.num { "Failed" } th.num { "Tokens" } th.num { "Cost" }
                    } }
                    tbody {
                        @for s in &p.data {
                            tr class=[(s.error_count > 0).then_some("failed")] {
                                td { a href={ "/sessions/" (enc(&s.session_id)) } { (f::clip(&s.session_id, 40)) } }
                                td { (s.user_ids.join(", ")) }
                                td.nowrap { time datetime=(f::iso(s.first_seen_ns)) { (f::time(s.first_seen_ns, now)) } }
                                td.nowrap { time datetime=(f::iso(s.last_seen_ns)) { (f::ago(s.last_seen_ns, now)) } }
                                td.num { (s.trace_count) }
                                td.num { (s.span_count) }
                                td.num.bad[s.error_count > 0] { (s.error_count) }
                                td.num { (f::count(s.total_tokens)) }
                                td.num { (f::usd_opt(s.cost_nano_usd)) }
                            }
                        }
                    }
                }
                (layout::pager("/sessions", q, p.next_cursor.as_deref()))
            },
        }
    };
    layout::ok(layout::page(
        "Sessions",
        Nav::Sessions,
        v.read.key_id(),
        None,
        body,
    ))
}

pub async fn page(v: Viewer, Path(session_id): Path<String>) -> Response {
    let d = match v.read.session(&session_id).await {
        Ok(d) => d,
        Err(e) => return layout::error_page(&e),
    };
    let now = v.read.now_ns();
    let s = &d.session;
    let body = html! {
        div.trace-head {
            div {
                h1 { "Session " span.mono { (s.session_id) } }
                div.facts {
                    @if !s.user_ids.is_empty() { span { "users " (s.user_ids.join(", ")) } }
                    span { "from " time datetime=(f::iso(s.first_seen_ns)) { (f::time(s.first_seen_ns, now)) } " to " time datetime=(f::iso(s.last_seen_ns)) { (f::time(s.last_seen_ns, now)) } " UTC" }
                    a href={ "/traces?session_id=" (enc(&s.session_id)) } { "as a trace list" }
                    a href={ "/logs?session_id=" (enc(&s.session_id)) } { "logs" }
                }
            }
            div.totals {
                div { span.label { "traces" } strong { (s.trace_count) } }
                div { span.label { "spans" } strong { (s.span_count) } }
                div { span.label { "failed" } strong class=[(s.error_count > 0).then_some("bad")] { (s.error_count) } }
                div { span.label { "tokens" } strong { (f::count(s.total_tokens)) } }
                div { span.label { "cost" } strong { (f::usd_opt(s.cost_nano_usd)) } }
            }
        }
        div.conversation {
            @for (i, t) in d.traces.iter().enumerate() {
                section.turn.failed[t.trace.error_count > 0] {
                    div.turn-head {
                        span.turn-n { "#" (i + 1) }
                        a href={ "/traces/" (t.trace.trace_id) } { (t.trace.root_name.as_deref().unwrap_or(&t.trace.trace_id)) }
                        (layout::status(t.trace.error_count > 0))
                        span.muted { time datetime=(f::iso(t.trace.start_ns)) { (f::time(t.trace.start_ns, now)) } }
                        span.muted { (f::duration(t.trace.duration_ns)) " · " (t.trace.span_count) " spans · " (f::count(t.trace.total_tokens)) " tokens · " (f::usd_opt(t.trace.cost_nano_usd)) }
                        @if let Some(a) = &t.trace.agent_name { span.muted { "agent " (a) } }
                    }
                    @if t.input.is_none() && t.output.is_none() {
                        p.muted.small { "The root span of this trace carries no input or output; open the trace to see its steps." }
                    } @else {
                        (chat::turn_messages(t.input.as_ref(), t.output.as_ref()))
                    }
                }
            }
            @if (d.traces.len() as i64) < s.trace_count {
                p.muted { "Showing the first " (d.traces.len()) " of " (s.trace_count) " traces; "
                    a href={ "/traces?session_id=" (enc(&s.session_id)) } { "list them all" } "." }
            }
        }
    };
    layout::ok(layout::page(
        &format!("Session {}", f::clip(&s.session_id, 40)),
        Nav::Sessions,
        v.read.key_id(),
        None,
        body,
    ))
}
