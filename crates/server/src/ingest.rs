//! The one ingest path: every receiver decodes into a [`RawBatch`] and calls
//! [`IngestService::ingest`], which normalizes, stamps and writes it durably.

use std::sync::Arc;

use sightline_core::normalize::{normalize_log, normalize_span};
use sightline_core::{ProjectId, RawBatch, WriteBatch};
use sightline_store::SpanWriter;

use crate::error::ApiError;

/// Where "now" comes from, so tests can fix it.
pub trait Clock: Send + Sync {
    fn now_ns(&self) -> i64;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ns(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0)
    }
}

/// What one request achieved, for the receiver to answer with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    pub accepted_spans: u64,
    pub rejected_spans: u64,
    pub accepted_logs: u64,
    pub rejected_logs: u64,
    /// Spans already stored (client retries); they count as accepted.
    pub duplicate_spans: u64,
    /// Rejections and warnings, one per line; empty when everything was clean.
    pub message: String,
}

/// Most lines of detail put in one answer.
const MAX_MESSAGE_LINES: usize = 20;

pub struct IngestService {
    writer: Arc<dyn SpanWriter>,
    clock: Arc<dyn Clock>,
}

impl IngestService {
    pub fn new(writer: Arc<dyn SpanWriter>, clock: Arc<dyn Clock>) -> Self {
        IngestService { writer, clock }
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Normalizes and stores `raw` in `project`. Returns after the commit.
    pub async fn ingest(
        &self,
        project: ProjectId,
        raw: RawBatch,
    ) -> Result<IngestOutcome, ApiError> {
        let now = self.clock.now_ns();
        let mut lines = raw.errors;
        let mut batch = WriteBatch {
            resources: raw.resources,
            ..Default::default()
        };
        let empty = sightline_core::Resource::default();
        for (idx, span) in raw.spans {
            let resource = batch.resources.get(idx).unwrap_or(&empty);
            let n = normalize_span(span, resource, idx);
            lines.extend(n.warnings);
            batch.observations.push(n.value);
        }
        for (idx, log) in raw.logs {
            let resource = batch.resources.get(idx).unwrap_or(&empty);
            let mut n = normalize_log(log, resource, idx);
            if n.value.observed_ns == 0 {
                n.value.observed_ns = now;
            }
            if n.value.time_ns == 0 {
                n.value.time_ns = n.value.observed_ns;
            }
            lines.extend(n.warnings);
            batch.logs.push(n.value);
        }
        let written = self.writer.write(project, batch).await?;
        let total = lines.len();
        let mut message: Vec<String> = lines.into_iter().take(MAX_MESSAGE_LINES).collect();
        if total > MAX_MESSAGE_LINES {
            message.push(format!("... and {} more", total - MAX_MESSAGE_LINES));
        }
        Ok(IngestOutcome {
            accepted_spans: (written.observations + written.duplicates) as u64,
            rejected_spans: raw.rejected_spans,
            accepted_logs: written.logs as u64,
            rejected_logs: raw.rejected_logs,
            duplicate_spans: written.duplicates as u64,
            message: message.join("\n"),
        })
    }
}
