//! The `sightline` binary: `serve` runs the server; the other subcommands are thin clients.

mod bench;
mod costs;
mod demo;
mod explore;
mod gateway;
mod grafana;
mod keys;
mod prices;
mod retention;
mod serve;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sightline",
    version,
    about = "Observability, cost control and debugging for LLM agents, in one binary",
    after_help = "Settings come from flags, then SIGHTLINE_* environment variables, then the TOML file \
                  given by --config, then defaults. Logs go to stderr; set SIGHTLINE_LOG (e.g. debug) to change the level."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: OTLP/HTTP + API on --http-addr, OTLP/gRPC on --grpc-addr, embedded store in --data-dir.
    Serve(serve::ServeArgs),
    /// Manage API keys: create, list, revoke (through a server, or on the store).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Measure the server: load generators that print their figures and the reproducing command.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// List traces, newest first, with filters.
    Traces(explore::TracesArgs),
    /// Show one trace as a tree with timing bars, kinds, models, tokens and errors.
    Trace(explore::TraceArgs),
    /// List sessions, most recently active first.
    Sessions(explore::SessionsArgs),
    /// Show one session as a conversation.
    Session(explore::SessionArgs),
    /// Search logs.
    Logs(explore::LogsArgs),
    /// Follow new observations and logs live; after a disconnect it resumes where it left off.
    Tail(explore::TailArgs),
    /// The project's price table: list, look up, set and delete price overrides.
    #[command(subcommand)]
    Prices(prices::PricesCommand),
    /// Cost, tokens, requests, errors and latency of model calls, by tenant, model, user, ...
    Costs(costs::CostsArgs),
    /// Gateway budgets: set, list, delete, and their 50/80/95% notifications.
    #[command(subcommand)]
    Budgets(gateway::BudgetsCommand),
    /// The LLM gateway: upstreams, stored provider keys, rate-limit rules.
    #[command(subcommand)]
    Gateway(gateway::GatewayCommand),
    /// Delete old spans and logs now (the server's retention_days does it hourly).
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
    /// Send realistic multi-agent traffic to a running server over OTLP.
    Demo(demo::DemoArgs),
    /// Print the per-tenant Grafana dashboard (JSON) for the Prometheus /metrics series.
    GrafanaDashboard(grafana::GrafanaArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIGHTLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::serve(args)),
        Command::Keys(cmd) => runtime.block_on(keys::run(cmd)),
        Command::Bench(cmd) => runtime.block_on(bench::run(cmd)),
        Command::Traces(args) => runtime.block_on(explore::traces(args)),
        Command::Trace(args) => runtime.block_on(explore::trace(args)),
        Command::Sessions(args) => runtime.block_on(explore::sessions(args)),
        Command::Session(args) => runtime.block_on(explore::session(args)),
        Command::Logs(args) => runtime.block_on(explore::logs(args)),
        Command::Tail(args) => runtime.block_on(explore::tail(args)),
        Command::Prices(cmd) => runtime.block_on(prices::run(cmd)),
        Command::Costs(args) => runtime.block_on(costs::run(args)),
        Command::Budgets(cmd) => runtime.block_on(gateway::budgets(cmd)),
        Command::Gateway(cmd) => runtime.block_on(gateway::gateway(cmd)),
        Command::Retention(cmd) => runtime.block_on(retention::run(cmd)),
        Command::Demo(args) => runtime.block_on(demo::run(args)),
        Command::GrafanaDashboard(args) => grafana::run(args),
    }
}
