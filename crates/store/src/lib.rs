//! Sightline's store: narrow contracts per concern ([`SpanWriter`], [`TraceReader`],
//! [`KeyStore`]), one module per engine, and [`open`] for the engine a [`StoreConfig`] names.
//! The store writes what it is given: ids, timestamps and secrets are made by the service layer.

pub mod clickhouse;
pub mod codec;
mod cost_agg;
pub mod costs;
mod engine;
mod filter;
pub mod gateway;
pub mod limits;
pub mod logins;
pub mod metric;
mod paging;
pub mod query;
pub mod retention;
pub mod sqlite;
mod write_queue;

use async_trait::async_trait;
use sightline_core::{LogRecord, Observation, ProjectId, Resource, SpanId, TraceId, WriteBatch};

pub use costs::{
    CostBucket, CostDimension, CostOrder, CostQuery, CostReader, CostReport, CostRow,
    LatencyHistogram,
};
pub use engine::{open, Engine, EngineConfig, Store, StoreConfig};
pub use gateway::{
    BudgetEvent, BudgetStore, CacheStore, CachedResponse, LedgerChange, LedgerState,
    OpenReservation, ProviderKey, ProviderKeyStore, RateLimitRule, RateLimitStore,
};
pub use limits::{DiskBudget, DiskState, DiskStatus, DiskUsage, DiskWatch, StoreLimits};
pub use logins::{LoginStore, StoredLogin};
pub use metric::{
    MetricBucket, MetricGroup, MetricInfo, MetricSeriesQuery, MetricSeriesReader,
    MetricSeriesResult, MetricWriteOutcome, MetricWriter, SeriesSnapshot,
};
pub use query::*;
pub use retention::{RetentionOutcome, RetentionScope, RetentionStore};

/// What went wrong in a store. The server maps each variant to one HTTP/gRPC answer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write queue is full: the caller should retry later (429/503, gRPC UNAVAILABLE).
    #[error("the write queue is full ({queued} spans waiting); retry after a short delay")]
    Overloaded { queued: usize },
    /// The store is shutting down or its engine is unreachable; retryable.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The engine failed; the data of this call was not stored.
    #[error("storage error: {0}")]
    Engine(String),
    /// The caller asked for something that contradicts what is stored (e.g. a duplicate name).
    #[error("{0}")]
    Conflict(String),
    /// The caller's question is malformed (the message names the field and the fix).
    #[error("{0}")]
    Invalid(String),
    /// A read needs more than the engine allows (ClickHouse's memory limit); the same read
    /// would fail again, so it is not retryable.
    #[error("{0}")]
    TooLarge(String),
    /// A read ran past the store's read budget and was stopped (the message names the budget
    /// and how to narrow the read).
    #[error("{0}")]
    TimedOut(String),
    /// The disk budget is spent, or the disk itself is full: nothing of this write was stored
    /// (the message names the cap and how to free space).
    #[error("{0}")]
    DiskFull(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull(format!(
                "the disk holding the store is full ({e}): free space on its volume, or lower \
                 store.max_disk_bytes below what the volume holds so writes are refused earlier"
            )),
            _ => StoreError::Engine(e.to_string()),
        }
    }
}

/// The outcome of a committed write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Observations newly stored.
    pub observations: usize,
    /// Observations already stored under the same (project, trace, span) id: a client retry.
    pub duplicates: usize,
    pub logs: usize,
}

/// Durable writes of telemetry.
#[async_trait]
pub trait SpanWriter: Send + Sync {
    /// Stores the batch in `project`. Returns only after the commit that holds it: an `Ok` means
    /// the data survives a crash. Rewriting a span already stored is a no-op (idempotent retries).
    async fn write(
        &self,
        project: ProjectId,
        batch: WriteBatch,
    ) -> Result<WriteOutcome, StoreError>;
}

/// A trace's summary, kept current at write time.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct TraceSummary {
    pub trace_id: String,
    pub root_name: Option<String>,
    pub root_span_id: Option<String>,
    pub start_ns: i64,
    pub end_ns: i64,
    pub span_count: i64,
    pub error_count: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub reasoning_tokens: i64,
    /// Sum of the known costs of the trace's llm and embedding calls (provided or computed).
    pub cost_nano_usd: Option<i64>,
    pub service_name: Option<String>,
    pub agent_name: Option<String>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub tenant_id: Option<String>,
}

/// One trace as stored: its summary, observations in start order, and correlated logs.
/// Observations and logs point into `resources` by `resource_index`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceDetail {
    pub summary: TraceSummary,
    pub resources: Vec<Resource>,
    pub observations: Vec<Observation>,
    pub logs: Vec<LogRecord>,
}

/// Reads of traces and their observations.
#[async_trait]
pub trait TraceReader: Send + Sync {
    /// One whole trace. Without `payloads`, observations come back with input, output, tool
    /// arguments and tool result left out (cheaper for large traces).
    async fn trace(
        &self,
        project: ProjectId,
        trace_id: TraceId,
        payloads: bool,
    ) -> Result<Option<TraceDetail>, StoreError>;

    /// A page of trace summaries (see [`TraceQuery`] for what matches).
    async fn list_traces(
        &self,
        project: ProjectId,
        query: &TraceQuery,
    ) -> Result<TracePage, StoreError>;

    /// A page of observations across traces.
    async fn list_observations(
        &self,
        project: ProjectId,
        query: &ObservationQuery,
    ) -> Result<ObservationPage, StoreError>;

    /// The ids of the project's traces (those with a summary) that start with `prefix`, in id
    /// order, at most `limit` of them: how a short id from a trace list finds its trace.
    async fn trace_ids_with_prefix(
        &self,
        project: ProjectId,
        prefix: &TraceIdPrefix,
        limit: usize,
    ) -> Result<Vec<TraceId>, StoreError>;

    /// One observation with its full payload and its resource (its `resource_index` is 0).
    async fn observation(
        &self,
        project: ProjectId,
        trace_id: TraceId,
        span_id: SpanId,
    ) -> Result<Option<(Resource, Observation)>, StoreError>;
}

/// Reads of sessions: observations grouped by session id.
#[async_trait]
pub trait SessionReader: Send + Sync {
    async fn list_sessions(
        &self,
        project: ProjectId,
        query: &SessionQuery,
    ) -> Result<SessionPage, StoreError>;

    /// One session with its traces, oldest first, at most `max_turns` of them (the earliest).
    async fn session(
        &self,
        project: ProjectId,
        session_id: &str,
        max_turns: usize,
    ) -> Result<Option<SessionDetail>, StoreError>;
}

/// Log search.
#[async_trait]
pub trait LogReader: Send + Sync {
    async fn list_logs(&self, project: ProjectId, query: &LogQuery) -> Result<LogPage, StoreError>;
}

/// Time-bucketed aggregates over observations.
#[async_trait]
pub trait MetricsReader: Send + Sync {
    async fn metrics(
        &self,
        project: ProjectId,
        query: &MetricsQuery,
    ) -> Result<MetricsResult, StoreError>;
}

/// The change feed behind the live stream: what was stored after a position.
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// The current end of the project's feed: a new subscriber starts here.
    async fn feed_head(&self, project: ProjectId) -> Result<FeedPosition, StoreError>;

    /// Observations and logs stored after `query.after`, in storage order.
    async fn feed(&self, project: ProjectId, query: &FeedQuery) -> Result<FeedBatch, StoreError>;
}

/// A stored API key: the public half and the hash of the secret (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub public_key: String,
    pub secret_hash: String,
    pub project: ProjectId,
    pub project_name: String,
    /// `admin`, `member` or `viewer`, as the server gave it; keys stored before keys had roles
    /// are `admin`.
    pub role: String,
    /// When it was made (UTC nanoseconds).
    pub created_ns: i64,
    /// When it was revoked; a revoked key authenticates nothing, for good.
    pub revoked_ns: Option<i64>,
}

/// Projects and API keys.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The project with this name, created if missing.
    async fn ensure_project(&self, name: &str, now_ns: i64) -> Result<ProjectId, StoreError>;
    /// The project called `name`, without creating it.
    async fn find_project(&self, name: &str) -> Result<Option<ProjectId>, StoreError>;
    /// Stores a key with `role` for `project_name` (created if missing). A public key or
    /// secret hash already stored is a [`StoreError::Conflict`].
    async fn insert_key(
        &self,
        project_name: &str,
        public_key: &str,
        secret_hash: &str,
        role: &str,
        now_ns: i64,
    ) -> Result<StoredKey, StoreError>;
    /// The key with this secret hash, revoked or not.
    async fn key_by_secret_hash(&self, secret_hash: &str) -> Result<Option<StoredKey>, StoreError>;
    async fn key_by_public(&self, public_key: &str) -> Result<Option<StoredKey>, StoreError>;
    /// Whether any key exists at all, revoked ones included (without keys, loopback callers
    /// use project `default`; revoking every key does not bring that back).
    async fn has_keys(&self) -> Result<bool, StoreError>;
    /// The keys of `project` (every project's with `None`), revoked ones included, oldest
    /// first (then by public key).
    async fn list_keys(&self, project: Option<ProjectId>) -> Result<Vec<StoredKey>, StoreError>;
    /// Marks the key `public_key` revoked at `now_ns`. Returns the key as it is now stored:
    /// `None` when there is no such key, its first `revoked_ns` when it was already revoked.
    async fn revoke_key(
        &self,
        public_key: &str,
        now_ns: i64,
    ) -> Result<Option<StoredKey>, StoreError>;
}

/// A project's own price for a model, over the bundled table. Prices are decimal strings of USD
/// per million tokens, as the price registry reads them; the server validates them before storing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PriceOverride {
    /// Made by the service; a put with an existing id replaces that override.
    pub id: String,
    /// Canonical provider name; `None` matches the model at any provider.
    pub provider: Option<String>,
    /// An exact model name, or a `*` glob (`gpt-4o-*`).
    pub model: String,
    pub input: String,
    pub output: String,
    pub cache_read: Option<String>,
    pub cache_write: Option<String>,
    pub reasoning: Option<String>,
    /// First day (`YYYY-MM-DD`, UTC) the price applies; `None`: since always. Calls already
    /// stored keep the cost they were given.
    pub effective_from: Option<String>,
    /// When it was last set (UTC nanoseconds); also orders replacements.
    pub updated_ns: i64,
}

/// Per-project price overrides.
#[async_trait]
pub trait PriceStore: Send + Sync {
    /// Stores `entry` in `project`, replacing the override with the same id.
    async fn put_price_override(
        &self,
        project: ProjectId,
        entry: &PriceOverride,
    ) -> Result<(), StoreError>;
    /// The project's overrides, oldest first.
    async fn price_overrides(&self, project: ProjectId) -> Result<Vec<PriceOverride>, StoreError>;
    /// Removes the override `id` from `project`; `false` when there was none. `now_ns` orders
    /// the removal after the override's last put.
    async fn delete_price_override(
        &self,
        project: ProjectId,
        id: &str,
        now_ns: i64,
    ) -> Result<bool, StoreError>;
}

/// The default project's name: where unauthenticated loopback traffic goes.
pub const DEFAULT_PROJECT: &str = "default";
