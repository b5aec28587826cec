//! What the ingest service tells the rest of the server after each commit. Listeners (the
//! Prometheus counters today; budgets and alert rules next) register with the service, so
//! ingest never imports them: it hands each one the committed request's numbers.

use sightline_core::calls::ModelCall;
use sightline_core::ProjectId;
use sightline_store::{MetricWriteOutcome, WriteOutcome};

/// One committed ingest request.
#[derive(Debug)]
pub struct Commit<'a> {
    pub project: ProjectId,
    /// What the store wrote (new, duplicate, logs).
    pub written: &'a WriteOutcome,
    /// The model calls of the request's batch: all of them, also when the store held some
    /// spans already (it does not say which).
    pub calls: &'a [ModelCall],
    pub rejected_spans: u64,
    pub rejected_logs: u64,
}

/// One committed metrics export.
#[derive(Debug)]
pub struct MetricsCommit<'a> {
    pub project: ProjectId,
    /// What the store wrote and refused (series over the project's limit).
    pub written: &'a MetricWriteOutcome,
    /// Data points refused before the write (invalid).
    pub rejected_points: u64,
}

/// Acts on committed data. Called on the request's task after the commit and before the
/// answer, so it must be quick and must not block: queue slow work elsewhere.
pub trait CommitListener: Send + Sync {
    fn committed(&self, commit: &Commit<'_>);

    /// After a metrics export's commit; listeners that count only spans and logs ignore it.
    fn metrics_committed(&self, _commit: &MetricsCommit<'_>) {}
}
