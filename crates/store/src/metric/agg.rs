//! The engine-neutral half of metric reads: a project's series rows become the metric list,
//! or the series a query selects with their groups; fetched points become buckets per group.

use std::collections::{BTreeMap, HashMap};

use sightline_core::metrics::{Histogram, MetricKind};
use sightline_core::ProjectId;

use super::rows::{PointRow, SeriesRow};
use super::{MetricBucket, MetricGroup, MetricInfo, MetricSeriesQuery, SeriesSnapshot};
use crate::StoreError;

/// The metrics among a project's series rows (one row per series), by name. Each takes the
/// definition of its most recently seen series.
pub(crate) fn infos(rows: &[SeriesRow]) -> Vec<MetricInfo> {
    let mut by_name: BTreeMap<&str, (MetricInfo, i64)> = BTreeMap::new();
    for r in rows {
        let d = r.def();
        let entry = by_name.entry(&r.name).or_insert_with(|| {
            (
                MetricInfo {
                    name: d.name.clone(),
                    kind: d.kind,
                    temporality: d.temporality,
                    monotonic: d.monotonic,
                    unit: d.unit.clone(),
                    description: d.description.clone(),
                    series: 0,
                    last_ns: r.time_ns,
                },
                i64::MIN,
            )
        });
        let (info, newest) = entry;
        info.series += 1;
        info.last_ns = info.last_ns.max(r.time_ns);
        if r.time_ns > *newest {
            *newest = r.time_ns;
            (info.kind, info.temporality, info.monotonic) = (d.kind, d.temporality, d.monotonic);
            (info.unit, info.description) = (d.unit, d.description);
        }
    }
    by_name.into_values().map(|(info, _)| info).collect()
}

/// The series of one metric that match the query's attribute filters, each with its group.
pub(crate) fn select(
    rows: &[SeriesRow],
    q: &MetricSeriesQuery,
) -> Result<HashMap<i64, Option<String>>, StoreError> {
    let mut out = HashMap::new();
    for r in rows {
        let series = r.series()?;
        let matches = q
            .attributes
            .iter()
            .all(|(k, v)| series.attribute(k).as_deref() == Some(v.as_str()));
        if matches {
            let group = q.group_by.as_deref().and_then(|k| series.attribute(k));
            out.insert(r.id, group);
        }
    }
    Ok(out)
}

/// One bucket being summed.
#[derive(Default)]
struct Acc {
    bucket: MetricBucket,
    /// Each series' newest (time, level) in the bucket.
    last: HashMap<i64, (i64, f64)>,
}

/// `points` (of the selected series, in the window) as buckets per group; every group of
/// `selected` appears, with or without points.
pub(crate) fn buckets(
    q: &MetricSeriesQuery,
    kind: MetricKind,
    selected: &HashMap<i64, Option<String>>,
    points: &[PointRow],
) -> Result<Vec<MetricGroup>, StoreError> {
    let mut groups: BTreeMap<Option<String>, (usize, BTreeMap<i64, Acc>)> = BTreeMap::new();
    for group in selected.values() {
        groups.entry(group.clone()).or_default().0 += 1;
    }
    let b = q.bucket_ns.max(1);
    for p in points {
        let Some(group) = selected.get(&p.series_id) else {
            continue;
        };
        let (_, buckets) = groups.entry(group.clone()).or_default();
        let start = p.time_ns.div_euclid(b) * b;
        let acc = buckets.entry(start).or_default();
        let m = &mut acc.bucket;
        if m.samples == 0 {
            (m.start_ns, m.min, m.max) = (start, p.value, p.value);
        }
        m.samples += 1;
        m.sum += p.value;
        m.min = m.min.min(p.value);
        m.max = m.max.max(p.value);
        let last = acc.last.entry(p.series_id).or_insert((p.time_ns, p.level));
        if p.time_ns >= last.0 {
            *last = (p.time_ns, p.level);
        }
        if kind == MetricKind::Histogram {
            if let Some(h) = p.histogram()? {
                m.histogram.get_or_insert_with(Histogram::default).merge(&h);
            }
        }
    }
    Ok(groups
        .into_iter()
        .map(|(group, (series, buckets))| MetricGroup {
            group,
            series,
            buckets: buckets
                .into_values()
                .map(|mut acc| {
                    acc.bucket.last = acc.last.values().map(|(_, level)| level).sum();
                    acc.bucket
                })
                .collect(),
        })
        .collect())
}

/// A stored series with its totals, for Prometheus; `None` for a series without a state.
pub(crate) fn snapshot(
    project: ProjectId,
    row: &SeriesRow,
) -> Result<Option<SeriesSnapshot>, StoreError> {
    let Some(state) = row.state()? else {
        return Ok(None);
    };
    Ok(Some(SeriesSnapshot {
        project,
        series: row.series()?,
        total: state.total,
        time_ns: state.time_ns,
    }))
}

/// The refusal for a read over [`super::MAX_POINTS_READ`] points.
pub(crate) fn too_many_points(name: &str) -> StoreError {
    StoreError::TooLarge(format!(
        "the window holds more than {} points of metric {name:?}; narrow the window or filter \
         by attribute",
        super::MAX_POINTS_READ
    ))
}
