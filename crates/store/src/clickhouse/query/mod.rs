//! The explore read contracts on ClickHouse: trace and observation lists, sessions, logs,
//! metrics and the change feed, one file each. This file holds what they share: the search
//! columns the writer fills (schema 4), SQL predicates for the filters and keyset positions.
//!
//! A span retried before a merge may be stored twice: every read keeps one row per
//! (trace, span) with `LIMIT 1 BY trace_id, span_id` (duplicates hold the same values but
//! `seq`). Attribute, tag and text filters run on the schema-4 columns, so rows written before
//! that migration match none of them.

mod feed;
mod logs;
mod metrics;
mod observations;
mod sessions;
mod traces;

use serde_json::Value as Json;
use sightline_core::value::attributes_to_json;
use sightline_core::{Observation, Payload};

use super::rowbinary::{bin, quote};
use crate::sqlite::rows::kind_code;
use crate::{LogFilter, ObservationFilter, StatusFilter};

pub(crate) use feed::{feed, feed_head};
pub(crate) use logs::list_logs;
pub(crate) use metrics::metrics;
pub(crate) use observations::list_observations;
pub(crate) use sessions::{list_sessions, session};
pub(crate) use traces::list_traces;

/// What the writer stores for filters ClickHouse cannot run on the zstd blobs.
pub(crate) struct SearchColumns {
    pub attr_keys: Vec<String>,
    /// Each value rendered as text: strings as they are, anything else as JSON.
    pub attr_values: Vec<String>,
    /// The lowercase name and every string (and number) of the input and output, separated by
    /// NUL so a needle never matches across two of them.
    pub text: String,
}

impl SearchColumns {
    pub fn of(o: &Observation) -> Self {
        let (mut attr_keys, mut attr_values) = (Vec::new(), Vec::new());
        if let Json::Object(map) = attributes_to_json(&o.attributes) {
            for (k, v) in map {
                attr_values.push(match v {
                    Json::String(s) => s,
                    other => other.to_string(),
                });
                attr_keys.push(k);
            }
        }
        let mut parts = vec![o.name.to_lowercase()];
        for p in [&o.input, &o.output].into_iter().flatten() {
            payload_strings(p, &mut parts);
        }
        SearchColumns {
            attr_keys,
            attr_values,
            text: parts.join("\0"),
        }
    }
}

/// The lowercase text a payload is searched by (what the SQLite engine's text filter reads:
/// message contents, parts, tool-call names and arguments; values' strings and numbers).
fn payload_strings(p: &Payload, out: &mut Vec<String>) {
    match p {
        Payload::Value(v) => json_strings(v, out),
        Payload::Messages(messages) => {
            for m in messages {
                if let Some(c) = &m.content {
                    out.push(c.to_lowercase());
                }
                for part in &m.parts {
                    json_strings(part, out);
                }
                for call in &m.tool_calls {
                    out.push(call.name.to_lowercase());
                    json_strings(&call.arguments, out);
                }
            }
        }
    }
}

fn json_strings(v: &Json, out: &mut Vec<String>) {
    match v {
        Json::String(s) => out.push(s.to_lowercase()),
        Json::Number(n) => out.push(n.to_string()),
        Json::Array(a) => a.iter().for_each(|x| json_strings(x, out)),
        Json::Object(o) => o.values().for_each(|x| json_strings(x, out)),
        Json::Bool(_) | Json::Null => {}
    }
}

/// A nanosecond literal for the UInt64 time columns (negative times are stored as 0).
fn ns(v: i64) -> String {
    v.max(0).to_string()
}

/// Which fields of an [`ObservationFilter`] a predicate covers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Fields {
    All,
    /// Everything but the time window, trace id, status and minimum duration: what the trace
    /// list asks of "one observation of the trace".
    PerObservation,
}

/// Predicates on `spans` for `f`, joined with AND (`1` when none).
pub(super) fn span_predicates(f: &ObservationFilter, fields: Fields) -> String {
    let mut w: Vec<String> = Vec::new();
    if fields == Fields::All {
        if let Some(from) = f.from_ns {
            w.push(format!("start_ns >= {}", ns(from)));
        }
        if let Some(to) = f.to_ns {
            w.push(format!("start_ns < {}", ns(to)));
        }
        if let Some(t) = &f.trace_id {
            w.push(format!("trace_id = {}", bin(&t.0)));
        }
        match f.status {
            StatusFilter::Any => {}
            StatusFilter::Error => w.push("is_error = 1".into()),
            StatusFilter::Ok => w.push("is_error = 0".into()),
        }
        if let Some(d) = f.min_duration_ns {
            w.push(format!("duration_ns >= {d}"));
        }
    }
    if let Some(k) = f.kind {
        w.push(format!("kind = {}", kind_code(k)));
    }
    for (column, value) in [
        ("name", &f.name),
        ("service", &f.service),
        ("agent", &f.agent),
        ("model", &f.model),
        ("provider", &f.provider),
        ("user_id", &f.user_id),
        ("session_id", &f.session_id),
        ("tenant_id", &f.tenant_id),
    ] {
        if let Some(v) = value {
            w.push(format!("{column} = {}", quote(v)));
        }
    }
    for (k, v) in &f.attributes {
        w.push(format!(
            "arrayExists((k, v) -> k = {} AND v = {}, attr_keys, attr_values)",
            quote(k),
            quote(v)
        ));
    }
    for t in &f.tags {
        w.push(format!("has(tags, {})", quote(t)));
    }
    if let Some(q) = &f.text {
        w.push(format!(
            "position(search_text, {}) > 0",
            quote(&q.to_lowercase())
        ));
    }
    and(w)
}

/// Whether `f` sets any field that the trace list tests on single observations.
pub(super) fn has_per_observation_fields(f: &ObservationFilter) -> bool {
    span_predicates(f, Fields::PerObservation) != "1"
}

/// Predicates on `logs` for `f`.
pub(super) fn log_predicates(f: &LogFilter) -> String {
    let mut w: Vec<String> = Vec::new();
    if let Some(from) = f.from_ns {
        w.push(format!("time_ns >= {}", ns(from)));
    }
    if let Some(to) = f.to_ns {
        w.push(format!("time_ns < {}", ns(to)));
    }
    if let Some(s) = f.min_severity {
        w.push(format!("severity >= {s}"));
    }
    for (column, value) in [
        ("service", &f.service),
        ("agent", &f.agent),
        ("session_id", &f.session_id),
    ] {
        if let Some(v) = value {
            w.push(format!("{column} = {}", quote(v)));
        }
    }
    if let Some(t) = &f.trace_id {
        w.push(format!("trace_id = {}", bin(&t.0)));
    }
    if let Some(q) = &f.text {
        w.push(format!(
            "positionCaseInsensitiveUTF8(ifNull(body, ''), {}) > 0",
            quote(q)
        ));
    }
    and(w)
}

fn and(w: Vec<String>) -> String {
    if w.is_empty() {
        "1".into()
    } else {
        w.join(" AND ")
    }
}

/// A keyset predicate: `(columns...)` strictly after `values` (SQL literals) in the given
/// direction, written out as OR-ed prefixes (18.16 has no tuple comparison). The first column
/// is also bounded alone so the scan can use it.
pub(super) fn after(columns: &[&str], values: &[String], descending: bool) -> String {
    let (op, lead) = if descending { ("<", "<=") } else { (">", ">=") };
    let mut alternatives = Vec::new();
    for i in 0..columns.len().min(values.len()) {
        let mut terms: Vec<String> = (0..i)
            .map(|j| format!("{} = {}", columns[j], values[j]))
            .collect();
        terms.push(format!("{} {op} {}", columns[i], values[i]));
        alternatives.push(format!("({})", terms.join(" AND ")));
    }
    match (columns.first(), values.first()) {
        (Some(c), Some(v)) => format!("{c} {lead} {v} AND ({})", alternatives.join(" OR ")),
        _ => "1".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_predicates_expand_to_prefixes() {
        assert_eq!(
            after(&["a", "b"], &["1".into(), "2".into()], true),
            "a <= 1 AND ((a < 1) OR (a = 1 AND b < 2))"
        );
    }

    #[test]
    fn search_columns_hold_attributes_and_lowercase_text() {
        let mut o = Observation::new(
            sightline_core::TraceId([1; 16]),
            sightline_core::SpanId([1; 8]),
            "Run".into(),
        );
        o.attributes = vec![
            ("n".into(), sightline_core::AttrValue::Int(2)),
            ("s".into(), sightline_core::AttrValue::Str("X".into())),
        ];
        o.output = Some(Payload::Value(serde_json::json!({"a": ["HeLLo", 5]})));
        let c = SearchColumns::of(&o);
        assert_eq!(c.attr_keys, ["n", "s"]);
        assert_eq!(c.attr_values, ["2", "X"]);
        assert_eq!(c.text, "run\u{0}hello\u{0}5");
    }
}
