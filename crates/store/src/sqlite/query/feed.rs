//! The change feed. Positions are rowids: `spans` is a rowid table and `logs.id` is its rowid.
//! One writer thread commits in order and a new row takes the largest rowid plus one, so a
//! snapshot always holds a prefix of the rowids; idempotent rewrites (`INSERT OR IGNORE`) add no
//! row. The head is the table-wide largest rowid, not the project's: any position past a
//! project's last row is as good as that row's, and it is one b-tree seek instead of a scan
//! (a per-project maximum would need another index on `spans`). So a subscriber to a quiet
//! project never rescans other projects' history.
//!
//! The project test is written `+project_id` so the planner walks the rowid range instead of
//! the project's whole `spans_by_start` entries.
//!
//! One call scans at most [`SCAN_WINDOW`] rowids of each table, so a subscriber far behind or
//! with a filter that matches nothing catches up in bounded steps (`more` says so).

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use sightline_core::ProjectId;

use super::filter::{log_predicates, span_predicates, Where};
use super::logs::decode_log_rows;
use super::observations::decode_rows;
use super::{snapshot, ResourceSet};
use crate::filter::Fields;
use crate::paging;
use crate::sqlite::rows::{read_log_columns, read_span_columns, LOG_SELECT, SPAN_SELECT};
use crate::sqlite::SqliteStore;
use crate::{ChangeFeed, FeedBatch, FeedPosition, FeedQuery, StoreError};

/// Most rowids one feed call scans per table.
const SCAN_WINDOW: i64 = 50_000;

#[async_trait]
impl ChangeFeed for SqliteStore {
    async fn feed_head(&self, _project: ProjectId) -> Result<FeedPosition, StoreError> {
        self.with_conn(move |conn| snapshot(conn, head)).await
    }

    async fn feed(&self, project: ProjectId, query: &FeedQuery) -> Result<FeedBatch, StoreError> {
        let query = query.clone();
        self.with_conn(move |conn| snapshot(conn, |conn| feed(conn, project.0, &query)))
            .await
    }
}

/// The largest rowid of `table` (0 when empty): one seek to the b-tree's last entry.
fn table_head(conn: &Connection, table: &str) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT COALESCE(MAX(rowid), 0) FROM {table}"))?
        .query_row([], |r| r.get(0))?)
}

fn head(conn: &Connection) -> Result<FeedPosition, StoreError> {
    Ok(FeedPosition {
        observations: table_head(conn, "spans")?,
        logs: table_head(conn, "logs")?,
    })
}

/// The rowid range `(after, upper]` one call scans, and whether rows lie past it.
fn window(after: i64, head: i64) -> (i64, i64, bool) {
    let lower = after.max(0);
    let upper = head.min(lower.saturating_add(SCAN_WINDOW)).max(lower);
    (lower, upper, upper < head)
}

fn feed(conn: &Connection, project: i64, q: &FeedQuery) -> Result<FeedBatch, StoreError> {
    let mut batch = FeedBatch::default();
    let mut resources = ResourceSet::default();

    let spans_head = table_head(conn, "spans")?;
    let (lower, upper, beyond) = window(q.after.observations, spans_head);
    batch.position.observations = upper;
    if let Some(filter) = &q.observations {
        let mut w = Where::new();
        w.push(
            "rowid > ? AND rowid <= ? AND +project_id = ?",
            [
                Value::Integer(lower),
                Value::Integer(upper),
                Value::Integer(project),
            ],
        );
        w.extend(span_predicates(filter, "", Fields::All));
        let sql = format!(
            "SELECT rowid, {SPAN_SELECT} FROM spans WHERE {} ORDER BY rowid LIMIT {}",
            w.sql(),
            paging::rows_for(q.limit)
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt
            .query_map(params_from_iter(w.params.iter()), |r| {
                Ok((r.get::<_, i64>(0)?, read_span_columns(r, 1, None)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let full = paging::trim(&mut rows, q.limit);
        let positions: Vec<i64> = rows.iter().map(|(p, _)| *p).collect();
        if full {
            batch.position.observations = positions.last().copied().unwrap_or(lower);
        }
        batch.more |= full;
        let observations = decode_rows(
            conn,
            project,
            rows.into_iter().map(|(_, r)| r).collect(),
            &mut resources,
        )?;
        batch.observations = positions.into_iter().zip(observations).collect();
    }
    batch.more |= beyond;

    let logs_head = table_head(conn, "logs")?;
    let (lower, upper, beyond) = window(q.after.logs, logs_head);
    batch.position.logs = upper;
    if let Some(filter) = &q.logs {
        let mut w = Where::new();
        w.push(
            "id > ? AND id <= ? AND +project_id = ?",
            [
                Value::Integer(lower),
                Value::Integer(upper),
                Value::Integer(project),
            ],
        );
        w.extend(log_predicates(filter));
        let sql = format!(
            "SELECT id, {LOG_SELECT} FROM logs WHERE {} ORDER BY id LIMIT {}",
            w.sql(),
            paging::rows_for(q.limit)
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt
            .query_map(params_from_iter(w.params.iter()), |r| {
                let (cols, hash) = read_log_columns(r, 1)?;
                Ok((r.get::<_, i64>(0)?, cols, hash))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let full = paging::trim(&mut rows, q.limit);
        if full {
            batch.position.logs = rows.last().map(|r| r.0).unwrap_or(lower);
        }
        batch.more |= full;
        batch.logs = decode_log_rows(conn, project, rows, &mut resources)?;
    }
    batch.more |= beyond;
    batch.resources = resources.resources;
    Ok(batch)
}
