//! `sightline prices`: the project's price table through the API (`/api/v1/prices`): list it,
//! look up which entry prices a model, set and delete overrides. Text tables for people,
//! `--json` for the API's JSON as received.

use reqwest::Method;
use serde_json::{json, Map, Value as Json};
use sightline_server::api::shapes::{PriceEntry, PriceList, PriceLookup};

use crate::explore::args::{self, Conn, Params};
use crate::explore::client::Client;
use crate::explore::parse;
use crate::explore::table::{Align, Table};

#[derive(clap::Subcommand)]
pub enum PricesCommand {
    /// List the price table: this project's overrides first, then the bundled prices.
    List(ListArgs),
    /// Show which entry prices a model, and by which rule it matched.
    Lookup(LookupArgs),
    /// Set a price override for this project (replaces one with the same provider, model and
    /// effective date). Rates are USD per million tokens, as decimals.
    Set(SetArgs),
    /// Delete a price override by id.
    Delete(DeleteArgs),
}

#[derive(clap::Args)]
#[command(after_help = "Example: sightline prices list --provider openai --model gpt-4o")]
pub struct ListArgs {
    #[command(flatten)]
    conn: Conn,
    /// Provider, exactly (e.g. openai, anthropic).
    #[arg(long)]
    provider: Option<String>,
    /// Text in the model name (case-insensitive).
    #[arg(long, value_name = "SUBSTR")]
    model: Option<String>,
    /// `bundled` or `override` (override includes the config file's).
    #[arg(long)]
    source: Option<String>,
}

#[derive(clap::Args)]
#[command(after_help = "Example: sightline prices lookup gpt-4o-2024-08-06 --provider openai")]
pub struct LookupArgs {
    #[command(flatten)]
    conn: Conn,
    /// The model name as calls report it.
    model: String,
    /// Provider of the call.
    #[arg(long)]
    provider: Option<String>,
    /// Price at this time: RFC 3339 or UTC nanoseconds (default now).
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
}

#[derive(clap::Args)]
#[command(
    after_help = "Example: sightline prices set --model gpt-4o --provider openai --input 2 --output 8"
)]
pub struct SetArgs {
    #[command(flatten)]
    conn: Conn,
    /// Model name, or a `*` pattern.
    #[arg(long)]
    model: String,
    /// Provider; without it the override matches the model at any provider.
    #[arg(long)]
    provider: Option<String>,
    /// USD per million input tokens.
    #[arg(long, value_name = "USD_PER_M")]
    input: String,
    /// USD per million output tokens.
    #[arg(long, value_name = "USD_PER_M")]
    output: String,
    /// USD per million cache-read tokens.
    #[arg(long, value_name = "USD_PER_M")]
    cache_read: Option<String>,
    /// USD per million cache-write tokens.
    #[arg(long, value_name = "USD_PER_M")]
    cache_write: Option<String>,
    /// USD per million reasoning tokens.
    #[arg(long, value_name = "USD_PER_M")]
    reasoning: Option<String>,
    /// First day (YYYY-MM-DD) the price applies to.
    #[arg(long, value_name = "DATE")]
    effective_from: Option<String>,
}

#[derive(clap::Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    conn: Conn,
    /// The override's id, as `prices list --source override` shows it.
    id: String,
}

pub async fn run(cmd: PricesCommand) -> anyhow::Result<()> {
    let result = match cmd {
        PricesCommand::List(a) => list(a).await,
        PricesCommand::Lookup(a) => lookup(a).await,
        PricesCommand::Set(a) => set(a).await,
        PricesCommand::Delete(a) => delete(a).await,
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
    Ok(())
}

async fn list(a: ListArgs) -> anyhow::Result<()> {
    let mut params = Params::new();
    args::add(&mut params, "provider", &a.provider);
    args::add(&mut params, "model", &a.model);
    args::add(&mut params, "source", &a.source);
    let segments = ["api", "v1", "prices"];
    let (body, value) = Client::new(&a.conn)?.get(&segments, &params).await?;
    if a.conn.json {
        println!("{}", body.trim_end());
    } else {
        print!("{}", list_text(&parse(&segments, value)?));
    }
    Ok(())
}

async fn lookup(a: LookupArgs) -> anyhow::Result<()> {
    let mut params: Params = vec![("model", a.model.clone())];
    args::add(&mut params, "provider", &a.provider);
    args::add(&mut params, "at", &a.at);
    let segments = ["api", "v1", "prices", "lookup"];
    let (body, value) = Client::new(&a.conn)?.get(&segments, &params).await?;
    if a.conn.json {
        println!("{}", body.trim_end());
    } else {
        print!("{}", lookup_text(&parse(&segments, value)?));
    }
    Ok(())
}

async fn set(a: SetArgs) -> anyhow::Result<()> {
    let mut body = Map::new();
    let fields = [
        ("provider", a.provider),
        ("model", Some(a.model)),
        ("input", Some(a.input)),
        ("output", Some(a.output)),
        ("cache_read", a.cache_read),
        ("cache_write", a.cache_write),
        ("reasoning", a.reasoning),
        ("effective_from", a.effective_from),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            body.insert(name.into(), json!(v));
        }
    }
    let answer = Client::new(&a.conn)?
        .call(
            Method::PUT,
            &["api", "v1", "prices", "overrides"],
            Some(&Json::Object(body)),
        )
        .await?;
    if a.conn.json {
        println!("{}", answer.trim_end());
        return Ok(());
    }
    let set: PriceEntry = serde_json::from_str(&answer).map_err(|e| {
        anyhow::anyhow!(
            "the answer of PUT /api/v1/prices/overrides is not as docs/api.md says ({e}); try --json"
        )
    })?;
    println!("set price override {}", opt(&set.id));
    print!("{}", entries_table(std::slice::from_ref(&set)));
    Ok(())
}

async fn delete(a: DeleteArgs) -> anyhow::Result<()> {
    Client::new(&a.conn)?
        .call(
            Method::DELETE,
            &["api", "v1", "prices", "overrides", &a.id],
            None,
        )
        .await?;
    if a.conn.json {
        println!("{}", json!({ "deleted": a.id }));
    } else {
        println!("deleted price override {}", a.id);
    }
    Ok(())
}

/// A text field, `-` when empty.
fn text(s: &str) -> String {
    if s.is_empty() { "-" } else { s }.to_owned()
}

/// An optional field, `-` when absent or empty.
fn opt(s: &Option<String>) -> String {
    text(s.as_deref().unwrap_or_default())
}

/// One row per entry: where it comes from, what it matches, its rates (USD per 1M tokens).
fn entries_table(entries: &[PriceEntry]) -> String {
    let mut t = Table::new(&[
        ("SOURCE", Align::Left),
        ("ID", Align::Left),
        ("PROVIDER", Align::Left),
        ("MODEL", Align::Left),
        ("INPUT", Align::Right),
        ("OUTPUT", Align::Right),
        ("CACHE_READ", Align::Right),
        ("CACHE_WRITE", Align::Right),
        ("REASONING", Align::Right),
        ("FROM", Align::Left),
    ]);
    for e in entries {
        t.row(vec![
            text(&e.source),
            opt(&e.id),
            text(&e.provider),
            text(&e.model),
            text(&e.input),
            text(&e.output),
            opt(&e.cache_read),
            opt(&e.cache_write),
            opt(&e.reasoning),
            opt(&e.effective_from),
        ]);
    }
    let mut out = t.lines().join("\n");
    out.push('\n');
    out
}

fn list_text(v: &PriceList<PriceEntry>) -> String {
    if v.data.is_empty() {
        return "no prices match\n".into();
    }
    let mut out = entries_table(&v.data);
    out.push_str(&format!(
        "{} entries; rates in USD per million tokens; bundled prices from {} (retrieved {})\n",
        v.data.len(),
        text(&v.bundled_source),
        text(&v.bundled_retrieved),
    ));
    out
}

fn lookup_text(v: &PriceLookup) -> String {
    let e = &v.entry;
    let mut out = format!(
        "{} is priced by {} entry {}/{} (rule {})\n",
        text(&v.model),
        text(&e.source),
        text(&e.provider),
        text(&e.model),
        text(&v.rule),
    );
    out.push_str(&entries_table(std::slice::from_ref(e)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list_text(v: Json) -> String {
        super::list_text(&serde_json::from_value(v).unwrap())
    }

    #[test]
    fn tables_show_rates_and_dashes_for_missing_ones() {
        let v = json!({"data": [
            {"source": "override", "id": "po_1", "provider": "openai", "model": "gpt-4o",
             "input": "2", "output": "8", "cache_read": null, "cache_write": null,
             "reasoning": null, "effective_from": "2026-01-01", "updated_ns": 1},
            {"source": "bundled", "provider": "anthropic", "model": "claude-x",
             "input": "3", "output": "15", "cache_read": "0.3"}],
            "bundled_source": "example", "bundled_retrieved": "2026-11-01"});
        let out = list_text(v);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert!(lines[0].starts_with("SOURCE"), "{out}");
        assert!(lines[1].starts_with("override  po_1"), "{out}");
        assert!(
            lines[1].contains("gpt-4o") && lines[1].ends_with("2026-01-01"),
            "{out}"
        );
        assert!(lines[2].starts_with("bundled   -"), "{out}");
        assert!(lines[3].contains("retrieved 2026-11-01"), "{out}");
        assert_eq!(list_text(json!({"data": []})), "no prices match\n");
    }

    #[test]
    fn lookup_names_the_entry_and_rule() {
        let v = json!({"model": "gpt-4o-2024-08-06", "rule": "date_stripped",
            "entry": {"source": "bundled", "provider": "openai", "model": "gpt-4o",
                      "input": "2.5", "output": "10"}});
        let out = lookup_text(&serde_json::from_value(v).unwrap());
        assert!(
            out.starts_with(
                "gpt-4o-2024-08-06 is priced by bundled entry openai/gpt-4o (rule date_stripped)\n"
            ),
            "{out}"
        );
    }
}
