//! Retention on ClickHouse. `spans` and `logs` are partitioned by UTC day for every project, so
//! a day partition before the cutoff is dropped whole (instant, no rewrite) when it holds no
//! other project's rows — always, when the policy covers every project. Days shared with other
//! projects lose the project's rows through one `ALTER TABLE ... DELETE` mutation per table,
//! which ClickHouse runs in the background; this waits for it. In the sharded layout it works
//! on every shard's `_local` tables. Trace summaries are kept per hour of span start, partitioned
//! like the spans, so a trace cut by the cutoff keeps the summary of its later spans; sessions
//! and costs are computed from those, so nothing else needs rebuilding.
//!
//! A span of another project arriving for a day already past the cutoff between the check and
//! the drop would go with the partition; telemetry is not written days late in practice.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::client::Client;
use super::rowbinary::{quote, RowReader};
use super::ClickHouseStore;
use crate::retention::{RetentionOutcome, RetentionScope, RetentionStore};
use crate::StoreError;
use sightline_core::time::day_start_ns;

/// The tables retention applies to, with their time column (`trace_summaries` and
/// `cost_rollup` rows hold the spans of one hour).
const TABLES: &[(&str, &str)] = &[
    ("spans", "start_ns"),
    ("logs", "time_ns"),
    ("trace_summaries", "hour_ns"),
    ("cost_rollup", "hour_ns"),
    ("metric_points", "time_ns"),
    ("metric_series", "time_ns"),
];

/// How long to wait for a delete mutation before reporting that it still runs.
const MUTATION_WAIT: Duration = Duration::from_secs(600);

#[async_trait]
impl RetentionStore for ClickHouseStore {
    async fn delete_before(
        &self,
        scope: RetentionScope,
        cutoff_ns: i64,
    ) -> Result<RetentionOutcome, StoreError> {
        let cutoff = day_start_ns(cutoff_ns);
        let mut outcome = RetentionOutcome {
            cutoff_ns: cutoff,
            ..RetentionOutcome::default()
        };
        if cutoff <= 0 {
            return Ok(outcome);
        }
        for (table, time) in TABLES {
            for (client, data_table) in self.layout.data_tables(&self.client, table) {
                let (rows, dropped) = delete_from(client, &data_table, time, scope, cutoff).await?;
                match *table {
                    "spans" => outcome.spans += rows,
                    "logs" => outcome.logs += rows,
                    "metric_points" => outcome.metric_points += rows,
                    _ => {}
                }
                outcome.partitions_dropped += dropped;
            }
        }
        Ok(outcome)
    }
}

/// The day (YYYYMMDD, the partition value) of a nanosecond time column.
fn day_of(column: &str) -> String {
    format!("toYYYYMMDD(toDateTime(intDiv({column}, 1000000000), 'UTC'))")
}

/// Deletes from one physical table; returns (rows deleted, partitions dropped).
async fn delete_from(
    client: &Client,
    table: &str,
    time: &str,
    scope: RetentionScope,
    cutoff: i64,
) -> Result<(u64, u64), StoreError> {
    let mine = match scope {
        RetentionScope::AllProjects => "1".to_owned(),
        RetentionScope::Project(p) => format!("project_id = {}", p.0),
    };
    let doomed = count(
        client,
        &format!("SELECT count() FROM {table} WHERE {mine} AND {time} < {cutoff}"),
    )
    .await?;
    if doomed == 0 {
        return Ok((0, 0));
    }
    let old_days = days(
        client,
        &format!(
            "SELECT DISTINCT {} FROM {table} WHERE {time} < {cutoff}",
            day_of(time)
        ),
    )
    .await?;
    let shared_days = match scope {
        RetentionScope::AllProjects => BTreeSet::new(),
        RetentionScope::Project(p) => {
            days(
                client,
                &format!(
                    "SELECT DISTINCT {} FROM {table} WHERE {time} < {cutoff} AND project_id != {}",
                    day_of(time),
                    p.0
                ),
            )
            .await?
        }
    };
    let mut dropped = 0;
    for day in old_days.difference(&shared_days) {
        client
            .execute(&format!("ALTER TABLE {table} DROP PARTITION {day}"))
            .await?;
        dropped += 1;
    }
    if !shared_days.is_empty() {
        client
            .execute(&format!(
                "ALTER TABLE {table} DELETE WHERE {mine} AND {time} < {cutoff}"
            ))
            .await?;
        wait_for_mutations(client, table).await?;
    }
    Ok((doomed, dropped))
}

async fn count(client: &Client, sql: &str) -> Result<u64, StoreError> {
    let rows = client.query(sql).await?;
    let mut r = RowReader::new(&rows);
    r.u64()
}

/// The distinct UInt32 days a query returns.
async fn days(client: &Client, sql: &str) -> Result<BTreeSet<u32>, StoreError> {
    let rows = client.query(sql).await?;
    let mut r = RowReader::new(&rows);
    let mut out = BTreeSet::new();
    while !r.is_empty() {
        out.insert(r.u32()?);
    }
    Ok(out)
}

/// Waits until no mutation of `table` is pending, polling with a growing pause.
pub(crate) async fn wait_for_mutations(client: &Client, table: &str) -> Result<(), StoreError> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        let pending = count(
            client,
            &format!(
                "SELECT count() FROM system.mutations WHERE database = {} AND table = {} AND is_done = 0",
                quote(client.database()),
                quote(table)
            ),
        )
        .await?;
        if pending == 0 {
            return Ok(());
        }
        if started.elapsed() > MUTATION_WAIT {
            return Err(StoreError::Engine(format!(
                "the delete on {table} is still running after {} s; ClickHouse finishes it in the \
                 background (see system.mutations)",
                MUTATION_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}
