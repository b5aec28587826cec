//! OTLP metric series on the embedded engine: the write (run by the writer thread inside the
//! group's transaction, so the series count, states and points move together), the reads, and
//! the retention steps. What is stored and how reads are bucketed is decided in
//! `crate::metric` for both engines.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use sightline_core::metrics::MetricBatch;
use sightline_core::ProjectId;

use super::writer::WriteJob;
use super::SqliteStore;
use crate::metric::job::{self, MetricJob};
use crate::metric::plan::{plan, point_keys, Known};
use crate::metric::rows::{state_of, PointRow, SeriesRow};
use crate::metric::{agg, MAX_POINTS_READ};
use crate::{
    MetricInfo, MetricSeriesQuery, MetricSeriesReader, MetricSeriesResult, MetricWriteOutcome,
    MetricWriter, SeriesSnapshot, StoreError,
};

/// Writes one metrics job in the writer's open transaction.
pub(crate) fn write(
    tx: &Transaction<'_>,
    project: i64,
    job: &MetricJob,
) -> Result<MetricWriteOutcome, StoreError> {
    let batch = &job.batch;
    let mut known = Known {
        count: tx
            .prepare_cached("SELECT COUNT(*) FROM metric_series WHERE project_id = ?1")?
            .query_row([project], |r| r.get::<_, i64>(0))? as usize,
        ..Known::default()
    };
    for s in &batch.series {
        let state: Option<String> = tx
            .prepare_cached(
                "SELECT state FROM metric_series WHERE project_id = ?1 AND series_id = ?2",
            )?
            .query_row(params![project, s.id], |r| r.get(0))
            .optional()?;
        if let Some(text) = state {
            known.stored.insert(s.id, state_of(&text)?);
        }
    }
    for (series, time) in point_keys(batch) {
        let found = tx
            .prepare_cached(
                "SELECT 1 FROM metric_points WHERE project_id = ?1 AND series_id = ?2 AND time_ns = ?3",
            )?
            .exists(params![project, series, time])?;
        if found {
            known.points.insert((series, time));
        }
    }
    let plan = plan(batch, job.max_series, known)?;
    for r in &plan.series {
        tx.prepare_cached(
            "INSERT INTO metric_series (project_id, series_id, name, kind, temporality, monotonic, \
             unit, description, attributes, resource, time_ns, state) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
             ON CONFLICT (project_id, series_id) DO UPDATE SET name = excluded.name, \
             kind = excluded.kind, temporality = excluded.temporality, \
             monotonic = excluded.monotonic, unit = excluded.unit, \
             description = excluded.description, \
             time_ns = MAX(metric_series.time_ns, excluded.time_ns), state = excluded.state",
        )?
        .execute(params![
            project,
            r.id,
            r.name,
            r.kind,
            r.temporality,
            r.monotonic,
            r.unit,
            r.description,
            r.attributes,
            r.resource,
            r.time_ns,
            r.state,
        ])?;
    }
    for p in &plan.points {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO metric_points (project_id, series_id, time_ns, start_ns, value, \
             level, histogram) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            project,
            p.series_id,
            p.time_ns,
            p.start_ns,
            p.value,
            p.level,
            p.histogram
        ])?;
    }
    Ok(plan.outcome)
}

#[async_trait]
impl MetricWriter for SqliteStore {
    async fn write_metrics(
        &self,
        project: ProjectId,
        batch: MetricBatch,
        max_series: usize,
    ) -> Result<MetricWriteOutcome, StoreError> {
        job::write(&self.queue, batch, max_series, |job| {
            WriteJob::metrics(project, job)
        })
        .await
    }
}

const SERIES_COLUMNS: &str = "series_id, name, kind, temporality, monotonic, unit, description, \
    attributes, resource, time_ns, state";

fn series_row(r: &Row<'_>) -> rusqlite::Result<SeriesRow> {
    Ok(SeriesRow {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        temporality: r.get(3)?,
        monotonic: r.get(4)?,
        unit: r.get(5)?,
        description: r.get(6)?,
        attributes: r.get(7)?,
        resource: r.get(8)?,
        time_ns: r.get(9)?,
        state: r.get(10)?,
    })
}

/// The project's series, all or one metric's.
fn series_rows(
    conn: &Connection,
    project: i64,
    name: Option<&str>,
) -> Result<Vec<SeriesRow>, StoreError> {
    let rows = match name {
        Some(name) => conn
            .prepare_cached(&format!(
                "SELECT {SERIES_COLUMNS} FROM metric_series WHERE project_id = ?1 AND name = ?2"
            ))?
            .query_map(params![project, name], series_row)?
            .collect::<Result<Vec<_>, _>>()?,
        None => conn
            .prepare_cached(&format!(
                "SELECT {SERIES_COLUMNS} FROM metric_series WHERE project_id = ?1"
            ))?
            .query_map([project], series_row)?
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(rows)
}

fn series_query(
    conn: &mut Connection,
    project: i64,
    q: &MetricSeriesQuery,
) -> Result<MetricSeriesResult, StoreError> {
    let rows = series_rows(conn, project, Some(&q.name))?;
    let Some(info) = agg::infos(&rows).into_iter().next() else {
        return Ok(MetricSeriesResult::default());
    };
    let selected = agg::select(&rows, q)?;
    let mut points = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT time_ns, start_ns, value, level, histogram FROM metric_points \
         WHERE project_id = ?1 AND series_id = ?2 AND time_ns >= ?3 AND time_ns < ?4",
    )?;
    for id in selected.keys() {
        let rows = stmt.query_map(params![project, id, q.from_ns, q.to_ns], |r| {
            Ok(PointRow {
                series_id: *id,
                time_ns: r.get(0)?,
                start_ns: r.get(1)?,
                value: r.get(2)?,
                level: r.get(3)?,
                histogram: r.get(4)?,
            })
        })?;
        for row in rows {
            points.push(row?);
            if points.len() > MAX_POINTS_READ {
                return Err(agg::too_many_points(&q.name));
            }
        }
    }
    let groups = agg::buckets(q, info.kind, &selected, &points)?;
    Ok(MetricSeriesResult {
        info: Some(info),
        groups,
    })
}

fn snapshot(conn: &mut Connection, limit: usize) -> Result<Vec<SeriesSnapshot>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT project_id, {SERIES_COLUMNS} FROM metric_series WHERE state != '' \
         ORDER BY project_id, name, series_id LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit], |r| {
        let project: i64 = r.get(0)?;
        let row = SeriesRow {
            id: r.get(1)?,
            name: r.get(2)?,
            kind: r.get(3)?,
            temporality: r.get(4)?,
            monotonic: r.get(5)?,
            unit: r.get(6)?,
            description: r.get(7)?,
            attributes: r.get(8)?,
            resource: r.get(9)?,
            time_ns: r.get(10)?,
            state: r.get(11)?,
        };
        Ok((project, row))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (project, row) = row?;
        out.extend(agg::snapshot(ProjectId(project), &row)?);
    }
    Ok(out)
}

#[async_trait]
impl MetricSeriesReader for SqliteStore {
    async fn metric_names(&self, project: ProjectId) -> Result<Vec<MetricInfo>, StoreError> {
        self.with_conn(move |conn| Ok(agg::infos(&series_rows(conn, project.0, None)?)))
            .await
    }

    async fn metric_series(
        &self,
        project: ProjectId,
        query: &MetricSeriesQuery,
    ) -> Result<MetricSeriesResult, StoreError> {
        let q = query.clone();
        self.with_conn(move |conn| series_query(conn, project.0, &q))
            .await
    }

    async fn metric_snapshot(&self, limit: usize) -> Result<Vec<SeriesSnapshot>, StoreError> {
        self.with_conn(move |conn| snapshot(conn, limit)).await
    }
}

/// Retention: deletes up to `batch` of the project's metric points from before `cutoff`;
/// returns how many. Once none remain, the series not seen since the cutoff go too.
pub(crate) fn delete_point_batch(
    conn: &mut Connection,
    project: i64,
    cutoff: i64,
    batch: i64,
) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n = tx
        .prepare_cached(
            "DELETE FROM metric_points WHERE project_id = ?1 AND (series_id, time_ns) IN \
             (SELECT series_id, time_ns FROM metric_points INDEXED BY metric_points_by_time \
              WHERE project_id = ?1 AND time_ns < ?2 LIMIT ?3)",
        )?
        .execute(params![project, cutoff, batch])?;
    if (n as i64) < batch {
        tx.prepare_cached("DELETE FROM metric_series WHERE project_id = ?1 AND time_ns < ?2")?
            .execute(params![project, cutoff])?;
    }
    tx.commit()?;
    Ok(n as u64)
}
