//! Retention on the embedded engine: deletes a project's spans, logs and metric points older
//! than the cutoff in short write transactions (a few thousand rows each, so ingest waits
//! milliseconds, not minutes), rebuilds the summaries of the traces and sessions that lost
//! spans, drops the rollup's whole hours and the metric series not seen since the cutoff, then
//! hands freed pages back to the file system (incremental vacuum; databases created before it
//! was switched on reuse the pages instead).
//!
//! The row holding a table's largest rowid is kept until a newer row arrives: the change feed's
//! positions are rowids, and SQLite gives a new row the largest rowid plus one, so deleting
//! that row would let the next row reuse a position a subscriber has already passed.

use std::collections::BTreeSet;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::session_rollup::recompute_session;
use super::SqliteStore;
use crate::codec::kind_code;
use crate::retention::{RetentionOutcome, RetentionScope, RetentionStore};
use crate::StoreError;
use sightline_core::time::day_start_ns;
use sightline_core::ObservationKind;

/// Rows deleted per transaction.
const BATCH: i64 = 4_000;
/// Pages handed back per incremental-vacuum step.
const VACUUM_STEP: i64 = 2_000;

#[async_trait]
impl RetentionStore for SqliteStore {
    async fn delete_before(
        &self,
        scope: RetentionScope,
        cutoff_ns: i64,
    ) -> Result<RetentionOutcome, StoreError> {
        let cutoff = day_start_ns(cutoff_ns);
        let mut outcome = RetentionOutcome {
            cutoff_ns: cutoff,
            ..RetentionOutcome::default()
        };
        let projects = match scope {
            RetentionScope::Project(p) => vec![p.0],
            RetentionScope::AllProjects => self.with_conn(projects_with_data).await?,
        };
        for project in projects {
            loop {
                let n = self
                    .with_conn(move |conn| delete_span_batch(conn, project, cutoff))
                    .await?;
                outcome.spans += n;
                if n < BATCH as u64 {
                    break;
                }
            }
            loop {
                let n = self
                    .with_conn(move |conn| delete_log_batch(conn, project, cutoff))
                    .await?;
                outcome.logs += n;
                if n < BATCH as u64 {
                    break;
                }
            }
            self.with_conn(move |conn| delete_rollup(conn, project, cutoff))
                .await?;
            loop {
                let n = self
                    .with_conn(move |conn| {
                        super::metrics::delete_point_batch(conn, project, cutoff, BATCH)
                    })
                    .await?;
                outcome.metric_points += n;
                if n < BATCH as u64 {
                    break;
                }
            }
        }
        while self.with_conn(vacuum_step).await? {}
        Ok(outcome)
    }
}

/// Every project id with spans, logs or metric series: one index seek per project.
fn projects_with_data(conn: &mut Connection) -> Result<Vec<i64>, StoreError> {
    let mut found = BTreeSet::new();
    for sql in [
        "SELECT MIN(project_id) FROM spans INDEXED BY spans_by_start WHERE project_id > ?1",
        "SELECT MIN(project_id) FROM logs INDEXED BY logs_by_time WHERE project_id > ?1",
        "SELECT MIN(project_id) FROM metric_series WHERE project_id > ?1",
    ] {
        let mut after = i64::MIN;
        while let Some(p) = conn
            .prepare_cached(sql)?
            .query_row([after], |r| r.get::<_, Option<i64>>(0))?
        {
            found.insert(p);
            after = p;
        }
    }
    Ok(found.into_iter().collect())
}

/// Deletes up to [`BATCH`] of the project's spans that started before `cutoff`, and rebuilds
/// the summaries of their traces and sessions, in one transaction. Returns the spans deleted.
fn delete_span_batch(conn: &mut Connection, project: i64, cutoff: i64) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let victims: Vec<(i64, Vec<u8>)> = tx
        .prepare_cached(
            "SELECT rowid, trace_id FROM spans INDEXED BY spans_by_start \
             WHERE project_id = ?1 AND start_ns < ?2 \
             AND rowid < (SELECT MAX(rowid) FROM spans) LIMIT ?3",
        )?
        .query_map(params![project, cutoff, BATCH], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut traces = BTreeSet::new();
    for (rowid, trace) in &victims {
        tx.prepare_cached("DELETE FROM spans WHERE rowid = ?1")?
            .execute([rowid])?;
        traces.insert(trace.clone());
    }
    let mut sessions = BTreeSet::new();
    for trace in &traces {
        // The session may change with the root; both the old and the new one are rebuilt.
        sessions.extend(trace_session(&tx, project, trace)?);
        rebuild_trace(&tx, project, trace)?;
        sessions.extend(trace_session(&tx, project, trace)?);
    }
    for session in &sessions {
        recompute_session(&tx, project, session)?;
    }
    tx.commit()?;
    Ok(victims.len() as u64)
}

fn trace_session(
    tx: &rusqlite::Transaction<'_>,
    project: i64,
    trace: &[u8],
) -> Result<Option<String>, StoreError> {
    Ok(tx
        .prepare_cached("SELECT session_id FROM traces WHERE project_id = ?1 AND trace_id = ?2")?
        .query_row(params![project, trace], |r| r.get(0))
        .optional()?
        .flatten())
}

/// Replaces a trace's summary with one computed from its remaining spans (none when no span
/// remains). Dimensions come from the root span, else the smallest value among the spans.
fn rebuild_trace(
    tx: &rusqlite::Transaction<'_>,
    project: i64,
    trace: &[u8],
) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM traces WHERE project_id = ?1 AND trace_id = ?2")?
        .execute(params![project, trace])?;
    let call = format!(
        "kind IN ({}, {})",
        kind_code(ObservationKind::Llm),
        kind_code(ObservationKind::Embedding)
    );
    let root = |column: &str| {
        format!(
            "COALESCE((SELECT r.{column} FROM spans r WHERE r.project_id = ?1 AND r.trace_id = ?2 \
             AND r.parent_span_id IS NULL AND r.{column} IS NOT NULL LIMIT 1), MIN(s.{column}))"
        )
    };
    let sql = format!(
        "INSERT INTO traces (project_id, trace_id, root_name, root_span_id, start_ns, end_ns, span_count, \
         error_count, input_tokens, output_tokens, total_tokens, cache_read_tokens, cache_write_tokens, \
         reasoning_tokens, cost_nano_usd, service, agent, user_id, session_id, tenant_id) \
         SELECT ?1, ?2, \
           (SELECT r.name FROM spans r WHERE r.project_id = ?1 AND r.trace_id = ?2 AND r.parent_span_id IS NULL LIMIT 1), \
           (SELECT r.span_id FROM spans r WHERE r.project_id = ?1 AND r.trace_id = ?2 AND r.parent_span_id IS NULL LIMIT 1), \
           MIN(s.start_ns), MAX(s.start_ns + s.duration_ns), COUNT(*), SUM(s.is_error), \
           COALESCE(SUM(CASE WHEN {call} THEN s.input_tokens END), 0), \
           COALESCE(SUM(CASE WHEN {call} THEN s.output_tokens END), 0), \
           COALESCE(SUM(CASE WHEN {call} THEN COALESCE(s.total_tokens, s.input_tokens + s.output_tokens, s.input_tokens, s.output_tokens) END), 0), \
           COALESCE(SUM(CASE WHEN {call} THEN s.cache_read_tokens END), 0), \
           COALESCE(SUM(CASE WHEN {call} THEN s.cache_write_tokens END), 0), \
           COALESCE(SUM(CASE WHEN {call} THEN s.reasoning_tokens END), 0), \
           SUM(CASE WHEN {call} THEN s.cost_nano_usd END), \
           {service}, {agent}, {user}, {session}, {tenant} \
         FROM spans s WHERE s.project_id = ?1 AND s.trace_id = ?2 GROUP BY s.project_id, s.trace_id",
        service = root("service"),
        agent = root("agent"),
        user = root("user_id"),
        session = root("session_id"),
        tenant = root("tenant_id"),
    );
    tx.prepare_cached(&sql)?.execute(params![project, trace])?;
    Ok(())
}

/// Deletes up to [`BATCH`] of the project's logs from before `cutoff`; returns how many.
fn delete_log_batch(conn: &mut Connection, project: i64, cutoff: i64) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n = tx
        .prepare_cached(
            "DELETE FROM logs WHERE id IN (SELECT id FROM logs INDEXED BY logs_by_time \
             WHERE project_id = ?1 AND time_ns < ?2 AND id < (SELECT MAX(id) FROM logs) LIMIT ?3)",
        )?
        .execute(params![project, cutoff, BATCH])?;
    tx.commit()?;
    Ok(n as u64)
}

/// Drops the project's rollup hours before `cutoff` (a midnight, so only whole hours go).
fn delete_rollup(conn: &mut Connection, project: i64, cutoff: i64) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached("DELETE FROM cost_rollup_hourly WHERE project_id = ?1 AND hour_ns < ?2")?
        .execute(params![project, cutoff])?;
    tx.commit()?;
    Ok(())
}

/// Hands up to [`VACUUM_STEP`] free pages back to the file system; true while more remain.
/// Does nothing on a database without incremental auto-vacuum.
fn vacuum_step(conn: &mut Connection) -> Result<bool, StoreError> {
    let mode: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
    if mode != 2 {
        return Ok(false);
    }
    let before: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    if before == 0 {
        return Ok(false);
    }
    conn.execute_batch(&format!("PRAGMA incremental_vacuum({VACUUM_STEP})"))?;
    let after: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    Ok(after > 0 && after < before)
}
