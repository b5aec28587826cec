//! SQL predicates for the query filters: column tests first (index-friendly, cheap), blob tests
//! (`sl_detail`, `sl_text`) last, with their parameters in text order. Which column each
//! exact-match filter tests is shared with ClickHouse (`crate::filter`).

use rusqlite::types::Value;

use super::detail_spec;
use crate::codec::kind_code;
use crate::filter::{log_equalities, span_equalities, Fields, MODEL_COLUMNS};
use crate::{LogFilter, ObservationFilter, StatusFilter};

/// A conjunction of SQL predicates and the values of their `?` placeholders, in text order.
#[derive(Default)]
pub(super) struct Where {
    clauses: Vec<String>,
    pub params: Vec<Value>,
}

impl Where {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `clause`, whose `?` placeholders take `values` in order.
    pub fn push(&mut self, clause: impl Into<String>, values: impl IntoIterator<Item = Value>) {
        self.clauses.push(clause.into());
        self.params.extend(values);
    }

    /// Appends another conjunction's predicates and values.
    pub fn extend(&mut self, other: Where) {
        self.clauses.extend(other.clauses);
        self.params.extend(other.params);
    }

    /// The predicates joined with AND (`1` when there are none).
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1".into()
        } else {
            self.clauses.join(" AND ")
        }
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// Predicates on the `spans` columns (prefixed with `alias`) for `f`. ClickHouse's
/// `span_predicates` tests the same fields; the two differ only in SQL (bound values here, and
/// attribute, tag and text tests on the blobs rather than on search columns).
pub(super) fn span_predicates(f: &ObservationFilter, alias: &str, fields: Fields) -> Where {
    let mut w = Where::new();
    let col = |c: &str| format!("{alias}{c}");
    if fields == Fields::All {
        if let Some(from) = f.from_ns {
            w.push(format!("{} >= ?", col("start_ns")), [Value::Integer(from)]);
        }
        if let Some(to) = f.to_ns {
            w.push(format!("{} < ?", col("start_ns")), [Value::Integer(to)]);
        }
        if let Some(t) = &f.trace_id {
            w.push(
                format!("{} = ?", col("trace_id")),
                [Value::Blob(t.0.to_vec())],
            );
        }
        match f.status {
            StatusFilter::Any => {}
            StatusFilter::Error => w.push(format!("{} = 1", col("is_error")), []),
            StatusFilter::Ok => w.push(format!("{} = 0", col("is_error")), []),
        }
        if let Some(d) = f.min_duration_ns {
            w.push(format!("{} >= ?", col("duration_ns")), [Value::Integer(d)]);
        }
    }
    if let Some(k) = f.kind {
        w.push(
            format!("{} = ?", col("kind")),
            [Value::Integer(kind_code(k))],
        );
    }
    for (column, value) in span_equalities(f) {
        if let Some(v) = value {
            w.push(format!("{} = ?", col(column)), [text(v)]);
        }
    }
    if let Some(m) = &f.model {
        let any = MODEL_COLUMNS
            .map(|c| format!("{} = ?", col(c)))
            .join(" OR ");
        w.push(format!("({any})"), MODEL_COLUMNS.map(|_| text(m)));
    }
    if let Some(spec) = detail_spec(&f.attributes, &f.tags) {
        w.push(
            format!("sl_detail({}, ?)", col("detail")),
            [Value::Text(spec)],
        );
    }
    if let Some(q) = &f.text {
        w.push(
            format!("sl_text({}, {}, ?)", col("name"), col("payload")),
            [text(q)],
        );
    }
    w
}

/// Predicates on the `logs` columns for `f`.
pub(super) fn log_predicates(f: &LogFilter) -> Where {
    let mut w = Where::new();
    if let Some(from) = f.from_ns {
        w.push("time_ns >= ?", [Value::Integer(from)]);
    }
    if let Some(to) = f.to_ns {
        w.push("time_ns < ?", [Value::Integer(to)]);
    }
    if let Some(s) = f.min_severity {
        w.push("severity >= ?", [Value::Integer(i64::from(s))]);
    }
    for (column, value) in log_equalities(f) {
        if let Some(v) = value {
            w.push(format!("{column} = ?"), [text(v)]);
        }
    }
    if let Some(t) = &f.trace_id {
        w.push("trace_id = ?", [Value::Blob(t.0.to_vec())]);
    }
    if let Some(q) = &f.text {
        w.push("sl_icontains(body, ?)", [text(q)]);
    }
    w
}

/// A keyset predicate: the row's `(columns...)` is strictly after `values` in the given
/// direction. The first column is also bounded alone so an index on it can seek. (ClickHouse
/// writes the same test as OR-ed prefixes: 18.16 has no tuple comparison.)
pub(super) fn after(columns: &[&str], values: Vec<Value>, descending: bool) -> Where {
    let op = if descending { "<" } else { ">" };
    let lead = if descending { "<=" } else { ">=" };
    let mut w = Where::new();
    if let (Some(first), Some(v)) = (columns.first(), values.first()) {
        w.push(format!("{first} {lead} ?"), [v.clone()]);
    }
    w.push(
        format!(
            "({}) {op} ({})",
            columns.join(", "),
            vec!["?"; values.len()].join(", ")
        ),
        values,
    );
    w
}
