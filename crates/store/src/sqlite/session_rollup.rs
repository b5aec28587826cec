//! The per-session summary (`sessions`, `session_users`, `session_tenants`), kept by the writer
//! in the same transaction as the `traces` summaries it aggregates: a session's row is the
//! aggregate of the traces whose summary names that session. Each group compares every trace
//! it touches before and after its upsert and adds the difference, one upsert per session;
//! when a trace leaves a session (its root names another one) or a session may lose a user or
//! tenant, that session is recomputed from its traces instead (exact, and rare).

use std::collections::{HashMap, HashSet};

use rusqlite::{params, OptionalExtension, Row, Transaction};

use crate::StoreError;

/// The columns of a `traces` row the session summary depends on, in [`TraceState::read`] order.
pub(crate) const TRACE_STATE_COLUMNS: &str = "session_id, user_id, tenant_id, start_ns, end_ns, \
     span_count, error_count, input_tokens, output_tokens, total_tokens, cost_nano_usd";

/// A trace summary as far as its session is concerned.
pub(crate) struct TraceState {
    session: Option<String>,
    user: Option<String>,
    tenant: Option<String>,
    start_ns: i64,
    end_ns: i64,
    /// spans, errors, input, output and total tokens.
    sums: [i64; 5],
    cost: Option<i64>,
}

impl TraceState {
    /// Reads the [`TRACE_STATE_COLUMNS`] of a row.
    pub fn read(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(TraceState {
            session: r.get(0)?,
            user: r.get(1)?,
            tenant: r.get(2)?,
            start_ns: r.get(3)?,
            end_ns: r.get(4)?,
            sums: [r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?],
            cost: r.get(10)?,
        })
    }

    /// The stored state of a trace, `None` when it has no summary yet.
    pub fn stored(
        tx: &Transaction<'_>,
        project: i64,
        trace_id: &[u8; 16],
    ) -> Result<Option<Self>, StoreError> {
        Ok(tx
            .prepare_cached(&format!(
                "SELECT {TRACE_STATE_COLUMNS} FROM traces WHERE project_id = ?1 AND trace_id = ?2"
            ))?
            .query_row(params![project, &trace_id[..]], Self::read)
            .optional()?)
    }
}

/// What one group adds to a session's row.
#[derive(Default)]
struct SessionAgg {
    first_seen_ns: i64,
    last_seen_ns: i64,
    traces: i64,
    /// spans, errors, input, output and total tokens.
    sums: [i64; 5],
    cost: Option<i64>,
    /// False until the first trace is added (then the time bounds are set).
    seen: bool,
}

impl SessionAgg {
    /// Adds a trace's state, minus `minus` (the same trace's earlier state in this session).
    fn add(&mut self, new: &TraceState, minus: Option<&TraceState>) {
        if !self.seen || new.start_ns < self.first_seen_ns {
            self.first_seen_ns = new.start_ns;
        }
        if !self.seen || new.end_ns > self.last_seen_ns {
            self.last_seen_ns = new.end_ns;
        }
        self.seen = true;
        self.traces += i64::from(minus.is_none());
        for (i, slot) in self.sums.iter_mut().enumerate() {
            let before = minus.map(|m| m.sums[i]).unwrap_or(0);
            *slot = slot.saturating_add(new.sums[i].saturating_sub(before));
        }
        if let Some(c) = new.cost {
            let before = minus.and_then(|m| m.cost).unwrap_or(0);
            self.cost = Some(
                self.cost
                    .unwrap_or(0)
                    .saturating_add(c.saturating_sub(before)),
            );
        }
    }
}

type SessionKey = (i64, String);

/// The session rows one write group touches.
#[derive(Default)]
pub(crate) struct SessionRollup {
    deltas: HashMap<SessionKey, SessionAgg>,
    /// (project, session, value) pairs to record; the values are user ids and tenant ids.
    users: HashSet<(i64, String, String)>,
    tenants: HashSet<(i64, String, String)>,
    /// Sessions rebuilt from their traces after the group's trace upserts.
    recompute: HashSet<SessionKey>,
}

impl SessionRollup {
    /// Accounts for one trace upsert: `old` is the trace's state before it (`None` for a new
    /// trace), `new` after it.
    pub fn add(&mut self, project: i64, old: Option<&TraceState>, new: &TraceState) {
        match (old, &new.session) {
            (Some(prev), Some(s)) if prev.session.as_ref() == Some(s) => {
                let lost = |before: &Option<String>, after: &Option<String>| {
                    before.is_some() && before != after
                };
                if lost(&prev.user, &new.user) || lost(&prev.tenant, &new.tenant) {
                    self.recompute.insert((project, s.clone()));
                } else {
                    self.add_to(project, s, new, Some(prev));
                }
            }
            _ => {
                if let Some(left) = old.and_then(|o| o.session.as_ref()) {
                    self.recompute.insert((project, left.clone()));
                }
                if let Some(s) = &new.session {
                    self.add_to(project, s, new, None);
                }
            }
        }
    }

    fn add_to(
        &mut self,
        project: i64,
        session: &str,
        new: &TraceState,
        minus: Option<&TraceState>,
    ) {
        self.deltas
            .entry((project, session.to_owned()))
            .or_default()
            .add(new, minus);
        if let Some(u) = &new.user {
            self.users.insert((project, session.to_owned(), u.clone()));
        }
        if let Some(t) = &new.tenant {
            self.tenants
                .insert((project, session.to_owned(), t.clone()));
        }
    }

    /// Writes the group's changes, inside the writer's transaction, after its trace upserts.
    pub fn flush(&self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        for ((project, session), a) in &self.deltas {
            if self.recompute.contains(&(*project, session.clone())) {
                continue;
            }
            upsert(tx, *project, session, a)?;
        }
        for (table, column, pairs) in [
            ("session_users", "user_id", &self.users),
            ("session_tenants", "tenant_id", &self.tenants),
        ] {
            for (project, session, value) in pairs {
                if self.recompute.contains(&(*project, session.clone())) {
                    continue;
                }
                tx.prepare_cached(&format!(
                    "INSERT OR IGNORE INTO {table} (project_id, session_id, {column}) VALUES (?1, ?2, ?3)"
                ))?
                .execute(params![project, session, value])?;
            }
        }
        for (project, session) in &self.recompute {
            recompute_session(tx, *project, session)?;
        }
        Ok(())
    }
}

fn upsert(
    tx: &Transaction<'_>,
    project: i64,
    session: &str,
    a: &SessionAgg,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO sessions (project_id, session_id, first_seen_ns, last_seen_ns, trace_count, \
         span_count, error_count, input_tokens, output_tokens, total_tokens, cost_nano_usd) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         ON CONFLICT (project_id, session_id) DO UPDATE SET \
           first_seen_ns = MIN(sessions.first_seen_ns, excluded.first_seen_ns), \
           last_seen_ns = MAX(sessions.last_seen_ns, excluded.last_seen_ns), \
           trace_count = sessions.trace_count + excluded.trace_count, \
           span_count = sessions.span_count + excluded.span_count, \
           error_count = sessions.error_count + excluded.error_count, \
           input_tokens = sessions.input_tokens + excluded.input_tokens, \
           output_tokens = sessions.output_tokens + excluded.output_tokens, \
           total_tokens = sessions.total_tokens + excluded.total_tokens, \
           cost_nano_usd = CASE WHEN excluded.cost_nano_usd IS NULL THEN sessions.cost_nano_usd \
                ELSE COALESCE(sessions.cost_nano_usd, 0) + excluded.cost_nano_usd END",
    )?
    .execute(params![
        project,
        session,
        a.first_seen_ns,
        a.last_seen_ns,
        a.traces,
        a.sums[0],
        a.sums[1],
        a.sums[2],
        a.sums[3],
        a.sums[4],
        a.cost,
    ])?;
    Ok(())
}

/// Rebuilds one session's rows from its traces (none when no trace names it any more).
pub(crate) fn recompute_session(
    tx: &Transaction<'_>,
    project: i64,
    session: &str,
) -> Result<(), StoreError> {
    for table in ["sessions", "session_users", "session_tenants"] {
        tx.prepare_cached(&format!(
            "DELETE FROM {table} WHERE project_id = ?1 AND session_id = ?2"
        ))?
        .execute(params![project, session])?;
    }
    for sql in [
        "INSERT INTO sessions (project_id, session_id, first_seen_ns, last_seen_ns, trace_count, \
         span_count, error_count, input_tokens, output_tokens, total_tokens, cost_nano_usd) \
         SELECT project_id, session_id, MIN(start_ns), MAX(end_ns), COUNT(*), SUM(span_count), \
         SUM(error_count), SUM(input_tokens), SUM(output_tokens), SUM(total_tokens), SUM(cost_nano_usd) \
         FROM traces INDEXED BY traces_by_session WHERE project_id = ?1 AND session_id = ?2 \
         GROUP BY project_id, session_id",
        "INSERT INTO session_users (project_id, session_id, user_id) \
         SELECT DISTINCT project_id, session_id, user_id FROM traces INDEXED BY traces_by_session \
         WHERE project_id = ?1 AND session_id = ?2 AND user_id IS NOT NULL",
        "INSERT INTO session_tenants (project_id, session_id, tenant_id) \
         SELECT DISTINCT project_id, session_id, tenant_id FROM traces INDEXED BY traces_by_session \
         WHERE project_id = ?1 AND session_id = ?2 AND tenant_id IS NOT NULL",
    ] {
        tx.prepare_cached(sql)?.execute(params![project, session])?;
    }
    Ok(())
}
