//! The query benchmark's report: p50, p99 and max per query, stored bytes per span, the
//! reproducing command and the `RESULT` line.

use std::io::Write;

use super::{load, QueryOptions, Timing};
use crate::measure::store_size::{self, Stored};
use crate::measure::{percentile, write_closing};

/// The command line that reproduces this run (the key itself is not printed).
fn command_line(args: &QueryOptions) -> String {
    let mut cmd = format!(
        "sightline bench query --url {} --load-spans {} --days {} --batch-spans {} --concurrency {} \
         --iterations {} --seed {}",
        args.url, args.load_spans, args.days, args.batch_spans, args.concurrency, args.iterations, args.seed
    );
    if args.no_logs {
        cmd.push_str(" --no-logs");
    }
    cmd.push_str(&store_size::command_flags(
        args.data_dir.as_ref(),
        args.clickhouse_url.as_deref(),
    ));
    if args.api_key.is_some() {
        cmd.push_str(" --api-key <key>");
    }
    cmd
}

pub(super) fn report(
    out: &mut dyn Write,
    args: &QueryOptions,
    loaded: Option<&load::Loaded>,
    timings: &mut [Timing],
    stored_spans: Option<u64>,
    stored: Option<&Stored>,
) -> anyhow::Result<()> {
    let engine = args.store_source().engine();
    writeln!(
        out,
        "sightline bench query ({engine} store, {} timed requests per query, sequential)",
        args.iterations
    )?;
    if let Some(l) = loaded {
        writeln!(
            out,
            "  loaded              {} spans, {} logs in {:.1}s ({:.0} spans/s)",
            l.spans,
            l.logs,
            l.seconds,
            l.spans as f64 / l.seconds.max(1e-9)
        )?;
    }
    let disk = stored.map(|s| s.bytes);
    let bytes_per_span = match (disk, stored_spans) {
        (Some(d), Some(n)) if n > 0 => Some(d as f64 / n as f64),
        _ => None,
    };
    writeln!(
        out,
        "  stored              {} spans{}",
        stored_spans.map_or("n/a".to_string(), |n| n.to_string()),
        match (disk, bytes_per_span) {
            (Some(d), Some(b)) => format!(
                ", {:.1} MiB on disk, {b:.0} bytes/span (logs included; {})",
                d as f64 / 1048576.0,
                stored.map_or("", |s| s.includes.as_str())
            ),
            _ => String::new(),
        }
    )?;
    let mut results = Vec::new();
    for t in timings.iter_mut() {
        t.latencies_us.sort_unstable();
        let (p50, p99, max) = (
            percentile(&t.latencies_us, 0.50),
            percentile(&t.latencies_us, 0.99),
            percentile(&t.latencies_us, 1.0),
        );
        let ok = t.latencies_us.len() as u64;
        let avg_bytes = t.bytes.checked_div(ok).unwrap_or(0);
        writeln!(out,
            "  {:<26} p50 {p50:>8.2} ms  p99 {p99:>8.2} ms  max {max:>8.2} ms  {avg_bytes:>7} B/answer{}",
            t.name,
            if t.errors > 0 { format!("  {} errors", t.errors) } else { String::new() }
        )?;
        if let Some(e) = &t.error_sample {
            writeln!(out, "    e.g. {e}")?;
        }
        results.push(serde_json::json!({
            "query": t.name, "p50_ms": p50, "p99_ms": p99, "max_ms": max,
            "requests": ok, "errors": t.errors, "avg_answer_bytes": avg_bytes,
        }));
    }
    let command = command_line(args);
    let result = serde_json::json!({
        "bench": "query",
        "store": engine,
        "iterations": args.iterations,
        "loaded_spans": loaded.map(|l| l.spans),
        "loaded_logs": loaded.map(|l| l.logs),
        "load_seconds": loaded.map(|l| l.seconds),
        "stored_spans": stored_spans,
        "disk_bytes": disk,
        "bytes_per_span": bytes_per_span,
        "stored": stored.map(Stored::json),
        "queries": results,
        "command": command,
    });
    write_closing(out, &command, &result)?;
    Ok(())
}
