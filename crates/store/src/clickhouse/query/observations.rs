//! The observation list on ClickHouse: keyset pages over (start, trace id, span id), one row
//! per span (duplicates sort next to each other and `LIMIT 1 BY` drops them).

use sightline_core::{Observation, ProjectId};

use super::{after, ns, span_predicates};
use crate::clickhouse::client::Client;
use crate::clickhouse::read::{read_spans, ResourceIndex, SPAN_SELECT};
use crate::clickhouse::rowbinary::bin;
use crate::codec::decode_span;
use crate::filter::Fields;
use crate::paging;
use crate::{ObservationCursor, ObservationPage, ObservationQuery, StoreError};

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
        paging::rows_for(q.limit)
    );
    let mut rows = read_spans(&client.query(&sql).await?)?;
    let more = paging::trim(&mut rows, q.limit);
    let mut index = ResourceIndex::new();
    let observations = rows
        .into_iter()
        .map(|(cols, hash)| decode_span(cols, index.of(hash)))
        .collect::<Result<Vec<Observation>, _>>()?;
    let next = paging::next(&observations, more, ObservationCursor::after);
    let resources = index.resolve(client, project).await?;
    Ok(ObservationPage {
        resources,
        observations,
        next,
    })
}
