//! Ingest benchmark: drives a running server over OTLP/HTTP or gRPC and reports its figures.
//!
//! A pool of distinct export requests is generated up front from the seed and encoded once;
//! each send copies one and re-stamps its ids (see [`crate::traffic::wire`]), so the load
//! generator spends its CPU on sending, not on building protobuf. Only 2xx / OK counts as
//! acknowledged (minus any spans rejected through OTLP partial success); 429, 503 and gRPC
//! `UNAVAILABLE` / `RESOURCE_EXHAUSTED` count as throttled and are retried after a short
//! back-off. Every run is bounded by `--duration` and `--max-spans`, whichever comes first.

mod export;
pub mod overload;
pub(crate) mod process;
mod report;

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sightline_core::time::{Clock, SystemClock};

use anyhow::bail;
use bytes::Bytes;
use tokio::task::JoinSet;

use crate::measure::store_size::StoreSource;
use crate::traffic::wire::{mask_for, EncodedRequest};
use crate::traffic::TrafficGen;
use export::{grpc_client, send_grpc, send_http, Outcome, REQUEST_TIMEOUT};
use process::CpuTimes;

const MAX_BACKOFF: Duration = Duration::from_secs(1);
const DEFAULT_BACKOFF: Duration = Duration::from_millis(100);

/// The protocol the exports use.
#[derive(Clone, Copy, PartialEq, Eq)]
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

/// One run of `sightline bench ingest`: each field is the flag of the same name (errors and
/// the reproducing command name the flags).
pub struct IngestOptions {
    pub http_url: String,
    pub grpc_url: String,
    pub protocol: Protocol,
    pub concurrency: usize,
    pub batch_spans: usize,
    /// Seconds.
    pub duration: u64,
    pub max_spans: u64,
    pub gzip: bool,
    pub data_dir: Option<PathBuf>,
    pub clickhouse_url: Option<String>,
    pub server_pid: Option<u32>,
    pub seed: u64,
    pub pool: usize,
    pub api_key: Option<String>,
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
/// Everything the exporters share.
struct Shared {
    pool: Vec<EncodedRequest>,
    args: IngestOptions,
    http: reqwest::Client,
    nonce: u64,
    next_send: AtomicU64,
    claimed_spans: AtomicU64,
    acked_spans: AtomicU64,
    deadline: Instant,
}

/// Runs the benchmark; progress goes to stderr, the report to `out`.
pub async fn run(args: IngestOptions, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    if args.concurrency == 0 || args.batch_spans == 0 || args.duration == 0 || args.pool == 0 {
        bail!("--concurrency, --batch-spans, --duration and --pool must be at least 1");
    }
    let now_ns = u64::try_from(SystemClock.now_ns())?;

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

    let cpu_before = CpuTimes::now(args.server_pid);
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
    let cpu_used = CpuTimes::now(shared.args.server_pid).since(cpu_before);
    let stored = store_source(&shared.args).measure().await?;
    report::report(
        out,
        &shared.args,
        &mut total,
        elapsed,
        cpu_used,
        render_ns_per_span,
        stored.as_ref(),
    )
}

fn store_source(args: &IngestOptions) -> StoreSource<'_> {
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
async fn preflight(args: &IngestOptions, http: &reqwest::Client) -> anyhow::Result<()> {
    let (request, spans) = TrafficGen::new(args.seed ^ 0x5eed, 0).request(1);
    let nonce = u64::try_from(SystemClock.now_ns())?;
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
        Outcome::Failed(why) | Outcome::Unanswered(why) => bail!("the server did not accept a first export ({why}); is it running, and does it need --api-key?"),
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
            Outcome::Failed(why) | Outcome::Unanswered(why) => {
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
