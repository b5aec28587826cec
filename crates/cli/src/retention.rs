//! `sightline retention apply`: deletes old spans and logs now, against the store directly
//! (like `sightline keys`), for one project or all. The server's `retention_days` does the same
//! every hour; this is for a one-off clean-up or a cron job.

use sightline_core::time::{Clock, SystemClock};
use sightline_server::app::config::MAX_RETENTION_DAYS;
use sightline_store::retention::cutoff_for;
use sightline_store::RetentionScope;

use crate::serve::{open_store, StoreArgs};

#[derive(clap::Subcommand, Debug)]
pub enum RetentionCommand {
    /// Delete spans and logs from before the UTC midnight DAYS days ago (today and the DAYS
    /// whole days before it are kept). Safe while the server runs; rerun it to finish an
    /// interrupted run.
    Apply {
        /// Whole days to keep, 1 to 36500.
        #[arg(long)]
        days: u32,
        /// Only this project [default: every project].
        #[arg(long)]
        project: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: RetentionCommand) -> anyhow::Result<()> {
    let RetentionCommand::Apply {
        days,
        project,
        store,
        json,
    } = cmd;
    if days == 0 || days > MAX_RETENTION_DAYS {
        anyhow::bail!("--days must be 1 to {MAX_RETENTION_DAYS} (whole days of data to keep)");
    }
    let opened = open_store(&store).await?;
    let db = opened.engine();
    let result = async {
        let scope = match &project {
            None => RetentionScope::AllProjects,
            Some(name) => {
                RetentionScope::Project(db.find_project(name).await?.ok_or_else(|| {
                    anyhow::anyhow!(
                        "--project: no project is called {name:?} in {}",
                        opened.describe()
                    )
                })?)
            }
        };
        let now = SystemClock.now_ns();
        Ok::<_, anyhow::Error>(db.delete_before(scope, cutoff_for(now, days)).await?)
    }
    .await;
    opened.shutdown().await;
    let outcome = result?;
    let cutoff_s = outcome.cutoff_ns / 1_000_000_000;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "project": project,
                "cutoff_ns": outcome.cutoff_ns,
                "deleted_spans": outcome.spans,
                "deleted_logs": outcome.logs,
                "partitions_dropped": outcome.partitions_dropped,
            })
        );
    } else {
        let who = project.as_deref().unwrap_or("every project");
        println!(
            "{who}: deleted {} spans and {} log records from before {} (Unix {cutoff_s})",
            outcome.spans,
            outcome.logs,
            sightline_core::time::format_rfc3339(outcome.cutoff_ns),
        );
        if outcome.partitions_dropped > 0 {
            println!(
                "{} day partitions dropped whole",
                outcome.partitions_dropped
            );
        }
    }
    Ok(())
}
