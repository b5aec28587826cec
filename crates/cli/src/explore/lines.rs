//! Line-oriented views: a session as a conversation, and one line per live-stream event.

use sightline_server::api::shapes::{Log, Observation, SessionDetail, StreamEvent, TraceSummary};

use super::fmt;
use super::table::log_body;

/// Characters of a turn's input or output.
const TURN_CHARS: usize = 400;

/// Summary parts shared by sessions and turns: tokens, cost, errors.
fn usage_parts(total_tokens: i64, cost: Option<i64>, errors: i64) -> Vec<String> {
    let mut parts = Vec::new();
    if total_tokens > 0 {
        parts.push(format!("{} tokens", fmt::tokens(total_tokens)));
    }
    if let Some(c) = cost {
        parts.push(fmt::cost(c));
    }
    if errors > 0 {
        parts.push(format!(
            "{} {}",
            fmt::ERROR_MARK,
            fmt::count(errors, "error")
        ));
    }
    parts
}

/// The session: a summary, then each trace as a turn, oldest first: `>` its input, `<` its
/// output.
pub fn session(d: &SessionDetail) -> String {
    let s = &d.session;
    let mut out = format!("session {}\n", s.session_id);
    let mut parts = vec![
        fmt::count(s.trace_count, "trace"),
        fmt::count(s.span_count, "span"),
    ];
    parts.extend(usage_parts(s.total_tokens, s.cost_nano_usd, s.error_count));
    if !s.user_ids.is_empty() {
        parts.push(format!("users {}", s.user_ids.join(",")));
    }
    out.push_str(&parts.join("  "));
    out.push('\n');
    out.push_str(&format!(
        "{} .. {} ({})\n",
        fmt::time(s.first_seen_ns),
        fmt::time(s.last_seen_ns),
        fmt::duration(s.last_seen_ns - s.first_seen_ns)
    ));
    for (i, turn) in d.traces.iter().enumerate() {
        out.push('\n');
        out.push_str(&format!("[{}] {}\n", i + 1, turn_header(&turn.trace)));
        let input = turn.input.as_ref().map(|v| fmt::turn_text(v, "user"));
        let output = turn.output.as_ref().map(|v| fmt::turn_text(v, "assistant"));
        out.push_str(&format!(
            "    > {}\n",
            input
                .map(|t| fmt::one_line(&t, TURN_CHARS))
                .unwrap_or("(no input)".into())
        ));
        out.push_str(&format!(
            "    < {}\n",
            output
                .map(|t| fmt::one_line(&t, TURN_CHARS))
                .unwrap_or("(no output)".into())
        ));
    }
    if d.traces.is_empty() {
        out.push_str("\nno traces\n");
    }
    out
}

fn turn_header(t: &TraceSummary) -> String {
    let mut parts = vec![
        fmt::time(t.start_ns),
        t.trace_id.clone(),
        fmt::one_line(t.root_name.as_deref().unwrap_or("(no root)"), 60),
        fmt::duration(t.duration_ns),
    ];
    parts.extend(usage_parts(t.total_tokens, t.cost_nano_usd, t.error_count));
    parts.join("  ")
}

/// One line for a live-stream event, or `None` for event types this view does not show.
/// Data that does not parse is shown as it came.
pub fn event_line(event: &str, data: &str) -> Option<String> {
    match StreamEvent::parse(event, data)? {
        Ok(StreamEvent::Observation(o)) => Some(observation_line(&o)),
        Ok(StreamEvent::Log(l)) => Some(log_line(&l)),
        // `tail` ends on `dropped` before it shows anything.
        Ok(StreamEvent::Dropped(_)) => None,
        Err(_) => Some(format!("{event} {data}")),
    }
}

/// `time  kind  name  (service)  model  duration  tokens  trace id  ✗ error`.
pub fn observation_line(o: &Observation) -> String {
    let mut parts = vec![
        fmt::time_ms(o.start_ns),
        format!("{:<9}", o.kind.as_str()),
        fmt::one_line(&o.name, 60),
    ];
    if let Some(s) = &o.service_name {
        parts.push(format!("({s})"));
    }
    if let Some(m) = &o.model {
        parts.push(m.clone());
    }
    parts.push(fmt::duration(o.duration_ns));
    if let Some(t) = fmt::usage_total(&o.usage) {
        parts.push(format!("{} tokens", fmt::tokens(t)));
    }
    parts.push(format!("trace {}", fmt::short_id(&o.trace_id)));
    if let Some(e) = fmt::error_text(o) {
        parts.push(format!("{} {}", fmt::ERROR_MARK, fmt::one_line(&e, 160)));
    }
    parts.join("  ")
}

/// `time  log LEVEL  body  (service)  trace id`.
pub fn log_line(l: &Log) -> String {
    let mut parts = vec![
        fmt::time_ms(l.time_ns),
        format!(
            "log {:<5}",
            fmt::level(l.severity_number, l.severity_text.as_deref())
        ),
        fmt::one_line(&log_body(l), 200),
    ];
    if let Some(s) = &l.service_name {
        parts.push(format!("({s})"));
    }
    if let Some(t) = &l.trace_id {
        parts.push(format!("trace {}", fmt::short_id(t)));
    }
    parts.join("  ")
}
