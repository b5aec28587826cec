//! The trace list on ClickHouse, from the summary states the writer keeps (summaries.rs). The
//! time window and observation-level filters (a span of the trace passes them, tested on
//! `spans`) narrow the candidate traces; their numeric states are merged to sort, test the
//! trace-level filters and the keyset position in HAVING and pick the page; only the page's
//! summaries are then merged whole. Newest-first pages are looked for in the most recent hours
//! first ([`newest_page`]).

use sightline_core::ProjectId;

use super::{after, ns, span_predicates};
use crate::clickhouse::client::Client;
use crate::clickhouse::rowbinary::{bin, RowReader};
use crate::clickhouse::summaries::{hour_floor, merged, merged_only, read_summaries};
use crate::cost_agg::HOUR_NS;
use crate::filter::{has_per_observation_fields, Fields};
use crate::paging;
use crate::{StatusFilter, StoreError, TraceCursor, TracePage, TraceQuery, TraceSort};

/// The merged summaries (`trace_id`, then [`merged`]) of the project's traces among
/// `candidates` (a predicate on `trace_summaries` rows, matching every row of a trace or none).
pub(super) fn summary_query(project: ProjectId, candidates: &str) -> String {
    format!(
        "SELECT trace_id, {} FROM trace_summaries WHERE project_id = {} AND {candidates} \
         GROUP BY trace_id",
        merged(),
        project.0,
    )
}

/// `trace_id IN` the project's traces with a span starting in `[from, to)`: those with a
/// summary row of that hour or later (and before `to`), a set the time window narrows.
pub(super) fn traces_started_in(project: ProjectId, from: Option<i64>, to: Option<i64>) -> String {
    let mut w = vec![format!("project_id = {}", project.0)];
    if let Some(from) = from {
        w.push(format!("hour_ns >= {}", hour_floor(from)));
    }
    if let Some(to) = to {
        w.push(format!("hour_ns < {}", ns(to)));
    }
    format!(
        "trace_id IN (SELECT trace_id FROM trace_summaries WHERE {})",
        w.join(" AND ")
    )
}

/// The trace ids (as SQL literals) a page query picks.
async fn page_ids(client: &Client, sql: &str) -> Result<Vec<String>, StoreError> {
    let rows = client.query(sql).await?;
    let mut r = RowReader::new(&rows);
    let mut ids = Vec::new();
    while !r.is_empty() {
        ids.push(bin(&r.fixed(16)?));
    }
    Ok(ids)
}

/// The newest traces first, without merging every trace of the window: the traces that
/// start in the last hour before the page's upper end (the window's end, the cursor, or the
/// newest stored hour), then four, sixteen, ... hours, until one such span holds a whole page
/// (`Some`: every trace starting earlier ranks after it) or covers the window (`None`: the
/// caller merges the whole window).
async fn newest_page(
    client: &Client,
    project: ProjectId,
    q: &TraceQuery,
    pick: &impl Fn(Option<i64>, Option<i64>, &str) -> String,
) -> Result<Option<Vec<String>>, StoreError> {
    let rows = client
        .query(&format!(
            "SELECT count(), toInt64(min(hour_ns)), toInt64(max(hour_ns)) FROM trace_summaries \
             WHERE project_id = {}",
            project.0
        ))
        .await?;
    let mut r = RowReader::new(&rows);
    let (count, oldest, newest) = (r.u64()?, r.i64()?, r.i64()?);
    if count == 0 {
        return Ok(None);
    }
    // Traces start before `upper`; none starts before `floor`.
    let mut upper = newest.saturating_add(HOUR_NS);
    if let Some(to) = q.filter.to_ns {
        upper = upper.min(to);
    }
    if let Some(c) = &q.after {
        upper = upper.min(c.sort_value.saturating_add(1));
    }
    let floor = q.filter.from_ns.unwrap_or(i64::MIN).max(oldest);
    let mut width = HOUR_NS;
    loop {
        let lower = upper.saturating_sub(width);
        if lower <= floor {
            return Ok(None);
        }
        let sql = pick(Some(lower), Some(upper), &format!("t_start >= {lower}"));
        let ids = page_ids(client, &sql).await?;
        if ids.len() > q.limit {
            return Ok(Some(ids));
        }
        width = width.saturating_mul(4);
    }
}

/// The merged numbers [`sort_expr`] reads.
fn sort_numbers(sort: TraceSort) -> &'static [&'static str] {
    match sort {
        TraceSort::Start => &["t_start"],
        TraceSort::Duration => &["t_start", "t_end"],
        TraceSort::Tokens => &["t_total"],
        TraceSort::Cost => &["t_cost", "t_has_cost"],
    }
}

fn sort_expr(sort: TraceSort) -> &'static str {
    match sort {
        TraceSort::Start => "t_start",
        TraceSort::Duration => "(t_end - t_start)",
        TraceSort::Tokens => "t_total",
        TraceSort::Cost => "if(t_has_cost = 1, t_cost, toInt64(-1))",
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
    // A predicate on `trace_summaries` rows for the traces that may start in `[from, to)` and
    // pass the observation-level filters.
    let candidates = |from: Option<i64>, to: Option<i64>| {
        let mut c = Vec::new();
        if let Some(t) = &f.trace_id {
            c.push(format!("trace_id = {}", bin(&t.0)));
        }
        if from.is_some() || to.is_some() {
            c.push(traces_started_in(project, from, to));
        }
        if has_per_observation_fields(f) {
            // One span of the trace passes them; every span of a trace that starts at or
            // after `from` does too, which narrows the scan to the window's partitions.
            let mut spans = vec![
                format!("project_id = {}", project.0),
                span_predicates(f, Fields::PerObservation),
            ];
            if let Some(from) = from {
                spans.push(format!("start_ns >= {}", ns(from)));
            }
            c.push(format!(
                "trace_id IN (SELECT trace_id FROM spans WHERE {})",
                spans.join(" AND ")
            ));
        }
        if c.is_empty() {
            "1".to_owned()
        } else {
            c.join(" AND ")
        }
    };
    let mut having = Vec::new();
    let mut numbers = sort_numbers(q.sort).to_vec();
    if let Some(from) = f.from_ns {
        having.push(format!("t_start >= {from}"));
    }
    if let Some(to) = f.to_ns {
        having.push(format!("t_start < {to}"));
    }
    if f.from_ns.is_some() || f.to_ns.is_some() {
        numbers.push("t_start");
    }
    if let Some(d) = f.min_duration_ns {
        having.push(format!("t_end - t_start >= {d}"));
        numbers.extend(["t_start", "t_end"]);
    }
    match f.status {
        StatusFilter::Any => {}
        StatusFilter::Error => having.push("t_errors > 0".into()),
        StatusFilter::Ok => having.push("t_errors = 0".into()),
    }
    if f.status != StatusFilter::Any {
        numbers.push("t_errors");
    }
    let sort = sort_expr(q.sort);
    if let Some(c) = &q.after {
        having.push(after(
            &[sort, "trace_id"],
            &[c.sort_value.to_string(), bin(&c.trace_id.0)],
            q.descending,
        ));
    }
    let dir = if q.descending { "DESC" } else { "ASC" };
    let order = format!("ORDER BY {sort} {dir}, trace_id {dir}");
    // Two passes: the page's trace ids from the numeric states that the sort and the filters
    // need, merged for every candidate; then the whole summaries of that page only.
    let pick = |from: Option<i64>, to: Option<i64>, extra_having: &str| {
        let having = match (having.is_empty(), extra_having.is_empty()) {
            (true, true) => String::new(),
            (false, true) => format!(" HAVING {}", having.join(" AND ")),
            (true, false) => format!(" HAVING {extra_having}"),
            (false, false) => format!(" HAVING {} AND {extra_having}", having.join(" AND ")),
        };
        format!(
            "SELECT trace_id FROM (SELECT trace_id, {numbers} FROM trace_summaries \
             WHERE project_id = {p} AND {candidates} GROUP BY trace_id{having} \
             {order} LIMIT {n})",
            numbers = merged_only(&numbers),
            candidates = candidates(from, to),
            p = project.0,
            n = paging::rows_for(q.limit)
        )
    };
    let newest_first = q.sort == TraceSort::Start && q.descending && f.trace_id.is_none();
    let mut ids = None;
    if newest_first {
        ids = newest_page(client, project, q, &pick).await?;
    }
    let ids = match ids {
        Some(ids) => ids,
        None => page_ids(client, &pick(f.from_ns, f.to_ns, "")).await?,
    };
    if ids.is_empty() {
        return Ok(TracePage::default());
    }
    let sql = format!(
        "{} {order}",
        summary_query(project, &format!("trace_id IN ({})", ids.join(", ")))
    );
    let rows = client.query(&sql).await?;
    let mut traces = read_summaries(&rows)?.exact(client, project).await?;
    let more = paging::trim(&mut traces, q.limit);
    let next = paging::next(&traces, more, |t| TraceCursor::after(q.sort, t)).transpose()?;
    Ok(TracePage { traces, next })
}
