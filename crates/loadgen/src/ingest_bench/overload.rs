//! `sightline bench overload`: offers a fixed multiple of the server's capacity, open loop (a
//! request leaves on every tick whether or not earlier ones were answered), and checks what the
//! server promises under it: every request gets an answer, refusals carry a retry hint, memory
//! stays flat, and every acknowledged span is stored (read back through the API afterwards).
//!
//! The capacity is given (`--capacity`) or measured first by a short closed-loop phase. Nothing
//! is retried: a refused request's spans are simply not sent again.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use sightline_core::time::{Clock, SystemClock};
use tokio::task::JoinSet;

use super::export::{grpc_client, send_grpc, send_http, GrpcClient, Outcome, REQUEST_TIMEOUT};
use super::process::memory_kib;
use super::{render, IngestOptions, Protocol};
use crate::measure::write_closing;
use crate::traffic::wire::{mask_for, EncodedRequest};
use crate::traffic::TrafficGen;

/// One run: each field is the flag of the same name.
pub struct OverloadOptions {
    pub http_url: String,
    pub grpc_url: String,
    pub protocol: Protocol,
    /// Spans/s the server sustains; `None`: measured first.
    pub capacity: Option<f64>,
    /// Seconds of the closed-loop phase that measures the capacity.
    pub measure_secs: u64,
    /// The offered load, as a multiple of the capacity.
    pub multiple: f64,
    /// Seconds of offered load.
    pub duration: u64,
    pub batch_spans: usize,
    /// Most requests outstanding at once; a tick past it is counted as not sent.
    pub max_in_flight: usize,
    pub server_pid: Option<u32>,
    pub seed: u64,
    pub pool: usize,
    pub api_key: Option<String>,
}

/// A pooled request with its traces (ids before masking) and their span counts.
struct Pooled {
    request: EncodedRequest,
    traces: Vec<([u8; 16], u32)>,
}

/// What came of every request.
#[derive(Default)]
struct Counts {
    sent: u64,
    not_sent: u64,
    acked: u64,
    acked_spans: u64,
    refused: u64,
    refused_without_hint: u64,
    unanswered: u64,
    failed: u64,
    samples: Vec<String>,
    /// (pool index, mask) of each acknowledged request, to check it is stored.
    acked_sends: Vec<(usize, u64)>,
}

impl Counts {
    fn note(&mut self, outcome: Outcome, send: (usize, u64), spans: u64) {
        match outcome {
            Outcome::Acked { .. } => {
                self.acked += 1;
                self.acked_spans += spans;
                self.acked_sends.push(send);
            }
            Outcome::Throttled { retry_after } => {
                self.refused += 1;
                if retry_after.is_none() {
                    self.refused_without_hint += 1;
                }
            }
            Outcome::Unanswered(why) => {
                self.unanswered += 1;
                self.sample(why);
            }
            Outcome::Failed(why) => {
                self.failed += 1;
                self.sample(why);
            }
        }
    }

    fn sample(&mut self, why: String) {
        if self.samples.len() < 5 && !self.samples.contains(&why) {
            self.samples.push(why);
        }
    }
}

/// Sends requests: HTTP through one pooled client, gRPC over one channel.
#[derive(Clone)]
struct Sender {
    args: Arc<IngestOptions>,
    http: reqwest::Client,
    grpc: Option<GrpcClient>,
}

impl Sender {
    async fn send(&self, body: bytes::Bytes) -> Outcome {
        match &self.grpc {
            Some(client) => send_grpc(&mut client.clone(), &self.args, body).await,
            None => send_http(&self.http, &self.args, body, false).await,
        }
    }
}

pub async fn run(o: OverloadOptions, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    if o.duration == 0 || o.batch_spans == 0 || o.pool == 0 || o.max_in_flight == 0 {
        bail!("--duration, --batch-spans, --pool and --max-in-flight must be at least 1");
    }
    if o.multiple.is_nan() || o.multiple <= 0.0 {
        bail!("--multiple must be above 0 (e.g. 10 for ten times the capacity)");
    }
    let now_ns = u64::try_from(SystemClock.now_ns())?;
    let mut traffic = TrafficGen::new(o.seed, now_ns);
    let mut pool = Vec::with_capacity(o.pool);
    for _ in 0..o.pool {
        let (request, spans) = traffic.request(o.batch_spans);
        let request = EncodedRequest::new(&request, spans)?;
        let traces = traces_of(&request.bytes)?;
        pool.push(Pooled { request, traces });
    }
    let args = Arc::new(IngestOptions {
        http_url: o.http_url.clone(),
        grpc_url: o.grpc_url.clone(),
        protocol: o.protocol,
        concurrency: o.max_in_flight,
        batch_spans: o.batch_spans,
        duration: o.duration,
        max_spans: u64::MAX,
        gzip: false,
        data_dir: None,
        clickhouse_url: None,
        server_pid: o.server_pid,
        seed: o.seed,
        pool: o.pool,
        api_key: o.api_key.clone(),
    });
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(o.max_in_flight)
        .tcp_nodelay(true)
        .build()?;
    let grpc = match o.protocol {
        Protocol::Grpc => Some(grpc_client(&args).await?),
        Protocol::Http => None,
    };
    let sender = Sender { args, http, grpc };
    let pool = Arc::new(pool);
    let mut counts = Counts::default();
    let mut send_no = 0u64;

    let capacity = match o.capacity {
        Some(c) if c > 0.0 => c,
        Some(_) => bail!("--capacity must be above 0 spans/s"),
        None => {
            let c = measure_capacity(&o, &sender, &pool, &mut counts, &mut send_no).await?;
            eprintln!("measured capacity: {c:.0} spans/s");
            c
        }
    };
    let offered = capacity * o.multiple;
    let per_request =
        pool.iter().map(|p| p.request.spans).sum::<usize>() as f64 / pool.len() as f64;
    let interval = Duration::from_secs_f64(per_request / offered);
    eprintln!(
        "offering {offered:.0} spans/s ({:.0} requests/s of ~{per_request:.0} spans) for {} s",
        1.0 / interval.as_secs_f64(),
        o.duration
    );
    let overload = Counts {
        acked_sends: std::mem::take(&mut counts.acked_sends),
        ..Default::default()
    };
    let mut counts = overload;
    let mut rss = Vec::new();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(o.duration);
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut memory = tokio::time::interval(Duration::from_millis(500));
    let mut in_flight: JoinSet<(Outcome, (usize, u64), u64)> = JoinSet::new();
    while Instant::now() < deadline {
        tokio::select! {
            _ = ticks.tick() => {
                if in_flight.len() >= o.max_in_flight {
                    counts.not_sent += 1;
                    continue;
                }
                let (index, mask) = next_send(&mut send_no, pool.len());
                let pooled = &pool[index];
                let body = render(&pooled.request, mask, false)?;
                let spans = pooled.request.spans as u64;
                let sender = sender.clone();
                counts.sent += 1;
                in_flight.spawn(async move { (sender.send(body).await, (index, mask), spans) });
            }
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                let (outcome, send, spans) = done?;
                counts.note(outcome, send, spans);
            }
            _ = memory.tick() => {
                if let Some((_, now)) = o.server_pid.and_then(memory_kib) {
                    rss.push((started.elapsed().as_secs_f64(), now));
                }
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    while let Some(done) = in_flight.join_next().await {
        let (outcome, send, spans) = done?;
        counts.note(outcome, send, spans);
    }
    eprintln!("checking that every acknowledged span is stored");
    let missing = missing_spans(&sender, &pool, &counts.acked_sends).await?;
    report(out, &o, capacity, offered, elapsed, &counts, &rss, missing)
}

/// Keeps this benchmark's ids apart from `bench ingest`'s when both load one server.
const OVERLOAD_SEED: u64 = 0x0f0e_710a_d5ee_d000;

/// The pooled request and mask of the next send.
fn next_send(send_no: &mut u64, pool: usize) -> (usize, u64) {
    let n = *send_no;
    *send_no += 1;
    ((n % pool as u64) as usize, mask_for(n ^ OVERLOAD_SEED))
}

/// The distinct traces of an encoded request, with their span counts.
fn traces_of(bytes: &[u8]) -> anyhow::Result<Vec<([u8; 16], u32)>> {
    let request = ExportTraceServiceRequest::decode(bytes)?;
    let mut counts: HashMap<[u8; 16], u32> = HashMap::new();
    for rs in &request.resource_spans {
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                let id: [u8; 16] = span.trace_id.as_slice().try_into()?;
                *counts.entry(id).or_default() += 1;
            }
        }
    }
    Ok(counts.into_iter().collect())
}

/// A trace id as the server stores it after `mask` was applied (the first eight bytes XORed).
fn masked(id: &[u8; 16], mask: u64) -> String {
    let mut id = *id;
    for (b, m) in id.iter_mut().zip(mask.to_le_bytes()) {
        *b ^= m;
    }
    hex::encode(id)
}

/// Spans/s acknowledged by a closed loop of a few exporters over `o.measure_secs`.
async fn measure_capacity(
    o: &OverloadOptions,
    sender: &Sender,
    pool: &Arc<Vec<Pooled>>,
    counts: &mut Counts,
    send_no: &mut u64,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(o.measure_secs.max(1));
    let mut workers: JoinSet<anyhow::Result<Counts>> = JoinSet::new();
    let exporters = 8u64;
    for w in 0..exporters {
        let (sender, pool) = (sender.clone(), pool.clone());
        let first = *send_no + w * 1_000_000;
        workers.spawn(async move {
            let mut mine = Counts::default();
            let mut n = first;
            while Instant::now() < deadline {
                let (index, mask) = next_send(&mut n, pool.len());
                let body = render(&pool[index].request, mask, false)?;
                let outcome = sender.send(body).await;
                if let Outcome::Throttled { .. } = outcome {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                mine.note(outcome, (index, mask), pool[index].request.spans as u64);
            }
            Ok(mine)
        });
    }
    *send_no += exporters * 1_000_000;
    while let Some(done) = workers.join_next().await {
        let mine = done??;
        counts.acked_spans += mine.acked_spans;
        counts.acked_sends.extend(mine.acked_sends);
    }
    let spans_per_sec = counts.acked_spans as f64 / started.elapsed().as_secs_f64();
    if spans_per_sec <= 0.0 {
        bail!("the server acknowledged nothing while the capacity was measured; is it running at --http-url / --grpc-url?");
    }
    Ok(spans_per_sec)
}

/// Acknowledged spans the API does not return: every trace of every acknowledged send, read
/// back from the trace list (page by page) and compared by span count.
async fn missing_spans(
    sender: &Sender,
    pool: &[Pooled],
    acked: &[(usize, u64)],
) -> anyhow::Result<u64> {
    let base = sender.args.http_url.trim_end_matches('/');
    let mut stored: HashMap<String, u64> = HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/traces?limit=1000");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let mut request = sender.http.get(&url);
        if let Some(key) = &sender.args.api_key {
            request = request.bearer_auth(key);
        }
        let page: serde_json::Value = request
            .send()
            .await
            .with_context(|| format!("GET {url}"))?
            .error_for_status()?
            .json()
            .await?;
        for t in page["data"].as_array().into_iter().flatten() {
            if let (Some(id), Some(n)) = (t["trace_id"].as_str(), t["span_count"].as_u64()) {
                stored.insert(id.to_owned(), n);
            }
        }
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    let mut missing = 0u64;
    for (index, mask) in acked {
        for (trace, spans) in &pool[*index].traces {
            let have = stored.get(&masked(trace, *mask)).copied().unwrap_or(0);
            missing += u64::from(*spans).saturating_sub(have);
        }
    }
    Ok(missing)
}

#[allow(clippy::too_many_arguments)]
fn report(
    out: &mut (dyn Write + Send),
    o: &OverloadOptions,
    capacity: f64,
    offered: f64,
    elapsed: f64,
    c: &Counts,
    rss: &[(f64, u64)],
    missing: u64,
) -> anyhow::Result<()> {
    let mib = |kib: u64| kib as f64 / 1024.0;
    let half = |first: bool| {
        rss.iter()
            .filter(|(t, _)| (*t < elapsed / 2.0) == first)
            .map(|(_, k)| *k)
            .max()
            .map(mib)
    };
    let peak = o.server_pid.and_then(memory_kib).map(|(hwm, _)| mib(hwm));
    writeln!(
        out,
        "overload: {:.1}x of {capacity:.0} spans/s for {elapsed:.1} s",
        o.multiple
    )?;
    writeln!(out, "  offered             {offered:.0} spans/s, {} requests sent, {} not sent (over --max-in-flight)", c.sent, c.not_sent)?;
    writeln!(
        out,
        "  acknowledged        {} requests, {} spans ({:.0} spans/s)",
        c.acked,
        c.acked_spans,
        c.acked_spans as f64 / elapsed
    )?;
    writeln!(
        out,
        "  refused (retryable) {} requests, {} without a retry hint",
        c.refused, c.refused_without_hint
    )?;
    writeln!(out, "  unanswered          {}", c.unanswered)?;
    writeln!(out, "  other failures      {}", c.failed)?;
    for s in &c.samples {
        writeln!(out, "    e.g. {s}")?;
    }
    writeln!(
        out,
        "  acknowledged spans missing from the store: {missing}"
    )?;
    if let (Some(first), Some(second)) = (half(true), half(false)) {
        writeln!(out, "  server RSS          max {first:.0} MiB in the first half, {second:.0} MiB in the second, peak {:.0} MiB", peak.unwrap_or(0.0))?;
    }
    let mut command = format!(
        "sightline bench overload --protocol {} --multiple {} --duration {} --batch-spans {} --max-in-flight {} --seed {} --pool {}",
        o.protocol.as_str(), o.multiple, o.duration, o.batch_spans, o.max_in_flight, o.seed, o.pool
    );
    match o.protocol {
        Protocol::Http => command.push_str(&format!(" --http-url {}", o.http_url)),
        Protocol::Grpc => command.push_str(&format!(
            " --http-url {} --grpc-url {}",
            o.http_url, o.grpc_url
        )),
    }
    match o.capacity {
        Some(cap) => command.push_str(&format!(" --capacity {cap}")),
        None => command.push_str(&format!(" --measure-secs {}", o.measure_secs)),
    }
    if let Some(pid) = o.server_pid {
        command.push_str(&format!(" --server-pid {pid}"));
    }
    let result = serde_json::json!({
        "protocol": o.protocol.as_str(),
        "capacity_spans_per_sec": capacity.round(),
        "multiple": o.multiple,
        "offered_spans_per_sec": offered.round(),
        "seconds": elapsed,
        "sent": c.sent,
        "not_sent": c.not_sent,
        "acked": c.acked,
        "acked_spans": c.acked_spans,
        "refused": c.refused,
        "refused_without_hint": c.refused_without_hint,
        "unanswered": c.unanswered,
        "failed": c.failed,
        "missing_spans": missing,
        "rss_first_half_max_mib": half(true),
        "rss_second_half_max_mib": half(false),
        "rss_peak_mib": peak,
    });
    write_closing(out, &command, &result)?;
    Ok(())
}
