//! The change feed on ClickHouse. Positions are `seq`: the ingest sequence each node's writer
//! gives a row right before inserting it (nanoseconds since the epoch, strictly increasing per
//! node), so within one node positions follow commit order. The head is the table-wide largest
//! `seq` (like the SQLite engine's table-wide rowid: a quiet project's subscriber never rescans).
//!
//! A retried span stored twice (two nodes racing) is delivered once: a row is passed over when
//! the same span was stored with a smaller `seq`.
//!
//! Known limit with several nodes: a node's insert can commit after another node's newer rows,
//! and a subscriber that read in between has moved past the older `seq` and never sees it. The
//! window is the time an insert takes (milliseconds), so it takes two nodes writing the same
//! project within it; closing it needs per-node watermarks (a follow-up).

use std::collections::HashMap;

use sightline_core::ProjectId;

use super::logs::{decode_logs, read_logs};
use super::{log_predicates, span_predicates};
use crate::clickhouse::client::Client;
use crate::clickhouse::read::LOG_SELECT;
use crate::clickhouse::read::{read_span, ResourceIndex, SPAN_SELECT};
use crate::clickhouse::rowbinary::{bin, RowReader};
use crate::codec::decode_span;
use crate::filter::Fields;
use crate::paging;
use crate::{FeedBatch, FeedPosition, FeedQuery, StoreError};

async fn table_head(client: &Client, table: &str) -> Result<i64, StoreError> {
    let rows = client
        .query(&format!("SELECT toInt64(max(seq)) FROM {table}"))
        .await?;
    RowReader::new(&rows).i64()
}

pub(crate) async fn feed_head(client: &Client) -> Result<FeedPosition, StoreError> {
    let (observations, logs) =
        tokio::try_join!(table_head(client, "spans"), table_head(client, "logs"))?;
    Ok(FeedPosition { observations, logs })
}

type SpanKey = (Vec<u8>, Vec<u8>);

/// The smallest `seq` each of `keys` (trace id, span id) is stored under.
async fn first_seqs(
    client: &Client,
    project: ProjectId,
    keys: &[SpanKey],
) -> Result<HashMap<SpanKey, u64>, StoreError> {
    let mut out = HashMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let list = keys
        .iter()
        .map(|(t, s)| format!("({}, {})", bin(t), bin(s)))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = client
        .query(&format!(
            "SELECT trace_id, span_id, min(seq) FROM spans WHERE project_id = {} \
             AND (trace_id, span_id) IN ({list}) GROUP BY trace_id, span_id",
            project.0
        ))
        .await?;
    let mut r = RowReader::new(&rows);
    while !r.is_empty() {
        let key = (r.fixed(16)?, r.fixed(8)?);
        out.insert(key, r.u64()?);
    }
    Ok(out)
}

pub(crate) async fn feed(
    client: &Client,
    project: ProjectId,
    q: &FeedQuery,
) -> Result<FeedBatch, StoreError> {
    let head = feed_head(client).await?;
    let mut batch = FeedBatch {
        position: FeedPosition {
            observations: head.observations.max(q.after.observations),
            logs: head.logs.max(q.after.logs),
        },
        ..Default::default()
    };
    let mut index = ResourceIndex::new();
    let after = q.after.observations.max(0);
    if let (Some(filter), true) = (&q.observations, head.observations > after) {
        let select =
            SPAN_SELECT
                .replace("{payload}", "''")
                .replacen("SELECT ", "SELECT toInt64(seq), ", 1);
        let sql = format!(
            "{select} WHERE project_id = {} AND seq > {after} AND seq <= {} AND {} \
             ORDER BY seq LIMIT {}",
            project.0,
            head.observations,
            span_predicates(filter, Fields::All),
            paging::rows_for(q.limit)
        );
        let rows = client.query(&sql).await?;
        let mut r = RowReader::new(&rows);
        let mut found = Vec::new();
        while !r.is_empty() {
            let seq = r.i64()?;
            found.push((seq, read_span(&mut r)?));
        }
        if paging::trim(&mut found, q.limit) {
            batch.more = true;
            batch.position.observations = found.last().map(|f| f.0).unwrap_or(after);
        }
        let keys: Vec<SpanKey> = found
            .iter()
            .map(|(_, (c, _))| (c.trace_id.clone(), c.span_id.clone()))
            .collect();
        let first = first_seqs(client, project, &keys).await?;
        let mut delivered = std::collections::HashSet::new();
        for (seq, (cols, hash)) in found {
            let key = (cols.trace_id.clone(), cols.span_id.clone());
            let later_copy = first
                .get(&key)
                .is_some_and(|f| i64::try_from(*f).ok() != Some(seq));
            if later_copy || !delivered.insert(key) {
                continue; // a copy of a span already stored
            }
            batch
                .observations
                .push((seq, decode_span(cols, index.of(hash))?));
        }
    }
    let after = q.after.logs.max(0);
    if let (Some(filter), true) = (&q.logs, head.logs > after) {
        let sql = format!(
            "SELECT seq, {LOG_SELECT} FROM logs WHERE project_id = {} AND seq > {after} \
             AND seq <= {} AND {} ORDER BY seq LIMIT {}",
            project.0,
            head.logs,
            log_predicates(filter),
            paging::rows_for(q.limit)
        );
        let mut rows = read_logs(&client.query(&sql).await?)?;
        if paging::trim(&mut rows, q.limit) {
            batch.more = true;
            batch.position.logs = rows.last().map(|l| l.0).unwrap_or(after);
        }
        batch.logs = decode_logs(rows, &mut index)?;
    }
    batch.resources = index.resolve(client, project).await?;
    Ok(batch)
}
