//! What a series remembers between points, and what each new point stores: the writer keeps one
//! [`SeriesState`] per series and calls [`advance`] for each point in time order. Cumulative
//! points become increases over the previous point of the same start time; a new start time, a
//! counter going down or a histogram's buckets shrinking is a reset, and the point's whole value
//! counts as the increase (everything since the new start).

use serde::{Deserialize, Serialize};

use super::{DataPoint, Histogram, MetricDef, MetricKind, PointValue, Temporality};

/// A series' memory, stored with the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesState {
    /// The start and time of the newest point.
    pub start_ns: i64,
    pub time_ns: i64,
    /// The newest point's value as sent: what the next cumulative point is compared with.
    pub last: PointValue,
    /// Since the series was first stored: a counter's running total of increases, an up-down
    /// sum's current level, a gauge's newest value, a histogram's accumulated buckets.
    pub total: PointValue,
}

/// What one stored point holds.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredValue {
    /// A gauge's value; a sum's increase over the point's interval; a histogram's increase of
    /// its sum (0 when the sender gives no sum).
    pub value: f64,
    /// The series' total after the point ([`SeriesState::total`]; a histogram's total count).
    pub level: f64,
    /// A histogram's increase over the point's interval.
    pub histogram: Option<Histogram>,
}

/// What [`advance`] decided for one point.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Step {
    /// The point to store; `None` when it is already stored or older than the series' newest
    /// cumulative point.
    pub store: Option<StoredValue>,
    /// The series' new state; `None` when unchanged.
    pub state: Option<SeriesState>,
}

fn number(v: Option<&PointValue>) -> Option<f64> {
    match v {
        Some(PointValue::Number(n)) => Some(*n),
        _ => None,
    }
}

fn histogram(v: Option<&PointValue>) -> Option<&Histogram> {
    match v {
        Some(PointValue::Histogram(h)) => Some(h),
        _ => None,
    }
}

/// Takes `point` of a `def` series whose state is `prev`. `stored` says the point (same series
/// and time) is already stored, from an earlier try of the same export: it is not stored again,
/// but a cumulative point still moves the state forward.
pub fn advance(
    def: &MetricDef,
    prev: Option<&SeriesState>,
    point: &DataPoint,
    stored: bool,
) -> Step {
    let newer = prev.is_none_or(|s| point.time_ns > s.time_ns);
    let cumulative = def.kind != MetricKind::Gauge && def.temporality == Temporality::Cumulative;
    if (cumulative && !newer) || (stored && !cumulative) {
        return Step::default();
    }
    // A cumulative point continues the previous one when both started at the same time.
    let same_start = prev.is_some_and(|s| s.start_ns == point.start_ns);
    let state = |total: PointValue| SeriesState {
        start_ns: point.start_ns,
        time_ns: prev.map_or(point.time_ns, |s| s.time_ns.max(point.time_ns)),
        last: point.value.clone(),
        total,
    };
    let (store, state) = match (&point.value, def.kind) {
        (PointValue::Number(v), MetricKind::Gauge) => {
            let v = *v;
            let kept = newer.then(|| state(PointValue::Number(v)));
            let store = StoredValue {
                value: v,
                level: v,
                histogram: None,
            };
            (Some(store), kept)
        }
        (PointValue::Number(v), _) => {
            let v = *v;
            let last = number(prev.map(|s| &s.last)).filter(|_| cumulative && same_start);
            let increase = match last {
                Some(l) if v >= l || !def.monotonic => v - l,
                _ => v,
            };
            let before = number(prev.map(|s| &s.total)).unwrap_or(0.0);
            let total = if def.monotonic || !cumulative {
                before + increase
            } else {
                v
            };
            let store = StoredValue {
                value: increase,
                level: total,
                histogram: None,
            };
            (Some(store), Some(state(PointValue::Number(total))))
        }
        (PointValue::Histogram(h), _) => {
            let last = histogram(prev.map(|s| &s.last)).filter(|_| cumulative && same_start);
            let increase = last.and_then(|l| h.minus(l)).unwrap_or_else(|| h.clone());
            let mut total = histogram(prev.map(|s| &s.total))
                .cloned()
                .unwrap_or_default();
            total.merge(&increase);
            let store = StoredValue {
                value: increase.sum.unwrap_or(0.0),
                level: total.count as f64,
                histogram: Some(increase),
            };
            (Some(store), Some(state(PointValue::Histogram(total))))
        }
    };
    Step {
        store: store.filter(|_| !stored),
        state,
    }
}
