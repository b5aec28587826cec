//! The scale-out engine: ClickHouse over its HTTP interface, shared by any number of stateless
//! Sightline nodes. Writes are batched by one writer task per node; reads go straight to
//! ClickHouse. The SQL runs on Debian's ClickHouse 18.16 and on current releases.
//!
//! Supported so far: writes, whole-trace and single-observation reads, projects and keys.
//! Lists, sessions, logs search, metrics and the change feed answer "not yet supported".

mod client;
mod keys;
mod read;
mod rowbinary;
pub mod schema;
mod writer;

use std::sync::{Mutex, RwLock};

use async_trait::async_trait;
use sightline_core::{ProjectId, Resource, SpanId, TraceId, WriteBatch};
use tokio::sync::oneshot;

pub use client::Client;
pub use keys::project_id;

use crate::{
    ChangeFeed, FeedBatch, FeedPosition, FeedQuery, KeyStore, LogPage, LogQuery, LogReader,
    MetricsQuery, MetricsReader, MetricsResult, ObservationPage, ObservationQuery, SessionDetail,
    SessionPage, SessionQuery, SessionReader, SpanWriter, StoreError, StoredKey, TraceDetail,
    TracePage, TraceQuery, TraceReader, WriteOutcome,
};
use writer::WriterHandle;

/// Settings of the ClickHouse engine.
#[derive(Debug, Clone)]
pub struct ClickHouseConfig {
    /// `http://host:8123/?database=name`; other parameters (`user`, `password`, settings) are
    /// passed on with every request.
    pub url: String,
    /// Most spans and logs waiting for an insert before writes are refused as overloaded.
    pub max_queued: usize,
}

pub struct ClickHouseStore {
    client: Client,
    writer: RwLock<Option<WriterHandle>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl ClickHouseStore {
    /// Connects, creates the database if needed, migrates it to the latest schema and starts the
    /// writer. Must be called inside a Tokio runtime.
    pub async fn open(config: &ClickHouseConfig) -> Result<Self, StoreError> {
        let client = Client::new(&config.url)?;
        schema::migrate(&client, now_ns()).await?;
        let (writer, task) = WriterHandle::spawn(client.clone(), config.max_queued);
        Ok(ClickHouseStore {
            client,
            writer: RwLock::new(Some(writer)),
            task: Mutex::new(Some(task)),
        })
    }

    /// The database this store uses.
    pub fn database(&self) -> &str {
        self.client.database()
    }

    /// Stops taking writes, inserts everything already queued, and waits for the writer.
    pub async fn shutdown(&self) {
        if let Ok(mut w) = self.writer.write() {
            w.take();
        }
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}

fn not_yet(what: &str) -> StoreError {
    StoreError::Unavailable(format!(
        "{what} is not yet supported on the ClickHouse store; use the SQLite store (--store sqlite) for it"
    ))
}

#[async_trait]
impl SpanWriter for ClickHouseStore {
    async fn write(
        &self,
        project: ProjectId,
        batch: WriteBatch,
    ) -> Result<WriteOutcome, StoreError> {
        if batch.is_empty() {
            return Ok(WriteOutcome::default());
        }
        let (ack, done) = oneshot::channel();
        let job = writer::encode_job(project, batch, ack)?;
        {
            let guard = self
                .writer
                .read()
                .map_err(|_| StoreError::Unavailable("the writer is gone".into()))?;
            let handle = guard
                .as_ref()
                .ok_or_else(|| StoreError::Unavailable("the store is shutting down".into()))?;
            handle.submit(job)?;
        }
        done.await.map_err(|_| {
            StoreError::Unavailable("the writer stopped before ClickHouse acknowledged".into())
        })?
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
        _project: ProjectId,
        _query: &TraceQuery,
    ) -> Result<TracePage, StoreError> {
        Err(not_yet("listing traces"))
    }

    async fn list_observations(
        &self,
        _project: ProjectId,
        _query: &ObservationQuery,
    ) -> Result<ObservationPage, StoreError> {
        Err(not_yet("listing observations"))
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
        _project: ProjectId,
        _query: &SessionQuery,
    ) -> Result<SessionPage, StoreError> {
        Err(not_yet("listing sessions"))
    }

    async fn session(
        &self,
        _project: ProjectId,
        _session_id: &str,
        _max_turns: usize,
    ) -> Result<Option<SessionDetail>, StoreError> {
        Err(not_yet("reading a session"))
    }
}

#[async_trait]
impl LogReader for ClickHouseStore {
    async fn list_logs(
        &self,
        _project: ProjectId,
        _query: &LogQuery,
    ) -> Result<LogPage, StoreError> {
        Err(not_yet("log search"))
    }
}

#[async_trait]
impl MetricsReader for ClickHouseStore {
    async fn metrics(
        &self,
        _project: ProjectId,
        _query: &MetricsQuery,
    ) -> Result<MetricsResult, StoreError> {
        Err(not_yet("metrics"))
    }
}

#[async_trait]
impl ChangeFeed for ClickHouseStore {
    async fn feed_head(&self, _project: ProjectId) -> Result<FeedPosition, StoreError> {
        Err(not_yet("the live stream"))
    }

    async fn feed(&self, _project: ProjectId, _query: &FeedQuery) -> Result<FeedBatch, StoreError> {
        Err(not_yet("the live stream"))
    }
}

#[async_trait]
impl KeyStore for ClickHouseStore {
    async fn ensure_project(&self, name: &str, now_ns: i64) -> Result<ProjectId, StoreError> {
        self.ensure_project_impl(name, now_ns).await
    }

    async fn insert_key(
        &self,
        project_name: &str,
        public_key: &str,
        secret_hash: &str,
        now_ns: i64,
    ) -> Result<StoredKey, StoreError> {
        self.insert_key_impl(project_name, public_key, secret_hash, now_ns)
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
}
