//! The retention sweeper: with `retention_days` set, deletes every project's spans and logs
//! from before the midnight (UTC) `retention_days` days before today, at start-up and then
//! every hour, until shutdown. The store does the deleting in bounded steps (see
//! `sightline_store::retention`); this only decides when and with which cutoff.

use std::sync::Arc;
use std::time::Duration;

use sightline_store::retention::cutoff_for;
use sightline_store::{RetentionOutcome, RetentionScope, RetentionStore, StoreError};
use tokio::sync::watch;

use sightline_core::time::Clock;

use crate::metrics::Metrics;

/// How often the sweep runs after the first.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// One sweep at the clock's current time.
pub async fn sweep(
    store: &dyn RetentionStore,
    days: u32,
    clock: &dyn Clock,
    metrics: &Metrics,
) -> Result<RetentionOutcome, StoreError> {
    let cutoff = cutoff_for(clock.now_ns(), days);
    let result = store
        .delete_before(RetentionScope::AllProjects, cutoff)
        .await;
    metrics.retention_run(result.as_ref().ok());
    result
}

/// Sweeps now and every [`SWEEP_EVERY`] until `stop` turns true: a job for the app's
/// supervisor. A failed sweep is logged and tried again at the next tick (the store's deletes
/// are resumable).
pub async fn run(
    store: Arc<dyn RetentionStore>,
    days: u32,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(SWEEP_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => return,
        }
        match sweep(store.as_ref(), days, clock.as_ref(), &metrics).await {
            Ok(o) => tracing::info!(
                days,
                cutoff_ns = o.cutoff_ns,
                spans = o.spans,
                logs = o.logs,
                partitions_dropped = o.partitions_dropped,
                "retention sweep done"
            ),
            Err(e) => {
                tracing::error!(error = %e, "retention sweep failed; retrying in an hour")
            }
        }
        if *stop.borrow() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use sightline_core::time::ManualClock;
    use sightline_core::{
        AttrValue, Observation, ProjectId, Resource, SpanId, TraceId, WriteBatch,
    };
    use sightline_store::retention::DAY_NS;
    use sightline_store::sqlite::{SqliteConfig, SqliteStore};
    use sightline_store::{SpanWriter, TraceReader};

    fn span(trace: u8, start_ns: i64) -> Observation {
        let mut o = Observation::new(TraceId([trace; 16]), SpanId([1; 8]), "op".into());
        o.start_ns = start_ns;
        o.end_ns = start_ns + 1;
        o
    }

    /// `retention_days = 30` at 10:00 on day D keeps everything from midnight of D-30 and
    /// deletes what came before, in every project; the metrics say so.
    #[tokio::test]
    async fn a_sweep_keeps_whole_days_counted_back_from_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&SqliteConfig {
            data_dir: dir.path().to_path_buf(),
            max_queued: 1000,
            limits: Default::default(),
        })
        .unwrap();
        let today = 20_000 * DAY_NS;
        let keep_from = today - 30 * DAY_NS;
        for (project, trace, start) in [
            (1, 1, keep_from - 1),
            (2, 2, keep_from - DAY_NS),
            (1, 3, keep_from),
            (2, 4, today + 1),
        ] {
            let batch = WriteBatch {
                resources: vec![Resource {
                    attributes: vec![("service.name".into(), AttrValue::Str("s".into()))],
                }],
                observations: vec![span(trace, start)],
                logs: Vec::new(),
            };
            store.write(ProjectId(project), batch).await.unwrap();
        }
        let metrics = Metrics::default();
        let clock = ManualClock::new(today + 10 * 3_600_000_000_000);
        let outcome = sweep(&store, 30, &clock, &metrics).await.unwrap();
        assert_eq!((outcome.cutoff_ns, outcome.spans), (keep_from, 2));
        for (project, trace, kept) in [(1, 1, false), (2, 2, false), (1, 3, true), (2, 4, true)] {
            let found = store
                .trace(ProjectId(project), TraceId([trace; 16]), false)
                .await
                .unwrap();
            assert_eq!(found.is_some(), kept, "trace {trace}");
        }
        let text = metrics.render();
        assert!(
            text.contains("sightline_retention_runs_total{outcome=\"ok\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("sightline_retention_deleted_total{kind=\"spans\"} 2\n"),
            "{text}"
        );
        let seconds = keep_from / 1_000_000_000;
        assert!(text.contains(&format!("sightline_retention_cutoff_seconds {seconds}\n")));
    }
}
