//! Keyset pages, over-fetched by one: a list reads [`rows_for`] its limit, one row more than the
//! page; [`trim`] drops that extra row (never decoded nor returned: it only says that another
//! page follows) and [`next`] makes the cursor after the page's last row. The cursors are made
//! from a row here too, so both engines resume a list the same way.

use sightline_core::{LogRecord, Observation, TraceId};

use crate::{
    LogCursor, ObservationCursor, SessionCursor, SessionSummary, StoreError, TraceCursor,
    TraceSort, TraceSummary,
};

/// How many rows a page of `limit` reads.
pub(crate) fn rows_for(limit: usize) -> usize {
    limit + 1
}

/// Keeps the first `limit` of the over-fetched `rows`; true when more followed.
pub(crate) fn trim<T>(rows: &mut Vec<T>, limit: usize) -> bool {
    let more = rows.len() > limit;
    rows.truncate(limit);
    more
}

/// The cursor after the last row of `page` when `more` follow.
pub(crate) fn next<T, C>(page: &[T], more: bool, cursor: impl FnOnce(&T) -> C) -> Option<C> {
    page.last().filter(|_| more).map(cursor)
}

impl TraceCursor {
    /// The position of `t` in a list sorted by `sort`.
    pub(crate) fn after(sort: TraceSort, t: &TraceSummary) -> Result<Self, StoreError> {
        Ok(TraceCursor {
            sort_value: match sort {
                TraceSort::Start => t.start_ns,
                TraceSort::Duration => t.end_ns - t.start_ns,
                TraceSort::Tokens => t.total_tokens,
                TraceSort::Cost => t.cost_nano_usd.unwrap_or(-1),
            },
            trace_id: TraceId::from_hex(&t.trace_id)
                .map_err(|e| StoreError::Engine(format!("corrupt stored trace id: {e}")))?,
        })
    }
}

impl ObservationCursor {
    pub(crate) fn after(o: &Observation) -> Self {
        ObservationCursor {
            start_ns: o.start_ns,
            trace_id: o.trace_id,
            span_id: o.span_id,
        }
    }
}

impl LogCursor {
    /// The position of a log listed with its store id.
    pub(crate) fn after((id, log): &(i64, LogRecord)) -> Self {
        LogCursor {
            time_ns: log.time_ns,
            id: *id,
        }
    }
}

impl SessionCursor {
    pub(crate) fn after(s: &SessionSummary) -> Self {
        SessionCursor {
            last_seen_ns: s.last_seen_ns,
            session_id: s.session_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_over_fetched_row_means_another_page() {
        let mut rows: Vec<i32> = (1..=4).collect();
        assert!(trim(&mut rows, 3));
        assert_eq!(rows, [1, 2, 3]);
        assert_eq!(next(&rows, true, |r| *r), Some(3));
        let mut last: Vec<i32> = (1..=3).collect();
        assert!(!trim(&mut last, 3));
        assert_eq!(next(&last, false, |r| *r), None);
        assert_eq!(rows_for(3), 4);
    }
}
