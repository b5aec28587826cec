//! The sharded layout: several ClickHouse servers as shards of one cluster (declared in each
//! server's `<remote_servers>`). The big tables (`spans`, `logs`, `resources`) exist on every
//! shard as `<name>_local` MergeTree tables, with a `Distributed` table under the plain name over
//! them, sharded by project and trace so a trace stays whole on one shard. Materialized views
//! (the trace summaries') run on every shard, from its local table into another local table. Every other table
//! (projects, keys, migrations, ...) lives on the entry server only (`clickhouse_url`, which
//! every node must share). Sightline itself talks to the entry server; the shards' own URLs are
//! only used for DDL and retention. Works on 18.16 without ZooKeeper (no `ON CLUSTER`).

use super::client::Client;
use crate::StoreError;

/// The tables spread over the shards, with their sharding keys.
pub const SHARDED: &[(&str, &str)] = &[
    ("spans", "cityHash64(project_id, trace_id)"),
    ("logs", "cityHash64(project_id, trace_id)"),
    ("resources", "cityHash64(project_id, hash)"),
    ("trace_summaries", "cityHash64(project_id, trace_id)"),
    // Filled on each shard by its view; the key only places rows inserted into the Distributed
    // table, which nothing does.
    ("cost_rollup", "cityHash64(project_id, hour_ns)"),
];

/// Settings of the sharded layout.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The cluster's name in the servers' `<remote_servers>`.
    pub name: String,
    /// Each shard's HTTP URL (`http://host:8123/`); the database and credentials come from
    /// `clickhouse_url`.
    pub shard_urls: Vec<String>,
}

/// How the schema is laid out: one server, or shards behind Distributed tables.
pub enum Layout {
    Single,
    Sharded { name: String, shards: Vec<Client> },
}

impl Layout {
    /// Checks the settings and makes a client per shard, in `entry`'s database.
    pub fn sharded(entry: &Client, config: &ClusterConfig) -> Result<Layout, StoreError> {
        let bad = |why: String| StoreError::Engine(format!("clickhouse_cluster: {why}"));
        if config.name.is_empty()
            || !config
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(bad(format!(
                "the cluster name {:?} must be letters, digits and '_' (the name in <remote_servers>)",
                config.name
            )));
        }
        if config.shard_urls.is_empty() {
            return Err(bad(
                "clickhouse_shards is empty; list every shard's HTTP URL, e.g. http://ch1:8123/,http://ch2:8123/".into(),
            ));
        }
        let shards = config
            .shard_urls
            .iter()
            .map(|url| {
                let sep = if url.contains('?') { '&' } else { '?' };
                Client::new(&format!("{url}{sep}database={}", entry.database()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Layout::Sharded {
            name: config.name.clone(),
            shards,
        })
    }

    /// Creates the database where the layout needs it.
    pub async fn create_database(&self, entry: &Client) -> Result<(), StoreError> {
        let sql = format!("CREATE DATABASE IF NOT EXISTS {}", entry.database());
        entry.execute_server(&sql).await?;
        if let Layout::Sharded { shards, .. } = self {
            for shard in shards {
                shard.execute_server(&sql).await?;
            }
        }
        Ok(())
    }

    /// Runs one migration statement: as is on one server; on a cluster, a statement on a sharded
    /// table runs on every shard's local table and then (re)makes or alters the Distributed one.
    pub async fn execute(&self, entry: &Client, sql: &str) -> Result<(), StoreError> {
        let Layout::Sharded { name, shards } = self else {
            return entry.execute(sql).await;
        };
        if sql.starts_with("CREATE MATERIALIZED VIEW") {
            let local = localize_view(sql);
            for shard in shards {
                shard.execute(&local).await?;
            }
            return Ok(());
        }
        let Some((table, key, create)) = sharded_target(sql) else {
            return entry.execute(sql).await;
        };
        let local = rename_table(sql, table, &format!("{table}_local"));
        for shard in shards {
            shard.execute(&local).await?;
        }
        if create {
            let db = entry.database();
            let distributed = format!(
                "CREATE TABLE IF NOT EXISTS {table} AS {table}_local \
                 ENGINE = Distributed({name}, {db}, {table}_local, {key})"
            );
            for shard in shards {
                shard.execute(&distributed).await?;
            }
        } else {
            for shard in shards {
                shard.execute(sql).await?;
            }
        }
        Ok(())
    }

    /// Drops a materialized view if it exists: on one server as is; on a cluster on every shard,
    /// where views run.
    pub async fn drop_view(&self, entry: &Client, view: &str) -> Result<(), StoreError> {
        let sql = format!("DROP TABLE IF EXISTS {view}");
        match self {
            Layout::Single => entry.execute(&sql).await,
            Layout::Sharded { shards, .. } => {
                for shard in shards {
                    shard.execute(&sql).await?;
                }
                Ok(())
            }
        }
    }

    /// Drops a table if it exists: on one server as is; on a cluster, a sharded table's
    /// Distributed and local tables on every shard, any other table on the entry server.
    pub async fn drop_table(&self, entry: &Client, table: &str) -> Result<(), StoreError> {
        let sql = |t: &str| format!("DROP TABLE IF EXISTS {t}");
        match self {
            Layout::Sharded { shards, .. } if SHARDED.iter().any(|(t, _)| *t == table) => {
                for shard in shards {
                    shard.execute(&sql(table)).await?;
                    shard.execute(&sql(&format!("{table}_local"))).await?;
                }
                Ok(())
            }
            _ => entry.execute(&sql(table)).await,
        }
    }

    /// Every (server, table) holding rows of a sharded table: for retention.
    pub fn data_tables<'a>(&'a self, entry: &'a Client, table: &str) -> Vec<(&'a Client, String)> {
        match self {
            Layout::Single => vec![(entry, table.to_owned())],
            Layout::Sharded { shards, .. } if SHARDED.iter().any(|(t, _)| *t == table) => shards
                .iter()
                .map(|s| (s, format!("{table}_local")))
                .collect(),
            Layout::Sharded { .. } => vec![(entry, table.to_owned())],
        }
    }
}

/// The URL parameters of the entry server's client: an INSERT into a Distributed table returns
/// only after every shard stored its rows (a 2xx means stored), and an `IN (SELECT ...)` over a
/// Distributed table runs on each shard's local tables. Every such subquery picks traces, and a
/// trace's spans and summary live on one shard, so each shard answers for its own traces.
pub const CLUSTER_SETTINGS: &str = "insert_distributed_sync=1&distributed_product_mode=local";

/// (table, sharding key, is a CREATE) when `sql` creates or alters a sharded table.
fn sharded_target(sql: &str) -> Option<(&'static str, &'static str, bool)> {
    let words: Vec<&str> = sql.split_whitespace().take(6).collect();
    let (create, name) = match words.as_slice() {
        ["CREATE", "TABLE", "IF", "NOT", "EXISTS", name, ..] => (true, *name),
        ["ALTER", "TABLE", name, ..] => (false, *name),
        _ => return None,
    };
    let name = name.split('(').next().unwrap_or(name);
    SHARDED
        .iter()
        .find(|(t, _)| *t == name)
        .map(|(t, k)| (*t, *k, create))
}

/// A materialized view statement with its target (after `TO`) and source (after `FROM`) tables
/// renamed to their local tables when they are sharded.
fn localize_view(sql: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut previous = "";
    for word in sql.split(' ') {
        let sharded = SHARDED.iter().any(|(t, _)| *t == word);
        if sharded && (previous == "TO" || previous == "FROM") {
            out.push(format!("{word}_local"));
        } else {
            out.push(word.to_owned());
        }
        previous = word;
    }
    out.join(" ")
}

/// `sql` with the first occurrence of the table name (after CREATE/ALTER TABLE) replaced.
fn rename_table(sql: &str, table: &str, to: &str) -> String {
    let head_end = sql.find(&format!(" {table}")).map(|at| at + 1).unwrap_or(0);
    let mut out = String::with_capacity(sql.len() + 8);
    out.push_str(&sql[..head_end]);
    out.push_str(&sql[head_end..].replacen(table, to, 1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_on_sharded_tables_are_recognised() {
        assert_eq!(
            sharded_target("CREATE TABLE IF NOT EXISTS spans (\n a Int64)"),
            Some(("spans", "cityHash64(project_id, trace_id)", true))
        );
        assert_eq!(
            sharded_target("ALTER TABLE logs ADD COLUMN x UInt8"),
            Some(("logs", "cityHash64(project_id, trace_id)", false))
        );
        assert_eq!(
            sharded_target("CREATE TABLE IF NOT EXISTS projects (id Int64)"),
            None
        );
        assert_eq!(
            sharded_target("ALTER TABLE spans_local ADD COLUMN x UInt8"),
            None
        );
    }

    #[test]
    fn views_read_and_write_local_tables() {
        assert_eq!(
            localize_view(
                "CREATE MATERIALIZED VIEW IF NOT EXISTS v TO trace_summaries AS SELECT count() \
                 AS spans FROM spans WHERE 1"
            ),
            "CREATE MATERIALIZED VIEW IF NOT EXISTS v TO trace_summaries_local AS SELECT count() \
             AS spans FROM spans_local WHERE 1"
        );
    }

    #[test]
    fn the_local_table_is_renamed_once() {
        assert_eq!(
            rename_table(
                "ALTER TABLE spans ADD COLUMN spans_n UInt8",
                "spans",
                "spans_local"
            ),
            "ALTER TABLE spans_local ADD COLUMN spans_n UInt8"
        );
        assert_eq!(
            rename_table(
                "CREATE TABLE IF NOT EXISTS logs (a Int64)",
                "logs",
                "logs_local"
            ),
            "CREATE TABLE IF NOT EXISTS logs_local (a Int64)"
        );
    }
}
