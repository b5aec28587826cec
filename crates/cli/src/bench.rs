//! Ingest benchmark: drives a running server over OTLP/HTTP or gRPC and reports its figures.
//!
//! A pool of distinct export requests is generated up front from the seed and encoded once;
//! each send copies one and re-stamps its ids (see [`sightline_loadgen::traffic::wire`]), so the load
//! generator spends its CPU on sending, not on building protobuf. Only 2xx / OK counts as
//! acknowledged (minus any spans rejected through OTLP partial success); 429, 503 and gRPC
//! `UNAVAILABLE` / `RESOURCE_EXHAUSTED` count as throttled and are retried after a short
//! back-off. Every run is bounded by `--duration` and `--max-spans`, whichever comes first.

pub(crate) mod stored;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use bytes::{BufMut as _, Bytes};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message as _;
use tokio::task::JoinSet;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};

use sightline_loadgen::traffic::wire::{mask_for, EncodedRequest};
use sightline_loadgen::traffic::TrafficGen;
use stored::{StoreSource, Stored};

const GRPC_EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
const DEFAULT_BACKOFF: Duration = Duration::from_millis(100);

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Send realistic agent traces to a running server as fast as it acknowledges them;
    /// report spans/s, export latency, throttling, bytes per span on disk and server memory.
    Ingest(IngestArgs),
    /// Load spans into a running server, then report query latency (trace by id, filtered
    /// trace list, session view, metrics) as p50 and p99.
    Query(crate::bench_query::QueryArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    Http,
    Grpc,
}

impl Protocol {
    fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Grpc => "grpc",
        }
    }
}

#[derive(clap::Args)]
pub struct IngestArgs {
    /// Base URL of the OTLP/HTTP receiver (`/v1/traces` is appended).
    #[arg(long, default_value = "http://127.0.0.1:4318")]
    http_url: String,
    /// URL of the OTLP/gRPC receiver.
    #[arg(long, default_value = "http://127.0.0.1:4317")]
    grpc_url: String,
    #[arg(long, value_enum, default_value_t = Protocol::Http)]
    protocol: Protocol,
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

pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ingest(args) => ingest(args).await,
        BenchCommand::Query(args) => crate::bench_query::run(args).await,
    }
}

/// What one exporter saw.
#[derive(Default)]
struct Tally {
    acked_spans: u64,
    acked_requests: u64,
    rejected_spans: u64,
    throttled: u64,
    errors: u64,
    latencies_us: Vec<u32>,
    error_samples: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.acked_spans += other.acked_spans;
        self.acked_requests += other.acked_requests;
        self.rejected_spans += other.rejected_spans;
        self.throttled += other.throttled;
        self.errors += other.errors;
        self.latencies_us.extend(other.latencies_us);
        other.error_samples.into_iter().for_each(|e| self.sample(e));
    }

    fn error(&mut self, message: String) {
        self.errors += 1;
        self.sample(message);
    }

    /// Keeps a few distinct error messages to show.
    fn sample(&mut self, message: String) {
        if self.error_samples.len() < 5 && !self.error_samples.contains(&message) {
            self.error_samples.push(message);
        }
    }
}

/// The outcome of one export attempt.
enum Outcome {
    /// Committed; the number of spans the server rejected through partial success.
    Acked {
        rejected: u64,
    },
    Throttled {
        retry_after: Option<Duration>,
    },
    Failed(String),
}

/// Everything the exporters share.
struct Shared {
    pool: Vec<EncodedRequest>,
    args: IngestArgs,
    http: reqwest::Client,
    nonce: u64,
    next_send: AtomicU64,
    claimed_spans: AtomicU64,
    acked_spans: AtomicU64,
    deadline: Instant,
}

async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    if args.concurrency == 0 || args.batch_spans == 0 || args.duration == 0 || args.pool == 0 {
        bail!("--concurrency, --batch-spans, --duration and --pool must be at least 1");
    }
    let now_ns = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos())?;

    // Traffic, generated and encoded once.
    let started = Instant::now();
    let pool_size = args
        .pool
        .min(args.max_spans.div_ceil(args.batch_spans as u64).max(1) as usize);
    let mut traffic = TrafficGen::new(args.seed, now_ns);
    let mut pool = Vec::with_capacity(pool_size);
    for _ in 0..pool_size {
        let (request, spans) = traffic.request(args.batch_spans);
        pool.push(EncodedRequest::new(&request, spans)?);
    }
    let pool_spans: usize = pool.iter().map(|r| r.spans).sum();
    let pool_bytes: usize = pool.iter().map(|r| r.bytes.len()).sum();
    eprintln!(
        "generated {pool_size} requests ({pool_spans} spans, {:.0} bytes/span encoded) in {:.2}s",
        pool_bytes as f64 / pool_spans as f64,
        started.elapsed().as_secs_f64()
    );
    let render_ns_per_span = measure_render(&pool, args.gzip && args.protocol == Protocol::Http)?;
    eprintln!(
        "load generator: {:.0} ns/span to render a body, i.e. {:.0} spans/s per core{}",
        render_ns_per_span,
        1e9 / render_ns_per_span,
        if args.gzip && args.protocol == Protocol::Grpc {
            " (gzip is done by tonic, not counted)"
        } else {
            ""
        }
    );

    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(args.concurrency)
        .tcp_nodelay(true)
        .build()?;
    preflight(&args, &http).await?;

    let cpu_before = (
        cpu_seconds("self"),
        args.server_pid.and_then(|p| cpu_seconds(&p.to_string())),
    );
    let start = Instant::now();
    let shared = Arc::new(Shared {
        pool,
        http,
        nonce: now_ns,
        next_send: AtomicU64::new(0),
        claimed_spans: AtomicU64::new(0),
        acked_spans: AtomicU64::new(0),
        deadline: start + Duration::from_secs(args.duration),
        args,
    });
    let mut tasks = JoinSet::new();
    for _ in 0..shared.args.concurrency {
        let shared = Arc::clone(&shared);
        tasks.spawn(async move {
            match shared.args.protocol {
                Protocol::Http => http_exporter(&shared).await,
                Protocol::Grpc => grpc_exporter(&shared).await,
            }
        });
    }
    let mut total = Tally::default();
    let mut progress = tokio::time::interval(Duration::from_secs(5));
    progress.tick().await;
    while !tasks.is_empty() {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(result) => total.merge(result??),
                None => break,
            },
            _ = progress.tick() => eprintln!(
                "{:>5.1}s  {} spans acknowledged",
                start.elapsed().as_secs_f64(),
                shared.acked_spans.load(Ordering::Relaxed)
            ),
        }
    }
    let elapsed = start.elapsed();
    let cpu_after = (
        cpu_seconds("self"),
        shared
            .args
            .server_pid
            .and_then(|p| cpu_seconds(&p.to_string())),
    );
    let stored = store_source(&shared.args).measure().await?;
    report(
        &shared.args,
        &mut total,
        elapsed,
        cpu_before,
        cpu_after,
        render_ns_per_span,
        stored.as_ref(),
    )
}

fn store_source(args: &IngestArgs) -> StoreSource<'_> {
    StoreSource {
        data_dir: args.data_dir.as_deref(),
        clickhouse_url: args.clickhouse_url.as_deref(),
    }
}

/// Times rendering (copy, re-stamp, and gzip when asked) over the pool; ns per span.
fn measure_render(pool: &[EncodedRequest], gzip: bool) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut spans = 0;
    let mut i = 0u64;
    while started.elapsed() < Duration::from_millis(300) || i < 4 {
        let request = &pool[(i as usize) % pool.len()];
        std::hint::black_box(render(request, mask_for(i), gzip)?);
        spans += request.spans;
        i += 1;
    }
    Ok(started.elapsed().as_nanos() as f64 / spans as f64)
}

/// One body ready to send: the pooled request with fresh ids, gzipped if asked.
fn render(request: &EncodedRequest, mask: u64, gzip: bool) -> anyhow::Result<Bytes> {
    let mut body = Vec::with_capacity(request.bytes.len());
    request.render_into(mask, &mut body);
    if !gzip {
        return Ok(Bytes::from(body));
    }
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::fast(),
    );
    encoder.write_all(&body)?;
    Ok(Bytes::from(encoder.finish()?))
}

/// Sends one small trace so a wrong URL or a missing key fails fast with a clear message.
async fn preflight(args: &IngestArgs, http: &reqwest::Client) -> anyhow::Result<()> {
    let (request, spans) = TrafficGen::new(args.seed ^ 0x5eed, 0).request(1);
    let nonce = u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos())?;
    let body = render(
        &EncodedRequest::new(&request, spans)?,
        mask_for(nonce),
        false,
    )?;
    let outcome = match args.protocol {
        Protocol::Http => send_http(http, args, body, false).await,
        Protocol::Grpc => {
            let mut client = grpc_client(args).await?;
            send_grpc(&mut client, args, body).await
        }
    };
    match outcome {
        Outcome::Acked { .. } | Outcome::Throttled { .. } => Ok(()),
        Outcome::Failed(why) => bail!("the server did not accept a first export ({why}); is it running, and does it need --api-key?"),
    }
}

/// The next body to send, or `None` once the time or span budget is spent.
fn next_body(shared: &Shared, gzip: bool) -> anyhow::Result<Option<(Bytes, u64)>> {
    if Instant::now() >= shared.deadline {
        return Ok(None);
    }
    let send = shared.next_send.fetch_add(1, Ordering::Relaxed);
    let request = &shared.pool[(send % shared.pool.len() as u64) as usize];
    let spans = request.spans as u64;
    if shared.claimed_spans.fetch_add(spans, Ordering::Relaxed) >= shared.args.max_spans {
        return Ok(None);
    }
    let mask = mask_for(shared.nonce.wrapping_add(send));
    let body = if gzip {
        // Compression takes milliseconds: keep it from stalling the other exporters' I/O.
        tokio::task::block_in_place(|| render(request, mask, true))?
    } else {
        render(request, mask, false)?
    };
    Ok(Some((body, spans)))
}

/// Sends `body` until it is acknowledged, fails, or the deadline passes while throttled.
async fn export_loop<F, Fut>(
    shared: &Shared,
    tally: &mut Tally,
    body: Bytes,
    spans: u64,
    mut send: F,
) where
    F: FnMut(Bytes) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    loop {
        let started = Instant::now();
        match send(body.clone()).await {
            Outcome::Acked { rejected } => {
                let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
                tally.latencies_us.push(micros);
                tally.acked_requests += 1;
                tally.rejected_spans += rejected;
                let acked = spans.saturating_sub(rejected);
                tally.acked_spans += acked;
                shared.acked_spans.fetch_add(acked, Ordering::Relaxed);
                return;
            }
            Outcome::Throttled { retry_after } => {
                tally.throttled += 1;
                let wait = retry_after.unwrap_or(DEFAULT_BACKOFF).min(MAX_BACKOFF);
                if Instant::now() + wait >= shared.deadline {
                    return;
                }
                tokio::time::sleep(wait).await;
            }
            Outcome::Failed(why) => {
                tally.error(why);
                // Do not spin on a persistent failure.
                tokio::time::sleep(Duration::from_millis(20)).await;
                return;
            }
        }
    }
}

async fn http_exporter(shared: &Shared) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    let gzip = shared.args.gzip;
    while let Some((body, spans)) = next_body(shared, gzip)? {
        let send = |body| send_http(&shared.http, &shared.args, body, gzip);
        export_loop(shared, &mut tally, body, spans, send).await;
    }
    Ok(tally)
}

async fn grpc_exporter(shared: &Shared) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    let client = grpc_client(&shared.args).await?;
    while let Some((body, spans)) = next_body(shared, false)? {
        let send = |body| {
            let mut client = client.clone();
            async move { send_grpc(&mut client, &shared.args, body).await }
        };
        export_loop(shared, &mut tally, body, spans, send).await;
    }
    Ok(tally)
}

async fn send_http(http: &reqwest::Client, args: &IngestArgs, body: Bytes, gzip: bool) -> Outcome {
    let url = format!("{}/v1/traces", args.http_url.trim_end_matches('/'));
    let mut request = http
        .post(url)
        .header("content-type", "application/x-protobuf")
        .body(body);
    if gzip {
        request = request.header("content-encoding", "gzip");
    }
    if let Some(key) = &args.api_key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(format!("http: {e}")),
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = response.bytes().await.unwrap_or_default();
    if status.is_success() {
        let rejected = ExportTraceServiceResponse::decode(body.as_ref())
            .ok()
            .and_then(|r| r.partial_success)
            .map_or(0, |p| p.rejected_spans.max(0) as u64);
        Outcome::Acked { rejected }
    } else if status.as_u16() == 429 || status.as_u16() == 503 {
        Outcome::Throttled { retry_after }
    } else {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        Outcome::Failed(format!("http {status}: {text}"))
    }
}

type GrpcClient = tonic::client::Grpc<tonic::transport::Channel>;

async fn grpc_client(args: &IngestArgs) -> anyhow::Result<GrpcClient> {
    let channel = tonic::transport::Endpoint::from_shared(args.grpc_url.clone())
        .with_context(|| format!("bad --grpc-url {}", args.grpc_url))?
        .timeout(REQUEST_TIMEOUT)
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("cannot connect to {}", args.grpc_url))?;
    let mut client = tonic::client::Grpc::new(channel);
    if args.gzip {
        client = client.send_compressed(CompressionEncoding::Gzip);
    }
    Ok(client)
}

async fn send_grpc(client: &mut GrpcClient, args: &IngestArgs, body: Bytes) -> Outcome {
    if let Err(e) = client.ready().await {
        return Outcome::Failed(format!("grpc: channel not ready: {e}"));
    }
    let mut request = tonic::Request::new(body);
    if let Some(key) = &args.api_key {
        match format!("Bearer {key}").parse() {
            Ok(value) => {
                request.metadata_mut().insert("authorization", value);
            }
            Err(_) => return Outcome::Failed("grpc: --api-key is not a valid header value".into()),
        }
    }
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(GRPC_EXPORT_PATH);
    match client.unary(request, path, RawCodec).await {
        Ok(response) => {
            let rejected = response
                .get_ref()
                .partial_success
                .as_ref()
                .map_or(0, |p| p.rejected_spans.max(0) as u64);
            Outcome::Acked { rejected }
        }
        Err(status) => match status.code() {
            tonic::Code::Unavailable | tonic::Code::ResourceExhausted => {
                let retry_after = status
                    .metadata()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                Outcome::Throttled { retry_after }
            }
            code => Outcome::Failed(format!("grpc {code:?}: {}", status.message())),
        },
    }
}

/// Sends pre-encoded request bytes as they are (the same bytes the generated client would
/// produce) and decodes the response with prost.
#[derive(Clone, Copy)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, tonic::Status> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

/// User plus system CPU seconds of a process (`self` or a pid), from `/proc/<pid>/stat`.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0) // USER_HZ is 100 on Linux
}

/// `VmHWM` and `VmRSS` of a process, in KiB.
fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

pub(crate) fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1]) / 1000.0
}

/// The command line that reproduces this run (the key itself is not printed).
fn command_line(args: &IngestArgs) -> String {
    let mut cmd = format!(
        "sightline bench ingest --protocol {}",
        args.protocol.as_str()
    );
    match args.protocol {
        Protocol::Http => cmd.push_str(&format!(" --http-url {}", args.http_url)),
        Protocol::Grpc => cmd.push_str(&format!(" --grpc-url {}", args.grpc_url)),
    }
    cmd.push_str(&format!(
        " --concurrency {} --batch-spans {} --duration {} --max-spans {} --seed {} --pool {}",
        args.concurrency, args.batch_spans, args.duration, args.max_spans, args.seed, args.pool
    ));
    if args.gzip {
        cmd.push_str(" --gzip");
    }
    cmd.push_str(&stored::command_flags(
        args.data_dir.as_ref(),
        args.clickhouse_url.as_deref(),
    ));
    if let Some(pid) = args.server_pid {
        cmd.push_str(&format!(" --server-pid {pid}"));
    }
    if args.api_key.is_some() {
        cmd.push_str(" --api-key <key>");
    }
    cmd
}

fn report(
    args: &IngestArgs,
    total: &mut Tally,
    elapsed: Duration,
    cpu_before: (Option<f64>, Option<f64>),
    cpu_after: (Option<f64>, Option<f64>),
    render_ns_per_span: f64,
    stored: Option<&Stored>,
) -> anyhow::Result<()> {
    let secs = elapsed.as_secs_f64();
    total.latencies_us.sort_unstable();
    let lat = &total.latencies_us;
    let (p50, p90, p99, max) = (
        percentile(lat, 0.50),
        percentile(lat, 0.90),
        percentile(lat, 0.99),
        percentile(lat, 1.0),
    );
    let spans_per_s = total.acked_spans as f64 / secs;
    let requests_per_s = total.acked_requests as f64 / secs;
    let engine = store_source(args).engine();
    let disk = stored.map(|s| s.bytes);
    let bytes_per_span = disk
        .filter(|_| total.acked_spans > 0)
        .map(|d| d as f64 / total.acked_spans as f64);
    let memory = args.server_pid.and_then(memory_kib);
    let cores = |before: Option<f64>, after: Option<f64>| Some((after? - before?) / secs);
    let (client_cores, server_cores) = (
        cores(cpu_before.0, cpu_after.0),
        cores(cpu_before.1, cpu_after.1),
    );

    let opt = |v: Option<f64>, unit: &str| v.map_or("n/a".to_string(), |v| format!("{v:.1}{unit}"));
    let gzip = if args.gzip { ", gzip" } else { "" };
    println!(
        "sightline bench ingest ({}{gzip}, {engine} store)",
        args.protocol.as_str()
    );
    println!("  duration            {secs:.1} s");
    println!(
        "  acknowledged        {} spans in {} requests",
        total.acked_spans, total.acked_requests
    );
    println!("  throughput          {spans_per_s:.0} spans/s, {requests_per_s:.1} requests/s");
    println!(
        "  export latency      p50 {p50:.1} ms, p90 {p90:.1} ms, p99 {p99:.1} ms, max {max:.1} ms"
    );
    println!(
        "  throttled           {} (429/503/UNAVAILABLE answers)",
        total.throttled
    );
    println!("  errors              {}", total.errors);
    if total.rejected_spans > 0 {
        println!(
            "  rejected spans      {} (partial success)",
            total.rejected_spans
        );
    }
    for sample in &total.error_samples {
        println!("    e.g. {sample}");
    }
    println!(
        "  on disk             {} ({} bytes/span{})",
        disk.map_or("n/a".to_string(), |d| format!(
            "{:.1} MiB",
            d as f64 / 1048576.0
        )),
        opt(bytes_per_span, ""),
        stored.map_or(String::new(), |s| format!("; {}", s.includes))
    );
    println!(
        "  server memory       peak RSS {}, current RSS {}",
        opt(memory.map(|m| m.0 as f64 / 1024.0), " MiB"),
        opt(memory.map(|m| m.1 as f64 / 1024.0), " MiB")
    );
    println!(
        "  CPU                 server {} cores, load generator {} cores (render {render_ns_per_span:.0} ns/span)",
        opt(server_cores, ""),
        opt(client_cores, "")
    );
    println!("  command             {}", command_line(args));
    let result = serde_json::json!({
        "bench": "ingest",
        "store": engine,
        "protocol": args.protocol.as_str(),
        "gzip": args.gzip,
        "concurrency": args.concurrency,
        "batch_spans": args.batch_spans,
        "duration_s": secs,
        "acked_spans": total.acked_spans,
        "acked_requests": total.acked_requests,
        "spans_per_s": spans_per_s,
        "requests_per_s": requests_per_s,
        "latency_ms": {"p50": p50, "p90": p90, "p99": p99, "max": max},
        "throttled": total.throttled,
        "errors": total.errors,
        "rejected_spans": total.rejected_spans,
        "disk_bytes": disk,
        "bytes_per_span": bytes_per_span,
        "stored": stored.map(Stored::json),
        "peak_rss_kib": memory.map(|m| m.0),
        "rss_kib": memory.map(|m| m.1),
        "server_cpu_cores": server_cores,
        "client_cpu_cores": client_cores,
        "command": command_line(args),
    });
    println!("RESULT {result}");
    Ok(())
}
