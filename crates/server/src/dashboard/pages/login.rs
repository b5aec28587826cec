//! `/login`: the key prompt. Asked once when keys exist; the form posts to `auth`'s login
//! handler, which keeps a session cookie. A caller who needs no key (or already has a session)
//! goes straight on to the page it came from.

use axum::extract::RawQuery;
use axum::response::Response;
use maud::html;

use crate::auth::session::local_path;
use crate::auth::Caller;
use crate::dashboard::layout::{self, Nav};
use crate::dashboard::query::Query;
use crate::error::ApiError;

pub async fn page(caller: Result<Caller, ApiError>, RawQuery(raw): RawQuery) -> Response {
    let q = Query::parse(raw.as_deref());
    let next = local_path(q.get("next")).to_owned();
    if caller.is_ok() && q.get("logged_out").is_none() {
        return layout::redirect(&next);
    }
    let body = html! {
        div.login {
            h1 { svg.logo { use href="#logo" {} } "Sightline" }
            @if q.get("failed").is_some() {
                div.error-box role="alert" { "That key was not accepted: check that you pasted the whole secret key." }
            }
            @if q.get("logged_out").is_some() {
                p.notice { "You are logged out." }
            }
            form method="post" action="/login" {
                label for="key" { "API key" }
                input #key type="password" name="key" autocomplete="off" autofocus
                    placeholder="sk-sl-… or pk-sl-…:sk-sl-…" required;
                input type="hidden" name="next" value=(next);
                button type="submit" { "Open the dashboard" }
            }
            p.muted {
                "This server has API keys, so the dashboard asks for one, once. Paste a secret key
                 made by " code { "sightline keys create --project NAME" } " (or "
                code { "public:secret" } "). You see that key's project; the browser keeps only a
                 session cookie, never the key."
            }
        }
    };
    layout::ok(layout::page("Log in", Nav::None, None, None, body))
}
