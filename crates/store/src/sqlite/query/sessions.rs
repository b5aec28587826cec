//! Sessions: the `traces` summaries grouped by session id (through `traces_by_session`), and
//! one session as a conversation whose turns are its traces' root input and output.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};
use sightline_core::{Payload, ProjectId};

use super::filter::Where;
use super::{read_summary, snapshot, TRACE_SELECT};
use crate::sqlite::rows::decode_input_output;
use crate::sqlite::SqliteStore;
use crate::{
    SessionCursor, SessionDetail, SessionPage, SessionQuery, SessionReader, SessionSummary,
    SessionTurn, StoreError,
};

#[async_trait]
impl SessionReader for SqliteStore {
    async fn list_sessions(
        &self,
        project: ProjectId,
        query: &SessionQuery,
    ) -> Result<SessionPage, StoreError> {
        let query = query.clone();
        self.with_conn(move |conn| list_sessions(conn, project.0, &query))
            .await
    }

    async fn session(
        &self,
        project: ProjectId,
        session_id: &str,
        max_turns: usize,
    ) -> Result<Option<SessionDetail>, StoreError> {
        let session_id = session_id.to_owned();
        self.with_conn(move |conn| {
            snapshot(conn, |conn| {
                session(conn, project.0, &session_id, max_turns)
            })
        })
        .await
    }
}

/// Session aggregates over the project's traces matching `inner` (a predicate on `traces`),
/// filtered by `outer` (a predicate on the aggregates), most recent first. `probes` are the
/// user and tenant ids behind the `has_user` / `has_tenant` aggregates (`Null` when unused).
/// `INDEXED BY`: without it the planner walks the whole project by primary key even for one
/// session.
fn aggregate(
    conn: &Connection,
    project: i64,
    probes: [Value; 2],
    inner: Where,
    outer: Where,
    limit: usize,
) -> Result<Vec<SessionSummary>, StoreError> {
    let sql = format!(
        "SELECT session_id, first_seen, last_seen, traces, spans, errors, input_tokens, \
         output_tokens, total_tokens, cost, users FROM (\
           SELECT session_id, MIN(start_ns) AS first_seen, MAX(end_ns) AS last_seen, \
             COUNT(*) AS traces, SUM(span_count) AS spans, SUM(error_count) AS errors, \
             SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, \
             SUM(total_tokens) AS total_tokens, SUM(cost_nano_usd) AS cost, \
             json_group_array(DISTINCT user_id) AS users, \
             MAX(user_id = ?) AS has_user, MAX(tenant_id = ?) AS has_tenant \
           FROM traces INDEXED BY traces_by_session \
           WHERE project_id = ? AND session_id IS NOT NULL AND {} \
           GROUP BY session_id) \
         WHERE {} ORDER BY last_seen DESC, session_id DESC LIMIT {limit}",
        inner.sql(),
        outer.sql()
    );
    let mut values = Vec::from(probes);
    values.push(Value::Integer(project));
    values.extend(inner.params);
    values.extend(outer.params);
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(values.iter()), |r| {
        Ok((
            SessionSummary {
                session_id: r.get(0)?,
                first_seen_ns: r.get(1)?,
                last_seen_ns: r.get(2)?,
                trace_count: r.get(3)?,
                span_count: r.get(4)?,
                error_count: r.get(5)?,
                input_tokens: r.get(6)?,
                output_tokens: r.get(7)?,
                total_tokens: r.get(8)?,
                cost_nano_usd: r.get(9)?,
                user_ids: Vec::new(),
            },
            r.get::<_, String>(10)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (mut s, users) = row?;
        let users: Vec<Option<String>> = serde_json::from_str(&users)
            .map_err(|e| StoreError::Engine(format!("bad user id list: {e}")))?;
        s.user_ids = users.into_iter().flatten().collect();
        s.user_ids.sort();
        out.push(s);
    }
    Ok(out)
}

fn list_sessions(
    conn: &Connection,
    project: i64,
    q: &SessionQuery,
) -> Result<SessionPage, StoreError> {
    if q.limit == 0 {
        return Ok(SessionPage::default());
    }
    let mut outer = Where::new();
    if let Some(from) = q.from_ns {
        outer.push("last_seen >= ?", [Value::Integer(from)]);
    }
    if let Some(to) = q.to_ns {
        outer.push("first_seen < ?", [Value::Integer(to)]);
    }
    // `has_user` / `has_tenant` test the whole session, so its aggregates stay whole.
    let mut probes = [Value::Null, Value::Null];
    if let Some(u) = &q.user_id {
        probes[0] = Value::Text(u.clone());
        outer.push("has_user = 1", []);
    }
    if let Some(t) = &q.tenant_id {
        probes[1] = Value::Text(t.clone());
        outer.push("has_tenant = 1", []);
    }
    if let Some(c) = &q.after {
        outer.push(
            "(last_seen, session_id) < (?, ?)",
            [
                Value::Integer(c.last_seen_ns),
                Value::Text(c.session_id.clone()),
            ],
        );
    }
    let mut sessions = aggregate(conn, project, probes, Where::new(), outer, q.limit + 1)?;
    let next = if sessions.len() > q.limit {
        sessions.truncate(q.limit);
        sessions.last().map(|s| SessionCursor {
            last_seen_ns: s.last_seen_ns,
            session_id: s.session_id.clone(),
        })
    } else {
        None
    };
    Ok(SessionPage { sessions, next })
}

fn session(
    conn: &Connection,
    project: i64,
    session_id: &str,
    max_turns: usize,
) -> Result<Option<SessionDetail>, StoreError> {
    let mut inner = Where::new();
    inner.push("session_id = ?", [Value::Text(session_id.to_owned())]);
    let Some(summary) = aggregate(
        conn,
        project,
        [Value::Null, Value::Null],
        inner,
        Where::new(),
        1,
    )?
    .pop() else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {TRACE_SELECT} FROM traces WHERE project_id = ?1 AND session_id = ?2 \
         ORDER BY +start_ns, trace_id LIMIT ?3"
    ))?;
    let traces = stmt
        .query_map(params![project, session_id, max_turns as i64], |r| {
            read_summary(r, 0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut turns = Vec::with_capacity(traces.len());
    for trace in traces {
        let (input, output) = turn_payloads(conn, project, &trace.trace_id)?;
        turns.push(SessionTurn {
            trace,
            input,
            output,
        });
    }
    Ok(Some(SessionDetail { summary, turns }))
}

/// The input and output of a trace's root, or, when the root has neither, of its earliest
/// observation that has one.
fn turn_payloads(
    conn: &Connection,
    project: i64,
    trace_hex: &str,
) -> Result<(Option<Payload>, Option<Payload>), StoreError> {
    let trace_id = hex::decode(trace_hex)
        .map_err(|e| StoreError::Engine(format!("corrupt stored trace id: {e}")))?;
    let mut stmt = conn.prepare_cached(
        "SELECT payload FROM spans WHERE project_id = ?1 AND trace_id = ?2 AND payload IS NOT NULL \
         ORDER BY parent_span_id IS NOT NULL, start_ns, span_id",
    )?;
    let mut rows = stmt.query(params![project, trace_id])?;
    while let Some(row) = rows.next()? {
        let blob: Vec<u8> = row.get(0)?;
        let (input, output) = decode_input_output(&blob)?;
        if input.is_some() || output.is_some() {
            return Ok((input, output));
        }
    }
    Ok((None, None))
}
