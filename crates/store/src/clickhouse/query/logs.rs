//! Log search on ClickHouse: keyset pages over (time, seq). `seq` is the store id of a log:
//! the ingest sequence its node gave it, which also breaks ties in time in storage order.

use sightline_core::{LogRecord, ProjectId};

use super::{after, log_predicates, ns};
use crate::clickhouse::client::Client;
use crate::clickhouse::read::{read_log, ResourceIndex, LOG_SELECT};
use crate::clickhouse::rowbinary::RowReader;
use crate::codec::{decode_log, LogColumns};
use crate::paging;
use crate::{LogCursor, LogPage, LogQuery, StoreError};

/// Reads rows of `seq, LOG_SELECT` as (store id, columns, resource hash).
pub(super) fn read_logs(rows: &[u8]) -> Result<Vec<(i64, LogColumns, i64)>, StoreError> {
    let mut r = RowReader::new(rows);
    let mut out = Vec::new();
    while !r.is_empty() {
        let seq = i64::try_from(r.u64()?).unwrap_or(i64::MAX);
        let (cols, hash) = read_log(&mut r)?;
        out.push((seq, cols, hash));
    }
    Ok(out)
}

/// Decodes log rows (with their store id) into records pointing into `index`.
pub(super) fn decode_logs(
    rows: Vec<(i64, LogColumns, i64)>,
    index: &mut ResourceIndex,
) -> Result<Vec<(i64, LogRecord)>, StoreError> {
    rows.into_iter()
        .map(|(seq, cols, hash)| Ok((seq, decode_log(cols, index.of(hash))?)))
        .collect()
}

pub(crate) async fn list_logs(
    client: &Client,
    project: ProjectId,
    q: &LogQuery,
) -> Result<LogPage, StoreError> {
    if q.limit == 0 {
        return Ok(LogPage::default());
    }
    let mut w = vec![
        format!("project_id = {}", project.0),
        log_predicates(&q.filter),
    ];
    if let Some(c) = &q.after {
        w.push(after(
            &["time_ns", "seq"],
            &[ns(c.time_ns), ns(c.id)],
            q.descending,
        ));
    }
    let dir = if q.descending { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT seq, {LOG_SELECT} FROM logs WHERE {} ORDER BY time_ns {dir}, seq {dir} LIMIT {}",
        w.join(" AND "),
        paging::rows_for(q.limit)
    );
    let mut rows = read_logs(&client.query(&sql).await?)?;
    let more = paging::trim(&mut rows, q.limit);
    let mut index = ResourceIndex::new();
    let logs = decode_logs(rows, &mut index)?;
    let next = paging::next(&logs, more, LogCursor::after);
    Ok(LogPage {
        resources: index.resolve(client, project).await?,
        logs: logs.into_iter().map(|(_, l)| l).collect(),
        next,
    })
}
