//! The embedded engine: one SQLite file in WAL mode under the data directory. Writes go through
//! the group-commit writer thread; reads use a small pool of connections on blocking threads,
//! each bounded by the read budget and stopped when its caller goes away ([`SqliteStore::with_conn`]).

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
mod rollup;
pub(crate) mod rows;
pub mod schema;
mod session_rollup;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::limits::{assess, DiskStatus, DiskUsage, DiskWatch, StoreLimits};
use crate::write_queue::{self, WriteQueue};
use crate::{SpanWriter, StoreError, WriteOutcome};
use async_trait::async_trait;
use rusqlite::{Connection, InterruptHandle};
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
    pub limits: StoreLimits,
}

pub struct SqliteStore {
    path: PathBuf,
    limits: StoreLimits,
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
            limits: config.limits.clone(),
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

    /// Runs `f` with a pooled connection on a blocking thread, within the read budget: past it
    /// the statement running is interrupted and the answer is `TimedOut`. When the returned
    /// future is dropped (the client went away), the statement is interrupted too.
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
        let budget = self.limits.read_timeout;
        let stop = Arc::new(ReadStop::new(budget));
        let on_progress = stop.clone();
        conn.progress_handler(PROGRESS_OPS, Some(move || on_progress.should_stop()));
        let cancel = CancelOnDrop {
            stop: stop.clone(),
            interrupt: conn.get_interrupt_handle(),
            armed: true,
        };
        let running = stop.clone();
        let mut cancel = cancel;
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let r = f(&mut conn);
            conn.progress_handler(0, None::<fn() -> bool>);
            if running.cancelled.load(Ordering::Relaxed) {
                tracing::info!(
                    seconds = running.started.elapsed().as_secs_f64(),
                    "a read was stopped: its caller went away"
                );
            }
            (conn, r)
        })
        .await
        .map_err(|e| StoreError::Engine(format!("a read task failed: {e}")))?;
        cancel.armed = false;
        if result.is_err() && stop.timed_out.load(Ordering::Relaxed) {
            return Err(read_timed_out(budget));
        }
        if let Ok(mut pool) = self.readers.lock() {
            if pool.len() < 8 {
                pool.push(conn);
            }
        }
        result
    }
}

/// Virtual-machine steps between two looks at the read's deadline and its cancellation.
const PROGRESS_OPS: i32 = 1000;

/// What stops a running read: its deadline, or its caller going away.
struct ReadStop {
    started: Instant,
    deadline: Instant,
    cancelled: AtomicBool,
    timed_out: AtomicBool,
}

impl ReadStop {
    fn new(budget: Duration) -> Self {
        let started = Instant::now();
        ReadStop {
            started,
            deadline: started + budget,
            cancelled: AtomicBool::new(false),
            timed_out: AtomicBool::new(false),
        }
    }

    /// The progress handler: true interrupts the statement.
    fn should_stop(&self) -> bool {
        if self.cancelled.load(Ordering::Relaxed) {
            return true;
        }
        if Instant::now() >= self.deadline {
            self.timed_out.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }
}

/// Interrupts the read when the future awaiting it is dropped before it finished.
struct CancelOnDrop {
    stop: Arc<ReadStop>,
    interrupt: InterruptHandle,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.stop.cancelled.store(true, Ordering::Relaxed);
            self.interrupt.interrupt();
        }
    }
}

/// The answer to a read stopped at its budget.
pub(crate) fn read_timed_out(budget: Duration) -> StoreError {
    StoreError::TimedOut(format!(
        "the read ran past its {} s budget (store.read_timeout_secs) and was stopped: narrow the \
         time window (since, from, to) or the filters, or raise store.read_timeout_secs",
        budget.as_secs()
    ))
}

/// The database's pages in use (what retention frees; the free pages SQLite reuses and the WAL,
/// which checkpoints keep to a few MiB, are not counted), and the volume's free bytes (which see
/// every file).
fn disk_usage(conn: &Connection, path: &Path) -> Result<DiskUsage, StoreError> {
    let pages: u64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free_pages: u64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let page_size: u64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let free_bytes = rustix::fs::statvfs(dir)
        .ok()
        .map(|v| v.f_bavail.saturating_mul(v.f_frsize));
    Ok(DiskUsage {
        used_bytes: pages.saturating_sub(free_pages).saturating_mul(page_size),
        free_bytes,
    })
}

#[async_trait]
impl DiskWatch for SqliteStore {
    async fn check_disk(&self) -> Result<DiskStatus, StoreError> {
        let path = self.path.clone();
        let usage = self.with_conn(move |conn| disk_usage(conn, &path)).await?;
        let status = assess(usage, self.limits.disk);
        self.queue.disk.set(&status);
        Ok(status)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts forever: a read only the budget or a cancellation ends.
    const ENDLESS: &str =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";

    fn store(dir: &Path, read_timeout: Duration) -> SqliteStore {
        SqliteStore::open(&SqliteConfig {
            data_dir: dir.to_path_buf(),
            max_queued: 100,
            limits: StoreLimits {
                read_timeout,
                ..Default::default()
            },
        })
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_past_its_budget_is_stopped_and_says_which_setting() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), Duration::from_secs(1));
        let started = Instant::now();
        let err = store
            .with_conn(|c| Ok(c.query_row(ENDLESS, [], |r| r.get::<_, i64>(0))?))
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        match err {
            StoreError::TimedOut(why) => assert!(why.contains("store.read_timeout_secs"), "{why}"),
            other => panic!("{other:?}"),
        }
        // The store still reads after it.
        let one: i64 = store
            .with_conn(|c| Ok(c.query_row("SELECT 1", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(one, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_whose_caller_went_away_stops() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path(), Duration::from_secs(600));
        let ended = Arc::new(AtomicBool::new(false));
        let flag = ended.clone();
        let read = store.with_conn(move |c| {
            let r = c.query_row(ENDLESS, [], |r| r.get::<_, i64>(0));
            flag.store(true, Ordering::SeqCst);
            Ok(r?)
        });
        // The caller gives up (a client disconnecting drops the handler's future the same way).
        assert!(tokio::time::timeout(Duration::from_millis(300), read)
            .await
            .is_err());
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ended.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the abandoned read still runs");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
