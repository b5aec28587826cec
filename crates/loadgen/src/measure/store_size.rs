//! What a benchmark run left in the store, for bytes per span: the SQLite files in the server's
//! data directory, or the active parts of the server's ClickHouse database.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};

/// Where the benchmarked server keeps its data, as given on the bench command line.
pub(crate) struct StoreSource<'a> {
    pub data_dir: Option<&'a Path>,
    pub clickhouse_url: Option<&'a str>,
}

impl StoreSource<'_> {
    /// The engine's name for reports: `clickhouse` when a ClickHouse URL is given, else `sqlite`.
    pub fn engine(&self) -> &'static str {
        if self.clickhouse_url.is_some() {
            "clickhouse"
        } else {
            "sqlite"
        }
    }

    /// The size of the store now, or `None` when neither location is given.
    pub async fn measure(&self) -> anyhow::Result<Option<Stored>> {
        if let Some(url) = self.clickhouse_url {
            return clickhouse_bytes(url).await.map(Some);
        }
        match self.data_dir {
            Some(dir) => Ok(Some(Stored {
                bytes: sqlite_bytes(dir)?,
                includes: "the SQLite database with its WAL and SHM".to_string(),
                tables: Vec::new(),
            })),
            None => Ok(None),
        }
    }
}

/// A measured store size.
pub(crate) struct Stored {
    pub bytes: u64,
    /// What the bytes cover, for the report.
    pub includes: String,
    /// Per table (ClickHouse only): name and bytes on disk.
    pub tables: Vec<(String, u64)>,
}

impl Stored {
    pub fn json(&self) -> serde_json::Value {
        let tables: serde_json::Map<String, serde_json::Value> = self
            .tables
            .iter()
            .map(|(name, bytes)| (name.clone(), (*bytes).into()))
            .collect();
        serde_json::json!({"bytes": self.bytes, "includes": self.includes, "tables": tables})
    }
}

/// Total size of the SQLite files (`sightline.db`, `-wal`, `-shm`) in `dir`.
pub(crate) fn sqlite_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)
        .with_context(|| format!("cannot read --data-dir {}", dir.display()))?
    {
        let entry = entry?;
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with("sightline.db")
        {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

/// `bytes_on_disk` of the active parts of every table in the URL's database (spans, logs,
/// resources, keys, ...), from `system.parts`; per table too.
async fn clickhouse_bytes(url: &str) -> anyhow::Result<Stored> {
    let mut base = reqwest::Url::parse(url)
        .with_context(|| format!("--clickhouse-url {url:?} is not a URL (e.g. http://127.0.0.1:8123/?database=sightline)"))?;
    let database = base
        .query_pairs()
        .find(|(k, _)| k == "database")
        .map_or_else(|| "default".to_string(), |(_, v)| v.into_owned());
    if database.is_empty()
        || !database
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        bail!("--clickhouse-url: the database {database:?} must be letters, digits and '_'");
    }
    // Keep user/password; the query names the database itself.
    let kept: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(k, _)| k == "user" || k == "password")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    base.set_query(None);
    if !kept.is_empty() {
        base.query_pairs_mut().extend_pairs(kept);
    }
    let sql = format!(
        "SELECT table, sum(bytes_on_disk) FROM system.parts \
         WHERE active AND database = '{database}' GROUP BY table ORDER BY table FORMAT TSV"
    );
    let response = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()?
        .post(base.clone())
        .body(sql)
        .send()
        .await
        .with_context(|| format!("asking {base} for system.parts: is ClickHouse running?"))?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("ClickHouse at {base} answered {status} to the system.parts query: {text}");
    }
    let mut tables = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (name, bytes) = line
            .split_once('\t')
            .with_context(|| format!("unexpected system.parts row {line:?}"))?;
        let bytes: u64 = bytes
            .parse()
            .with_context(|| format!("unexpected system.parts row {line:?}"))?;
        tables.push((name.to_string(), bytes));
    }
    Ok(Stored {
        bytes: tables.iter().map(|t| t.1).sum(),
        includes: format!("active parts of every table in ClickHouse database {database}"),
        tables,
    })
}

/// The flags that name the store on a reproducing command line.
pub(crate) fn command_flags(data_dir: Option<&PathBuf>, clickhouse_url: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(url) = clickhouse_url {
        // The password itself is not printed.
        let shown = match reqwest::Url::parse(url) {
            Ok(mut parsed) if parsed.query_pairs().any(|(k, _)| k == "password") => {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k == "password" {
                            "<password>".into()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                parsed.set_query(None);
                parsed.query_pairs_mut().extend_pairs(pairs);
                parsed.to_string()
            }
            _ => url.to_string(),
        };
        out.push_str(&format!(" --clickhouse-url '{shown}'"));
    }
    if let Some(dir) = data_dir {
        out.push_str(&format!(" --data-dir {}", dir.display()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_size_counts_the_database_files_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sightline.db"), [0u8; 100]).unwrap();
        std::fs::write(dir.path().join("sightline.db-wal"), [0u8; 20]).unwrap();
        std::fs::write(dir.path().join("other.log"), [0u8; 7]).unwrap();
        assert_eq!(sqlite_bytes(dir.path()).unwrap(), 120);
    }

    #[test]
    fn engine_follows_the_flags() {
        let dir = PathBuf::from("/tmp/x");
        let sqlite = StoreSource {
            data_dir: Some(&dir),
            clickhouse_url: None,
        };
        let clickhouse = StoreSource {
            data_dir: None,
            clickhouse_url: Some("http://127.0.0.1:1/?database=s"),
        };
        assert_eq!(sqlite.engine(), "sqlite");
        assert_eq!(clickhouse.engine(), "clickhouse");
    }

    #[test]
    fn command_line_hides_the_clickhouse_password() {
        let flags = command_flags(None, Some("http://127.0.0.1:1/?database=s&password=secret"));
        assert!(!flags.contains("secret"), "{flags}");
        assert!(flags.contains("password=%3Cpassword%3E"), "{flags}");
        assert!(flags.contains("database=s"), "{flags}");
        let plain = command_flags(None, Some("http://127.0.0.1:1/?database=s"));
        assert_eq!(plain, " --clickhouse-url 'http://127.0.0.1:1/?database=s'");
    }

    #[tokio::test]
    async fn a_database_name_that_is_not_an_identifier_is_refused() {
        let err = clickhouse_bytes("http://127.0.0.1:1/?database=a'b")
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("must be letters, digits"), "{err}");
    }
}
