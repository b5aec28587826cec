//! Sessions: pages of the `sessions` summary the writer keeps (sqlite/session_rollup.rs), and
//! one session as a conversation whose turns are its traces' root input and output.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};
use sightline_core::{Payload, ProjectId};

use super::filter::Where;
use super::{read_summary, snapshot, TRACE_SELECT};
use crate::codec::decode_input_output;
use crate::paging;
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

/// Sessions from the `sessions` summary matching `filter` (a predicate on alias `s`), most
/// recent first, with their sorted user ids.
fn read_sessions(
    conn: &Connection,
    project: i64,
    filter: Where,
    limit: usize,
) -> Result<Vec<SessionSummary>, StoreError> {
    let sql = format!(
        "SELECT s.session_id, s.first_seen_ns, s.last_seen_ns, s.trace_count, s.span_count, \
         s.error_count, s.input_tokens, s.output_tokens, s.total_tokens, s.cost_nano_usd, \
         (SELECT json_group_array(u.user_id) FROM session_users u \
          WHERE u.project_id = s.project_id AND u.session_id = s.session_id) \
         FROM sessions s WHERE s.project_id = ? AND {} \
         ORDER BY s.last_seen_ns DESC, s.session_id DESC LIMIT {limit}",
        filter.sql()
    );
    let mut values = vec![Value::Integer(project)];
    values.extend(filter.params);
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
        s.user_ids = serde_json::from_str(&users)
            .map_err(|e| StoreError::Engine(format!("bad user id list: {e}")))?;
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
    let mut filter = Where::new();
    if let Some(from) = q.from_ns {
        filter.push("s.last_seen_ns >= ?", [Value::Integer(from)]);
    }
    if let Some(to) = q.to_ns {
        filter.push("s.first_seen_ns < ?", [Value::Integer(to)]);
    }
    if let Some(c) = &q.after {
        filter.push(
            "(s.last_seen_ns, s.session_id) < (?, ?)",
            [
                Value::Integer(c.last_seen_ns),
                Value::Text(c.session_id.clone()),
            ],
        );
    }
    // Any trace of the session with this user (tenant) selects the whole session.
    if let Some(u) = &q.user_id {
        filter.push(
            "EXISTS (SELECT 1 FROM session_users m WHERE m.project_id = s.project_id \
             AND m.session_id = s.session_id AND m.user_id = ?)",
            [Value::Text(u.clone())],
        );
    }
    if let Some(t) = &q.tenant_id {
        filter.push(
            "EXISTS (SELECT 1 FROM session_tenants m WHERE m.project_id = s.project_id \
             AND m.session_id = s.session_id AND m.tenant_id = ?)",
            [Value::Text(t.clone())],
        );
    }
    let mut sessions = read_sessions(conn, project, filter, paging::rows_for(q.limit))?;
    let more = paging::trim(&mut sessions, q.limit);
    let next = paging::next(&sessions, more, SessionCursor::after);
    Ok(SessionPage { sessions, next })
}

fn session(
    conn: &Connection,
    project: i64,
    session_id: &str,
    max_turns: usize,
) -> Result<Option<SessionDetail>, StoreError> {
    let mut filter = Where::new();
    filter.push("s.session_id = ?", [Value::Text(session_id.to_owned())]);
    let Some(summary) = read_sessions(conn, project, filter, 1)?.pop() else {
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
