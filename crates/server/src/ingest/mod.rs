//! The one ingest path and everything that feeds it: the receivers (OTLP/HTTP with the Langfuse
//! path, OTLP/gRPC, native JSON events; traces, logs and metrics), their body caps and admission budget, the wire
//! decoders (`otlp/`, `events/`; wire types never leave them), and the [`IngestService`] every
//! receiver calls. After each commit the service wakes the live bus and tells its
//! [`CommitListener`]s; it never imports what listens.

pub mod admission;
pub mod body;
mod commit;
pub mod events;
pub mod grpc;
pub mod http;
pub mod live;
pub mod otlp;
#[cfg(test)]
mod sdk_fixtures;
mod service;

use std::sync::Arc;

pub use commit::{Commit, CommitListener, MetricsCommit};
pub use service::{IngestOutcome, IngestService};

/// What the receivers share.
#[derive(Clone)]
pub struct IngestState {
    pub service: Arc<IngestService>,
    pub admission: admission::Admission,
    /// How HTTP bodies must arrive: size cap, timeout, least rate.
    pub body: body::BodyRules,
}
