//! Read contracts for exploring stored telemetry: filters, keyset pages, sessions, logs,
//! metrics and the change feed behind the live stream. Every call is scoped to one project.
//! Engines implement the traits in `lib.rs`; the server turns HTTP parameters into these types.

use sightline_core::{LogRecord, Observation, ObservationKind, Payload, Resource, TraceId};

use crate::TraceSummary;

/// Whether an observation (or a trace) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    Any,
    /// Only failures (status error, or an error recorded on the span).
    Error,
    /// Only non-failures.
    Ok,
}

/// Filters on observations. Every filter that is set must hold (AND). Strings match exactly,
/// except `text`. Used by the observation list, metrics and the change feed as is; the trace
/// list applies it as described on [`TraceQuery`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservationFilter {
    /// Start time at or after this (UTC ns).
    pub from_ns: Option<i64>,
    /// Start time before this (UTC ns).
    pub to_ns: Option<i64>,
    pub trace_id: Option<TraceId>,
    pub kind: Option<ObservationKind>,
    /// The observation's name.
    pub name: Option<String>,
    /// `service.name`.
    pub service: Option<String>,
    /// The agent name.
    pub agent: Option<String>,
    /// A model as people name it: matches the requested model, the answered model, or the
    /// family of the model (`sightline_core::model_name::model_matches`), so `gpt-4o` matches
    /// `gpt-4o-2024-08-06` and not `gpt-4o-mini`.
    pub model: Option<String>,
    pub provider: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub tenant_id: Option<String>,
    pub status: StatusFilter,
    /// Duration at least this (ns).
    pub min_duration_ns: Option<i64>,
    /// Each (key, value) must be an attribute of the observation whose value, rendered as
    /// text (strings as is, numbers and booleans as JSON), equals `value`.
    pub attributes: Vec<(String, String)>,
    /// Each tag must be among the observation's tags.
    pub tags: Vec<String>,
    /// Case-insensitive substring of the name, the input or the output.
    pub text: Option<String>,
}

/// How the trace list is ordered. Ties break on trace id in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceSort {
    /// The trace's start (earliest observation start).
    #[default]
    Start,
    /// End minus start.
    Duration,
    /// Total tokens.
    Tokens,
    /// Known cost; traces without a known cost sort as -1.
    Cost,
}

/// A position in a keyset-paginated trace list: the last row's sort value and trace id.
/// The server wraps it in an opaque cursor bound to the project and the sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceCursor {
    pub sort_value: i64,
    pub trace_id: TraceId,
}

/// A trace list query.
///
/// A trace is listed when:
/// - its start is within `[filter.from_ns, filter.to_ns)`;
/// - its duration is at least `filter.min_duration_ns`;
/// - `filter.status` holds for the trace (`Error`: at least one failed observation;
///   `Ok`: none);
/// - `filter.trace_id`, if set, is its id;
/// - and, when any other field of the filter is set, at least one of its observations matches
///   all of those other fields together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceQuery {
    pub filter: ObservationFilter,
    pub sort: TraceSort,
    /// Descending when true (the default order of the API).
    pub descending: bool,
    /// At most this many traces (the server caps it).
    pub limit: usize,
    /// Continue after this position (exclusive).
    pub after: Option<TraceCursor>,
}

/// A page of traces; `next` is set when more may follow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TracePage {
    pub traces: Vec<TraceSummary>,
    pub next: Option<TraceCursor>,
}

/// The leading hex digits of a trace id (1 to 32, as `sightline traces` prints 8 of them):
/// every id from `low` to `high`, both included, starts with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceIdPrefix {
    pub low: [u8; 16],
    pub high: [u8; 16],
}

impl TraceIdPrefix {
    /// `None` unless `hex` is 1 to 32 hex digits (either case).
    pub fn parse(hex: &str) -> Option<TraceIdPrefix> {
        if hex.is_empty() || hex.len() > 32 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let bound = |fill: char| -> Option<[u8; 16]> {
            let full: String = hex
                .chars()
                .chain(std::iter::repeat(fill))
                .take(32)
                .collect();
            let mut out = [0u8; 16];
            for (i, byte) in out.iter_mut().enumerate() {
                *byte = u8::from_str_radix(full.get(2 * i..2 * i + 2)?, 16).ok()?;
            }
            Some(out)
        };
        Some(TraceIdPrefix {
            low: bound('0')?,
            high: bound('f')?,
        })
    }
}

/// A position in the observation list: the last row's (start, trace id, span id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObservationCursor {
    pub start_ns: i64,
    pub trace_id: TraceId,
    pub span_id: sightline_core::SpanId,
}

/// An observation list query, ordered by (start, trace id, span id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservationQuery {
    pub filter: ObservationFilter,
    pub descending: bool,
    pub limit: usize,
    pub after: Option<ObservationCursor>,
    /// Decode input/output too; without it they are `None` (cheaper).
    pub payloads: bool,
}

/// Observations with the resources they point into (by `resource_index`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservationPage {
    pub resources: Vec<Resource>,
    pub observations: Vec<Observation>,
    pub next: Option<ObservationCursor>,
}

/// Filters on sessions (observations that carry a session id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionQuery {
    /// Sessions last seen at or after this.
    pub from_ns: Option<i64>,
    /// Sessions first seen before this.
    pub to_ns: Option<i64>,
    /// Sessions with at least one trace of this user.
    pub user_id: Option<String>,
    pub tenant_id: Option<String>,
    pub limit: usize,
    /// Ordered by last seen, most recent first; continue after this position.
    pub after: Option<SessionCursor>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCursor {
    pub last_seen_ns: i64,
    pub session_id: String,
}

/// A session's aggregates over its traces.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SessionSummary {
    pub session_id: String,
    /// Earliest trace start.
    pub first_seen_ns: i64,
    /// Latest trace end.
    pub last_seen_ns: i64,
    pub trace_count: i64,
    pub span_count: i64,
    pub error_count: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    /// Sum of the known costs, `None` when no trace has one.
    pub cost_nano_usd: Option<i64>,
    /// Distinct user ids seen in the session, sorted.
    pub user_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionPage {
    pub sessions: Vec<SessionSummary>,
    pub next: Option<SessionCursor>,
}

/// One trace of a session, as a turn of the conversation: the input of its root observation
/// (or, without a root or when the root has neither input nor output, of its earliest
/// observation that has one) and the output of the same.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionTurn {
    pub trace: TraceSummary,
    pub input: Option<Payload>,
    pub output: Option<Payload>,
}

/// A session and its traces in start order (oldest first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionDetail {
    pub summary: SessionSummary,
    pub turns: Vec<SessionTurn>,
}

/// Filters on logs. Every filter that is set must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFilter {
    /// Time at or after this (UTC ns).
    pub from_ns: Option<i64>,
    /// Time before this.
    pub to_ns: Option<i64>,
    /// Severity number at least this (OTel: 5 debug, 9 info, 13 warn, 17 error, 21 fatal).
    pub min_severity: Option<i32>,
    pub service: Option<String>,
    pub agent: Option<String>,
    pub trace_id: Option<TraceId>,
    pub session_id: Option<String>,
    /// Case-insensitive substring of the body.
    pub text: Option<String>,
}

/// A position in the log list: the last row's time and store id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogCursor {
    pub time_ns: i64,
    pub id: i64,
}

/// A log search, ordered by (time, id).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    pub filter: LogFilter,
    pub descending: bool,
    pub limit: usize,
    pub after: Option<LogCursor>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogPage {
    pub resources: Vec<Resource>,
    pub logs: Vec<LogRecord>,
    pub next: Option<LogCursor>,
}

/// What a metrics series is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Service,
    Agent,
    Model,
    Provider,
    /// The GenAI operation (`chat`, `embeddings`, `execute_tool`, ...).
    Operation,
    Kind,
}

/// Time-bucketed aggregates of the observations matching `filter` within `[from_ns, to_ns)`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsQuery {
    pub filter: ObservationFilter,
    pub from_ns: i64,
    pub to_ns: i64,
    /// Bucket width; buckets start at multiples of it since the Unix epoch.
    pub bucket_ns: i64,
    pub group_by: Option<GroupBy>,
}

/// One bucket of one group. Latency percentiles are nearest-rank over the durations. Like trace
/// summaries, tokens and cost count llm and embedding observations only (agent spans often
/// repeat their children's usage); `total_tokens` falls back to input + output.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MetricPoint {
    pub bucket_start_ns: i64,
    /// The group's value; `None` for "no value" (or when not grouped).
    pub group: Option<String>,
    pub requests: i64,
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    pub latency_p50_ns: i64,
    pub latency_p95_ns: i64,
    pub latency_p99_ns: i64,
    /// Sum of the known costs; `None` when none is known.
    pub cost_nano_usd: Option<i64>,
}

/// Non-empty buckets only, ordered by (group, bucket start).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsResult {
    pub points: Vec<MetricPoint>,
}

/// A position in a project's change feed: everything stored up to here has been seen.
/// Positions only grow; engines choose what the numbers mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeedPosition {
    pub observations: i64,
    pub logs: i64,
}

/// What the change feed should return.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedQuery {
    pub after: FeedPosition,
    /// Observations matching this (payloads are never read).
    pub observations: Option<ObservationFilter>,
    /// Logs matching this.
    pub logs: Option<LogFilter>,
    /// At most this many observations and this many logs.
    pub limit: usize,
}

/// New data after a position, in storage order. `position` is where to continue from: it
/// moves past rows the filters skipped too, so a caller never scans them twice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedBatch {
    pub resources: Vec<Resource>,
    /// (position of this observation, observation).
    pub observations: Vec<(i64, Observation)>,
    pub logs: Vec<(i64, LogRecord)>,
    pub position: FeedPosition,
    /// More rows may be waiting past `position`.
    pub more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_id_prefix_spans_every_id_starting_with_it() {
        let p = TraceIdPrefix::parse("aB3").unwrap();
        assert_eq!(p.low[..2], [0xab, 0x30]);
        assert_eq!(p.high[..2], [0xab, 0x3f]);
        assert!(p.low[2..].iter().all(|b| *b == 0) && p.high[2..].iter().all(|b| *b == 0xff));
        let whole = "0123456789abcdef0123456789abcdef";
        let p = TraceIdPrefix::parse(whole).unwrap();
        assert_eq!(p.low, p.high);
        for bad in ["", "xyz", "é", &format!("{whole}0")] {
            assert_eq!(TraceIdPrefix::parse(bad), None, "{bad:?}");
        }
    }
}
