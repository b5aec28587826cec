//! What both benchmarks measure and report alike: latency percentiles, the store's size on
//! disk ([`store_size`]), and the closing `command` and `RESULT` lines the bench scripts read.

pub(crate) mod store_size;

use std::io::Write;

/// The `q` quantile (0..=1, nearest rank) of sorted microsecond latencies, in milliseconds.
pub(crate) fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1]) / 1000.0
}

/// The last two lines of a report: the command that reproduces the run, then `RESULT` and the
/// figures as one line of JSON (`bench/lib.sh` collects it).
pub(crate) fn write_closing(
    out: &mut dyn Write,
    command: &str,
    result: &serde_json::Value,
) -> std::io::Result<()> {
    writeln!(out, "  command             {command}")?;
    writeln!(out, "RESULT {result}")
}
