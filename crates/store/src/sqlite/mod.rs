//! The embedded engine: one SQLite file in WAL mode under the data directory. Writes go through
//! the group-commit writer thread; reads use a small pool of connections on blocking threads.

mod costs;
mod gateway;
mod keys;
mod prices;
mod query;
mod read;
mod retention;
mod rollup;
pub(crate) mod rows;
pub mod schema;
mod session_rollup;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::write_queue::{self, WriteQueue};
use crate::{SpanWriter, StoreError, WriteOutcome};
use async_trait::async_trait;
use rusqlite::Connection;
use sightline_core::{ProjectId, WriteBatch};
use writer::WriteJob;

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "sightline.db";

/// Settings of the embedded engine.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    pub data_dir: PathBuf,
    /// Most spans and logs waiting for a commit before writes are refused as overloaded.
    pub max_queued: usize,
}

pub struct SqliteStore {
    path: PathBuf,
    queue: WriteQueue<WriteJob>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)
        .map_err(|e| StoreError::Engine(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // `auto_vacuum` first: a new database then hands pages freed by retention back to the file
    // system (the mode only takes on a database without tables, before WAL writes its header;
    // older databases keep reusing freed pages instead).
    conn.execute_batch(
        "PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF; \
         PRAGMA temp_store = MEMORY;",
    )?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database under `config.data_dir`, migrates it to the
    /// latest schema and starts the writer.
    pub fn open(config: &SqliteConfig) -> Result<Self, StoreError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            StoreError::Engine(format!(
                "cannot create the data directory {}: {e}",
                config.data_dir.display()
            ))
        })?;
        let path = config.data_dir.join(DB_FILE);
        let mut conn = open_connection(&path)?;
        schema::migrate(&mut conn)?;
        conn.execute_batch("PRAGMA cache_size = -65536;")?;
        let (queue, jobs) = write_queue::channel(config.max_queued);
        let thread = writer::spawn(conn, jobs)?;
        Ok(SqliteStore {
            path,
            queue,
            thread: Mutex::new(Some(thread)),
            readers: Mutex::new(Vec::new()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stops taking writes, commits everything already queued, and waits for the writer.
    pub fn shutdown(&self) {
        self.queue.close();
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = thread {
            let _ = t.join();
        }
    }

    /// Runs `f` with a pooled connection on a blocking thread.
    pub(crate) async fn with_conn<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let pooled = self.readers.lock().ok().and_then(|mut p| p.pop());
        let mut conn = match pooled {
            Some(c) => c,
            None => {
                let conn = open_connection(&self.path)?;
                query::register_functions(&conn)?;
                conn
            }
        };
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let r = f(&mut conn);
            (conn, r)
        })
        .await
        .map_err(|e| StoreError::Engine(format!("a read task failed: {e}")))?;
        if let Ok(mut pool) = self.readers.lock() {
            if pool.len() < 8 {
                pool.push(conn);
            }
        }
        result
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[async_trait]
impl SpanWriter for SqliteStore {
    async fn write(
        &self,
        project: ProjectId,
        batch: WriteBatch,
    ) -> Result<WriteOutcome, StoreError> {
        self.queue.write(project, batch, writer::encode_job).await
    }
}
