//! The observation list (keyset pages over (start, trace id, span id), walked through
//! `spans_by_start`) and single observations with their payload.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use sightline_core::{Observation, ProjectId, Resource, SpanId, TraceId};

use super::filter::{after, span_predicates, Where};
use super::ResourceSet;
use crate::codec::{decode_span, SpanColumns};
use crate::filter::Fields;
use crate::paging;
use crate::sqlite::rows::{read_span_columns, SPAN_SELECT, SPAN_SELECT_LEN};
use crate::sqlite::SqliteStore;
use crate::{ObservationCursor, ObservationPage, ObservationQuery, StoreError};

impl SqliteStore {
    pub(crate) async fn list_observations_impl(
        &self,
        project: ProjectId,
        query: &ObservationQuery,
    ) -> Result<ObservationPage, StoreError> {
        let query = query.clone();
        self.with_conn(move |conn| list_observations(conn, project.0, &query))
            .await
    }

    pub(crate) async fn observation_impl(
        &self,
        project: ProjectId,
        trace_id: TraceId,
        span_id: SpanId,
    ) -> Result<Option<(Resource, Observation)>, StoreError> {
        self.with_conn(move |conn| observation(conn, project.0, &trace_id, &span_id))
            .await
    }
}

/// Decodes span rows into observations pointing into `resources`.
pub(super) fn decode_rows(
    conn: &Connection,
    project: i64,
    rows: Vec<(SpanColumns, i64)>,
    resources: &mut ResourceSet,
) -> Result<Vec<Observation>, StoreError> {
    rows.into_iter()
        .map(|(cols, hash)| {
            let idx = resources.index_of(conn, project, hash)?;
            decode_span(cols, idx)
        })
        .collect()
}

fn list_observations(
    conn: &Connection,
    project: i64,
    q: &ObservationQuery,
) -> Result<ObservationPage, StoreError> {
    if q.limit == 0 {
        return Ok(ObservationPage::default());
    }
    let mut w = Where::new();
    w.push("project_id = ?", [Value::Integer(project)]);
    if let Some(c) = &q.after {
        w.extend(after(
            &["start_ns", "trace_id", "span_id"],
            vec![
                Value::Integer(c.start_ns),
                Value::Blob(c.trace_id.0.to_vec()),
                Value::Blob(c.span_id.0.to_vec()),
            ],
            q.descending,
        ));
    }
    w.extend(span_predicates(&q.filter, "", Fields::All));
    let dir = if q.descending { "DESC" } else { "ASC" };
    let payload = if q.payloads { "payload" } else { "NULL" };
    let sql = format!(
        "SELECT {SPAN_SELECT}, {payload} FROM spans WHERE {} \
         ORDER BY start_ns {dir}, trace_id {dir}, span_id {dir} LIMIT {}",
        w.sql(),
        paging::rows_for(q.limit)
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt
        .query_map(params_from_iter(w.params.iter()), |r| {
            read_span_columns(r, 0, Some(SPAN_SELECT_LEN))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let more = paging::trim(&mut rows, q.limit);
    let mut resources = ResourceSet::default();
    let observations = decode_rows(conn, project, rows, &mut resources)?;
    let next = paging::next(&observations, more, ObservationCursor::after);
    Ok(ObservationPage {
        resources: resources.resources,
        observations,
        next,
    })
}

fn observation(
    conn: &Connection,
    project: i64,
    trace_id: &TraceId,
    span_id: &SpanId,
) -> Result<Option<(Resource, Observation)>, StoreError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {SPAN_SELECT}, payload FROM spans \
             WHERE project_id = ?1 AND trace_id = ?2 AND span_id = ?3"
        ))?
        .query_row(params![project, &trace_id.0[..], &span_id.0[..]], |r| {
            read_span_columns(r, 0, Some(SPAN_SELECT_LEN))
        })
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut resources = ResourceSet::default();
    let mut observations = decode_rows(conn, project, vec![row], &mut resources)?;
    match (resources.resources.pop(), observations.pop()) {
        (Some(resource), Some(obs)) => Ok(Some((resource, obs))),
        _ => Ok(None),
    }
}
