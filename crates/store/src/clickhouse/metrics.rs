//! OTLP metric series on ClickHouse: the write (run by the node's writer task, in its group,
//! points first and then the series rows, see `crate::metric::plan`), and the reads. A series
//! row is rewritten with a newer `version` when its state moves; reads take each series' newest
//! (`argMax(.., version)`), and keep one point per (series, time).
//!
//! The series limit and the cumulative-to-increase state are exact for one node. Nodes
//! sharing a database each read the count and states before writing, so two nodes taking new
//! series of one project at the same moment can pass the limit by what they took together, and
//! one SDK's exports of one cumulative series split across nodes at the same moment can count
//! an increase twice.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sightline_core::metrics::MetricBatch;
use sightline_core::ProjectId;

use super::client::Client;
use super::rowbinary::{quote, RowReader, RowWriter};
use super::writer::{Sequence, WriteJob};
use super::ClickHouseStore;
use crate::metric::job::{self, MetricJob};
use crate::metric::plan::{plan, point_keys, Known};
use crate::metric::rows::{state_of, PointRow, SeriesRow};
use crate::metric::{agg, MAX_POINTS_READ};
use crate::{
    MetricInfo, MetricSeriesQuery, MetricSeriesReader, MetricSeriesResult, MetricWriteOutcome,
    MetricWriter, SeriesSnapshot, StoreError,
};

const SERIES_INSERT: &str = "project_id, series_id, name, kind, temporality, monotonic, unit, \
    description, attributes, resource, time_ns, state, version";

const POINT_INSERT: &str = "project_id, series_id, time_ns, start_ns, value, level, histogram";

/// The newest row of each series, in [`SeriesRow`]'s order (then the project id).
const SERIES_SELECT: &str = "series_id, argMax(name, version), argMax(kind, version), \
    argMax(temporality, version), argMax(monotonic, version), argMax(unit, version), \
    argMax(description, version), argMax(attributes, version), argMax(resource, version), \
    toInt64(max(time_ns)), argMax(state, version)";

fn u64_of(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn id_list(ids: impl Iterator<Item = i64>) -> String {
    ids.map(|id| id.to_string()).collect::<Vec<_>>().join(", ")
}

/// Writes one metrics job for `project`; called by the writer task within its group.
pub(crate) async fn write(
    client: &Client,
    project: i64,
    job: &MetricJob,
    seq: &mut Sequence,
) -> Result<MetricWriteOutcome, StoreError> {
    let batch = &job.batch;
    let ids = id_list(batch.series.iter().map(|s| s.id));
    let mut known = Known::default();
    let rows = client
        .query(&format!(
            "SELECT series_id, argMax(state, version) FROM metric_series \
             WHERE project_id = {project} AND series_id IN ({ids}) GROUP BY series_id"
        ))
        .await?;
    let mut r = RowReader::new(&rows);
    while !r.is_empty() {
        let id = r.i64()?;
        known.stored.insert(id, state_of(&r.string()?)?);
    }
    let rows = client
        .query(&format!(
            "SELECT toUInt64(uniqExact(series_id)) FROM metric_series WHERE project_id = {project}"
        ))
        .await?;
    known.count = usize::try_from(RowReader::new(&rows).u64()?).unwrap_or(usize::MAX);
    let keys: HashSet<(i64, i64)> = point_keys(batch).into_iter().collect();
    let times: HashSet<i64> = keys.iter().map(|k| k.1).collect();
    let rows = client
        .query(&format!(
            "SELECT series_id, toInt64(time_ns) FROM metric_points WHERE project_id = {project} \
             AND series_id IN ({ids}) AND time_ns IN ({})",
            id_list(times.into_iter())
        ))
        .await?;
    let mut r = RowReader::new(&rows);
    while !r.is_empty() {
        let key = (r.i64()?, r.i64()?);
        if keys.contains(&key) {
            known.points.insert(key);
        }
    }
    let plan = plan(batch, job.max_series, known)?;
    let mut points = RowWriter::default();
    for p in &plan.points {
        points.i64(project);
        points.i64(p.series_id);
        points.u64(u64_of(p.time_ns));
        points.u64(u64_of(p.start_ns));
        points.f64(p.value);
        points.f64(p.level);
        points.str(&p.histogram);
    }
    client
        .insert("metric_points", POINT_INSERT, points.buf)
        .await?;
    let mut series = RowWriter::default();
    for s in &plan.series {
        series.i64(project);
        series.i64(s.id);
        series.str(&s.name);
        series.u8(s.kind);
        series.u8(s.temporality);
        series.u8(u8::from(s.monotonic));
        series.str(&s.unit);
        series.str(&s.description);
        series.str(&s.attributes);
        series.str(&s.resource);
        series.u64(u64_of(s.time_ns));
        series.str(&s.state);
        series.u64(seq.next());
    }
    client
        .insert("metric_series", SERIES_INSERT, series.buf)
        .await?;
    Ok(plan.outcome)
}

#[async_trait]
impl MetricWriter for ClickHouseStore {
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

fn read_series(r: &mut RowReader<'_>) -> Result<SeriesRow, StoreError> {
    Ok(SeriesRow {
        id: r.i64()?,
        name: r.string()?,
        kind: r.u8()?,
        temporality: r.u8()?,
        monotonic: r.u8()? != 0,
        unit: r.string()?,
        description: r.string()?,
        attributes: r.string()?,
        resource: r.string()?,
        time_ns: r.i64()?,
        state: r.string()?,
    })
}

async fn series_rows(
    client: &Client,
    project: i64,
    name: Option<&str>,
) -> Result<Vec<SeriesRow>, StoreError> {
    let named = name.map_or(String::new(), |n| format!(" AND name = {}", quote(n)));
    let rows = client
        .query(&format!(
            "SELECT {SERIES_SELECT} FROM metric_series WHERE project_id = {project}{named} \
             GROUP BY series_id"
        ))
        .await?;
    let mut r = RowReader::new(&rows);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(read_series(&mut r)?);
    }
    Ok(out)
}

async fn points(
    client: &Client,
    project: i64,
    q: &MetricSeriesQuery,
    selected: &HashMap<i64, Option<String>>,
) -> Result<Vec<PointRow>, StoreError> {
    if selected.is_empty() || q.to_ns <= q.from_ns.max(0) {
        return Ok(Vec::new());
    }
    let rows = client
        .query(&format!(
            "SELECT series_id, toInt64(time_ns), toInt64(start_ns), value, level, histogram \
             FROM metric_points WHERE project_id = {project} AND series_id IN ({}) \
             AND time_ns >= {} AND time_ns < {} LIMIT {}",
            id_list(selected.keys().copied()),
            u64_of(q.from_ns),
            u64_of(q.to_ns),
            MAX_POINTS_READ * 2 + 1
        ))
        .await?;
    let mut r = RowReader::new(&rows);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while !r.is_empty() {
        let p = PointRow {
            series_id: r.i64()?,
            time_ns: r.i64()?,
            start_ns: r.i64()?,
            value: r.f64()?,
            level: r.f64()?,
            histogram: r.string()?,
        };
        if seen.insert((p.series_id, p.time_ns)) {
            out.push(p);
            if out.len() > MAX_POINTS_READ {
                return Err(agg::too_many_points(&q.name));
            }
        }
    }
    Ok(out)
}

#[async_trait]
impl MetricSeriesReader for ClickHouseStore {
    async fn metric_names(&self, project: ProjectId) -> Result<Vec<MetricInfo>, StoreError> {
        Ok(agg::infos(
            &series_rows(&self.client, project.0, None).await?,
        ))
    }

    async fn metric_series(
        &self,
        project: ProjectId,
        q: &MetricSeriesQuery,
    ) -> Result<MetricSeriesResult, StoreError> {
        let rows = series_rows(&self.client, project.0, Some(&q.name)).await?;
        let Some(info) = agg::infos(&rows).into_iter().next() else {
            return Ok(MetricSeriesResult::default());
        };
        let selected = agg::select(&rows, q)?;
        let points = points(&self.client, project.0, q, &selected).await?;
        let groups = agg::buckets(q, info.kind, &selected, &points)?;
        Ok(MetricSeriesResult {
            info: Some(info),
            groups,
        })
    }

    async fn metric_snapshot(&self, limit: usize) -> Result<Vec<SeriesSnapshot>, StoreError> {
        let rows = self
            .client
            .query(&format!(
                "SELECT project_id, {SERIES_SELECT} FROM metric_series \
                 GROUP BY project_id, series_id HAVING argMax(state, version) != '' \
                 ORDER BY project_id, argMax(name, version), series_id LIMIT {limit}"
            ))
            .await?;
        let mut r = RowReader::new(&rows);
        let mut out = Vec::new();
        while !r.is_empty() {
            let project = ProjectId(r.i64()?);
            out.extend(agg::snapshot(project, &read_series(&mut r)?)?);
        }
        Ok(out)
    }
}
