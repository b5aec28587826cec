//! Sightline's server: OTLP and native receivers, the ingest service, and the HTTP API.

#![recursion_limit = "256"]

pub mod admission;
pub mod api;
pub mod app;
pub mod auth;
pub mod body;
pub mod config;
pub mod error;
pub mod events;
pub mod grpc;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod otlp;
pub mod pricing;
pub mod retention;
pub mod routes;
pub mod state;
pub mod views;
