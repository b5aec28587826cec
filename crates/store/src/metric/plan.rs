//! What one metrics write stores, decided the same way on both engines: which new series fit
//! under the project's limit, and, point by point in time order through each series' state,
//! what each point stores and what the series remembers. The engine fetches what [`Known`]
//! asks for and then writes the [`Plan`], in one transaction (SQLite) or points first, then
//! series (ClickHouse: a failed write retried finds its points stored and moves the states on
//! without storing them twice).

use std::collections::{HashMap, HashSet};

use sightline_core::metrics::{advance, MetricBatch, SeriesState};

use super::rows::{PointRow, SeriesRow};
use super::MetricWriteOutcome;
use crate::StoreError;

/// What the engine read before planning.
#[derive(Debug, Default)]
pub(crate) struct Known {
    /// The batch's series the project already has, with their state.
    pub stored: HashMap<i64, Option<SeriesState>>,
    /// The project's series count.
    pub count: usize,
    /// (series id, time) of the batch's points already stored.
    pub points: HashSet<(i64, i64)>,
}

/// What to write.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// New series and series whose state changed.
    pub series: Vec<SeriesRow>,
    pub points: Vec<PointRow>,
    pub outcome: MetricWriteOutcome,
}

/// The (series id, time) of every point: what [`Known::points`] is asked about.
pub(crate) fn point_keys(batch: &MetricBatch) -> Vec<(i64, i64)> {
    batch
        .points
        .iter()
        .filter_map(|p| batch.series.get(p.series).map(|s| (s.id, p.time_ns)))
        .collect()
}

/// Plans the write of `batch` into a project holding `known`, admitting new series while the
/// project has fewer than `max_series`.
pub(crate) fn plan(
    batch: &MetricBatch,
    max_series: usize,
    known: Known,
) -> Result<Plan, StoreError> {
    let mut out = Plan::default();
    let mut count = known.count;
    // Per batch series: admitted or not, its state, whether it changed.
    let mut admitted = vec![false; batch.series.len()];
    let mut states: Vec<Option<SeriesState>> = vec![None; batch.series.len()];
    let mut changed = vec![false; batch.series.len()];
    let mut newest = vec![i64::MIN; batch.series.len()];
    for (i, s) in batch.series.iter().enumerate() {
        if let Some(state) = known.stored.get(&s.id) {
            admitted[i] = true;
            states[i].clone_from(state);
        } else if count < max_series {
            admitted[i] = true;
            changed[i] = true;
            count += 1;
        } else {
            match out
                .outcome
                .refused_series
                .iter_mut()
                .find(|(name, _)| *name == s.def.name)
            {
                Some((_, n)) => *n += 1,
                None => out.outcome.refused_series.push((s.def.name.clone(), 1)),
            }
        }
    }
    let mut order: Vec<usize> = (0..batch.points.len()).collect();
    order.sort_by_key(|i| (batch.points[*i].series, batch.points[*i].time_ns));
    for i in order {
        let p = &batch.points[i];
        let Some(series) = batch.series.get(p.series) else {
            continue;
        };
        if !admitted[p.series] {
            out.outcome.refused_points += 1;
            continue;
        }
        newest[p.series] = newest[p.series].max(p.time_ns);
        let stored = known.points.contains(&(series.id, p.time_ns));
        let step = advance(&series.def, states[p.series].as_ref(), p, stored);
        match step.store {
            Some(v) => {
                out.points
                    .push(PointRow::new(series.id, p.time_ns, p.start_ns, &v)?);
                out.outcome.points += 1;
            }
            None => out.outcome.duplicates += 1,
        }
        if let Some(state) = step.state {
            states[p.series] = Some(state);
            changed[p.series] = true;
        }
    }
    for (i, s) in batch.series.iter().enumerate() {
        if admitted[i] && changed[i] {
            let state = states[i].as_ref();
            let time_ns = state.map_or(newest[i], |s| s.time_ns);
            out.series.push(SeriesRow::new(s, time_ns, state)?);
        }
    }
    out.outcome.series = count;
    Ok(out)
}
