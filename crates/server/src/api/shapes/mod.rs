//! The query API's answers as types: what the handlers send and what the CLI (and the
//! dashboard) read, declared once. One file per resource; each type's conversion from the
//! store's or core's types sits next to it. Absent values are left out, never `null` (prices
//! are the one exception, said there). The types read leniently: a missing field takes its
//! default, an unknown one is ignored. `openapi.json` is checked against them
//! (`api/openapi_check.rs`).

mod costs;
mod gateway;
mod keys;
mod logs;
mod metrics;
mod observations;
mod otlp_metrics;
mod page;
mod prices;
mod sessions;
mod stream;
mod traces;

pub use costs::{CostRow, Costs};
pub use gateway::{Budget, BudgetEvent, GatewayStatus, ProviderKey, RateLimit, Upstream};
pub use keys::{ApiKey, CreatedKey};
pub use logs::Log;
pub use metrics::{MetricPoint, MetricSeries, Metrics};
pub use observations::{Link, Observation, Scope};
pub use otlp_metrics::{
    OtlpMetric, OtlpMetricGroup, OtlpMetricName, OtlpMetricNames, OtlpMetricPoint,
};
pub use page::Page;
pub use prices::{Price, PriceEntry, PriceList, PriceLookup, PriceOverride};
pub use sessions::{SessionDetail, SessionSummary, Turn};
pub use stream::{Dropped, StreamEvent};
pub use traces::{TraceSummary, TraceTree, TreeObservation};

/// The body of every failure.
pub use crate::error::Problem;

use serde_json::{Map, Value as Json};
use sightline_core::value::attributes_to_json;
use sightline_core::{AttrValue, Resource};

/// Attributes as one JSON object (later keys win on duplicates).
fn attribute_map(attributes: &[(String, AttrValue)]) -> Map<String, Json> {
    match attributes_to_json(attributes) {
        Json::Object(m) => m,
        _ => Map::new(),
    }
}

/// The attributes of `resources[index]`, empty when there is no such resource.
fn resource_map(resources: &[Resource], index: usize) -> Map<String, Json> {
    resources
        .get(index)
        .map(|r| attribute_map(&r.attributes))
        .unwrap_or_default()
}

/// A JSON value that is there: `null` counts as absent.
fn present(v: &Option<Json>) -> Option<Json> {
    v.clone().filter(|v| !v.is_null())
}

/// `errors / requests`, 0 without requests.
fn rate(errors: i64, requests: i64) -> f64 {
    if requests > 0 {
        errors as f64 / requests as f64
    } else {
        0.0
    }
}

/// Nanoseconds as milliseconds.
fn millis(ns: i64) -> f64 {
    ns as f64 / 1e6
}
