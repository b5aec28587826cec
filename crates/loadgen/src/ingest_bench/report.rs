//! The ingest benchmark's report: the figures as text, the reproducing command and the
//! `RESULT` line.

use std::io::Write;
use std::time::Duration;

use super::process::{memory_kib, CpuTimes};
use super::{store_source, IngestOptions, Protocol, Tally};
use crate::measure::store_size::{self, Stored};
use crate::measure::{percentile, write_closing};

/// The command line that reproduces this run (the key itself is not printed).
fn command_line(args: &IngestOptions) -> String {
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
    cmd.push_str(&store_size::command_flags(
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

pub(super) fn report(
    out: &mut dyn Write,
    args: &IngestOptions,
    total: &mut Tally,
    elapsed: Duration,
    cpu_used: CpuTimes,
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
    let cores = |used: Option<f64>| Some(used? / secs);
    let (client_cores, server_cores) = (cores(cpu_used.client), cores(cpu_used.server));

    let opt = |v: Option<f64>, unit: &str| v.map_or("n/a".to_string(), |v| format!("{v:.1}{unit}"));
    let gzip = if args.gzip { ", gzip" } else { "" };
    writeln!(
        out,
        "sightline bench ingest ({}{gzip}, {engine} store)",
        args.protocol.as_str()
    )?;
    writeln!(out, "  duration            {secs:.1} s")?;
    writeln!(
        out,
        "  acknowledged        {} spans in {} requests",
        total.acked_spans, total.acked_requests
    )?;
    writeln!(
        out,
        "  throughput          {spans_per_s:.0} spans/s, {requests_per_s:.1} requests/s"
    )?;
    writeln!(
        out,
        "  export latency      p50 {p50:.1} ms, p90 {p90:.1} ms, p99 {p99:.1} ms, max {max:.1} ms"
    )?;
    writeln!(
        out,
        "  throttled           {} (429/503/UNAVAILABLE answers)",
        total.throttled
    )?;
    writeln!(out, "  errors              {}", total.errors)?;
    if total.rejected_spans > 0 {
        writeln!(
            out,
            "  rejected spans      {} (partial success)",
            total.rejected_spans
        )?;
    }
    for sample in &total.error_samples {
        writeln!(out, "    e.g. {sample}")?;
    }
    writeln!(
        out,
        "  on disk             {} ({} bytes/span{})",
        disk.map_or("n/a".to_string(), |d| format!(
            "{:.1} MiB",
            d as f64 / 1048576.0
        )),
        opt(bytes_per_span, ""),
        stored.map_or(String::new(), |s| format!("; {}", s.includes))
    )?;
    writeln!(
        out,
        "  server memory       peak RSS {}, current RSS {}",
        opt(memory.map(|m| m.0 as f64 / 1024.0), " MiB"),
        opt(memory.map(|m| m.1 as f64 / 1024.0), " MiB")
    )?;
    writeln!(out,
        "  CPU                 server {} cores, load generator {} cores (render {render_ns_per_span:.0} ns/span)",
        opt(server_cores, ""),
        opt(client_cores, "")
    )?;
    let command = command_line(args);
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
        "command": command,
    });
    write_closing(out, &command, &result)?;
    Ok(())
}
