//! The demo: realistic multi-agent traffic into a running server over OTLP/HTTP.
//!
//! Traces come from [`crate::traffic::swarm`]: an orchestrator delegating to worker agents, llm
//! calls across providers, tool calls, retries, failures, sessions and correlated logs. Each
//! trace is stamped to end "now", so it shows up at once in recent queries.

use std::io::Write;
use std::time::{Duration, Instant};

use sightline_core::time::{Clock, SystemClock};

use anyhow::bail;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::send::OtlpHttp;
use crate::traffic::swarm::{self, SwarmGen, SwarmTrace};
use crate::traffic::{attr, failed};

/// Ticks never come closer than this: faster rates send several traces per request.
const MIN_TICK: Duration = Duration::from_millis(100);

/// One run of `sightline demo`: each field is the flag of the same name (errors name the flags).
pub struct DemoOptions {
    pub url: String,
    pub api_key: Option<String>,
    /// `None`: until Ctrl-C.
    pub traces: Option<u64>,
    /// Traces per second.
    pub rate: f64,
    /// `None`: a fresh one.
    pub seed: Option<u64>,
}

/// What has been sent so far.
#[derive(Default)]
struct Sent {
    traces: u64,
    spans: u64,
    logs: u64,
    errors: u64,
    rejected: u64,
}

/// Sends until done or Ctrl-C; one line per trace and the summary go to `out`, the rest to stderr.
pub async fn run(args: DemoOptions, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    if !(args.rate.is_finite() && args.rate > 0.0) {
        bail!(
            "--rate must be a positive number of traces per second, got {}",
            args.rate
        );
    }
    if args.traces == Some(0) {
        bail!("--traces must be at least 1 (leave it out to run until Ctrl-C)");
    }
    let client = OtlpHttp::new(&args.url, args.api_key.clone())?;
    let seed = match args.seed {
        Some(seed) => seed,
        None => now_ns()?,
    };
    let per_tick = (args.rate * MIN_TICK.as_secs_f64()).ceil().max(1.0) as u64;
    let tick = Duration::from_secs_f64(per_tick as f64 / args.rate);
    let mut gen = SwarmGen::new(seed);
    let mut sent = Sent::default();
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let until = match args.traces {
        Some(n) => format!("{n} traces"),
        None => "Ctrl-C".to_string(),
    };
    eprintln!(
        "demo: sending multi-agent traffic to {} at {} traces/s until {until} (seed {seed})",
        client.base(),
        args.rate
    );
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let left = args.traces.map_or(per_tick, |n| n - sent.traces);
        if left == 0 {
            break;
        }
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = ticker.tick() => {}
        }
        let end = now_ns()?;
        let batch: Vec<SwarmTrace> = (0..per_tick.min(left))
            .map(|_| gen.next_trace(end))
            .collect();
        send(&client, &batch, &mut sent).await?;
        print_batch(out, &batch)?;
    }
    writeln!(
        out,
        "demo: sent {} traces ({} failed), {} spans and {} logs to {} in {:.1}s{}; look with \
         `sightline traces --since 15m`, `sightline sessions` or `sightline logs`",
        sent.traces,
        sent.errors,
        sent.spans,
        sent.logs,
        client.base(),
        started.elapsed().as_secs_f64(),
        if sent.rejected > 0 {
            format!(" ({} items rejected by the server)", sent.rejected)
        } else {
            String::new()
        }
    )?;
    Ok(())
}

async fn send(client: &OtlpHttp, batch: &[SwarmTrace], sent: &mut Sent) -> anyhow::Result<()> {
    let rejected = client.traces(&swarm::traces_request(batch)).await?;
    if rejected.count > 0 {
        eprintln!(
            "demo: the server rejected {} spans: {}",
            rejected.count, rejected.message
        );
    }
    let rejected_logs = client.logs(&swarm::logs_request(batch)).await?;
    if rejected_logs.count > 0 {
        eprintln!(
            "demo: the server rejected {} logs: {}",
            rejected_logs.count, rejected_logs.message
        );
    }
    sent.rejected += rejected.count + rejected_logs.count;
    for t in batch {
        sent.traces += 1;
        sent.spans += t.spans.len() as u64;
        sent.logs += t.logs.len() as u64;
        sent.errors += u64::from(root(t).is_some_and(failed));
    }
    Ok(())
}

/// One line per trace: its id, the agents it ran, its size, session, and whether it failed.
fn print_batch(out: &mut dyn Write, batch: &[SwarmTrace]) -> std::io::Result<()> {
    for t in batch {
        let Some(root) = root(t) else { continue };
        let workers: Vec<&str> = t
            .spans
            .iter()
            .filter(|s| s.parent_span_id == root.span_id && s.name.starts_with("invoke_agent "))
            .filter_map(|s| attr(s, "gen_ai.agent.name"))
            .collect();
        let retried = t
            .spans
            .iter()
            .filter(|s| failed(s) && s.name.starts_with("chat "))
            .count();
        let mut line = format!(
            "trace {}  orchestrator > {:<28} {:>2} spans {:>2} logs  session {}",
            hex::encode(&root.trace_id),
            workers.join(", "),
            t.spans.len(),
            t.logs.len(),
            attr(root, "gen_ai.conversation.id").unwrap_or("-"),
        );
        if failed(root) {
            line.push_str("  FAILED");
        } else if retried > 0 {
            line.push_str("  retried");
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn root(t: &SwarmTrace) -> Option<&Span> {
    t.spans.iter().find(|s| s.parent_span_id.is_empty())
}

fn now_ns() -> anyhow::Result<u64> {
    Ok(u64::try_from(SystemClock.now_ns())?)
}
