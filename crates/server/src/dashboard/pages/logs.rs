//! `/logs`: log search with every filter of `/api/v1/logs` (text, minimum level, service,
//! agent, trace, session, range) in the URL, keyset pages, and a live tail over the stream
//! (`/api/v1/stream?types=logs` with the same filters) that can be paused.

use axum::response::Response;
use maud::{html, Markup};
use serde_json::Value as Json;

use crate::api::shapes::Log;
use crate::dashboard::format as f;
use crate::dashboard::layout::{self, Nav};
use crate::dashboard::viewer::Viewer;

const ROUTE: &str = "/api/v1/logs";
/// The filters the live stream takes for logs (it has no time window or paging).
const STREAM_FILTERS: &[&str] = &["level", "service", "agent", "q", "trace_id", "session_id"];

pub async fn page(v: Viewer) -> Response {
    let q = &v.query;
    let api = q.for_api(ROUTE);
    let found = v.read.logs(api.encode()).await;
    let now = v.read.now_ns();
    let stream = q.pick(STREAM_FILTERS).and("types", "logs");
    let body = html! {
        div.page-head {
            h1 { "Logs" }
            div.spacer {}
            (layout::range_picker("/logs", q, q.get("since").unwrap_or("")))
        }
        form.filters method="get" action="/logs" {
            div.row {
                input.grow type="search" name="q" value=[q.get("q")] placeholder="Search log bodies";
                select name="level" {
                    option value="" { "any level" }
                    @for l in ["debug", "info", "warn", "error", "fatal"] {
                        option value=(l) selected[q.get("level") == Some(l)] { (l) " and above" }
                    }
                }
                input name="service" value=[q.get("service")] placeholder="service";
                input name="agent" value=[q.get("agent")] placeholder="agent";
                input name="trace_id" value=[q.get("trace_id")] placeholder="trace id";
                input name="session_id" value=[q.get("session_id")] placeholder="session";
                @if let Some(s) = q.get("since") { input type="hidden" name="since" value=(s); }
                button type="submit" { "Search" }
            }
        }
        section.card.tail #tail data-stream=(stream.href("/api/v1/stream")) {
            div.tail-head {
                h2 { "Live tail" }
                span.muted.small #tail-state { "connecting…" }
                div.spacer {}
                button #tail-pause type="button" { "Pause" }
            }
            p.muted.small { "New logs matching these filters, newest first, as they are stored." }
            table.data.logs { tbody #tail-rows {} }
        }
        section.card {
            h2 { "Stored logs" span.muted.small { " newest first" } }
            @match &found {
                Err(e) => (layout::error_box(e)),
                Ok(p) if p.data.is_empty() => p.muted.nodata {
                    "No logs match. Logs arrive over OTLP at " code { "/v1/logs" }
                    " or as JSON events at " code { "/api/v1/events" } "."
                },
                Ok(p) => {
                    (table(&p.data, now))
                    (layout::pager("/logs", q, p.next_cursor.as_deref()))
                }
            }
        }
    };
    layout::ok(layout::page("Logs", Nav::Logs, v.read.key_id(), None, body))
}

fn table(logs: &[Log], now: i64) -> Markup {
    html! {
        table.data.logs {
            thead { tr { th { "Time" } th { "Level" } th { "Service" } th { "Agent" } th { "Message" } th { "Trace" } } }
            tbody {
                @for l in logs {
                    tr class={ "sev-" (severity_class(l.severity_number)) } {
                        td.nowrap { time datetime=(f::iso(l.time_ns)) title=(l.time) { (f::time(l.time_ns, now)) } }
                        td { span.level { (level_name(l)) } }
                        td { (l.service_name.as_deref().unwrap_or("")) }
                        td { (l.agent_name.as_deref().unwrap_or("")) }
                        td.body { (body_text(l)) }
                        td.nowrap {
                            @if let Some(t) = &l.trace_id {
                                @let href = match &l.span_id {
                                    Some(s) => format!("/traces/{t}?span={s}"),
                                    None => format!("/traces/{t}"),
                                };
                                a.mono href=(href) { (f::short_id(t)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `trace` .. `fatal` for a severity number (OpenTelemetry's ranges); `unset` for 0.
pub fn severity_class(n: i32) -> &'static str {
    sightline_core::model::severity_level(n).unwrap_or("unset")
}

/// The level as sent, else the name of its severity.
pub fn level_name(l: &Log) -> String {
    l.severity_text
        .clone()
        .unwrap_or_else(|| severity_class(l.severity_number).to_owned())
}

/// The body as one text: a string as it is, anything else as JSON.
pub fn body_text(l: &Log) -> String {
    match &l.body {
        Some(Json::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => l.event_name.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::query::Query;

    #[test]
    fn the_tail_streams_with_the_page_filters_only() {
        let q = Query::parse(Some("q=timeout&level=warn&since=1h&cursor=x&service=api"));
        let s = q.pick(STREAM_FILTERS).and("types", "logs");
        assert_eq!(
            s.href("/api/v1/stream"),
            "/api/v1/stream?q=timeout&level=warn&service=api&types=logs"
        );
        assert_eq!(severity_class(9), "info");
        assert_eq!(severity_class(0), "unset");
    }
}
