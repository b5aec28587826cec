//! Short text forms of the values the views show: times, durations, tokens, money, ids,
//! payloads and failures. Everything is plain text (no colour) and deterministic.

use serde_json::Value as Json;
use sightline_core::time::format_rfc3339;
use sightline_core::{Message, Payload, Usage};
use sightline_server::api::shapes::Observation;

/// The marker for failures, everywhere.
pub const ERROR_MARK: &str = "✗";

/// `2026-11-21 10:00:00` (UTC).
pub fn time(ns: i64) -> String {
    format_rfc3339(ns)
        .get(..19)
        .unwrap_or_default()
        .replace('T', " ")
}

/// `2026-11-21 10:00:00.123` (UTC).
pub fn time_ms(ns: i64) -> String {
    format_rfc3339(ns)
        .get(..23)
        .unwrap_or_default()
        .replace('T', " ")
}

/// `850us`, `12ms`, `1.25s`, `2m05s`, `1h02m`.
pub fn duration(ns: i64) -> String {
    let ns = ns.max(0);
    if ns < 1_000_000 {
        return format!("{}us", ns / 1_000);
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", ns / 1_000_000);
    }
    if ns < 60_000_000_000 {
        let cs = ns / 10_000_000; // hundredths of a second
        return format!("{}.{:02}s", cs / 100, cs % 100);
    }
    let secs = ns / 1_000_000_000;
    if secs < 3600 {
        return format!("{}m{:02}s", secs / 60, secs % 60);
    }
    format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
}

/// `1 trace`, `2 traces`.
pub fn count(n: i64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `950`, `1.2k`, `3.4M`.
pub fn tokens(n: i64) -> String {
    if n.abs() < 1_000 {
        return n.to_string();
    }
    if n.abs() < 1_000_000 {
        return format!("{}.{}k", n / 1_000, (n % 1_000).abs() / 100);
    }
    format!("{}.{}M", n / 1_000_000, (n % 1_000_000).abs() / 100_000)
}

/// Tokens, or `-` when there are none.
pub fn tokens_or_dash(n: i64) -> String {
    if n == 0 {
        "-".to_string()
    } else {
        tokens(n)
    }
}

/// Nano-USD as dollars: `$12.34` from a dollar up, else six decimals without trailing zeros
/// (`$0.0012`), and `<$0.000001` below that.
pub fn cost(nano: i64) -> String {
    sightline_core::money::usd_display(nano)
}

/// The cost when known, else `-`.
pub fn cost_or_dash(nano: Option<i64>) -> String {
    nano.map(cost).unwrap_or_else(|| "-".to_string())
}

/// The first 8 hex digits of an id.
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// Whitespace runs (newlines too) collapsed to one space, cut to `max` characters with `…`.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
            count += 1;
        }
        out.push_str(word);
        count += word.chars().count();
    }
    if count <= max {
        return out;
    }
    let mut cut: String = out.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A JSON value as text: strings as they are, anything else as compact JSON.
pub fn value_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A payload as one text: messages as `role: content`, joined with ` | `; a value as text.
pub fn payload_text(p: &Payload) -> String {
    match p {
        Payload::Messages(messages) => messages
            .iter()
            .map(|m| format!("{}: {}", m.role, message_body(m)))
            .collect::<Vec<_>>()
            .join(" | "),
        Payload::Value(v) => value_text(v),
    }
}

/// A message's text, else its tool calls as `name(args)`, else its other parts as JSON.
fn message_body(m: &Message) -> String {
    if let Some(c) = &m.content {
        return c.clone();
    }
    if !m.tool_calls.is_empty() {
        return m
            .tool_calls
            .iter()
            .map(|c| match &c.arguments {
                Json::Null => format!("{}()", c.name),
                args => format!("{}({})", c.name, value_text(args)),
            })
            .collect::<Vec<_>>()
            .join(", ");
    }
    if m.parts.is_empty() {
        String::new()
    } else {
        Json::Array(m.parts.clone()).to_string()
    }
}

/// What a turn of a conversation said: the last message with `role` (else the last message)
/// of a message list, or the value.
pub fn turn_text(p: &Payload, role: &str) -> String {
    match p {
        Payload::Messages(messages) => messages
            .iter()
            .rev()
            .find(|m| m.role == role)
            .or(messages.last())
            .map(message_body)
            .unwrap_or_default(),
        Payload::Value(v) => value_text(v),
    }
}

/// The total, else input plus output when either is known.
pub fn usage_total(u: &Usage) -> Option<i64> {
    u.total.or(match (u.input, u.output) {
        (None, None) => None,
        (i, o) => Some(i.unwrap_or(0) + o.unwrap_or(0)),
    })
}

/// `Type: message` of the failure, or `None` when the step did not fail.
pub fn error_text(o: &Observation) -> Option<String> {
    let err = o.error.as_ref();
    if !o.is_error && err.is_none() {
        return None;
    }
    let ty = err.and_then(|e| e.error_type.as_deref());
    let msg = err
        .and_then(|e| e.message.as_deref())
        .or(o.status_message.as_deref());
    Some(match (ty, msg) {
        (Some(t), Some(m)) => format!("{t}: {m}"),
        (Some(t), None) => t.to_string(),
        (None, Some(m)) => m.to_string(),
        (None, None) => "failed".to_string(),
    })
}

/// The level name of an OpenTelemetry severity number (1-24), `-` when unset.
pub fn level(number: i32, text: Option<&str>) -> String {
    if let Some(t) = text.filter(|t| !t.is_empty()) {
        return t.to_uppercase();
    }
    sightline_core::model::severity_level(number)
        .map(str::to_uppercase)
        .unwrap_or_else(|| "-".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations() {
        for (ns, want) in [
            (0, "0us"),
            (850_000, "850us"),
            (12_300_000, "12ms"),
            (1_254_000_000, "1.25s"),
            (125_000_000_000, "2m05s"),
            (3_720_000_000_000, "1h02m"),
            (-5, "0us"),
        ] {
            assert_eq!(duration(ns), want, "{ns}");
        }
    }

    #[test]
    fn token_counts() {
        for (n, want) in [(950, "950"), (1_250, "1.2k"), (3_456_789, "3.4M")] {
            assert_eq!(tokens(n), want);
        }
        assert_eq!(tokens_or_dash(0), "-");
        assert_eq!(count(1, "trace"), "1 trace");
        assert_eq!(count(0, "error"), "0 errors");
    }

    #[test]
    fn times_are_utc() {
        let ns = 1_700_000_000_123_456_789;
        assert_eq!(time(ns), "2023-11-14 22:13:20");
        assert_eq!(time_ms(ns), "2023-11-14 22:13:20.123");
    }

    #[test]
    fn one_line_collapses_and_truncates() {
        assert_eq!(one_line("a\n  b\tc", 10), "a b c");
        assert_eq!(one_line("abcdefghij", 5), "abcd…");
        assert_eq!(one_line("héllo wörld", 11), "héllo wörld");
    }

    #[test]
    fn payloads_as_text() {
        let payload = |v: Json| -> Payload { serde_json::from_value(v).unwrap() };
        let msgs = payload(json!({"messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [{"name": "search", "arguments": {"q": "x"}}]},
            {"role": "tool", "tool_calls": [{"name": "now"}]},
            {"role": "user", "parts": [{"type": "image"}]}
        ]}));
        assert_eq!(
            payload_text(&msgs),
            r#"system: be brief | user: hi | assistant: search({"q":"x"}) | tool: now() | user: [{"type":"image"}]"#
        );
        assert_eq!(turn_text(&msgs, "system"), "be brief");
        assert_eq!(turn_text(&msgs, "assistant"), r#"search({"q":"x"})"#);
        assert_eq!(turn_text(&msgs, "critic"), r#"[{"type":"image"}]"#);
        assert_eq!(payload_text(&payload(json!({"value": "plain"}))), "plain");
        assert_eq!(
            payload_text(&payload(json!({"value": {"a": 1}}))),
            r#"{"a":1}"#
        );
    }

    #[test]
    fn levels() {
        assert_eq!(level(13, None), "WARN");
        assert_eq!(level(9, Some("info")), "INFO");
        assert_eq!(level(0, None), "-");
    }
}
