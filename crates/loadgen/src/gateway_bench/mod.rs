//! The gateway benchmark: the same client calls the mock upstream directly and through the
//! gateway, interleaved in one run, at a fixed rate (open loop) and with a fixed number of
//! concurrent clients (closed loop), non-streaming and streaming, with the gateway recording
//! every call. It reports each side's latency (and time to first chunk for streams) and the
//! difference, the gateway's added overhead, plus the server's CPU and memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use tokio::task::JoinSet;

use crate::ingest_bench::process::{memory_kib, CpuTimes};
use crate::measure::{percentile, write_closing};

/// What `sightline bench gateway` runs.
#[derive(Debug, Clone)]
pub struct GatewayBenchOptions {
    /// The mock upstream's root (`sightline bench mock-upstream`), called directly.
    pub mock_url: String,
    /// The Sightline server whose `openai` upstream is the mock.
    pub gateway_url: String,
    /// Requests per second to each side in the open-loop phases.
    pub rate: u32,
    /// Clients in the closed-loop phases, each alternating between the two sides.
    pub concurrency: usize,
    /// Seconds per phase.
    pub duration: u64,
    /// The server's pid, for its CPU and memory.
    pub server_pid: Option<u32>,
    /// A Sightline key, sent in `Sightline-Auth`.
    pub api_key: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Direct,
    Gateway,
}

/// One side's timings in one phase, in microseconds.
#[derive(Default)]
struct Samples {
    total: Vec<u32>,
    first: Vec<u32>,
    errors: u64,
}

struct Target {
    http: reqwest::Client,
    direct: String,
    gateway: String,
    key: Option<String>,
}

fn body(stream: bool) -> bytes::Bytes {
    let text = "Summarize the incident report in two sentences, naming the service that failed \
                first and the customer impact, for the on-call engineer.";
    let b = json!({"model": "gpt-4o-mini", "max_tokens": 64, "stream": stream,
                   "messages": [{"role": "user", "content": text}]});
    bytes::Bytes::from(b.to_string())
}

impl Target {
    /// One call: its total time and its time to the first body chunk, or `None` on failure.
    async fn call(&self, side: Side, body: bytes::Bytes) -> Option<(u32, u32)> {
        let url = match side {
            Side::Direct => &self.direct,
            Side::Gateway => &self.gateway,
        };
        let mut req = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-api-key", "sk-bench-provider")
            .body(body);
        if let (Side::Gateway, Some(k)) = (side, &self.key) {
            req = req.header("sightline-auth", format!("Bearer {k}"));
        }
        let start = Instant::now();
        let mut resp = req.send().await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let mut first = None;
        while let Some(_chunk) = resp.chunk().await.ok()? {
            first.get_or_insert_with(|| start.elapsed());
        }
        let total = start.elapsed();
        let us = |d: Duration| u32::try_from(d.as_micros()).unwrap_or(u32::MAX);
        Some((us(total), us(first.unwrap_or(total))))
    }
}

/// Which side goes first in round `n`: they take turns, so neither always waits on the other.
fn order(n: u64) -> [Side; 2] {
    if n.is_multiple_of(2) {
        [Side::Direct, Side::Gateway]
    } else {
        [Side::Gateway, Side::Direct]
    }
}

fn record(samples: &mut [Samples; 2], side: Side, r: Option<(u32, u32)>) {
    let s = &mut samples[side as usize];
    match r {
        Some((total, first)) => {
            s.total.push(total);
            s.first.push(first);
        }
        None => s.errors += 1,
    }
}

/// Open loop: every `1/rate` s one call to each side (alternating which goes first), whatever
/// the answers' pace; at most `cap` calls in flight.
async fn at_rate(t: &Arc<Target>, stream: bool, rate: u32, secs: u64) -> [Samples; 2] {
    let mut samples = [Samples::default(), Samples::default()];
    let mut tasks = JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let end = Instant::now() + Duration::from_secs(secs);
    let cap = 4096;
    let mut n = 0u64;
    while Instant::now() < end {
        tick.tick().await;
        let first = order(n);
        n += 1;
        for side in first {
            if tasks.len() >= cap {
                record(&mut samples, side, None);
                continue;
            }
            let t = t.clone();
            let b = body(stream);
            tasks.spawn(async move { (side, t.call(side, b).await) });
        }
        while let Some(done) = tasks.try_join_next() {
            if let Ok((side, r)) = done {
                record(&mut samples, side, r);
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok((side, r)) = done {
            record(&mut samples, side, r);
        }
    }
    samples
}

/// Closed loop: `clients` clients, each calling the two sides in turn until the time is up.
async fn concurrent(t: &Arc<Target>, stream: bool, clients: usize, secs: u64) -> [Samples; 2] {
    let end = Instant::now() + Duration::from_secs(secs);
    let mut tasks = JoinSet::new();
    for i in 0..clients {
        let t = t.clone();
        tasks.spawn(async move {
            let mut samples = [Samples::default(), Samples::default()];
            let mut n = i;
            while Instant::now() < end {
                let first = order(n as u64);
                n += 1;
                for side in first {
                    let r = t.call(side, body(stream)).await;
                    record(&mut samples, side, r);
                }
            }
            samples
        });
    }
    let mut all = [Samples::default(), Samples::default()];
    while let Some(Ok(part)) = tasks.join_next().await {
        for (a, p) in all.iter_mut().zip(part) {
            a.total.extend(p.total);
            a.first.extend(p.first);
            a.errors += p.errors;
        }
    }
    all
}

/// p50 and p99 of `v` in ms (sorted here).
fn p50_p99(v: &mut [u32]) -> (f64, f64) {
    v.sort_unstable();
    (percentile(v, 0.50), percentile(v, 0.99))
}

fn command_line(o: &GatewayBenchOptions) -> String {
    let mut cmd = format!(
        "sightline bench gateway --mock-url {} --gateway-url {} --rate {} --concurrency {} --duration {}",
        o.mock_url, o.gateway_url, o.rate, o.concurrency, o.duration
    );
    if let Some(pid) = o.server_pid {
        cmd.push_str(&format!(" --server-pid {pid}"));
    }
    if o.api_key.is_some() {
        cmd.push_str(" --api-key <key>");
    }
    cmd
}

/// Runs the four phases and writes the report.
pub async fn run(o: GatewayBenchOptions, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .tcp_nodelay(true)
        .build()
        .context("cannot make the HTTP client")?;
    let t = Arc::new(Target {
        http,
        direct: format!("{}/v1/chat/completions", o.mock_url.trim_end_matches('/')),
        gateway: format!(
            "{}/gateway/openai/v1/chat/completions",
            o.gateway_url.trim_end_matches('/')
        ),
        key: o.api_key.clone(),
    });
    for side in [Side::Direct, Side::Gateway] {
        t.call(side, body(false))
            .await
            .with_context(|| match side {
                Side::Direct => format!("the mock at --mock-url {} does not answer", o.mock_url),
                Side::Gateway => format!(
                "the gateway at --gateway-url {} does not answer (is its openai upstream the mock? \
                 SIGHTLINE_GATEWAY__UPSTREAMS=openai=<mock-url>/v1)",
                o.gateway_url
            ),
            })?;
    }
    // Warm the pools and the server's caches.
    concurrent(&t, false, o.concurrency, 2).await;

    writeln!(out, "sightline bench gateway (recording on)")?;
    writeln!(
        out,
        "  {:<28} {:>19} {:>19} {:>19}",
        "phase", "direct p50/p99 ms", "gateway p50/p99 ms", "added p50/p99 ms"
    )?;
    let cpu_before = CpuTimes::now(o.server_pid);
    let started = Instant::now();
    let mut results = serde_json::Map::new();
    for (name, stream, rate) in [
        ("rate", false, true),
        ("rate_stream", true, true),
        ("concurrent", false, false),
        ("concurrent_stream", true, false),
    ] {
        let phase_start = Instant::now();
        let mut s = if rate {
            at_rate(&t, stream, o.rate, o.duration).await
        } else {
            concurrent(&t, stream, o.concurrency, o.duration).await
        };
        let secs = phase_start.elapsed().as_secs_f64();
        let achieved = s[1].total.len() as f64 / secs;
        let (d50, d99) = p50_p99(&mut s[0].total);
        let (g50, g99) = p50_p99(&mut s[1].total);
        let label = if rate {
            format!("{name} @{}/s", o.rate)
        } else {
            format!("{name} x{}", o.concurrency)
        };
        writeln!(
            out,
            "  {label:<28} {d50:>9.3}/{d99:<9.3} {g50:>9.3}/{g99:<9.3} {:>9.3}/{:<9.3}",
            g50 - d50,
            g99 - d99
        )?;
        let mut phase = json!({
            "direct_p50_ms": d50, "direct_p99_ms": d99, "gateway_p50_ms": g50, "gateway_p99_ms": g99,
            "added_p50_ms": g50 - d50, "added_p99_ms": g99 - d99,
            "gateway_requests_per_s": achieved,
            "errors_direct": s[0].errors, "errors_gateway": s[1].errors,
        });
        if stream {
            let (df50, df99) = p50_p99(&mut s[0].first);
            let (gf50, gf99) = p50_p99(&mut s[1].first);
            writeln!(
                out,
                "  {:<28} {df50:>9.3}/{df99:<9.3} {gf50:>9.3}/{gf99:<9.3} {:>9.3}/{:<9.3}",
                "  time to first chunk",
                gf50 - df50,
                gf99 - df99
            )?;
            phase["direct_ttft_p50_ms"] = json!(df50);
            phase["direct_ttft_p99_ms"] = json!(df99);
            phase["gateway_ttft_p50_ms"] = json!(gf50);
            phase["gateway_ttft_p99_ms"] = json!(gf99);
            phase["added_ttft_p50_ms"] = json!(gf50 - df50);
            phase["added_ttft_p99_ms"] = json!(gf99 - df99);
        }
        writeln!(
            out,
            "  {:<28} gateway {achieved:.0} req/s, errors {} direct / {} gateway",
            "", s[0].errors, s[1].errors
        )?;
        if let Some((_, now)) = o.server_pid.and_then(memory_kib) {
            phase["server_rss_mib_after"] = json!(now as f64 / 1024.0);
            writeln!(
                out,
                "  {:<28} server RSS after the phase {:.1} MiB",
                "",
                now as f64 / 1024.0
            )?;
        }
        results.insert(name.to_owned(), phase);
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = CpuTimes::now(o.server_pid).since(cpu_before);
    let server_cores = cpu.server.map(|c| c / secs);
    let client_cores = cpu.client.map(|c| c / secs);
    let memory = o.server_pid.and_then(memory_kib);
    if let Some((peak, now)) = memory {
        writeln!(
            out,
            "  server memory       peak {:.1} MiB, now {:.1} MiB",
            peak as f64 / 1024.0,
            now as f64 / 1024.0
        )?;
    }
    if let Some(c) = server_cores {
        writeln!(
            out,
            "  server CPU          {c:.2} cores (load generator and mock: {:.2})",
            client_cores.unwrap_or(0.0)
        )?;
    }
    results.insert(
        "server_peak_rss_mib".into(),
        json!(memory.map(|m| m.0 as f64 / 1024.0)),
    );
    results.insert("server_cores".into(), json!(server_cores));
    results.insert("rate".into(), json!(o.rate));
    results.insert("concurrency".into(), json!(o.concurrency));
    results.insert("duration_s".into(), json!(o.duration));
    write_closing(
        out,
        &command_line(&o),
        &json!({"bench": "gateway", "figures": results}),
    )?;
    Ok(())
}
