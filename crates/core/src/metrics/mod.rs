//! OTLP metrics in the canonical model: a metric's data points become points of a *series*, one
//! per (metric name, point attributes, resource attributes), identified by a stable 64-bit hash.
//! Exponential histograms and summaries become explicit-bucket histograms ([`histogram`]);
//! cumulative sums and histograms are turned into per-point increases at write time with the
//! series' [`state`]. `docs/normalization.md` says what a data point becomes.

pub mod histogram;
mod normalize;
pub mod state;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::value::{AttrValue, Attributes};

pub use histogram::Histogram;
pub use normalize::{check_point, normalize_metrics, MAX_BOUNDS};
pub use state::{advance, SeriesState, Step, StoredValue};

/// What a metric measures, as stored: exponential histograms and summaries are `Histogram`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Gauge,
    Sum,
    Histogram,
}

impl MetricKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gauge => "gauge",
            Self::Sum => "sum",
            Self::Histogram => "histogram",
        }
    }

    /// The number stored for the kind.
    pub fn code(self) -> u8 {
        match self {
            Self::Gauge => 1,
            Self::Sum => 2,
            Self::Histogram => 3,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Gauge),
            2 => Some(Self::Sum),
            3 => Some(Self::Histogram),
            _ => None,
        }
    }
}

/// How a sum or histogram accumulates: each point covers its own interval (`Delta`), or
/// everything since its start time (`Cumulative`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Temporality {
    Delta,
    Cumulative,
}

impl Temporality {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delta => "delta",
            Self::Cumulative => "cumulative",
        }
    }
}

/// A metric's identity and type, as the last point of its series described it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDef {
    pub name: String,
    pub description: String,
    pub unit: String,
    pub kind: MetricKind,
    pub temporality: Temporality,
    pub monotonic: bool,
}

/// One series: a metric with one set of point attributes from one resource. Attributes are
/// sorted by key, one value per key (the last one sent).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// [`series_id`] of (name, attributes, resource).
    pub id: i64,
    pub def: MetricDef,
    pub attributes: Attributes,
    pub resource: Attributes,
}

impl Series {
    /// The value of `key` as text: a point attribute, else a resource attribute.
    pub fn attribute(&self, key: &str) -> Option<String> {
        let find = |attrs: &Attributes| {
            attrs
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.to_text())
        };
        find(&self.attributes).or_else(|| find(&self.resource))
    }
}

/// A data point's value: a number (gauges and sums) or a histogram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointValue {
    Number(f64),
    Histogram(Histogram),
}

/// One data point of `MetricBatch::series[series]`, as sent (cumulative values stay cumulative).
#[derive(Debug, Clone, PartialEq)]
pub struct DataPoint {
    pub series: usize,
    /// 0 when the sender did not say.
    pub start_ns: i64,
    pub time_ns: i64,
    pub value: PointValue,
}

/// A normalized metrics export: every distinct series once, and the points pointing into it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricBatch {
    pub series: Vec<Series>,
    pub points: Vec<DataPoint>,
}

impl MetricBatch {
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// The stable id of a series: FNV-1a over the name and the sorted attributes (each key and its
/// value as JSON), as an `i64`. Stored, so it must never change for the same input.
pub fn series_id(name: &str, attributes: &Attributes, resource: &Attributes) -> i64 {
    let mut h = Fnv::default();
    h.write(name.as_bytes());
    for attrs in [attributes, resource] {
        h.write(&[0x1d]);
        for (k, v) in attrs {
            h.write(k.as_bytes());
            h.write(&[0x1f]);
            h.write(v.to_json().to_string().as_bytes());
            h.write(&[0x1e]);
        }
    }
    i64::from_ne_bytes(h.0.to_ne_bytes())
}

/// Attributes sorted by key, the last value of a repeated key kept, empty values dropped.
pub fn canonical(attrs: Attributes) -> Attributes {
    let mut out: Attributes = Vec::with_capacity(attrs.len());
    for (k, v) in attrs {
        if matches!(v, AttrValue::Empty) {
            continue;
        }
        match out.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// 64-bit FNV-1a.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
