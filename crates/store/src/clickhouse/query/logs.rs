//! Log search on ClickHouse: keyset pages over (time, seq). `seq` is the store id of a log:
//! the ingest sequence its node gave it, which also breaks ties in time in storage order.

use sightline_core::{LogRecord, ProjectId};

use super::{after, log_predicates, ns};
use crate::clickhouse::client::Client;
use crate::clickhouse::read::{read_log, ResourceIndex, LOG_SELECT};
use crate::clickhouse::rowbinary::RowReader;
use crate::codec::decode_log;
use crate::{LogCursor, LogPage, LogQuery, StoreError};

/// Decodes the first `limit` rows of `seq, LOG_SELECT` into (store id, record) pointing into
/// `index`; returns them and whether more rows followed.
pub(super) fn decode_logs(
    rows: &[u8],
    limit: usize,
    index: &mut ResourceIndex,
) -> Result<(Vec<(i64, LogRecord)>, bool), StoreError> {
    let mut r = RowReader::new(rows);
    let mut out = Vec::new();
    while !r.is_empty() {
        let seq = i64::try_from(r.u64()?).unwrap_or(i64::MAX);
        let (cols, hash) = read_log(&mut r)?;
        if out.len() == limit {
            return Ok((out, true));
        }
        out.push((seq, decode_log(cols, index.of(hash))?));
    }
    Ok((out, false))
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
        q.limit + 1
    );
    let rows = client.query(&sql).await?;
    let mut index = ResourceIndex::new();
    let (logs, more) = decode_logs(&rows, q.limit, &mut index)?;
    let next = match logs.last() {
        Some((id, last)) if more => Some(LogCursor {
            time_ns: last.time_ns,
            id: *id,
        }),
        _ => None,
    };
    Ok(LogPage {
        resources: index.resolve(client, project).await?,
        logs: logs.into_iter().map(|(_, l)| l).collect(),
        next,
    })
}
