//! `sightline bench ingest|overload|query`: the flags, mapped onto the options of the
//! benchmarks in `sightline-loadgen`, which print the report.

use std::path::PathBuf;

use sightline_loadgen::gateway_bench::{self, GatewayBenchOptions};
use sightline_loadgen::ingest_bench::overload::{self, OverloadOptions};
use sightline_loadgen::ingest_bench::{self, IngestOptions};
use sightline_loadgen::mock_upstream::{self, MockOptions};
use sightline_loadgen::query_bench::{self, QueryOptions};

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Send realistic agent traces to a running server as fast as it acknowledges them;
    /// report spans/s, export latency, throttling, bytes per span on disk and server memory.
    Ingest(IngestArgs),
    /// Offer a multiple of the server's capacity, open loop, and check what it promises under
    /// it: every request answered, refusals with a retry hint, flat memory, and every
    /// acknowledged span stored (read back through the API).
    Overload(OverloadArgs),
    /// Load spans into a running server, then report query latency (trace by id, filtered
    /// trace list, session view, metrics) as p50 and p99.
    Query(QueryArgs),
    /// Call a mock upstream directly and through the gateway, interleaved, at a fixed rate and
    /// with fixed concurrency, streaming and not: report the gateway's added latency.
    Gateway(GatewayArgs),
    /// A mock LLM upstream (OpenAI and Anthropic shapes) for the gateway's tests and benchmark.
    #[command(hide = true)]
    MockUpstream(MockArgs),
}

#[derive(clap::Args)]
pub struct GatewayArgs {
    /// The mock upstream (`sightline bench mock-upstream`), called directly.
    #[arg(long)]
    mock_url: String,
    /// The Sightline server whose `openai` upstream is that mock.
    #[arg(long, default_value = "http://127.0.0.1:4318")]
    gateway_url: String,
    /// Requests per second to each side in the fixed-rate phases.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Clients in the fixed-concurrency phases.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds per phase (four phases).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// The server's process id: report its CPU and peak RSS.
    #[arg(long)]
    server_pid: Option<u32>,
    /// A Sightline key, sent in `Sightline-Auth`.
    #[arg(long)]
    api_key: Option<String>,
}

#[derive(clap::Args)]
pub struct MockArgs {
    /// Port on 127.0.0.1 (0: any free port; the first line printed says which).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Delay before each answer (before a stream's first chunk), in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Delay between a stream's chunks, in milliseconds.
    #[arg(long, default_value_t = 0)]
    chunk_delay_ms: u64,
    /// Answer requests that carry no provider key (by default: 401).
    #[arg(long)]
    no_key_check: bool,
}

/// The values of `--protocol`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Protocol {
    Http,
    Grpc,
}

/// Where the ingest benchmarks send, and what: the flags they share.
#[derive(clap::Args)]
pub struct TrafficArgs {
    /// Base URL of the OTLP/HTTP receiver and the API (`/v1/traces` is appended).
    #[arg(long, default_value = "http://127.0.0.1:4318")]
    http_url: String,
    /// URL of the OTLP/gRPC receiver.
    #[arg(long, default_value = "http://127.0.0.1:4317")]
    grpc_url: String,
    #[arg(long, value_enum, default_value_t = Protocol::Http)]
    protocol: Protocol,
    /// Seed of the generated traffic.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Distinct requests generated up front and replayed with fresh ids.
    #[arg(long, default_value_t = 64)]
    pool: usize,
    /// Sent as `Authorization: Bearer <key>`.
    #[arg(long)]
    api_key: Option<String>,
}

#[derive(clap::Args)]
pub struct IngestArgs {
    /// Concurrent exporters, each with at most one request in flight.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Spans per export request (whole traces are packed, so a request may hold a few more).
    #[arg(long, default_value_t = 500)]
    batch_spans: usize,
    /// Stop sending after this many seconds.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Stop sending after this many spans.
    #[arg(long, default_value_t = 5_000_000)]
    max_spans: u64,
    /// Gzip request bodies (HTTP `Content-Encoding: gzip`, gRPC gzip compression).
    #[arg(long)]
    gzip: bool,
    /// The server's data directory (SQLite store): report bytes on disk per acknowledged span.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The server's ClickHouse URL with its database (ClickHouse store): report bytes on disk
    /// per acknowledged span from the database's active parts.
    #[arg(long)]
    clickhouse_url: Option<String>,
    /// The server's process id: report its peak and current RSS and CPU use.
    #[arg(long)]
    server_pid: Option<u32>,
    #[command(flatten)]
    traffic: TrafficArgs,
}

#[derive(clap::Args)]
pub struct OverloadArgs {
    /// Spans/s the server sustains; measured first (see --measure-secs) when not given.
    #[arg(long)]
    capacity: Option<f64>,
    /// Seconds of the closed-loop phase that measures the capacity.
    #[arg(long, default_value_t = 5)]
    measure_secs: u64,
    /// The offered load, as a multiple of the capacity.
    #[arg(long, default_value_t = 10.0)]
    multiple: f64,
    /// Seconds of offered load.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Spans per export request (whole traces are packed, so a request may hold a few more).
    #[arg(long, default_value_t = 500)]
    batch_spans: usize,
    /// Most requests outstanding at once (keep it under the server's per-peer connection cap).
    #[arg(long, default_value_t = 200)]
    max_in_flight: usize,
    /// The server's process id: report its memory over the run.
    #[arg(long)]
    server_pid: Option<u32>,
    #[command(flatten)]
    traffic: TrafficArgs,
}

#[derive(clap::Args)]
pub struct QueryArgs {
    /// The server's HTTP address.
    #[arg(long, env = "SIGHTLINE_URL", default_value = "http://127.0.0.1:4318")]
    url: String,
    /// Sent as `Authorization: Bearer <key>`.
    #[arg(long, env = "SIGHTLINE_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Spans to load before measuring (0: measure what the server already holds).
    #[arg(long, default_value_t = 0)]
    load_spans: u64,
    /// Loaded traces start over this many days before now (and queries look this far back).
    #[arg(long, default_value_t = 7)]
    days: u64,
    /// Spans per export request while loading.
    #[arg(long, default_value_t = 500)]
    batch_spans: usize,
    /// Concurrent exporters while loading.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Load spans only, without the logs their agents would write.
    #[arg(long)]
    no_logs: bool,
    /// Timed requests per query.
    #[arg(long, default_value_t = 200)]
    iterations: usize,
    /// Seed of the loaded traffic.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The server's data directory (SQLite store): report stored bytes per span.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The server's ClickHouse URL with its database (ClickHouse store): report stored bytes per
    /// span from the database's active parts.
    #[arg(long)]
    clickhouse_url: Option<String>,
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout();
    match cmd {
        BenchCommand::Ingest(args) => ingest_bench::run(args.into(), &mut out).await,
        BenchCommand::Overload(args) => overload::run(args.into(), &mut out).await,
        BenchCommand::Query(args) => query_bench::run(args.into(), &mut out).await,
        BenchCommand::MockUpstream(args) => mock_upstream(args).await,
        BenchCommand::Gateway(a) => {
            let options = GatewayBenchOptions {
                mock_url: a.mock_url,
                gateway_url: a.gateway_url,
                rate: a.rate,
                concurrency: a.concurrency,
                duration: a.duration,
                server_pid: a.server_pid,
                api_key: a.api_key,
            };
            gateway_bench::run(options, &mut out).await
        }
    }
}

async fn mock_upstream(args: MockArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let options = MockOptions {
        port: args.port,
        latency_ms: args.latency_ms,
        chunk_delay_ms: args.chunk_delay_ms,
        no_key_check: args.no_key_check,
    };
    let listener = mock_upstream::bind(&options).await?;
    let mut out = std::io::stdout();
    writeln!(out, "listening on {}", listener.local_addr()?)?;
    out.flush()?;
    let stop = crate::serve::shutdown_signal()?;
    mock_upstream::serve(listener, options, stop).await?;
    Ok(())
}

impl From<Protocol> for ingest_bench::Protocol {
    fn from(protocol: Protocol) -> Self {
        match protocol {
            Protocol::Http => Self::Http,
            Protocol::Grpc => Self::Grpc,
        }
    }
}

impl From<IngestArgs> for IngestOptions {
    fn from(args: IngestArgs) -> Self {
        Self {
            http_url: args.traffic.http_url,
            grpc_url: args.traffic.grpc_url,
            protocol: args.traffic.protocol.into(),
            concurrency: args.concurrency,
            batch_spans: args.batch_spans,
            duration: args.duration,
            max_spans: args.max_spans,
            gzip: args.gzip,
            data_dir: args.data_dir,
            clickhouse_url: args.clickhouse_url,
            server_pid: args.server_pid,
            seed: args.traffic.seed,
            pool: args.traffic.pool,
            api_key: args.traffic.api_key,
        }
    }
}

impl From<OverloadArgs> for OverloadOptions {
    fn from(args: OverloadArgs) -> Self {
        Self {
            http_url: args.traffic.http_url,
            grpc_url: args.traffic.grpc_url,
            protocol: args.traffic.protocol.into(),
            capacity: args.capacity,
            measure_secs: args.measure_secs,
            multiple: args.multiple,
            duration: args.duration,
            batch_spans: args.batch_spans,
            max_in_flight: args.max_in_flight,
            server_pid: args.server_pid,
            seed: args.traffic.seed,
            pool: args.traffic.pool,
            api_key: args.traffic.api_key,
        }
    }
}

impl From<QueryArgs> for QueryOptions {
    fn from(args: QueryArgs) -> Self {
        Self {
            url: args.url,
            api_key: args.api_key,
            load_spans: args.load_spans,
            days: args.days,
            batch_spans: args.batch_spans,
            concurrency: args.concurrency,
            no_logs: args.no_logs,
            iterations: args.iterations,
            seed: args.seed,
            data_dir: args.data_dir,
            clickhouse_url: args.clickhouse_url,
        }
    }
}
