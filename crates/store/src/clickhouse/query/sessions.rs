//! Sessions on ClickHouse: trace summaries (merged from the states the writer keeps, see
//! summaries.rs) grouped by their session id, and one session as a conversation whose turns are
//! its traces' root input and output.

use std::collections::HashMap;

use sightline_core::{Payload, ProjectId, TraceId};

use super::traces::summary_query;
use crate::clickhouse::client::Client;
use crate::clickhouse::rowbinary::{bin, quote, RowReader};
use crate::clickhouse::summaries::read_summaries;
use crate::codec::decode_input_output;
use crate::paging;
use crate::{
    SessionCursor, SessionDetail, SessionPage, SessionQuery, SessionSummary, SessionTurn,
    StoreError,
};

/// A predicate on `trace_summaries` rows: every row of the project's traces that may belong to
/// `session` (all traces when `None`). A trace's session is the winner of one of its rows' own
/// states, so the traces with a row whose state alone gives `session` include every trace of it.
fn session_traces(project: ProjectId, session: Option<&str>) -> String {
    match session {
        Some(s) => format!(
            "trace_id IN (SELECT trace_id FROM trace_summaries WHERE project_id = {} \
             AND finalizeAggregation(session_id) = {})",
            project.0,
            quote(s)
        ),
        None => "1".into(),
    }
}

/// Session aggregates over the traces of `session` (all sessions when `None`), keeping those
/// that pass `having`, most recent first.
async fn aggregate(
    client: &Client,
    project: ProjectId,
    session: Option<&str>,
    having: &[String],
    limit: usize,
) -> Result<Vec<SessionSummary>, StoreError> {
    let traces = summary_query(project, &session_traces(project, session));
    let only = match session {
        Some(s) => format!("t_session_id = {}", quote(s)),
        None => "t_session_id != ''".into(),
    };
    let having = if having.is_empty() {
        String::new()
    } else {
        format!(" HAVING {}", having.join(" AND "))
    };
    let sql = format!(
        "SELECT t_session_id, min(t_start) AS first_seen, max(t_end) AS last_seen, \
         toInt64(count()), toInt64(sum(t_spans)), toInt64(sum(t_errors)), \
         toInt64(sum(t_input)), toInt64(sum(t_output)), toInt64(sum(t_total)), \
         toInt64(sumIf(t_cost, t_has_cost = 1)), toUInt8(countIf(t_has_cost = 1) > 0), \
         groupUniqArrayIf(t_user_id, t_user_id != '') \
         FROM ({traces}) WHERE {only} GROUP BY t_session_id{having} \
         ORDER BY last_seen DESC, t_session_id DESC LIMIT {limit}"
    );
    let rows = client.query(&sql).await?;
    let mut r = RowReader::new(&rows);
    let mut out = Vec::new();
    while !r.is_empty() {
        let session_id = r.string()?;
        let mut n = [0i64; 9];
        for v in &mut n {
            *v = r.i64()?;
        }
        let has_cost = r.u8()? != 0;
        let mut user_ids = (0..r.varint()?)
            .map(|_| r.string())
            .collect::<Result<Vec<_>, _>>()?;
        user_ids.sort();
        out.push(SessionSummary {
            session_id,
            first_seen_ns: n[0],
            last_seen_ns: n[1],
            trace_count: n[2],
            span_count: n[3],
            error_count: n[4],
            input_tokens: n[5],
            output_tokens: n[6],
            total_tokens: n[7],
            cost_nano_usd: has_cost.then_some(n[8]),
            user_ids,
        });
    }
    Ok(out)
}

pub(crate) async fn list_sessions(
    client: &Client,
    project: ProjectId,
    q: &SessionQuery,
) -> Result<SessionPage, StoreError> {
    if q.limit == 0 {
        return Ok(SessionPage::default());
    }
    let mut having = Vec::new();
    if let Some(from) = q.from_ns {
        having.push(format!("last_seen >= {from}"));
    }
    if let Some(to) = q.to_ns {
        having.push(format!("first_seen < {to}"));
    }
    // Whole-session tests: the session's aggregates stay whole.
    if let Some(u) = &q.user_id {
        having.push(format!("max(t_user_id = {}) = 1", quote(u)));
    }
    if let Some(t) = &q.tenant_id {
        having.push(format!("max(t_tenant_id = {}) = 1", quote(t)));
    }
    if let Some(c) = &q.after {
        having.push(format!(
            "(last_seen < {v} OR (last_seen = {v} AND t_session_id < {id}))",
            v = c.last_seen_ns,
            id = quote(&c.session_id)
        ));
    }
    let mut sessions = aggregate(client, project, None, &having, paging::rows_for(q.limit)).await?;
    let more = paging::trim(&mut sessions, q.limit);
    let next = paging::next(&sessions, more, SessionCursor::after);
    Ok(SessionPage { sessions, next })
}

pub(crate) async fn session(
    client: &Client,
    project: ProjectId,
    session_id: &str,
    max_turns: usize,
) -> Result<Option<SessionDetail>, StoreError> {
    let Some(summary) = aggregate(client, project, Some(session_id), &[], 1)
        .await?
        .pop()
    else {
        return Ok(None);
    };
    let sql = format!(
        "{} HAVING t_session_id = {} ORDER BY t_start, trace_id LIMIT {max_turns}",
        summary_query(project, &session_traces(project, Some(session_id))),
        quote(session_id)
    );
    let traces = read_summaries(&client.query(&sql).await?)?
        .exact(client, project)
        .await?;
    let mut payloads = turn_payloads(client, project, &traces).await?;
    let turns = traces
        .into_iter()
        .map(|trace| {
            let (input, output) = payloads.remove(&trace.trace_id).unwrap_or((None, None));
            SessionTurn {
                trace,
                input,
                output,
            }
        })
        .collect();
    Ok(Some(SessionDetail { summary, turns }))
}

type Turn = (Option<Payload>, Option<Payload>);

/// Per trace (by hex id): the input and output of its root, or, when the root has neither, of
/// its earliest observation that has one.
async fn turn_payloads(
    client: &Client,
    project: ProjectId,
    traces: &[crate::TraceSummary],
) -> Result<HashMap<String, Turn>, StoreError> {
    let mut out = HashMap::new();
    if traces.is_empty() {
        return Ok(out);
    }
    let ids = traces
        .iter()
        .map(|t| TraceId::from_hex(&t.trace_id).map(|id| bin(&id.0)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StoreError::Engine(format!("corrupt stored trace id: {e}")))?;
    let sql = format!(
        "SELECT trace_id, payload FROM spans WHERE project_id = {} AND trace_id IN ({}) \
         AND payload != '' ORDER BY trace_id, isNotNull(parent_span_id), start_ns, span_id \
         LIMIT 1 BY trace_id, span_id",
        project.0,
        ids.join(", ")
    );
    let rows = client.query(&sql).await?;
    let mut r = RowReader::new(&rows);
    while !r.is_empty() {
        let trace = hex::encode(r.fixed(16)?);
        let payload = r.bytes()?;
        if out.contains_key(&trace) {
            continue;
        }
        let (input, output) = decode_input_output(&payload)?;
        if input.is_some() || output.is_some() {
            out.insert(trace, (input, output));
        }
    }
    Ok(out)
}
