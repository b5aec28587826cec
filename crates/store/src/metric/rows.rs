//! The stored form of series and points, the same on both engines: attributes, series state
//! and point histograms as JSON text (`''` for none), the kind and temporality as small codes.

use serde_json::{Map, Value as Json};
use sightline_core::metrics::{
    Histogram, MetricDef, MetricKind, Series, SeriesState, StoredValue, Temporality,
};
use sightline_core::value::attributes_to_json;
use sightline_core::{AttrValue, Attributes};

use crate::StoreError;

/// One `metric_series` row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesRow {
    pub id: i64,
    pub name: String,
    pub kind: u8,
    pub temporality: u8,
    pub monotonic: bool,
    pub unit: String,
    pub description: String,
    pub attributes: String,
    pub resource: String,
    /// The newest point's time: retention deletes series not seen since its cutoff.
    pub time_ns: i64,
    pub state: String,
}

/// One `metric_points` row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PointRow {
    pub series_id: i64,
    pub time_ns: i64,
    pub start_ns: i64,
    pub value: f64,
    pub level: f64,
    pub histogram: String,
}

fn json_error(e: serde_json::Error) -> StoreError {
    StoreError::Engine(format!("a stored metric is not valid JSON: {e}"))
}

pub(crate) fn temporality_code(t: Temporality) -> u8 {
    match t {
        Temporality::Delta => 1,
        Temporality::Cumulative => 2,
    }
}

fn temporality(code: u8) -> Temporality {
    if code == 1 {
        Temporality::Delta
    } else {
        Temporality::Cumulative
    }
}

fn attributes_text(attrs: &Attributes) -> String {
    attributes_to_json(attrs).to_string()
}

fn attributes_of(text: &str) -> Result<Attributes, StoreError> {
    let map: Map<String, Json> = serde_json::from_str(text).map_err(json_error)?;
    Ok(map
        .iter()
        .map(|(k, v)| (k.clone(), AttrValue::from_json(v)))
        .collect())
}

impl SeriesRow {
    pub fn new(
        series: &Series,
        time_ns: i64,
        state: Option<&SeriesState>,
    ) -> Result<Self, StoreError> {
        let d = &series.def;
        Ok(SeriesRow {
            id: series.id,
            name: d.name.clone(),
            kind: d.kind.code(),
            temporality: temporality_code(d.temporality),
            monotonic: d.monotonic,
            unit: d.unit.clone(),
            description: d.description.clone(),
            attributes: attributes_text(&series.attributes),
            resource: attributes_text(&series.resource),
            time_ns,
            state: match state {
                Some(s) => serde_json::to_string(s).map_err(json_error)?,
                None => String::new(),
            },
        })
    }

    pub fn def(&self) -> MetricDef {
        MetricDef {
            name: self.name.clone(),
            description: self.description.clone(),
            unit: self.unit.clone(),
            kind: MetricKind::from_code(self.kind).unwrap_or(MetricKind::Gauge),
            temporality: temporality(self.temporality),
            monotonic: self.monotonic,
        }
    }

    pub fn series(&self) -> Result<Series, StoreError> {
        Ok(Series {
            id: self.id,
            def: self.def(),
            attributes: attributes_of(&self.attributes)?,
            resource: attributes_of(&self.resource)?,
        })
    }

    pub fn state(&self) -> Result<Option<SeriesState>, StoreError> {
        state_of(&self.state)
    }
}

/// A stored series state (`''`: none).
pub(crate) fn state_of(text: &str) -> Result<Option<SeriesState>, StoreError> {
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text).map(Some).map_err(json_error)
}

impl PointRow {
    pub fn new(
        series_id: i64,
        time_ns: i64,
        start_ns: i64,
        v: &StoredValue,
    ) -> Result<Self, StoreError> {
        Ok(PointRow {
            series_id,
            time_ns,
            start_ns,
            value: v.value,
            level: v.level,
            histogram: match &v.histogram {
                Some(h) => serde_json::to_string(h).map_err(json_error)?,
                None => String::new(),
            },
        })
    }

    pub fn histogram(&self) -> Result<Option<Histogram>, StoreError> {
        if self.histogram.is_empty() {
            return Ok(None);
        }
        serde_json::from_str(&self.histogram)
            .map(Some)
            .map_err(json_error)
    }
}
