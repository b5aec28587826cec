//! Opening the configured engine: a [`StoreConfig`] says which one, [`open`] migrates it and
//! starts its writer, and the [`Store`] it returns hands every contract out as one [`Engine`],
//! so nothing past start-up knows which engine runs.

use std::path::PathBuf;
use std::sync::Arc;

use crate::clickhouse::cluster::ClusterConfig;
use crate::clickhouse::{ClickHouseConfig, ClickHouseStore};
use crate::sqlite::{SqliteConfig, SqliteStore};
use crate::{
    BudgetStore, CacheStore, ChangeFeed, CostReader, DiskWatch, KeyStore, LogReader, LoginStore,
    MetricSeriesReader, MetricWriter, MetricsReader, PriceStore, ProviderKeyStore, RateLimitStore,
    RetentionStore, SessionReader, SpanWriter, StoreError, StoreLimits, TraceReader,
};

/// Every store contract at once: what each engine implements.
pub trait Engine:
    SpanWriter
    + TraceReader
    + KeyStore
    + SessionReader
    + LogReader
    + MetricsReader
    + ChangeFeed
    + PriceStore
    + CostReader
    + RetentionStore
    + DiskWatch
    + MetricWriter
    + MetricSeriesReader
    + LoginStore
    + BudgetStore
    + RateLimitStore
    + ProviderKeyStore
    + CacheStore
{
}
impl Engine for SqliteStore {}
impl Engine for ClickHouseStore {}

/// Which engine to open, and its write queue's bound.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub engine: EngineConfig,
    /// Most spans and logs waiting for a commit before writes are refused as overloaded.
    pub max_queued: usize,
    /// The read budget and the disk budget.
    pub limits: StoreLimits,
}

/// Which engine stores the data.
#[derive(Debug, Clone)]
pub enum EngineConfig {
    /// The embedded SQLite file under `data_dir`.
    Sqlite { data_dir: PathBuf },
    /// A ClickHouse server at `url` (`http://host:8123/?database=name`); with `cluster`, the
    /// sharded layout.
    ClickHouse {
        url: String,
        cluster: Option<ClusterConfig>,
    },
}

/// The opened engine.
#[derive(Clone)]
pub enum Store {
    Sqlite(Arc<SqliteStore>),
    ClickHouse(Arc<ClickHouseStore>),
}

/// Opens (creating and migrating as needed) the configured engine and starts its writer. Must
/// be called inside a Tokio runtime.
pub async fn open(config: &StoreConfig) -> Result<Store, StoreError> {
    let max_queued = config.max_queued;
    let limits = config.limits.clone();
    Ok(match &config.engine {
        EngineConfig::Sqlite { data_dir } => {
            Store::Sqlite(Arc::new(SqliteStore::open(&SqliteConfig {
                data_dir: data_dir.clone(),
                max_queued,
                limits,
            })?))
        }
        EngineConfig::ClickHouse { url, cluster } => {
            let engine = ClickHouseConfig {
                url: url.clone(),
                max_queued,
                limits,
            };
            Store::ClickHouse(Arc::new(match cluster {
                None => ClickHouseStore::open(&engine).await?,
                Some(cluster) => ClickHouseStore::open_sharded(&engine, cluster).await?,
            }))
        }
    })
}

impl Store {
    pub fn engine(&self) -> Arc<dyn Engine> {
        match self {
            Store::Sqlite(s) => s.clone(),
            Store::ClickHouse(s) => s.clone(),
        }
    }

    /// Where the data lives, for logs and messages (never credentials).
    pub fn describe(&self) -> String {
        match self {
            Store::Sqlite(s) => s.path().display().to_string(),
            Store::ClickHouse(s) => format!("ClickHouse database {}", s.database()),
        }
    }

    /// Stops taking writes and waits until everything queued is stored.
    pub async fn shutdown(&self) {
        match self {
            Store::Sqlite(s) => {
                let s = s.clone();
                let _ = tokio::task::spawn_blocking(move || s.shutdown()).await;
            }
            Store::ClickHouse(s) => s.shutdown().await,
        }
    }
}
