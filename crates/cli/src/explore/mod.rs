//! Terminal clients of the query API: `traces`, `trace`, `sessions`, `session`, `logs`, `tail`.
//! Each command turns its flags into query parameters, calls the API, and prints either a text
//! view or, with `--json`, the API's JSON as received. Answers are read into the server's own
//! types (`sightline_server::api::shapes`). Failures print `error: <message>` on stderr and exit
//! with status 1.

pub(crate) mod args;
pub(crate) mod client;
pub(crate) mod fmt;
mod lines;
mod sse;
pub(crate) mod table;
mod tail;
#[cfg(test)]
mod tests;
mod tree;

use std::io::Write;

use args::{Conn, ObservationFilters, OrderArgs, PageArgs, Params, TimeArgs};
use client::Client;

/// Runs a command; on failure prints `error: ...` and exits non-zero.
pub(crate) fn finish(result: anyhow::Result<()>) -> anyhow::Result<()> {
    if let Err(e) = result {
        let _ = std::io::stdout().flush();
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
    Ok(())
}

/// GETs `segments` and prints the body (`--json`) or `render` of it.
pub(crate) async fn show<T: serde::de::DeserializeOwned>(
    conn: &Conn,
    segments: &[&str],
    params: &Params,
    render: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    let client = Client::new(conn)?;
    let (body, value) = client.get(segments, params).await?;
    if conn.json {
        println!("{}", body.trim_end());
        return Ok(());
    }
    print!("{}", render(&parse(segments, value)?));
    Ok(())
}

/// The answer of `segments` read into its shape.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    segments: &[&str],
    value: serde_json::Value,
) -> anyhow::Result<T> {
    serde_json::from_value(value).map_err(|e| {
        anyhow::anyhow!(
            "the answer of /{} is not as docs/api.md says ({e}); try --json",
            segments.join("/")
        )
    })
}

#[derive(clap::Args)]
#[command(after_help = "Example: sightline traces --since 1h --status error --model gpt-4o")]
pub struct TracesArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    time: TimeArgs,
    #[command(flatten)]
    filters: ObservationFilters,
    /// Order by `start` (default), `duration`, `tokens` or `cost`.
    #[arg(long)]
    sort: Option<String>,
    #[command(flatten)]
    order: OrderArgs,
    #[command(flatten)]
    page: PageArgs,
    /// Show whole trace ids (what `sightline trace` takes).
    #[arg(long)]
    wide: bool,
}

pub async fn traces(args: TracesArgs) -> anyhow::Result<()> {
    let mut params = Params::new();
    args.time.add_to(&mut params);
    args.filters.add_to(&mut params);
    args::add(&mut params, "sort", &args.sort);
    args.order.add_to(&mut params);
    args.page.add_to(&mut params);
    let wide = args.wide;
    finish(
        show(&args.conn, &["api", "v1", "traces"], &params, |p| {
            table::traces(p, wide)
        })
        .await,
    )
}

#[derive(clap::Args)]
pub struct TraceArgs {
    #[command(flatten)]
    conn: Conn,
    /// The trace id: 32 hex digits, or a start of it only one trace has (the 8 digits
    /// `sightline traces` shows).
    id: String,
    /// Show inputs, outputs, tool arguments and tool results (truncated).
    #[arg(long)]
    payloads: bool,
}

pub async fn trace(args: TraceArgs) -> anyhow::Result<()> {
    let mut params = Params::new();
    if args.payloads {
        params.push(("payloads", "true".into()));
    }
    let payloads = args.payloads;
    let shown = show(
        &args.conn,
        &["api", "v1", "traces", &args.id],
        &params,
        |d| tree::trace(d, payloads),
    )
    .await;
    finish(shown.map_err(|e| whole_ids_hint(e, &args.id)))
}

/// A short trace id that found no trace, or several, gets told how to see whole ids.
fn whole_ids_hint(e: anyhow::Error, id: &str) -> anyhow::Error {
    let status = match e.downcast_ref::<client::ApiError>() {
        Some(client::ApiError::Status { status, .. }) => Some(status.as_u16()),
        _ => None,
    };
    if matches!(status, Some(400 | 404)) && id.len() < 32 {
        return anyhow::anyhow!("{e}; `sightline traces --wide` (or --json) shows whole trace ids");
    }
    e
}

#[derive(clap::Args)]
pub struct SessionsArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    time: TimeArgs,
    /// Sessions with a trace of this user.
    #[arg(long, value_name = "USER_ID")]
    user: Option<String>,
    /// Tenant id, exactly.
    #[arg(long, value_name = "TENANT_ID")]
    tenant: Option<String>,
    #[command(flatten)]
    page: PageArgs,
}

pub async fn sessions(args: SessionsArgs) -> anyhow::Result<()> {
    let mut params = Params::new();
    args.time.add_to(&mut params);
    args::add(&mut params, "user_id", &args.user);
    args::add(&mut params, "tenant_id", &args.tenant);
    args.page.add_to(&mut params);
    finish(
        show(
            &args.conn,
            &["api", "v1", "sessions"],
            &params,
            table::sessions,
        )
        .await,
    )
}

#[derive(clap::Args)]
pub struct SessionArgs {
    #[command(flatten)]
    conn: Conn,
    /// The session id.
    id: String,
}

pub async fn session(args: SessionArgs) -> anyhow::Result<()> {
    finish(
        show(
            &args.conn,
            &["api", "v1", "sessions", &args.id],
            &Params::new(),
            lines::session,
        )
        .await,
    )
}

#[derive(clap::Args)]
#[command(after_help = "Example: sightline logs --since 15m --level warn -q timeout")]
pub struct LogsArgs {
    #[command(flatten)]
    conn: Conn,
    #[command(flatten)]
    time: TimeArgs,
    /// Minimum level: trace, debug, info, warn, error, fatal, or a severity number 1-24.
    #[arg(long)]
    level: Option<String>,
    /// `service.name`, exactly.
    #[arg(long)]
    service: Option<String>,
    /// Agent name, exactly.
    #[arg(long)]
    agent: Option<String>,
    /// Case-insensitive text in the body.
    #[arg(long = "query", short = 'q', value_name = "TEXT")]
    query: Option<String>,
    /// Logs of this trace (32 hex digits).
    #[arg(long, value_name = "TRACE_ID")]
    trace: Option<String>,
    /// Logs of this session.
    #[arg(long, value_name = "SESSION_ID")]
    session: Option<String>,
    #[command(flatten)]
    order: OrderArgs,
    #[command(flatten)]
    page: PageArgs,
}

pub async fn logs(args: LogsArgs) -> anyhow::Result<()> {
    let mut params = Params::new();
    args.time.add_to(&mut params);
    args::add(&mut params, "level", &args.level);
    args::add(&mut params, "service", &args.service);
    args::add(&mut params, "agent", &args.agent);
    args::add(&mut params, "q", &args.query);
    args::add(&mut params, "trace_id", &args.trace);
    args::add(&mut params, "session_id", &args.session);
    args.order.add_to(&mut params);
    args.page.add_to(&mut params);
    finish(show(&args.conn, &["api", "v1", "logs"], &params, table::logs).await)
}

#[derive(clap::Args)]
#[command(
    after_help = "With --json, each event is one line: {\"event\": \"observation\"|\"log\", \
                        \"id\": ..., \"data\": <the API's JSON>}.\n\
                        Example: sightline tail --kind llm --status error"
)]
pub struct TailArgs {
    #[command(flatten)]
    conn: Conn,
    /// Event types: `observations`, `logs` or `observations,logs` (the default).
    #[arg(long)]
    types: Option<String>,
    /// Observations and logs of this trace (32 hex digits).
    #[arg(long, value_name = "TRACE_ID")]
    trace: Option<String>,
    /// Minimum log level: trace, debug, info, warn, error, fatal, or 1-24.
    #[arg(long)]
    level: Option<String>,
    #[command(flatten)]
    filters: ObservationFilters,
    /// Exit after this many events.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
}

pub async fn tail(args: TailArgs) -> anyhow::Result<()> {
    let mut params = Params::new();
    args::add(&mut params, "types", &args.types);
    args::add(&mut params, "trace_id", &args.trace);
    args::add(&mut params, "level", &args.level);
    args.filters.add_to(&mut params);
    let opts = tail::TailOptions {
        json: args.conn.json,
        count: args.count,
    };
    let result = match Client::new(&args.conn) {
        Ok(client) => tail::run(&client, &params, &opts).await,
        Err(e) => Err(e),
    };
    finish(result)
}
