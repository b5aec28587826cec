//! Load generation for `sightline demo` and `sightline bench`: realistic agent traffic as OTLP,
//! the sender that delivers it, the demo, and the ingest and query benchmarks. The CLI parses
//! the flags and hands each command its options here; nothing in this crate parses arguments.

pub mod demo;
pub mod gateway_bench;
pub mod ingest_bench;
mod measure;
pub mod mock_upstream;
pub mod query_bench;
mod send;
mod traffic;
