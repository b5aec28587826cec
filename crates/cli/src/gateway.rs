//! `sightline budgets` and `sightline gateway`: the gateway's management API from the
//! terminal (budgets and their notifications, rate-limit rules, stored provider keys, the
//! upstreams). Text tables for people, `--json` for the API's JSON as received.

use reqwest::Method;
use serde_json::{json, Map, Value as Json};
use sightline_server::api::shapes::{
    Budget, BudgetEvent, GatewayStatus, Page, ProviderKey, RateLimit,
};

use crate::explore::args::{self, Conn, Params};
use crate::explore::client::Client;
use crate::explore::table::{Align, Table};
use crate::explore::{finish, parse, show};

#[derive(clap::Subcommand)]
pub enum BudgetsCommand {
    /// Set a budget (one with the same scope and window is replaced).
    #[command(
        after_help = "Example: sightline budgets set --scope tenant:acme --window daily --limit-usd 25"
    )]
    Set(BudgetSetArgs),
    /// List the budgets with their current window: spent, held by calls in flight, remaining.
    List(ConnArgs),
    /// Delete a budget by id.
    Delete(IdArgs),
    /// List the 50/80/95% notifications.
    Events(EventsArgs),
}

#[derive(clap::Args)]
pub struct ConnArgs {
    #[command(flatten)]
    conn: Conn,
}

#[derive(clap::Args)]
pub struct IdArgs {
    #[command(flatten)]
    conn: Conn,
    id: String,
}

#[derive(clap::Args)]
pub struct BudgetSetArgs {
    #[command(flatten)]
    conn: Conn,
    /// project, tenant:<id>, user:<id>, key:<public key> or property:<name>=<value>.
    #[arg(long)]
    scope: String,
    /// daily, monthly, or a length such as 12h or 7d.
    #[arg(long, default_value = "daily")]
    window: String,
    /// The limit in USD, as a decimal.
    #[arg(long, value_name = "USD")]
    limit_usd: String,
    /// Also count calls that arrived as telemetry (OTLP), not only through the gateway.
    #[arg(long)]
    include_otlp: bool,
    /// Replace the budget with this id.
    #[arg(long)]
    id: Option<String>,
}

#[derive(clap::Args)]
pub struct EventsArgs {
    #[command(flatten)]
    conn: Conn,
    /// Only notifications at or after this time: RFC 3339 or UTC nanoseconds.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
}

#[derive(clap::Subcommand)]
pub enum GatewayCommand {
    /// The upstreams (and where to point an SDK's base_url) and the gateway's counters.
    Upstreams(ConnArgs),
    /// Provider keys stored for this project ("virtual keys").
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Rate-limit rules of this project.
    #[command(subcommand)]
    Limits(LimitsCommand),
}

#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Store a provider key, sealed; agents then send only their Sightline key.
    #[command(
        after_help = "Example: sightline gateway keys set --upstream openai --provider-key \"$OPENAI_API_KEY\""
    )]
    Set(KeySetArgs),
    List(ConnArgs),
    Delete(IdArgs),
}

#[derive(clap::Args)]
pub struct KeySetArgs {
    #[command(flatten)]
    conn: Conn,
    /// The upstream it is sent to.
    #[arg(long)]
    upstream: String,
    /// The provider's API key (also PROVIDER_KEY).
    #[arg(long, env = "PROVIDER_KEY", hide_env_values = true)]
    provider_key: String,
    /// Only for calls made with this Sightline key (public half).
    #[arg(long)]
    for_key: Option<String>,
    /// Cache the answers of calls made through this key for this many seconds.
    #[arg(long)]
    cache_ttl_secs: Option<u64>,
}

#[derive(clap::Subcommand)]
pub enum LimitsCommand {
    /// Add a rule, e.g. 100;w=60;s=user (100 requests a minute per user).
    #[command(
        after_help = "Example: sightline gateway limits set --policy '500;w=86400;u=cents;s=tenant'"
    )]
    Set(LimitSetArgs),
    List(ConnArgs),
    Delete(IdArgs),
}

#[derive(clap::Args)]
pub struct LimitSetArgs {
    #[command(flatten)]
    conn: Conn,
    /// <quota>;w=<seconds>[;u=request|token|cents][;s=key|user|tenant|<property>].
    #[arg(long)]
    policy: String,
    /// Only calls made with this Sightline key (public half).
    #[arg(long)]
    for_key: Option<String>,
}

pub async fn budgets(cmd: BudgetsCommand) -> anyhow::Result<()> {
    finish(match cmd {
        BudgetsCommand::Set(a) => {
            let mut body = json!({"scope": a.scope, "window": a.window, "limit_usd": a.limit_usd,
                                  "include_otlp": a.include_otlp});
            if let Some(id) = a.id {
                body["id"] = json!(id);
            }
            put(&a.conn, &["api", "v1", "budgets"], body, |b: &Budget| {
                budgets_table(std::slice::from_ref(b))
            })
            .await
        }
        BudgetsCommand::List(a) => {
            show(
                &a.conn,
                &["api", "v1", "budgets"],
                &Params::new(),
                |p: &Page<Budget>| budgets_table(&p.data),
            )
            .await
        }
        BudgetsCommand::Delete(a) => {
            delete(&a.conn, &["api", "v1", "budgets", &a.id], "budget").await
        }
        BudgetsCommand::Events(a) => {
            let mut params = Params::new();
            args::add(&mut params, "since", &a.since);
            show(
                &a.conn,
                &["api", "v1", "budgets", "events"],
                &params,
                |p: &Page<BudgetEvent>| events_table(&p.data),
            )
            .await
        }
    })
}

pub async fn gateway(cmd: GatewayCommand) -> anyhow::Result<()> {
    finish(match cmd {
        GatewayCommand::Upstreams(a) => {
            show(
                &a.conn,
                &["api", "v1", "gateway"],
                &Params::new(),
                status_text,
            )
            .await
        }
        GatewayCommand::Keys(KeysCommand::Set(a)) => {
            let mut body = Map::new();
            body.insert("upstream".into(), json!(a.upstream));
            body.insert("provider_key".into(), json!(a.provider_key));
            if let Some(k) = a.for_key {
                body.insert("for_key".into(), json!(k));
            }
            if let Some(t) = a.cache_ttl_secs {
                body.insert("cache_ttl_secs".into(), json!(t));
            }
            put(
                &a.conn,
                &["api", "v1", "gateway", "keys"],
                Json::Object(body),
                |k: &ProviderKey| keys_table(std::slice::from_ref(k)),
            )
            .await
        }
        GatewayCommand::Keys(KeysCommand::List(a)) => {
            show(
                &a.conn,
                &["api", "v1", "gateway", "keys"],
                &Params::new(),
                |p: &Page<ProviderKey>| keys_table(&p.data),
            )
            .await
        }
        GatewayCommand::Keys(KeysCommand::Delete(a)) => {
            delete(
                &a.conn,
                &["api", "v1", "gateway", "keys", &a.id],
                "provider key",
            )
            .await
        }
        GatewayCommand::Limits(LimitsCommand::Set(a)) => {
            let mut body = json!({"policy": a.policy});
            if let Some(k) = a.for_key {
                body["for_key"] = json!(k);
            }
            put(
                &a.conn,
                &["api", "v1", "gateway", "rate-limits"],
                body,
                |r: &RateLimit| limits_table(std::slice::from_ref(r)),
            )
            .await
        }
        GatewayCommand::Limits(LimitsCommand::List(a)) => {
            show(
                &a.conn,
                &["api", "v1", "gateway", "rate-limits"],
                &Params::new(),
                |p: &Page<RateLimit>| limits_table(&p.data),
            )
            .await
        }
        GatewayCommand::Limits(LimitsCommand::Delete(a)) => {
            delete(
                &a.conn,
                &["api", "v1", "gateway", "rate-limits", &a.id],
                "rate limit",
            )
            .await
        }
    })
}

/// PUTs `body` and prints the answer (`--json`) or `render` of it.
async fn put<T: serde::de::DeserializeOwned>(
    conn: &Conn,
    segments: &[&str],
    body: Json,
    render: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    let answer = Client::new(conn)?
        .call(Method::PUT, segments, Some(&body))
        .await?;
    if conn.json {
        println!("{}", answer.trim_end());
        return Ok(());
    }
    print!(
        "{}",
        render(&parse(segments, serde_json::from_str(&answer)?)?)
    );
    Ok(())
}

async fn delete(conn: &Conn, segments: &[&str], what: &str) -> anyhow::Result<()> {
    Client::new(conn)?
        .call(Method::DELETE, segments, None)
        .await?;
    let id = segments.last().copied().unwrap_or_default();
    if conn.json {
        println!("{}", json!({ "deleted": id }));
    } else {
        println!("deleted {what} {id}");
    }
    Ok(())
}

fn dash(s: &Option<String>) -> String {
    s.clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "-".into())
}

fn render(t: Table, empty: &str, rows: usize) -> String {
    if rows == 0 {
        return format!("{empty}\n");
    }
    let mut out = t.lines().join("\n");
    out.push('\n');
    out
}

fn budgets_table(budgets: &[Budget]) -> String {
    let mut t = Table::new(&[
        ("ID", Align::Left),
        ("SCOPE", Align::Left),
        ("WINDOW", Align::Left),
        ("LIMIT_USD", Align::Right),
        ("SPENT_USD", Align::Right),
        ("HELD_USD", Align::Right),
        ("REMAINING_USD", Align::Right),
        ("RESETS_AT", Align::Left),
        ("OTLP", Align::Left),
    ]);
    for b in budgets {
        t.row(vec![
            b.id.clone(),
            b.scope.clone(),
            b.window.clone(),
            b.limit_usd.clone(),
            b.spent_usd.clone(),
            b.reserved_usd.clone(),
            b.remaining_usd.clone(),
            b.resets_at.clone(),
            if b.include_otlp { "yes" } else { "no" }.into(),
        ]);
    }
    render(
        t,
        "no budgets; set one with `sightline budgets set`",
        budgets.len(),
    )
}

fn events_table(events: &[BudgetEvent]) -> String {
    let mut t = Table::new(&[
        ("AT", Align::Left),
        ("BUDGET", Align::Left),
        ("SCOPE", Align::Left),
        ("THRESHOLD", Align::Right),
        ("SPENT_USD", Align::Right),
        ("LIMIT_USD", Align::Right),
    ]);
    for e in events {
        t.row(vec![
            e.at.clone(),
            e.budget_id.clone(),
            e.scope.clone(),
            format!("{}%", e.threshold_pct),
            e.spent_usd.clone(),
            e.limit_usd.clone(),
        ]);
    }
    render(t, "no budget notifications", events.len())
}

fn keys_table(keys: &[ProviderKey]) -> String {
    let mut t = Table::new(&[
        ("ID", Align::Left),
        ("UPSTREAM", Align::Left),
        ("FOR_KEY", Align::Left),
        ("KEY", Align::Left),
        ("CACHE_TTL", Align::Right),
    ]);
    for k in keys {
        t.row(vec![
            k.id.clone(),
            k.upstream.clone(),
            dash(&k.for_key),
            k.hint.clone(),
            k.cache_ttl_secs.map_or("-".into(), |s| format!("{s}s")),
        ]);
    }
    render(t, "no provider keys stored", keys.len())
}

fn limits_table(rules: &[RateLimit]) -> String {
    let mut t = Table::new(&[
        ("ID", Align::Left),
        ("POLICY", Align::Left),
        ("FOR_KEY", Align::Left),
    ]);
    for r in rules {
        t.row(vec![r.id.clone(), r.policy.clone(), dash(&r.for_key)]);
    }
    render(t, "no rate-limit rules", rules.len())
}

fn status_text(s: &GatewayStatus) -> String {
    let mut t = Table::new(&[
        ("UPSTREAM", Align::Left),
        ("KIND", Align::Left),
        ("BASE_URL", Align::Left),
        ("SDK_BASE_URL", Align::Left),
    ]);
    for u in &s.upstreams {
        let sdk = match u.kind.as_str() {
            // The Anthropic SDK adds /v1 itself.
            "anthropic" => u.path.trim_end_matches("/v1").to_owned(),
            _ => u.path.clone(),
        };
        t.row(vec![
            u.name.clone(),
            u.kind.clone(),
            u.base_url.clone(),
            format!("<server>{sdk}"),
        ]);
    }
    let mut out = t.lines().join("\n");
    out.push_str(&format!(
        "\nrecorded {} spans; {} calls answered but not recorded (queue full); {} spans refused by storage; {} budget writes dropped\n",
        s.recorded_spans, s.dropped_calls, s.failed_spans, s.budget_writes_dropped
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_show_what_the_api_says() {
        let b: Budget = serde_json::from_value(json!({"id": "bg_1", "scope": "tenant:acme",
            "window": "daily", "limit_usd": "25", "spent_usd": "12.5", "reserved_usd": "0.1",
            "remaining_usd": "12.4", "resets_at": "2026-12-05T00:00:00Z"}))
        .unwrap();
        let out = budgets_table(&[b]);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("ID"), "{out}");
        assert!(
            lines[1].starts_with("bg_1  tenant:acme  daily") && lines[1].ends_with("no"),
            "{out}"
        );
        assert_eq!(
            budgets_table(&[]),
            "no budgets; set one with `sightline budgets set`\n"
        );
        let k: ProviderKey =
            serde_json::from_value(json!({"id": "vk_1", "upstream": "openai", "hint": "…abcd"}))
                .unwrap();
        let row = keys_table(&[k]).lines().nth(1).unwrap().to_owned();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells, ["vk_1", "openai", "-", "…abcd", "-"], "{row}");
        let s: GatewayStatus = serde_json::from_value(json!({"upstreams": [
            {"name": "anthropic", "kind": "anthropic", "base_url": "https://api.anthropic.com/v1", "path": "/gateway/anthropic/v1"}]})).unwrap();
        assert!(
            status_text(&s).contains("<server>/gateway/anthropic\n"),
            "{}",
            status_text(&s)
        );
    }
}
