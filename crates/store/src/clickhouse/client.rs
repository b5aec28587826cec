//! A small client for ClickHouse's HTTP interface: statements and queries go in the POST body,
//! inserts put the statement in the `query` parameter and the RowBinary rows in the body.
//! Queries run under the read budget (`max_execution_time`) with a query id of their own; a query
//! whose caller went away is killed by that id (`KILL QUERY`, sent by the store's killer task).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Url;
use tokio::sync::mpsc;

use crate::StoreError;

/// ClickHouse error codes that mean "try again later" rather than "this write is wrong".
const RETRYABLE_CODES: &[u32] = &[
    202, // too many simultaneous queries
    241, // memory limit exceeded
    252, // too many parts
    159, // timeout exceeded
    209, // socket timeout
];

/// Most bytes of an error answer kept in a message.
const MAX_ERROR_TEXT: usize = 1000;

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The server URL with every parameter but `database` (e.g. `user`, `password`, settings).
    base: Url,
    database: String,
    /// `host:port` for messages: never the credentials.
    display: String,
    /// The read budget of queries; `None`: ClickHouse's own limits only.
    read_timeout: Option<Duration>,
    /// Where the ids of abandoned queries go to be killed.
    killer: Option<mpsc::Sender<String>>,
}

/// Abandoned queries waiting for their `KILL QUERY`; more are not killed, only abandoned.
const KILL_QUEUE: usize = 256;

impl Client {
    /// Parses `http://host:port/?database=name[&user=..&password=..]`. The database defaults to
    /// `default`.
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let bad = |why: &str| {
            StoreError::Engine(format!(
                "clickhouse_url: {why}; expected e.g. http://127.0.0.1:8123/?database=sightline"
            ))
        };
        let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if parsed.scheme() != "http" && parsed.scheme() != "https" {
            return Err(bad("the scheme must be http or https"));
        }
        let mut database = "default".to_owned();
        let mut base = parsed.clone();
        base.set_query(None);
        {
            let mut pairs = base.query_pairs_mut();
            for (k, v) in parsed.query_pairs() {
                if k == "database" {
                    database = v.into_owned();
                } else {
                    pairs.append_pair(&k, &v);
                }
            }
        }
        if base.query() == Some("") {
            base.set_query(None);
        }
        if database.is_empty()
            || !database
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(bad("the database name must be letters, digits and '_'"));
        }
        let display = format!(
            "{}:{}",
            parsed.host_str().unwrap_or("?"),
            parsed.port_or_known_default().unwrap_or(0)
        );
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(16)
            .build()
            .map_err(|e| StoreError::Engine(format!("cannot make an HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            database,
            display,
            read_timeout: None,
            killer: None,
        })
    }

    /// This client with queries bounded by `read_timeout`, and the receiver of the ids of
    /// queries abandoned by their caller: run [`Client::kill_abandoned`] on it.
    pub fn with_read_budget(&self, read_timeout: Duration) -> (Client, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(KILL_QUEUE);
        let client = Client {
            read_timeout: Some(read_timeout),
            killer: Some(tx),
            ..self.clone()
        };
        (client, rx)
    }

    /// Kills each query whose id comes in, until every sender is gone.
    pub async fn kill_abandoned(self, mut ids: mpsc::Receiver<String>) {
        while let Some(id) = ids.recv().await {
            let sql = format!("KILL QUERY WHERE query_id = '{id}' ASYNC");
            match self.execute_server(&sql).await {
                Ok(()) => {
                    tracing::info!(query_id = %id, "a query was killed: its caller went away")
                }
                Err(e) => {
                    tracing::warn!(query_id = %id, error = %e, "could not kill an abandoned query")
                }
            }
        }
    }

    pub fn database(&self) -> &str {
        &self.database
    }

    fn url(&self, with_database: bool, params: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        {
            let mut pairs = url.query_pairs_mut();
            if with_database {
                pairs.append_pair("database", &self.database);
            }
            for (k, v) in params {
                pairs.append_pair(k, v);
            }
        }
        url
    }

    async fn send(&self, url: Url, body: Vec<u8>) -> Result<bytes::Bytes, StoreError> {
        self.send_within(url, body, None).await
    }

    /// [`send`](Self::send), giving up after `timeout` when one is given.
    async fn send_within(
        &self,
        url: Url,
        body: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<bytes::Bytes, StoreError> {
        let mut request = self.http.post(url).body(body);
        if let Some(t) = timeout {
            request = request.timeout(t);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                StoreError::Unavailable(format!("ClickHouse at {} timed out: {e}", self.display))
            } else {
                StoreError::Unavailable(format!("cannot reach ClickHouse at {}: {e}", self.display))
            }
        })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| {
            StoreError::Unavailable(format!(
                "ClickHouse at {} broke off its answer: {e}",
                self.display
            ))
        })?;
        if status.is_success() {
            return Ok(body);
        }
        let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_TEXT)])
            .trim()
            .to_owned();
        let message = format!("ClickHouse at {} answered {status}: {text}", self.display);
        if out_of_space(&text) {
            return Err(StoreError::DiskFull(format!(
                "{message} (ClickHouse's disk is full: free space on its volume, or lower \
                 store.max_disk_bytes so writes are refused before it fills)"
            )));
        }
        if RETRYABLE_CODES.iter().any(|&c| has_code(&text, c))
            || status.is_server_error() && text.is_empty()
        {
            Err(StoreError::Unavailable(message))
        } else {
            Err(StoreError::Engine(message))
        }
    }

    /// Runs a statement (DDL) in the configured database.
    pub async fn execute(&self, sql: &str) -> Result<(), StoreError> {
        self.send(self.url(true, &[]), sql.as_bytes().to_vec())
            .await
            .map(|_| ())
    }

    /// Runs a statement outside any database (to create the database itself).
    pub async fn execute_server(&self, sql: &str) -> Result<(), StoreError> {
        self.send(self.url(false, &[]), sql.as_bytes().to_vec())
            .await
            .map(|_| ())
    }

    /// Runs a query and returns its rows in RowBinary (decode with `RowReader`). A query over
    /// ClickHouse's memory limit is not retryable: the same query needs the same memory. Past the
    /// read budget the query is stopped (`TimedOut`); dropped before it answered, it is killed.
    pub async fn query(&self, sql: &str) -> Result<bytes::Bytes, StoreError> {
        let size = (sql.len() + 1024).max(256 * 1024).to_string();
        let id = query_id();
        let seconds = self.read_timeout.map(|t| t.as_secs().max(1).to_string());
        let mut params = vec![("max_query_size", size.as_str()), ("query_id", id.as_str())];
        if let Some(s) = &seconds {
            params.push(("max_execution_time", s));
        }
        let url = self.url(true, &params);
        let mut kill = KillOnDrop {
            id,
            killer: self.killer.clone(),
        };
        // The server stops at max_execution_time; the connection waits a little longer for that
        // answer.
        let wait = self.read_timeout.map(|t| t + Duration::from_secs(5));
        let answer = self
            .send_within(url, format!("{sql} FORMAT RowBinary").into_bytes(), wait)
            .await;
        kill.killer = None;
        match answer {
            Err(StoreError::Unavailable(message)) if over_memory_limit(&message) => {
                Err(StoreError::TooLarge(format!(
                    "{message} (the query needs more memory than ClickHouse's max_memory_usage \
                     allows: narrow the time window or the filters, or raise the limit in \
                     ClickHouse's users.xml)"
                )))
            }
            Err(StoreError::Unavailable(message))
                if has_code(&message, TIMEOUT_EXCEEDED) || message.contains("timed out") =>
            {
                let budget = self.read_timeout.unwrap_or_default().as_secs();
                Err(StoreError::TimedOut(format!(
                    "the read ran past its {budget} s budget (store.read_timeout_secs) and was \
                     stopped: narrow the time window (since, from, to) or the filters, or raise \
                     store.read_timeout_secs ({message})"
                )))
            }
            other => other,
        }
    }

    /// Inserts RowBinary `rows` into `table (columns)`; returns once ClickHouse has written them.
    pub async fn insert(
        &self,
        table: &str,
        columns: &str,
        rows: Vec<u8>,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        let statement = format!("INSERT INTO {table} ({columns}) FORMAT RowBinary");
        let url = self.url(true, &[("query", &statement)]);
        self.send(url, rows).await.map(|_| ())
    }
}

/// Whether an error text carries ClickHouse's error `code` (`Code: N,` on old releases,
/// `Code: N.` on new ones).
fn has_code(text: &str, code: u32) -> bool {
    [",", "."]
        .iter()
        .any(|sep| text.contains(&format!("Code: {code}{sep}")))
}

/// ClickHouse's TIMEOUT_EXCEEDED (`max_execution_time`).
const TIMEOUT_EXCEEDED: u32 = 159;

/// A query id of this process, unique among the queries it runs.
fn query_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("sightline-{}-{started:x}-{n}", std::process::id())
}

/// Hands the query's id to the killer when dropped while `killer` is still set.
struct KillOnDrop {
    id: String,
    killer: Option<mpsc::Sender<String>>,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(killer) = self.killer.take() {
            let _ = killer.try_send(std::mem::take(&mut self.id));
        }
    }
}

/// ClickHouse could not write for lack of space: NOT_ENOUGH_SPACE (243), or the volume's
/// `No space left on device`.
fn out_of_space(text: &str) -> bool {
    has_code(text, 243) || text.contains("No space left on device")
}

/// ClickHouse's "Memory limit (for query) exceeded".
fn over_memory_limit(message: &str) -> bool {
    has_code(message, 241)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_comes_out_of_the_url_and_other_parameters_stay() {
        let c = Client::new("http://127.0.0.1:8123/?database=x_1&user=u&password=p").unwrap();
        assert_eq!(c.database(), "x_1");
        let url = c.url(true, &[]).to_string();
        assert!(
            url.contains("user=u") && url.contains("password=p") && url.contains("database=x_1"),
            "{url}"
        );
        assert!(!c.url(false, &[]).to_string().contains("database"));
        assert_eq!(c.display, "127.0.0.1:8123");
        assert_eq!(Client::new("http://h:8123").unwrap().database(), "default");
    }

    #[test]
    fn bad_urls_name_the_setting() {
        for url in ["nope", "ftp://h/", "http://h/?database=a;drop"] {
            let err = Client::new(url).err().unwrap().to_string();
            assert!(err.contains("clickhouse_url"), "{err}");
        }
    }
}
