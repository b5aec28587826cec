//! Reading the codec's columns (`crate::codec`) from SQLite rows: the column lists a span or
//! log read selects and the matching `rusqlite::Row` readers.

use crate::codec::{LogColumns, SpanColumns};

/// The columns a span read selects, in the order [`read_span_columns`] expects.
pub const SPAN_SELECT: &str =
    "trace_id, span_id, parent_span_id, start_ns, duration_ns, kind, name, \
     status, service, agent, provider, model, request_model, input_tokens, output_tokens, total_tokens, \
     cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nano_usd, user_id, session_id, \
     tenant_id, operation, resource_hash, detail";

/// How many columns [`SPAN_SELECT`] lists (a payload selected after them is at this index).
pub const SPAN_SELECT_LEN: usize = 26;

/// Reads the [`SPAN_SELECT`] columns starting at `at`, plus the payload at `payload_at` when
/// given. Returns the columns and the span's resource hash.
pub fn read_span_columns(
    r: &rusqlite::Row<'_>,
    at: usize,
    payload_at: Option<usize>,
) -> rusqlite::Result<(SpanColumns, i64)> {
    Ok((
        SpanColumns {
            trace_id: r.get(at)?,
            span_id: r.get(at + 1)?,
            parent_span_id: r.get(at + 2)?,
            start_ns: r.get(at + 3)?,
            duration_ns: r.get(at + 4)?,
            kind: r.get(at + 5)?,
            name: r.get(at + 6)?,
            status: r.get(at + 7)?,
            service: r.get(at + 8)?,
            agent: r.get(at + 9)?,
            provider: r.get(at + 10)?,
            model: r.get(at + 11)?,
            request_model: r.get(at + 12)?,
            tokens: [
                r.get(at + 13)?,
                r.get(at + 14)?,
                r.get(at + 15)?,
                r.get(at + 16)?,
                r.get(at + 17)?,
                r.get(at + 18)?,
            ],
            cost_nano_usd: r.get(at + 19)?,
            user_id: r.get(at + 20)?,
            session_id: r.get(at + 21)?,
            tenant_id: r.get(at + 22)?,
            operation: r.get(at + 23)?,
            detail: r.get(at + 25)?,
            payload: match payload_at {
                Some(i) => r.get(i)?,
                None => None,
            },
        },
        r.get(at + 24)?,
    ))
}

/// The columns a log read selects, in the order [`read_log_columns`] expects.
pub const LOG_SELECT: &str = "time_ns, trace_id, span_id, severity, severity_text, service, \
     session_id, agent, body, resource_hash, detail";

/// Reads the [`LOG_SELECT`] columns starting at `at`; returns them and the resource hash.
pub fn read_log_columns(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<(LogColumns, i64)> {
    Ok((
        LogColumns {
            time_ns: r.get(at)?,
            trace_id: r.get(at + 1)?,
            span_id: r.get(at + 2)?,
            severity: r.get(at + 3)?,
            severity_text: r.get(at + 4)?,
            service: r.get(at + 5)?,
            session_id: r.get(at + 6)?,
            agent: r.get(at + 7)?,
            body: r.get(at + 8)?,
            detail: r.get(at + 10)?,
        },
        r.get(at + 9)?,
    ))
}
