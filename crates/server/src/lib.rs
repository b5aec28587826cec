//! Sightline's server: receivers, the ingest service, the query API, the dashboard, Prometheus
//! counters and background jobs, wired together by `app`.
//!
//! Layers, lowest first; a module imports only from layers below it (`source_rules.rs` checks):
//! 1. `error` (error codes and the API's error), `auth` (callers), `pricing` (price books);
//! 2. `ingest` (receivers and the one ingest service);
//! 3. `metrics` (listens to ingest);
//! 4. `api` (the query API), `dashboard` (the web UI, through the API), `jobs` (background jobs),
//!    `gateway` (the LLM gateway);
//! 5. `app` (configuration, state, routes, start-up and shutdown).

#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod auth;
pub mod dashboard;
pub mod error;
pub mod gateway;
pub mod ingest;
pub mod jobs;
pub mod metrics;
pub mod pricing;

#[cfg(test)]
mod source_rules;
