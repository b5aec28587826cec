//! The trace list: trace-level tests on the `traces` summary table, observation-level tests as
//! "one span of the trace matches them all" (an EXISTS probe through `spans_by_trace`), keyset
//! pages over the chosen sort.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use sightline_core::ProjectId;

use super::filter::{after, span_predicates, Where};
use crate::filter::{has_per_observation_fields, Fields};
use crate::paging;
use crate::sqlite::SqliteStore;
use crate::{
    StatusFilter, StoreError, TraceCursor, TracePage, TraceQuery, TraceSort, TraceSummary,
};

/// The `traces` columns a summary read selects, in the order [`read_summary`] expects.
pub(crate) const TRACE_SELECT: &str = "trace_id, root_name, root_span_id, start_ns, end_ns, \
     span_count, error_count, input_tokens, output_tokens, total_tokens, cache_read_tokens, \
     cache_write_tokens, reasoning_tokens, cost_nano_usd, service, agent, user_id, session_id, \
     tenant_id";

/// Reads the [`TRACE_SELECT`] columns starting at `at`.
pub(crate) fn read_summary(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<TraceSummary> {
    Ok(TraceSummary {
        trace_id: hex::encode(r.get::<_, Vec<u8>>(at)?),
        root_name: r.get(at + 1)?,
        root_span_id: r.get::<_, Option<Vec<u8>>>(at + 2)?.map(hex::encode),
        start_ns: r.get(at + 3)?,
        end_ns: r.get(at + 4)?,
        span_count: r.get(at + 5)?,
        error_count: r.get(at + 6)?,
        input_tokens: r.get(at + 7)?,
        output_tokens: r.get(at + 8)?,
        total_tokens: r.get(at + 9)?,
        cache_read_tokens: r.get(at + 10)?,
        cache_write_tokens: r.get(at + 11)?,
        reasoning_tokens: r.get(at + 12)?,
        cost_nano_usd: r.get(at + 13)?,
        service_name: r.get(at + 14)?,
        agent_name: r.get(at + 15)?,
        user_id: r.get(at + 16)?,
        session_id: r.get(at + 17)?,
        tenant_id: r.get(at + 18)?,
    })
}

/// The SQL value a trace sorts by.
fn sort_expr(sort: TraceSort) -> &'static str {
    match sort {
        TraceSort::Start => "t.start_ns",
        TraceSort::Duration => "(t.end_ns - t.start_ns)",
        TraceSort::Tokens => "t.total_tokens",
        TraceSort::Cost => "COALESCE(t.cost_nano_usd, -1)",
    }
}

impl SqliteStore {
    pub(crate) async fn list_traces_impl(
        &self,
        project: ProjectId,
        query: &TraceQuery,
    ) -> Result<TracePage, StoreError> {
        let query = query.clone();
        self.with_conn(move |conn| list_traces(conn, project.0, &query))
            .await
    }
}

fn list_traces(conn: &Connection, project: i64, q: &TraceQuery) -> Result<TracePage, StoreError> {
    if q.limit == 0 {
        return Ok(TracePage::default());
    }
    let f = &q.filter;
    let mut w = Where::new();
    w.push("t.project_id = ?", [Value::Integer(project)]);
    if let Some(from) = f.from_ns {
        w.push("t.start_ns >= ?", [Value::Integer(from)]);
    }
    if let Some(to) = f.to_ns {
        w.push("t.start_ns < ?", [Value::Integer(to)]);
    }
    if let Some(t) = &f.trace_id {
        w.push("t.trace_id = ?", [Value::Blob(t.0.to_vec())]);
    }
    if let Some(d) = f.min_duration_ns {
        w.push("t.end_ns - t.start_ns >= ?", [Value::Integer(d)]);
    }
    match f.status {
        StatusFilter::Any => {}
        StatusFilter::Error => w.push("t.error_count > 0", []),
        StatusFilter::Ok => w.push("t.error_count = 0", []),
    }
    let sort = sort_expr(q.sort);
    if let Some(c) = &q.after {
        w.extend(after(
            &[sort, "t.trace_id"],
            vec![
                Value::Integer(c.sort_value),
                Value::Blob(c.trace_id.0.to_vec()),
            ],
            q.descending,
        ));
    }
    if has_per_observation_fields(f) {
        let inner = span_predicates(f, "s.", Fields::PerObservation);
        w.push(
            format!(
                "EXISTS (SELECT 1 FROM spans s WHERE s.project_id = t.project_id \
                 AND s.trace_id = t.trace_id AND {})",
                inner.sql()
            ),
            inner.params,
        );
    }
    let dir = if q.descending { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT {} FROM traces t WHERE {} ORDER BY {sort} {dir}, t.trace_id {dir} LIMIT {}",
        TRACE_SELECT
            .split(", ")
            .map(|c| format!("t.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", "),
        w.sql(),
        paging::rows_for(q.limit)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut traces = stmt
        .query_map(params_from_iter(w.params.iter()), |r| read_summary(r, 0))?
        .collect::<Result<Vec<_>, _>>()?;
    let more = paging::trim(&mut traces, q.limit);
    let next = paging::next(&traces, more, |t| TraceCursor::after(q.sort, t)).transpose()?;
    Ok(TracePage { traces, next })
}
