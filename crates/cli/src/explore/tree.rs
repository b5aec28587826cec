//! The trace view: a header, then one row per observation in tree order (indented by depth)
//! with kind, model, tokens, duration and a timing bar, and under each row its error, its logs
//! and (when asked) its payloads.

use sightline_server::api::shapes::{Log, TraceTree, TreeObservation};

use super::fmt;
use super::table::{log_body, Align, Table};

/// Columns of the timing bar.
pub const BAR_WIDTH: usize = 30;
/// Characters of a payload shown under its observation.
const PAYLOAD_CHARS: usize = 240;
/// Characters of a log line's body.
const LOG_CHARS: usize = 160;

/// The trace as text. `payloads` adds input, output, tool arguments and results.
pub fn trace(d: &TraceTree, payloads: bool) -> String {
    let mut out = header(d);
    if d.observations.is_empty() {
        out.push_str("no observations: this trace is known only from its logs\n");
    } else {
        out.push('\n');
        out.push_str(&tree(d, payloads));
    }
    if !d.logs.is_empty() {
        out.push_str("\nlogs not attached to a span:\n");
        for l in &d.logs {
            out.push_str(&format!("  {}\n", log_line(l)));
        }
    }
    out
}

fn header(d: &TraceTree) -> String {
    let mut out = format!("trace {}\n", d.trace_id);
    let s = &d.summary;
    let mut parts = vec![
        s.root_name.clone().unwrap_or_else(|| "(no root)".into()),
        fmt::time(s.start_ns),
        fmt::duration(s.duration_ns),
        fmt::count(s.span_count, "span"),
    ];
    if let Some(svc) = &s.service_name {
        parts.insert(1, format!("service {svc}"));
    }
    if s.total_tokens > 0 {
        parts.push(format!(
            "{} tokens ({} in, {} out)",
            fmt::tokens(s.total_tokens),
            fmt::tokens(s.input_tokens),
            fmt::tokens(s.output_tokens)
        ));
    }
    if let Some(c) = s.cost_nano_usd {
        parts.push(fmt::cost(c));
    }
    if s.error_count > 0 {
        parts.push(format!(
            "{} {}",
            fmt::ERROR_MARK,
            fmt::count(s.error_count, "error")
        ));
    }
    out.push_str(&parts.join("  "));
    out.push('\n');
    if d.orphan_count > 0 {
        out.push_str(&format!(
            "{} orphan span(s): their parent never arrived\n",
            d.orphan_count
        ));
    }
    out
}

/// The trace's time range: the summary's, widened to cover every observation.
fn extent(d: &TraceTree) -> (i64, i64) {
    let starts = d.observations.iter().map(|o| o.observation.start_ns);
    let ends = d.observations.iter().map(|o| o.observation.end_ns);
    let t0 = starts.fold(d.summary.start_ns, i64::min);
    let t1 = ends.fold(d.summary.end_ns, i64::max);
    (t0, t1.max(t0))
}

/// `|   ████      |`: where `[start, end)` falls in `[t0, t1)`, `width` columns, at least one
/// column filled.
pub fn bar(start: i64, end: i64, t0: i64, t1: i64, width: usize) -> String {
    let w = width.max(1) as i128;
    let span = (i128::from(t1) - i128::from(t0)).max(1);
    let from = (i128::from(start) - i128::from(t0)) * w / span;
    let to = ((i128::from(end) - i128::from(t0)) * w + span - 1) / span;
    let a = from.clamp(0, w - 1);
    let b = to.clamp(a + 1, w);
    let cols = |n: i128| usize::try_from(n).unwrap_or(0);
    format!(
        "|{}{}{}|",
        " ".repeat(cols(a)),
        "█".repeat(cols(b - a)),
        " ".repeat(cols(w - b))
    )
}

fn tree(d: &TraceTree, payloads: bool) -> String {
    use Align::*;
    let (t0, t1) = extent(d);
    let mut t = Table::new(&[
        ("KIND", Left),
        ("NAME", Left),
        ("MODEL", Left),
        ("TOKENS", Right),
        ("DURATION", Right),
        ("TIMELINE", Left),
    ]);
    for o in &d.observations {
        let obs = &o.observation;
        t.row(vec![
            obs.kind.as_str().to_owned(),
            name_cell(o),
            obs.model.clone().unwrap_or_default(),
            fmt::usage_total(&obs.usage)
                .map(fmt::tokens)
                .unwrap_or_default(),
            fmt::duration(obs.duration_ns),
            bar(obs.start_ns, obs.end_ns, t0, t1, BAR_WIDTH),
        ]);
    }
    let kind_width = t.widths().first().copied().unwrap_or(0);
    let mut lines = t.lines().into_iter();
    let mut out = String::new();
    if let Some(h) = lines.next() {
        out.push_str(&h);
        out.push('\n');
    }
    for (o, line) in d.observations.iter().zip(lines) {
        out.push_str(&line);
        out.push('\n');
        let pad = " ".repeat(kind_width + 2 + 2 * o.depth + 2);
        for detail in details(o, payloads) {
            out.push_str(&pad);
            out.push_str(&detail);
            out.push('\n');
        }
    }
    out
}

fn name_cell(o: &TreeObservation) -> String {
    let name = fmt::one_line(&o.observation.name, 60);
    let mut cell = format!("{}{name}", "  ".repeat(o.depth));
    if o.orphan {
        cell.push_str(" [orphan]");
    }
    if fmt::error_text(&o.observation).is_some() {
        cell.push(' ');
        cell.push_str(fmt::ERROR_MARK);
    }
    cell
}

/// The lines under an observation's row.
fn details(o: &TreeObservation, payloads: bool) -> Vec<String> {
    let obs = &o.observation;
    let mut lines = Vec::new();
    if let Some(e) = fmt::error_text(obs) {
        lines.push(format!(
            "{} error: {}",
            fmt::ERROR_MARK,
            fmt::one_line(&e, PAYLOAD_CHARS)
        ));
    }
    if o.orphan {
        if let Some(p) = &obs.parent_span_id {
            lines.push(format!("orphan: parent span {p} never arrived"));
        }
    }
    if payloads {
        let fields = [
            ("input", obs.input.as_ref().map(fmt::payload_text)),
            ("output", obs.output.as_ref().map(fmt::payload_text)),
            (
                "arguments",
                obs.tool_arguments.as_ref().map(fmt::value_text),
            ),
            ("result", obs.tool_result.as_ref().map(fmt::value_text)),
        ];
        for (label, text) in fields {
            if let Some(text) = text {
                lines.push(format!("{label}: {}", fmt::one_line(&text, PAYLOAD_CHARS)));
            }
        }
    }
    for l in &o.logs {
        lines.push(log_line(l));
    }
    lines
}

/// `log 2026-11-21 10:00:00.123 WARN body`.
fn log_line(l: &Log) -> String {
    format!(
        "log {} {} {}",
        fmt::time_ms(l.time_ns),
        fmt::level(l.severity_number, l.severity_text.as_deref()),
        fmt::one_line(&log_body(l), LOG_CHARS)
    )
}
