//! Opens the store engine the configuration chose and hands it out as the contracts the server
//! uses, so nothing past start-up knows which engine runs.

use std::sync::Arc;

use sightline_store::clickhouse::cluster::ClusterConfig;
use sightline_store::clickhouse::{ClickHouseConfig, ClickHouseStore};
use sightline_store::sqlite::{SqliteConfig, SqliteStore};
use sightline_store::{
    ChangeFeed, CostReader, KeyStore, LogReader, MetricsReader, PriceStore, RetentionStore,
    SessionReader, SpanWriter, StoreError, TraceReader,
};

use crate::config::{Config, StoreChoice};

/// Every store contract at once.
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
{
}
impl<T> Engine for T where
    T: SpanWriter
        + TraceReader
        + KeyStore
        + SessionReader
        + LogReader
        + MetricsReader
        + ChangeFeed
        + PriceStore
        + CostReader
        + RetentionStore
{
}

/// The opened engine.
#[derive(Clone)]
pub enum Store {
    Sqlite(Arc<SqliteStore>),
    ClickHouse(Arc<ClickHouseStore>),
}

impl Store {
    /// Opens (and migrates) the configured engine; `max_queued` bounds its write queue.
    pub async fn open(config: &Config, max_queued: usize) -> Result<Store, StoreError> {
        Ok(match &config.store.engine {
            StoreChoice::Sqlite => Store::Sqlite(Arc::new(SqliteStore::open(&SqliteConfig {
                data_dir: config.store.data_dir.clone(),
                max_queued,
            })?)),
            StoreChoice::ClickHouse { url, cluster } => {
                let engine = ClickHouseConfig {
                    url: url.clone(),
                    max_queued,
                };
                Store::ClickHouse(Arc::new(match cluster {
                    None => ClickHouseStore::open(&engine).await?,
                    Some((name, shard_urls)) => {
                        let cluster = ClusterConfig {
                            name: name.clone(),
                            shard_urls: shard_urls.clone(),
                        };
                        ClickHouseStore::open_sharded(&engine, &cluster).await?
                    }
                }))
            }
        })
    }

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
