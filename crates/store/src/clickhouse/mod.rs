//! The scale-out engine: ClickHouse over its HTTP interface, shared by any number of stateless
//! Sightline nodes. Writes are batched by one writer task per node; reads go straight to
//! ClickHouse. The SQL runs on Debian's ClickHouse 18.16 and on current releases.
//!
//! Every store contract is implemented: writes, whole-trace reads, projects and keys here and
//! in `read.rs`/`keys.rs`, the explore reads (lists, sessions, logs, metrics, change feed) in
//! `query/`.

mod client;
pub mod cluster;
mod cost_rollup;
mod costs;
mod gateway;
mod keys;
mod logins;
mod metrics;
mod models;
mod prices;
mod query;
mod read;
mod retention;
mod rowbinary;
pub mod schema;
mod summaries;
mod versioned;
mod writer;

use std::sync::Mutex;

use async_trait::async_trait;
use sightline_core::{ProjectId, Resource, SpanId, TraceId, WriteBatch};

pub use client::Client;
pub use keys::project_id;

use crate::limits::{assess, DiskStatus, DiskUsage, DiskWatch, StoreLimits};
use crate::write_queue::{self, WriteQueue};
use crate::{
    ChangeFeed, FeedBatch, FeedPosition, FeedQuery, KeyStore, LogPage, LogQuery, LogReader,
    MetricsQuery, MetricsReader, MetricsResult, ObservationPage, ObservationQuery, SessionDetail,
    SessionPage, SessionQuery, SessionReader, SpanWriter, StoreError, StoredKey, TraceDetail,
    TraceIdPrefix, TracePage, TraceQuery, TraceReader, WriteOutcome,
};
use writer::WriteJob;

/// Settings of the ClickHouse engine.
#[derive(Debug, Clone)]
pub struct ClickHouseConfig {
    /// `http://host:8123/?database=name`; other parameters (`user`, `password`, settings) are
    /// passed on with every request.
    pub url: String,
    /// Most spans and logs waiting for an insert before writes are refused as overloaded.
    pub max_queued: usize,
    pub limits: StoreLimits,
}

pub struct ClickHouseStore {
    client: Client,
    /// Where the data tables live (retention works on the shards' local tables).
    layout: cluster::Layout,
    queue: WriteQueue<WriteJob>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Kills the queries whose callers went away (client.rs); aborted at shutdown.
    killer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The first hour the cost rollup covers (cost_rollup.rs).
    rollup_from_ns: i64,
    limits: StoreLimits,
}

/// The wall clock, for the writer's insert sequence and migration stamps (not for data: the
/// store writes the times it is given).
fn now_ns() -> u64 {
    use sightline_core::time::{Clock, SystemClock};
    u64::try_from(SystemClock.now_ns()).unwrap_or(0)
}

impl ClickHouseStore {
    /// Connects, creates the database if needed, migrates it to the latest schema and starts the
    /// writer. Must be called inside a Tokio runtime.
    pub async fn open(config: &ClickHouseConfig) -> Result<Self, StoreError> {
        let client = Client::new(&config.url)?;
        schema::migrate(&client, now_ns()).await?;
        Self::start(client, cluster::Layout::Single, config).await
    }

    /// [`open`](Self::open) in the sharded layout (cluster.rs): migrations make local tables on
    /// every shard and Distributed tables over them; inserts wait for every shard.
    pub async fn open_sharded(
        config: &ClickHouseConfig,
        cluster: &cluster::ClusterConfig,
    ) -> Result<Self, StoreError> {
        let sep = if config.url.contains('?') { '&' } else { '?' };
        let client = Client::new(&format!("{}{sep}{}", config.url, cluster::CLUSTER_SETTINGS))?;
        let layout = cluster::Layout::sharded(&client, cluster)?;
        schema::migrate_in(&client, &layout, now_ns()).await?;
        Self::start(client, layout, config).await
    }

    async fn start(
        client: Client,
        layout: cluster::Layout,
        config: &ClickHouseConfig,
    ) -> Result<Self, StoreError> {
        let rollup_from_ns = cost_rollup::covered_from(&client).await?;
        let (queue, jobs) = write_queue::channel(config.max_queued);
        let task = writer::spawn(client.clone(), jobs);
        let (reads, abandoned) = client.with_read_budget(config.limits.read_timeout);
        // Owned by the store: `shutdown` aborts it (the readers' clients keep its queue open).
        #[allow(clippy::disallowed_methods)]
        let killer = tokio::spawn(client.kill_abandoned(abandoned));
        Ok(ClickHouseStore {
            client: reads,
            layout,
            queue,
            task: Mutex::new(Some(task)),
            killer: Mutex::new(Some(killer)),
            rollup_from_ns,
            limits: config.limits.clone(),
        })
    }

    /// The database this store uses.
    pub fn database(&self) -> &str {
        self.client.database()
    }

    /// Stops taking writes, inserts everything already queued, and waits for the writer.
    pub async fn shutdown(&self) {
        self.queue.close();
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = task {
            let _ = t.await;
        }
        if let Some(killer) = self.killer.lock().ok().and_then(|mut t| t.take()) {
            killer.abort();
        }
    }

    /// The active parts of this database, and the free space of ClickHouse's disks where the
    /// server can tell (`system.disks` is newer than 18.16).
    async fn disk_usage(&self) -> Result<DiskUsage, StoreError> {
        let db = self.client.database();
        let rows = self
            .client
            .query(&format!(
                "SELECT toUInt64(sum(bytes_on_disk)) FROM system.parts \
                 WHERE database = '{db}' AND active"
            ))
            .await?;
        let used_bytes = rowbinary::RowReader::new(&rows).u64()?;
        let free_bytes = match self
            .client
            .query("SELECT toUInt64(min(free_space)) FROM system.disks")
            .await
        {
            Ok(rows) => Some(rowbinary::RowReader::new(&rows).u64()?),
            Err(_) => None,
        };
        Ok(DiskUsage {
            used_bytes,
            free_bytes,
        })
    }
}

#[async_trait]
impl DiskWatch for ClickHouseStore {
    async fn check_disk(&self) -> Result<DiskStatus, StoreError> {
        let status = assess(self.disk_usage().await?, self.limits.disk);
        self.queue.disk.set(&status);
        Ok(status)
    }
}

#[async_trait]
impl SpanWriter for ClickHouseStore {
    async fn write(
        &self,
        project: ProjectId,
        batch: WriteBatch,
    ) -> Result<WriteOutcome, StoreError> {
        self.queue.write(project, batch, writer::encode_job).await
    }
}

#[async_trait]
impl TraceReader for ClickHouseStore {
    async fn trace(
        &self,
        project: ProjectId,
        trace_id: TraceId,
        payloads: bool,
    ) -> Result<Option<TraceDetail>, StoreError> {
        read::read_trace(&self.client, project, trace_id, payloads).await
    }

    async fn list_traces(
        &self,
        project: ProjectId,
        query: &TraceQuery,
    ) -> Result<TracePage, StoreError> {
        query::list_traces(&self.client, project, query).await
    }

    async fn list_observations(
        &self,
        project: ProjectId,
        query: &ObservationQuery,
    ) -> Result<ObservationPage, StoreError> {
        query::list_observations(&self.client, project, query).await
    }

    async fn trace_ids_with_prefix(
        &self,
        project: ProjectId,
        prefix: &TraceIdPrefix,
        limit: usize,
    ) -> Result<Vec<TraceId>, StoreError> {
        read::trace_ids_with_prefix(&self.client, project, prefix, limit).await
    }

    async fn observation(
        &self,
        project: ProjectId,
        trace_id: TraceId,
        span_id: SpanId,
    ) -> Result<Option<(Resource, sightline_core::Observation)>, StoreError> {
        read::read_observation(&self.client, project, trace_id, span_id).await
    }
}

#[async_trait]
impl SessionReader for ClickHouseStore {
    async fn list_sessions(
        &self,
        project: ProjectId,
        query: &SessionQuery,
    ) -> Result<SessionPage, StoreError> {
        query::list_sessions(&self.client, project, query).await
    }

    async fn session(
        &self,
        project: ProjectId,
        session_id: &str,
        max_turns: usize,
    ) -> Result<Option<SessionDetail>, StoreError> {
        query::session(&self.client, project, session_id, max_turns).await
    }
}

#[async_trait]
impl LogReader for ClickHouseStore {
    async fn list_logs(&self, project: ProjectId, query: &LogQuery) -> Result<LogPage, StoreError> {
        query::list_logs(&self.client, project, query).await
    }
}

#[async_trait]
impl MetricsReader for ClickHouseStore {
    async fn metrics(
        &self,
        project: ProjectId,
        query: &MetricsQuery,
    ) -> Result<MetricsResult, StoreError> {
        query::metrics(&self.client, project, query).await
    }
}

#[async_trait]
impl ChangeFeed for ClickHouseStore {
    async fn feed_head(&self, _project: ProjectId) -> Result<FeedPosition, StoreError> {
        query::feed_head(&self.client).await
    }

    async fn feed(&self, project: ProjectId, query: &FeedQuery) -> Result<FeedBatch, StoreError> {
        query::feed(&self.client, project, query).await
    }
}

#[async_trait]
impl KeyStore for ClickHouseStore {
    async fn ensure_project(&self, name: &str, now_ns: i64) -> Result<ProjectId, StoreError> {
        self.ensure_project_impl(name, now_ns).await
    }

    async fn find_project(&self, name: &str) -> Result<Option<ProjectId>, StoreError> {
        self.find_project_impl(name).await
    }

    async fn insert_key(
        &self,
        project_name: &str,
        public_key: &str,
        secret_hash: &str,
        role: &str,
        now_ns: i64,
    ) -> Result<StoredKey, StoreError> {
        self.insert_key_impl(project_name, public_key, secret_hash, role, now_ns)
            .await
    }

    async fn key_by_secret_hash(&self, secret_hash: &str) -> Result<Option<StoredKey>, StoreError> {
        self.key_where("secret_hash", secret_hash).await
    }

    async fn key_by_public(&self, public_key: &str) -> Result<Option<StoredKey>, StoreError> {
        self.key_where("public_key", public_key).await
    }

    async fn has_keys(&self) -> Result<bool, StoreError> {
        self.has_keys_impl().await
    }

    async fn list_keys(&self, project: Option<ProjectId>) -> Result<Vec<StoredKey>, StoreError> {
        self.list_keys_impl(project).await
    }

    async fn revoke_key(
        &self,
        public_key: &str,
        now_ns: i64,
    ) -> Result<Option<StoredKey>, StoreError> {
        self.revoke_key_impl(public_key, now_ns).await
    }
}
