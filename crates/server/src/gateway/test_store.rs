//! A fresh SQLite store in a temporary directory, for the gateway's tests.

use std::sync::Arc;

use sightline_store::sqlite::{SqliteConfig, SqliteStore};

/// The store, and the directory that keeps it (dropped last).
pub fn temp_store() -> (Arc<SqliteStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&SqliteConfig {
        data_dir: dir.path().into(),
        max_queued: 100,
        limits: Default::default(),
    })
    .unwrap();
    (Arc::new(store), dir)
}
