//! The bounded write queue in front of both engines' writers, and the write path through it.
//! A caller encodes its batch on its own task, queues it without waiting (refused with
//! `Overloaded` when the queue is over its budget, `Unavailable` once it is closed) and waits
//! for the writer's answer. A writer takes the first job waiting and whatever is queued behind
//! it as one group, commits the group, and only then answers each job: `write` returns after the
//! commit that holds the data. While the disk budget is spent (limits.rs), writes are refused
//! before they are encoded.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use sightline_core::{ProjectId, WriteBatch};
use tokio::sync::{mpsc, oneshot};

use crate::limits::DiskGate;
use crate::{StoreError, WriteOutcome};

/// Most jobs the channel holds, whatever their size (spans and logs are bounded by the budget).
const CHANNEL_JOBS: usize = 4096;

type Ack = oneshot::Sender<Result<WriteOutcome, StoreError>>;

/// A job with its share of the budget and where its answer goes.
struct Queued<J> {
    job: J,
    cost: usize,
    ack: Ack,
}

/// The callers' side, held by the store until it shuts down.
pub(crate) struct WriteQueue<J> {
    tx: RwLock<Option<mpsc::Sender<Queued<J>>>>,
    /// Spans and logs queued or being written.
    queued: Arc<AtomicUsize>,
    max_queued: usize,
    /// Shut while the disk budget is spent.
    pub disk: Arc<DiskGate>,
}

/// The writer's side.
pub(crate) struct Receiver<J> {
    rx: mpsc::Receiver<Queued<J>>,
    queued: Arc<AtomicUsize>,
    disk: Arc<DiskGate>,
}

/// A queue whose jobs hold at most `max_queued` spans and logs together (one larger job is
/// still taken when nothing else is queued).
pub(crate) fn channel<J>(max_queued: usize) -> (WriteQueue<J>, Receiver<J>) {
    let (tx, rx) = mpsc::channel(CHANNEL_JOBS);
    let queued = Arc::new(AtomicUsize::new(0));
    let disk = Arc::new(DiskGate::default());
    (
        WriteQueue {
            tx: RwLock::new(Some(tx)),
            queued: queued.clone(),
            max_queued,
            disk: disk.clone(),
        },
        Receiver { rx, queued, disk },
    )
}

impl<J> WriteQueue<J> {
    /// `SpanWriter::write` of every engine: `encode` turns the batch into the engine's job on
    /// the caller's task, the job is queued, and the answer comes after the commit holding it.
    pub async fn write(
        &self,
        project: ProjectId,
        batch: WriteBatch,
        encode: impl FnOnce(ProjectId, WriteBatch) -> Result<J, StoreError>,
    ) -> Result<WriteOutcome, StoreError> {
        if batch.is_empty() {
            return Ok(WriteOutcome::default());
        }
        let cost = batch.observations.len() + batch.logs.len();
        let job = encode(project, batch)?;
        self.write_job(job, cost).await
    }

    /// Queues a job already encoded, costing `cost` items of the budget (a metrics write: its
    /// points); the answer comes after the commit holding it.
    pub async fn write_job(&self, job: J, cost: usize) -> Result<WriteOutcome, StoreError> {
        self.disk.check()?;
        let (ack, done) = oneshot::channel();
        self.submit(Queued {
            job,
            cost: cost.max(1),
            ack,
        })?;
        done.await
            .map_err(|_| StoreError::Unavailable("the writer stopped before committing".into()))?
    }

    /// Queues a job without waiting; refuses it when the queue is over its budget.
    fn submit(&self, item: Queued<J>) -> Result<(), StoreError> {
        let guard = self
            .tx
            .read()
            .map_err(|_| StoreError::Unavailable("the writer is gone".into()))?;
        let tx = guard
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable("the store is shutting down".into()))?;
        let cost = item.cost;
        let before = self.queued.fetch_add(cost, Ordering::SeqCst);
        if before > 0 && before + cost > self.max_queued {
            self.queued.fetch_sub(cost, Ordering::SeqCst);
            return Err(StoreError::Overloaded { queued: before });
        }
        tx.try_send(item).map_err(|e| {
            self.queued.fetch_sub(cost, Ordering::SeqCst);
            match e {
                mpsc::error::TrySendError::Full(_) => StoreError::Overloaded { queued: before },
                mpsc::error::TrySendError::Closed(_) => {
                    StoreError::Unavailable("the store is shutting down".into())
                }
            }
        })
    }

    /// Stops taking writes; the writer still commits everything already queued, then its
    /// receiver ends.
    pub fn close(&self) {
        if let Ok(mut tx) = self.tx.write() {
            tx.take();
        }
    }
}

impl<J> Receiver<J> {
    /// The next group, waiting for its first job; `None` once the queue is closed and empty.
    pub async fn next_group(&mut self, max_cost: usize) -> Option<Group<J>> {
        let first = self.rx.recv().await?;
        Some(self.group_from(first, max_cost))
    }

    /// [`next_group`](Self::next_group) for a writer on its own thread.
    pub fn blocking_next_group(&mut self, max_cost: usize) -> Option<Group<J>> {
        let first = self.rx.blocking_recv()?;
        Some(self.group_from(first, max_cost))
    }

    /// `first` and the jobs queued behind it, until the group costs `max_cost` or more.
    fn group_from(&mut self, first: Queued<J>, max_cost: usize) -> Group<J> {
        let mut group = Group {
            jobs: Vec::new(),
            acks: Vec::new(),
            cost: 0,
            queued: self.queued.clone(),
            disk: self.disk.clone(),
        };
        group.push(first);
        while group.cost < max_cost {
            match self.rx.try_recv() {
                Ok(item) => group.push(item),
                Err(_) => break,
            }
        }
        group
    }
}

/// Jobs a writer commits together.
pub(crate) struct Group<J> {
    pub jobs: Vec<J>,
    acks: Vec<Ack>,
    cost: usize,
    queued: Arc<AtomicUsize>,
    disk: Arc<DiskGate>,
}

impl<J> Group<J> {
    fn push(&mut self, item: Queued<J>) {
        self.cost += item.cost;
        self.jobs.push(item.job);
        self.acks.push(item.ack);
    }

    /// Gives the group's budget back, then answers each job: with its outcome (`outcomes` in
    /// job order) after the commit, or with a retryable error when the write failed (`DiskFull`
    /// when the disk refused it, which also refuses further writes until the next disk check).
    pub fn finish(self, result: Result<Vec<WriteOutcome>, StoreError>) {
        self.queued.fetch_sub(self.cost, Ordering::SeqCst);
        match result {
            Ok(outcomes) => {
                for (ack, outcome) in self.acks.into_iter().zip(outcomes) {
                    let _ = ack.send(Ok(outcome));
                }
            }
            Err(StoreError::DiskFull(why)) => {
                tracing::error!(error = %why, "the disk refused a write; writes are refused until space is freed");
                self.disk.close(why.clone());
                for ack in self.acks {
                    let _ = ack.send(Err(StoreError::DiskFull(why.clone())));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "a write failed; its requests get a retryable error");
                for ack in self.acks {
                    let _ = ack.send(Err(StoreError::Unavailable(format!(
                        "the write failed: {e}"
                    ))));
                }
            }
        }
    }
}

/// The (project, resource hash) pairs a writer has stored, so it inserts each resource once.
/// Forgotten after a failed write (they may not be stored) and when there are too many.
#[derive(Default)]
pub(crate) struct KnownResources(HashSet<(i64, i64)>);

impl KnownResources {
    pub fn contains(&self, key: &(i64, i64)) -> bool {
        self.0.contains(key)
    }

    /// Records resources the write being committed stored.
    pub fn extend(&mut self, stored: impl IntoIterator<Item = (i64, i64)>) {
        self.0.extend(stored);
    }

    /// After each group: forgets everything when the write failed or the set grew large.
    pub fn after_write<T>(&mut self, result: &Result<T, StoreError>) {
        if result.is_err() || self.0.len() > 100_000 {
            self.0.clear();
        }
    }
}
