//! From [`RawMetrics`] to a [`MetricBatch`]: the checks a data point must pass (the decoder
//! calls [`check_point`] and refuses the point with its location), then series identity and
//! values in the stored shapes.

use std::collections::HashMap;

use super::{
    canonical, series_id, DataPoint, Histogram, MetricBatch, MetricDef, MetricKind, PointValue,
    Series,
};
use crate::raw::{RawMetrics, RawPoint, RawValue};

/// Most explicit bounds a histogram point may have.
pub const MAX_BOUNDS: usize = 256;
/// Most buckets on either side of an exponential histogram point.
const MAX_EXP_COUNTS: usize = 4096;
/// The scales OTLP allows for exponential histograms.
const SCALES: std::ops::RangeInclusive<i32> = -10..=20;

fn finite(v: f64, field: &str) -> Result<(), String> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(format!("{field} is {v}; send a finite number"))
    }
}

/// Whether a data point of a `kind` metric can be stored; the error names the OTLP field and
/// the fix.
pub fn check_point(kind: MetricKind, monotonic: bool, p: &RawPoint) -> Result<(), String> {
    if p.time_ns <= 0 {
        return Err(
            "timeUnixNano is 0; send the time the point was recorded, in nanoseconds since the \
             Unix epoch"
                .into(),
        );
    }
    if p.start_ns > p.time_ns {
        return Err(format!(
            "startTimeUnixNano ({}) is after timeUnixNano ({}); send the start of the interval \
             the point covers, or 0",
            p.start_ns, p.time_ns
        ));
    }
    match &p.value {
        RawValue::Int(i) if kind == MetricKind::Sum && monotonic && *i < 0 => Err(format!(
            "asInt is {i}, but a monotonic sum (a counter) never goes down; send the counter's \
             value, or declare the sum non-monotonic"
        )),
        RawValue::Double(d) if kind == MetricKind::Sum && monotonic && *d < 0.0 => Err(format!(
            "asDouble is {d}, but a monotonic sum (a counter) never goes down; send the \
             counter's value, or declare the sum non-monotonic"
        )),
        RawValue::Int(_) => Ok(()),
        RawValue::Double(d) => finite(*d, "asDouble"),
        RawValue::Histogram {
            count,
            sum,
            bounds,
            counts,
        } => {
            if let Some(s) = sum {
                finite(*s, "sum")?;
            }
            if bounds.len() > MAX_BOUNDS {
                return Err(format!(
                    "explicitBounds has {} bounds, more than {MAX_BOUNDS}; use fewer buckets",
                    bounds.len()
                ));
            }
            if !counts.is_empty() && counts.len() != bounds.len() + 1 {
                return Err(format!(
                    "bucketCounts has {} entries for {} explicitBounds; send one count more \
                     than bounds (the last bucket is above the last bound)",
                    counts.len(),
                    bounds.len()
                ));
            }
            if bounds.iter().any(|b| !b.is_finite()) || bounds.windows(2).any(|w| w[0] >= w[1]) {
                return Err(
                    "explicitBounds must be finite and strictly increasing; send the buckets' \
                     upper bounds in order"
                        .into(),
                );
            }
            let total: u64 = counts.iter().fold(0, |a, c| a.saturating_add(*c));
            if !counts.is_empty() && total != *count {
                return Err(format!(
                    "count ({count}) is not the sum of bucketCounts ({total}); send the number \
                     of values recorded"
                ));
            }
            Ok(())
        }
        RawValue::Exponential {
            count,
            sum,
            scale,
            zero_count,
            positive,
            negative,
        } => {
            if let Some(s) = sum {
                finite(*s, "sum")?;
            }
            if !SCALES.contains(scale) {
                return Err(format!(
                    "scale is {scale}; OTLP allows {} to {}",
                    SCALES.start(),
                    SCALES.end()
                ));
            }
            if positive.counts.len().max(negative.counts.len()) > MAX_EXP_COUNTS {
                return Err(format!(
                    "an exponential histogram side has more than {MAX_EXP_COUNTS} buckets; \
                     lower the scale or the maximum size"
                ));
            }
            let total = positive
                .counts
                .iter()
                .chain(&negative.counts)
                .fold(*zero_count, |a, c| a.saturating_add(*c));
            if total != *count {
                return Err(format!(
                    "count ({count}) is not zeroCount plus the positive and negative bucket \
                     counts ({total}); send the number of values recorded"
                ));
            }
            Ok(())
        }
        RawValue::Summary { sum, .. } => finite(*sum, "sum"),
    }
}

/// The stored shape of a checked value.
fn point_value(v: RawValue) -> PointValue {
    match v {
        RawValue::Int(i) => PointValue::Number(i as f64),
        RawValue::Double(d) => PointValue::Number(d),
        RawValue::Histogram {
            count,
            sum,
            bounds,
            counts,
        } => PointValue::Histogram(Histogram {
            count,
            sum,
            bounds: if counts.is_empty() {
                Vec::new()
            } else {
                bounds
            },
            counts,
        }),
        RawValue::Exponential {
            count,
            sum,
            scale,
            zero_count,
            positive,
            negative,
        } => PointValue::Histogram(Histogram::from_exponential(
            count, sum, scale, zero_count, &positive, &negative,
        )),
        RawValue::Summary { count, sum } => PointValue::Histogram(Histogram {
            count,
            sum: Some(sum),
            bounds: Vec::new(),
            counts: Vec::new(),
        }),
    }
}

/// Normalizes checked metrics: one [`Series`] per distinct (name, point attributes, resource
/// attributes), attributes sorted, values in their stored shapes. Within one export the first
/// metric to name a series defines it.
pub fn normalize_metrics(raw: RawMetrics) -> MetricBatch {
    let resources: Vec<_> = raw
        .resources
        .into_iter()
        .map(|r| canonical(r.attributes))
        .collect();
    let mut batch = MetricBatch::default();
    let mut index: HashMap<i64, usize> = HashMap::new();
    for m in raw.metrics {
        let resource = resources.get(m.resource_index).cloned().unwrap_or_default();
        let def = MetricDef {
            name: m.name,
            description: m.description,
            unit: m.unit,
            kind: m.kind,
            temporality: m.temporality,
            monotonic: m.monotonic && m.kind == MetricKind::Sum,
        };
        for p in m.points {
            let attributes = canonical(p.attributes);
            let id = series_id(&def.name, &attributes, &resource);
            let series = *index.entry(id).or_insert_with(|| {
                batch.series.push(Series {
                    id,
                    def: def.clone(),
                    attributes,
                    resource: resource.clone(),
                });
                batch.series.len() - 1
            });
            batch.points.push(DataPoint {
                series,
                start_ns: p.start_ns,
                time_ns: p.time_ns,
                value: point_value(p.value),
            });
        }
    }
    batch
}
