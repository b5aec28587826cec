//! The page shell every page shares (head, navigation, the icon sprite, the live indicator),
//! the pieces many pages use (kind badges, the time range picker, empty states, error boxes,
//! pagers), and how pages become responses: HTML with a strict Content-Security-Policy (scripts
//! and styles only from this server, no inline script, no request to another origin).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::assets;
use super::query::Query;
use crate::error::ApiError;

/// The sections of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Traces,
    Sessions,
    Costs,
    Logs,
    None,
}

const NAV: &[(Nav, &str, &str)] = &[
    (Nav::Overview, "/", "Overview"),
    (Nav::Traces, "/traces", "Traces"),
    (Nav::Sessions, "/sessions", "Sessions"),
    (Nav::Costs, "/costs", "Costs"),
    (Nav::Logs, "/logs", "Logs"),
];

/// Every page's policy: only this server's scripts, styles, images and connections.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The time ranges the pickers offer, as `since` values.
pub const RANGES: &[&str] = &["15m", "1h", "6h", "24h", "7d", "30d"];

/// A whole page: `title`, the section it belongs to, the key it is read with (for the logout
/// button), the page's own script (besides `app.js`) and its body.
pub fn page(
    title: &str,
    nav: Nav,
    key: Option<&str>,
    script: Option<&'static str>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · Sightline" }
                link rel="icon" type="image/svg+xml" href=(assets::url("favicon.svg"));
                link rel="stylesheet" href=(assets::url("app.css"));
                script src=(assets::url("app.js")) defer {}
                @if let Some(s) = script {
                    script src=(assets::url(s)) defer {}
                }
            }
            body {
                (PreEscaped(assets::ICONS))
                header.top {
                    a.brand href="/" {
                        svg.logo { use href="#logo" {} }
                        span { "Sightline" }
                    }
                    nav {
                        @for (n, href, label) in NAV {
                            a href=(href) class=[(*n == nav).then_some("on")] { (label) }
                        }
                    }
                    div.spacer {}
                    span #live .live hidden title="Receiving new data as it is stored" { i {} "live" }
                    @if let Some(key) = key {
                        span.key title="The API key this session uses; its project is what you see" { (key) }
                        form.logout method="post" action="/logout" {
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A page as the answer: HTML that is never cached, with the security headers.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut r = (status, markup.into_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    r
}

/// 200 with `markup`.
pub fn ok(markup: Markup) -> Response {
    respond(StatusCode::OK, markup)
}

/// A 303 to `to` (a path on this server).
pub fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A whole page saying what failed, with the API's status.
pub fn error_page(e: &ApiError) -> Response {
    let status = e.code.status();
    let title = match e.code.http_status() {
        404 => "Not found",
        400 => "Bad request",
        _ => "Something went wrong",
    };
    respond(
        status,
        page(
            title,
            Nav::None,
            None,
            None,
            html! {
                h1 { (title) }
                (error_box(e))
                p { a href="/" { "Back to the overview" } }
            },
        ),
    )
}

/// The API's error where the results would be (a bad filter in the URL, a store failure).
pub fn error_box(e: &ApiError) -> Markup {
    html! {
        div.error-box role="alert" {
            strong { (e.code.as_str()) }
            " "
            span { (e.message) }
        }
    }
}

/// A kind's icon and colour, as the waterfall and tables show it.
pub fn kind(kind: &str) -> Markup {
    html! {
        span class={ "kind k-" (kind) } title=(kind) {
            svg { use href={ "#k-" (kind) } {} }
        }
    }
}

/// One figure of a row of KPIs: its label, value and a line under it (red when `bad`).
pub fn kpi(label: &str, value: impl maud::Render, sub: Markup, bad: bool) -> Markup {
    html! {
        div.kpi {
            span.label { (label) }
            strong { (value) }
            span.sub.bad[bad] { (sub) }
        }
    }
}

/// `error` or `ok` as a badge.
pub fn status(is_error: bool) -> Markup {
    if is_error {
        html! { span.badge.err { "error" } }
    } else {
        html! { span.badge.ok { "ok" } }
    }
}

/// The time range picker: links to `path` with `since` set, keeping the other parameters.
pub fn range_picker(path: &str, query: &Query, current: &str) -> Markup {
    html! {
        nav.ranges aria-label="Time range" {
            @for r in RANGES {
                a href=(query.with("since", Some(r)).with("cursor", None).href(path))
                  class=[(*r == current).then_some("on")] { (r) }
            }
        }
    }
}

/// A card explaining an empty result, and what to do about it.
pub fn empty(title: &str, body: Markup) -> Markup {
    html! {
        div.empty {
            h2 { (title) }
            (body)
        }
    }
}

/// How to get data in, for a server with nothing stored yet: the OTLP endpoint and the demo.
pub fn getting_started(host: &str) -> Markup {
    let base = format!("http://{host}");
    html! {
        p { "Nothing has been stored in this project yet. Point an agent at Sightline and its traces appear here within a second:" }
        pre.code {
            "export OTEL_EXPORTER_OTLP_ENDPOINT=" (base) "\n"
            "export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf   # or grpc, on port 4317"
        }
        p { "Or send realistic multi-agent demo traffic:" }
        pre.code { "sightline demo --url " (base) " --traces 50" }
        p.muted { "OTLP/HTTP takes traces at " code { (base) "/v1/traces" } " and logs at " code { (base) "/v1/logs" } "; the Langfuse SDK works with " code { "LANGFUSE_HOST=" (base) } "." }
    }
}

/// "Newer" and "older" links for a keyset-paged list: back to the first page, and on with the
/// answer's `next_cursor`.
pub fn pager(path: &str, query: &Query, next_cursor: Option<&str>) -> Markup {
    html! {
        nav.pager {
            @if query.get("cursor").is_some() {
                a href=(query.with("cursor", None).href(path)) { "« First page" }
            }
            @if let Some(c) = next_cursor {
                a href=(query.with("cursor", Some(c)).href(path)) { "Next page »" }
            }
        }
    }
}
