//! Retention, the mechanism: deleting telemetry older than a cutoff, one project or all. The
//! cutoff is always a UTC midnight, so whole days go (ClickHouse drops day partitions) and the
//! hourly cost rollup loses whole hours, staying equal to the rows that remain.

use async_trait::async_trait;
use sightline_core::time::day_start_ns;
use sightline_core::ProjectId;

use crate::StoreError;

/// Nanoseconds in a day.
pub use sightline_core::time::DAY_NS;

/// Whose data a retention run deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionScope {
    /// Every project (one policy for the whole store).
    AllProjects,
    Project(ProjectId),
}

impl RetentionScope {
    /// Whether `project` is in scope.
    pub fn covers(self, project: ProjectId) -> bool {
        match self {
            RetentionScope::AllProjects => true,
            RetentionScope::Project(p) => p == project,
        }
    }
}

/// What a retention run deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// The cutoff used: a UTC midnight; everything that started before it is gone.
    pub cutoff_ns: i64,
    /// Spans deleted (on ClickHouse, rows counted before the delete: an unmerged duplicate of
    /// a retried span counts twice).
    pub spans: u64,
    pub logs: u64,
    /// OTLP metric points deleted (series not seen since the cutoff go with them).
    pub metric_points: u64,
    /// ClickHouse day partitions dropped whole (0 on SQLite).
    pub partitions_dropped: u64,
}

/// The cutoff that keeps `days` whole days before today (UTC) and today itself: data from
/// before that midnight is deleted, so at least `days` × 24 hours are always kept.
pub fn cutoff_for(now_ns: i64, days: u32) -> i64 {
    day_start_ns(now_ns).saturating_sub(i64::from(days).saturating_mul(DAY_NS))
}

/// Deletes old telemetry.
#[async_trait]
pub trait RetentionStore: Send + Sync {
    /// Deletes the spans (by start time), logs and metric points (by time), metric series not
    /// seen since the cutoff, and everything summarising them in
    /// `scope` from before `cutoff_ns` rounded down to its UTC midnight. Runs in bounded steps
    /// while writes continue; rerunning it after an interruption finishes the job.
    async fn delete_before(
        &self,
        scope: RetentionScope,
        cutoff_ns: i64,
    ) -> Result<RetentionOutcome, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_a_midnight_that_keeps_whole_days() {
        let midnight = 20_000 * DAY_NS;
        assert_eq!(day_start_ns(midnight), midnight);
        assert_eq!(day_start_ns(midnight + 1), midnight);
        assert_eq!(day_start_ns(midnight - 1), midnight - DAY_NS);
        assert_eq!(day_start_ns(-1), -DAY_NS);
        let now = midnight + 5 * 3_600_000_000_000;
        assert_eq!(cutoff_for(now, 0), midnight);
        assert_eq!(cutoff_for(now, 30), midnight - 30 * DAY_NS);
        assert!(now - cutoff_for(now, 30) >= 30 * DAY_NS);
        assert!(
            cutoff_for(now, u32::MAX) < 0,
            "saturates before the epoch, never overflows"
        );
    }

    #[test]
    fn a_scope_covers_its_projects() {
        assert!(RetentionScope::AllProjects.covers(ProjectId(7)));
        assert!(RetentionScope::Project(ProjectId(7)).covers(ProjectId(7)));
        assert!(!RetentionScope::Project(ProjectId(7)).covers(ProjectId(8)));
    }
}
