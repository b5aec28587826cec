//! The query API under `/api/v1` (docs/api.md is the contract): thin handlers that get the
//! caller by their signature, parse the query string into the store's query types, call a
//! reader and map the result to one of the [`shapes`]. Failures answer the JSON problem shape of
//! [`ApiError`](crate::error::ApiError).

mod costs;
pub mod cursor;
mod keys;
mod logs;
mod metrics;
mod observations;
#[cfg(test)]
mod openapi_check;
mod otlp_metrics;
pub mod params;
mod prices;
mod sessions;
pub mod shapes;
pub mod stream;
mod traces;
pub mod tree;

use std::sync::Arc;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use sightline_core::time::Clock;
use sightline_store::{
    ChangeFeed, CostReader, LogReader, MetricSeriesReader, MetricsReader, SessionReader,
    TraceReader,
};
use tokio::sync::watch;

use crate::ingest::live::LiveBus;
use crate::pricing::PriceBook;

pub use costs::{costs, FILTERS as COST_FILTERS};
pub use keys::{create_key, list_keys, revoke_key};
pub use logs::list_logs;
pub use metrics::metrics;
pub use observations::list_observations;
pub use otlp_metrics::{metric_names, metric_series};
pub use prices::{delete_override, list_prices, lookup_price, put_override};
pub use sessions::{get_session, list_sessions};
pub use stream::stream;
pub use traces::{get_observation, get_trace, list_traces};

/// Every `/api/v1` read route with the query parameters it accepts (openapi.json must match).
pub const ROUTES: &[(&str, &[&[&str]])] = &[
    ("/api/v1/openapi.json", &[]),
    ("/api/v1/traces", traces::LIST_PARAMS),
    ("/api/v1/traces/{trace_id}", traces::TRACE_PARAMS),
    ("/api/v1/traces/{trace_id}/observations/{span_id}", &[]),
    ("/api/v1/observations", observations::PARAMS),
    ("/api/v1/sessions", sessions::LIST_PARAMS),
    ("/api/v1/sessions/{session_id}", &[]),
    ("/api/v1/logs", logs::PARAMS),
    ("/api/v1/metrics", metrics::PARAMS),
    ("/api/v1/metric-names", otlp_metrics::NAMES_PARAMS),
    ("/api/v1/metric-series", otlp_metrics::SERIES_PARAMS),
    ("/api/v1/costs", costs::PARAMS),
    ("/api/v1/stream", stream::PARAMS),
    ("/api/v1/prices", prices::LIST_PARAMS),
    ("/api/v1/prices/lookup", prices::LOOKUP_PARAMS),
    ("/api/v1/keys", &[]),
    // The gateway's management routes (their handlers are the gateway's, beside it).
    ("/api/v1/budgets", &[]),
    ("/api/v1/budgets/events", &[&["since"]]),
    ("/api/v1/gateway", &[]),
    ("/api/v1/gateway/rate-limits", &[]),
    ("/api/v1/gateway/keys", &[]),
];

/// What the API's handlers read through: the store's read contracts, the price book, the clock,
/// and the live bus and shutdown signal the stream needs.
#[derive(Clone)]
pub struct ApiState {
    pub traces: Arc<dyn TraceReader>,
    pub sessions: Arc<dyn SessionReader>,
    pub logs: Arc<dyn LogReader>,
    /// Time-bucketed aggregates for `/api/v1/metrics` (not the Prometheus counters).
    pub metrics: Arc<dyn MetricsReader>,
    /// The OTLP metric series for `/api/v1/metric-names` and `/api/v1/metric-series`.
    pub otlp_metrics: Arc<dyn MetricSeriesReader>,
    /// The most series a project may have (`ingest.max_metric_series`), shown with the names.
    pub max_metric_series: usize,
    /// Cost attribution for `/api/v1/costs`.
    pub costs: Arc<dyn CostReader>,
    /// The change feed behind the live stream.
    pub feed: Arc<dyn ChangeFeed>,
    /// Per-project prices: the bundled table with each project's overrides.
    pub prices: Arc<PriceBook>,
    pub clock: Arc<dyn Clock>,
    /// Announces commits; live streams wake on it.
    pub live: LiveBus,
    /// Turns true when the server starts shutting down: live streams end on it.
    pub shutdown: watch::Receiver<bool>,
}

/// `GET /api/v1/openapi.json`: the machine-readable description of this API.
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value as Json;

    use super::*;

    #[test]
    fn openapi_describes_every_route_and_parameter() {
        let doc: Json = serde_json::from_str(include_str!("openapi.json")).unwrap();
        assert_eq!(doc["openapi"].as_str().unwrap(), "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        // Every /api/v1 GET route in routes.rs is listed here (and so checked below).
        let routes_rs = include_str!("../app/routes.rs");
        for line in routes_rs.lines().filter(|l| l.contains("get(")) {
            if let Some(path) = line.split('"').nth(1).filter(|p| p.starts_with("/api/v1/")) {
                assert!(
                    ROUTES.iter().any(|(r, _)| *r == path),
                    "{path} missing from ROUTES"
                );
            }
        }
        let spec_paths: BTreeSet<&str> = paths.keys().map(String::as_str).collect();
        let get_paths: BTreeSet<&str> = ROUTES.iter().map(|(r, _)| *r).collect();
        assert!(
            get_paths.is_subset(&spec_paths),
            "{get_paths:?} vs {spec_paths:?}"
        );
        for (route, groups) in ROUTES {
            let get = &paths[*route]["get"];
            let described: BTreeSet<String> = get["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| resolve(&doc, p))
                        .filter(|p| p["in"] == "query")
                        .map(|p| p["name"].as_str().unwrap().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            let accepted: BTreeSet<String> = groups
                .iter()
                .flat_map(|g| g.iter().map(|s| s.to_string()))
                .collect();
            assert_eq!(described, accepted, "query parameters of {route}");
            for name in route
                .split('{')
                .skip(1)
                .map(|s| s.split('}').next().unwrap())
            {
                let has = get["parameters"].as_array().is_some_and(|ps| {
                    ps.iter()
                        .map(|p| resolve(&doc, p))
                        .any(|p| p["in"] == "path" && p["name"] == name)
                });
                assert!(has, "path parameter {name} of {route}");
            }
            assert!(
                get["responses"]["200"].is_object(),
                "{route} documents its answer"
            );
        }
    }

    /// Follows a local `$ref` (`#/components/parameters/x`).
    fn resolve<'a>(doc: &'a Json, p: &'a Json) -> &'a Json {
        match p["$ref"].as_str() {
            Some(r) => r
                .trim_start_matches("#/")
                .split('/')
                .fold(doc, |node, key| &node[key]),
            None => p,
        }
    }
}
