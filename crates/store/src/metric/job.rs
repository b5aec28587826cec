//! A metrics write as a job on an engine's write queue: it rides the same queue and commit as
//! spans and logs, and its detailed answer comes back on its own channel once the commit that
//! holds it is done (the queue itself answers every job with a `WriteOutcome`).

use sightline_core::metrics::MetricBatch;
use tokio::sync::oneshot;

use super::MetricWriteOutcome;
use crate::write_queue::WriteQueue;
use crate::StoreError;

/// `MetricWriter::write_metrics` of every engine: the batch as a job (`wrap` makes the engine's
/// job of it) on the engine's write queue; the answer comes after the commit holding it.
pub(crate) async fn write<J>(
    queue: &WriteQueue<J>,
    batch: MetricBatch,
    max_series: usize,
    wrap: impl FnOnce(MetricJob) -> J,
) -> Result<MetricWriteOutcome, StoreError> {
    if batch.is_empty() {
        return Ok(MetricWriteOutcome::default());
    }
    let (job, answer) = MetricJob::new(batch, max_series);
    let cost = job.cost();
    queue.write_job(wrap(job), cost).await?;
    answer.outcome().await
}

pub(crate) struct MetricJob {
    pub batch: MetricBatch,
    pub max_series: usize,
    answer: Option<oneshot::Sender<MetricWriteOutcome>>,
}

/// Where the caller waits for a [`MetricJob`]'s outcome.
pub(crate) struct Answer(oneshot::Receiver<MetricWriteOutcome>);

impl MetricJob {
    pub fn new(batch: MetricBatch, max_series: usize) -> (MetricJob, Answer) {
        let (tx, rx) = oneshot::channel();
        let job = MetricJob {
            batch,
            max_series,
            answer: Some(tx),
        };
        (job, Answer(rx))
    }

    /// The queue's cost of the job: its points.
    pub fn cost(&self) -> usize {
        self.batch.points.len().max(1)
    }

    /// Sends the outcome; call only after the commit that holds the job.
    pub fn answer(&mut self, outcome: MetricWriteOutcome) {
        if let Some(tx) = self.answer.take() {
            let _ = tx.send(outcome);
        }
    }
}

impl Answer {
    /// The outcome, once the queue has acknowledged the job's commit.
    pub async fn outcome(self) -> Result<MetricWriteOutcome, StoreError> {
        self.0
            .await
            .map_err(|_| StoreError::Unavailable("the writer stopped before answering".into()))
    }
}
