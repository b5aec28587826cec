//! The observation list on ClickHouse: keyset pages over (start, trace id, span id), one row
//! per span (duplicates sort next to each other and `LIMIT 1 BY` drops them).

use sightline_core::{Observation, ProjectId};

use super::{after, ns, span_predicates, Fields};
use crate::clickhouse::client::Client;
use crate::clickhouse::read::{read_span, ResourceIndex, SPAN_SELECT};
use crate::clickhouse::rowbinary::{bin, RowReader};
use crate::codec::decode_span;
use crate::{ObservationCursor, ObservationPage, ObservationQuery, StoreError};

/// Decodes the first `limit` [`SPAN_SELECT`] rows into observations pointing into `index`;
/// returns them and whether more rows followed.
pub(super) fn decode_spans(
    rows: &[u8],
    limit: usize,
    index: &mut ResourceIndex,
) -> Result<(Vec<Observation>, bool), StoreError> {
    let mut r = RowReader::new(rows);
    let mut out = Vec::new();
    while !r.is_empty() {
        let (cols, hash) = read_span(&mut r)?;
        if out.len() == limit {
            return Ok((out, true));
        }
        out.push(decode_span(cols, index.of(hash))?);
    }
    Ok((out, false))
}

pub(crate) async fn list_observations(
    client: &Client,
    project: ProjectId,
    q: &ObservationQuery,
) -> Result<ObservationPage, StoreError> {
    if q.limit == 0 {
        return Ok(ObservationPage::default());
    }
    let mut w = vec![
        format!("project_id = {}", project.0),
        span_predicates(&q.filter, Fields::All),
    ];
    if let Some(c) = &q.after {
        w.push(after(
            &["start_ns", "trace_id", "span_id"],
            &[ns(c.start_ns), bin(&c.trace_id.0), bin(&c.span_id.0)],
            q.descending,
        ));
    }
    let dir = if q.descending { "DESC" } else { "ASC" };
    let select = SPAN_SELECT.replace("{payload}", if q.payloads { "payload" } else { "''" });
    let sql = format!(
        "{select} WHERE {} ORDER BY start_ns {dir}, trace_id {dir}, span_id {dir} \
         LIMIT 1 BY trace_id, span_id LIMIT {}",
        w.join(" AND "),
        q.limit + 1
    );
    let rows = client.query(&sql).await?;
    let mut index = ResourceIndex::new();
    let (observations, more) = decode_spans(&rows, q.limit, &mut index)?;
    let next = match observations.last() {
        Some(last) if more => Some(ObservationCursor {
            start_ns: last.start_ns,
            trace_id: last.trace_id,
            span_id: last.span_id,
        }),
        _ => None,
    };
    let resources = index.resolve(client, project).await?;
    Ok(ObservationPage {
        resources,
        observations,
        next,
    })
}
