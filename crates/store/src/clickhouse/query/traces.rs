//! The trace list on ClickHouse: summaries are computed at read by one GROUP BY trace over the
//! project's deduplicated spans. The time window first narrows the scan to traces with a span
//! in it (partition and sort key), observation-level filters are evaluated in the same scan
//! (`max(predicate)` per trace), trace-level tests and the keyset position go in HAVING.

use sightline_core::{ProjectId, TraceId};

use super::{after, has_per_observation_fields, ns, span_predicates, Fields};
use crate::clickhouse::client::Client;
use crate::clickhouse::read::{read_summary, summary_aggregates, SUMMARY_INNER};
use crate::clickhouse::rowbinary::{bin, RowReader};
use crate::{
    StatusFilter, StoreError, TraceCursor, TracePage, TraceQuery, TraceSort, TraceSummary,
};

/// Per-trace summaries of the project's traces whose spans pass `candidates` (a predicate on
/// `spans`). Columns: `trace_id`, then the [`summary_aggregates`] (aliases `t_*`), then, when
/// `hit` (a predicate on `spans`) is given, `t_hit`: whether one span of the trace passes it.
pub(super) fn summary_query(project: ProjectId, candidates: &str, hit: Option<&str>) -> String {
    let (inner, outer) = match hit {
        Some(h) => (
            // Tests on Nullable columns are Nullable: NULL is "no match".
            format!(", toUInt8(ifNull(({h}), 0)) AS hit"),
            ", toUInt8(max(hit)) AS t_hit",
        ),
        None => (String::new(), ""),
    };
    format!(
        "SELECT trace_id, {aggs}{outer} FROM (SELECT {SUMMARY_INNER}, kind{inner} FROM spans \
         WHERE project_id = {p} AND {candidates} LIMIT 1 BY trace_id, span_id) \
         GROUP BY trace_id",
        aggs = summary_aggregates(),
        p = project.0,
    )
}

/// `trace_id IN` the traces with a span starting in `[from, to)`: the scan the time window
/// narrows (partitions are days of span start).
pub(super) fn traces_started_in(project: ProjectId, from: Option<i64>, to: Option<i64>) -> String {
    let mut w = vec![format!("project_id = {}", project.0)];
    if let Some(from) = from {
        w.push(format!("start_ns >= {}", ns(from)));
    }
    if let Some(to) = to {
        w.push(format!("start_ns < {}", ns(to)));
    }
    format!(
        "trace_id IN (SELECT trace_id FROM spans WHERE {})",
        w.join(" AND ")
    )
}

/// Reads rows of `trace_id` followed by the summary aggregates.
pub(super) fn read_summaries(rows: &[u8]) -> Result<Vec<TraceSummary>, StoreError> {
    let mut r = RowReader::new(rows);
    let mut out = Vec::new();
    while !r.is_empty() {
        let id = TraceId::from_bytes(&r.fixed(16)?)
            .map_err(|_| StoreError::Engine("corrupt stored trace id".into()))?;
        if let Some(s) = read_summary(&mut r, &id)? {
            out.push(s);
        }
    }
    Ok(out)
}

fn sort_expr(sort: TraceSort) -> &'static str {
    match sort {
        TraceSort::Start => "t_start",
        TraceSort::Duration => "(t_end - t_start)",
        TraceSort::Tokens => "t_total",
        TraceSort::Cost => "if(t_has_cost = 1, t_cost, toInt64(-1))",
    }
}

fn sort_value(sort: TraceSort, t: &TraceSummary) -> i64 {
    match sort {
        TraceSort::Start => t.start_ns,
        TraceSort::Duration => t.end_ns - t.start_ns,
        TraceSort::Tokens => t.total_tokens,
        TraceSort::Cost => t.cost_nano_usd.unwrap_or(-1),
    }
}

pub(crate) async fn list_traces(
    client: &Client,
    project: ProjectId,
    q: &TraceQuery,
) -> Result<TracePage, StoreError> {
    if q.limit == 0 {
        return Ok(TracePage::default());
    }
    let f = &q.filter;
    let mut candidates = Vec::new();
    if let Some(t) = &f.trace_id {
        candidates.push(format!("trace_id = {}", bin(&t.0)));
    }
    if f.from_ns.is_some() || f.to_ns.is_some() {
        candidates.push(traces_started_in(project, f.from_ns, f.to_ns));
    }
    let candidates = if candidates.is_empty() {
        "1".to_owned()
    } else {
        candidates.join(" AND ")
    };
    let mut having = Vec::new();
    let hit = has_per_observation_fields(f).then(|| span_predicates(f, Fields::PerObservation));
    if hit.is_some() {
        having.push("t_hit = 1".to_owned());
    }
    if let Some(from) = f.from_ns {
        having.push(format!("t_start >= {from}"));
    }
    if let Some(to) = f.to_ns {
        having.push(format!("t_start < {to}"));
    }
    if let Some(d) = f.min_duration_ns {
        having.push(format!("t_end - t_start >= {d}"));
    }
    match f.status {
        StatusFilter::Any => {}
        StatusFilter::Error => having.push("t_errors > 0".into()),
        StatusFilter::Ok => having.push("t_errors = 0".into()),
    }
    let sort = sort_expr(q.sort);
    if let Some(c) = &q.after {
        having.push(after(
            &[sort, "trace_id"],
            &[c.sort_value.to_string(), bin(&c.trace_id.0)],
            q.descending,
        ));
    }
    let having = if having.is_empty() {
        String::new()
    } else {
        format!(" HAVING {}", having.join(" AND "))
    };
    let dir = if q.descending { "DESC" } else { "ASC" };
    let sql = format!(
        "{}{having} ORDER BY {sort} {dir}, trace_id {dir} LIMIT {}",
        summary_query(project, &candidates, hit.as_deref()),
        q.limit + 1
    );
    let rows = client.query(&sql).await?;
    let mut traces = read_summaries_with_extra(&rows, hit.is_some())?;
    let next = if traces.len() > q.limit {
        traces.truncate(q.limit);
        match traces.last() {
            Some(last) => Some(TraceCursor {
                sort_value: sort_value(q.sort, last),
                trace_id: TraceId::from_hex(&last.trace_id)
                    .map_err(|e| StoreError::Engine(format!("corrupt stored trace id: {e}")))?,
            }),
            None => None,
        }
    } else {
        None
    };
    Ok(TracePage { traces, next })
}

/// [`read_summaries`] for rows that end with one `UInt8` extra column when `extra` is set.
fn read_summaries_with_extra(rows: &[u8], extra: bool) -> Result<Vec<TraceSummary>, StoreError> {
    if !extra {
        return read_summaries(rows);
    }
    let mut r = RowReader::new(rows);
    let mut out = Vec::new();
    while !r.is_empty() {
        let id = TraceId::from_bytes(&r.fixed(16)?)
            .map_err(|_| StoreError::Engine("corrupt stored trace id".into()))?;
        let summary = read_summary(&mut r, &id)?;
        r.u8()?;
        out.extend(summary);
    }
    Ok(out)
}
