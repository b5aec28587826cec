//! Task supervision: every background job runs under one [`Supervisor`], which hands out the
//! one stop signal (the listeners and live streams watch it too) and, at shutdown, gives jobs a
//! grace period to finish before aborting them and waiting until they are gone.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

pub struct Supervisor {
    jobs: JoinSet<()>,
    stop_tx: watch::Sender<bool>,
    stop_rx: watch::Receiver<bool>,
}

impl Default for Supervisor {
    fn default() -> Self {
        let (stop_tx, stop_rx) = watch::channel(false);
        Supervisor {
            jobs: JoinSet::new(),
            stop_tx,
            stop_rx,
        }
    }
}

impl Supervisor {
    /// Turns true once shutdown starts.
    pub fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop_rx.clone()
    }

    /// Runs `job` until it returns or shutdown aborts it; `name` is for the logs.
    pub fn spawn(&mut self, name: &'static str, job: impl Future<Output = ()> + Send + 'static) {
        self.jobs.spawn(async move {
            job.await;
            tracing::debug!(job = name, "job finished");
        });
    }

    /// Sends the stop signal (idempotent).
    pub fn stop(&self) {
        let _ = self.stop_tx.send(true);
    }

    /// Stops every job: signals, waits up to `grace` for them to return, aborts the rest and
    /// waits until all are gone.
    pub async fn shutdown(mut self, grace: Duration) {
        self.stop();
        let finished = tokio::time::timeout(grace, async {
            while self.jobs.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            tracing::info!(jobs = self.jobs.len(), "stopping jobs still running");
            self.jobs.abort_all();
            while self.jobs.join_next().await.is_some() {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn jobs_that_watch_the_signal_end_and_the_others_are_aborted() {
        let mut s = Supervisor::default();
        let mut stop = s.stop_signal();
        let (polite_tx, polite_rx) = tokio::sync::oneshot::channel();
        s.spawn("polite", async move {
            let _ = stop.changed().await;
            let _ = polite_tx.send(());
        });
        let (stubborn_tx, stubborn_rx) = tokio::sync::oneshot::channel::<()>();
        s.spawn("stubborn", async move {
            let _keep = stubborn_tx;
            std::future::pending::<()>().await;
        });
        s.shutdown(Duration::from_secs(1)).await;
        assert!(
            polite_rx.await.is_ok(),
            "the polite job saw the signal and ended"
        );
        assert!(
            stubborn_rx.await.is_err(),
            "the stubborn job was aborted (its sender dropped)"
        );
    }
}
