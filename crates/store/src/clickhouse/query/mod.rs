//! The explore read contracts on ClickHouse: trace and observation lists, sessions, logs,
//! metrics and the change feed, one file each. This file holds what they share: SQL predicates
//! for the filters and keyset positions.
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

use super::rowbinary::{bin, quote};
use crate::codec::kind_code;
use crate::filter::{log_equalities, span_equalities, Fields, MODEL_COLUMNS};
use crate::{LogFilter, ObservationFilter, StatusFilter};

pub(crate) use feed::{feed, feed_head};
pub(crate) use logs::list_logs;
pub(crate) use metrics::metrics;
pub(crate) use observations::list_observations;
pub(crate) use sessions::{list_sessions, session};
pub(crate) use traces::list_traces;

/// A nanosecond literal for the UInt64 time columns (negative times are stored as 0).
fn ns(v: i64) -> String {
    v.max(0).to_string()
}

/// Predicates on `spans` for `f`, joined with AND (`1` when none): the fields SQLite's
/// `span_predicates` tests, as literals, with attributes, tags and text on the search columns.
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
    for (column, value) in span_equalities(f) {
        if let Some(v) = value {
            w.push(format!("{column} = {}", quote(v)));
        }
    }
    if let Some(m) = &f.model {
        let any = MODEL_COLUMNS
            .map(|c| format!("{c} = {}", quote(m)))
            .join(" OR ");
        w.push(format!("({any})"));
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
    for (column, value) in log_equalities(f) {
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
}
