//! The disk watcher: samples the store's disk use against its budget every few seconds (the
//! store refuses writes while it is spent, and admits them again on the next sample after space
//! is freed or the cap raised), shows it in `/metrics`, and logs each change of state: the
//! "approaching" event at 90% of the cap or near the free-space floor, "full" when ingest starts
//! answering 507, and the recovery.

use std::sync::Arc;
use std::time::Duration;

use sightline_store::{DiskState, DiskWatch};
use tokio::sync::watch;

use crate::metrics::Metrics;

/// How often the disk is sampled: writes read the last verdict, never the disk.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Samples now and every [`CHECK_EVERY`] until `stop` turns true: a job for the supervisor.
pub async fn run(
    store: Arc<dyn DiskWatch>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(CHECK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = DiskState::Ok;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => return,
        }
        let status = match store.check_disk().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "could not sample the store's disk use");
                continue;
            }
        };
        metrics.disk(&status);
        if status.state == last {
            continue;
        }
        let why = status.reason.as_deref().unwrap_or("");
        match status.state {
            DiskState::Full => {
                tracing::error!(event = "disk_full", "ingest is refused (507): {why}")
            }
            DiskState::Approaching => {
                tracing::warn!(
                    event = "disk_approaching",
                    "the store approaches its disk budget: {why}"
                )
            }
            DiskState::Ok => tracing::info!(
                event = "disk_ok",
                used_bytes = status.usage.used_bytes,
                "the store is back within its disk budget; ingest is accepted"
            ),
        }
        last = status.state;
    }
}
