//! Log search: keyset pages over (time, id), walked through `logs_by_time`.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use sightline_core::{LogRecord, ProjectId};

use super::filter::{after, log_predicates, Where};
use super::ResourceSet;
use crate::codec::{decode_log, LogColumns};
use crate::paging;
use crate::sqlite::rows::{read_log_columns, LOG_SELECT};
use crate::sqlite::SqliteStore;
use crate::{LogCursor, LogPage, LogQuery, LogReader, StoreError};

#[async_trait]
impl LogReader for SqliteStore {
    async fn list_logs(&self, project: ProjectId, query: &LogQuery) -> Result<LogPage, StoreError> {
        let query = query.clone();
        self.with_conn(move |conn| list_logs(conn, project.0, &query))
            .await
    }
}

/// Decodes log rows (with their store id) into records pointing into `resources`.
pub(super) fn decode_log_rows(
    conn: &Connection,
    project: i64,
    rows: Vec<(i64, LogColumns, i64)>,
    resources: &mut ResourceSet,
) -> Result<Vec<(i64, LogRecord)>, StoreError> {
    rows.into_iter()
        .map(|(id, cols, hash)| {
            let idx = resources.index_of(conn, project, hash)?;
            Ok((id, decode_log(cols, idx)?))
        })
        .collect()
}

fn list_logs(conn: &Connection, project: i64, q: &LogQuery) -> Result<LogPage, StoreError> {
    if q.limit == 0 {
        return Ok(LogPage::default());
    }
    let mut w = Where::new();
    w.push("project_id = ?", [Value::Integer(project)]);
    if let Some(c) = &q.after {
        w.extend(after(
            &["time_ns", "id"],
            vec![Value::Integer(c.time_ns), Value::Integer(c.id)],
            q.descending,
        ));
    }
    w.extend(log_predicates(&q.filter));
    let dir = if q.descending { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT id, {LOG_SELECT} FROM logs WHERE {} ORDER BY time_ns {dir}, id {dir} LIMIT {}",
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
    let more = paging::trim(&mut rows, q.limit);
    let mut resources = ResourceSet::default();
    let logs = decode_log_rows(conn, project, rows, &mut resources)?;
    let next = paging::next(&logs, more, LogCursor::after);
    Ok(LogPage {
        resources: resources.resources,
        logs: logs.into_iter().map(|(_, l)| l).collect(),
        next,
    })
}
