//! Configuration in two stages: [`RawConfig`] is what a TOML file, `SIGHTLINE_*` environment
//! variables and command-line flags say, one table per subsystem (every field optional, unknown
//! keys refused); [`Config`] is the validated result. The three sources are TOML tables merged
//! before one deserialization, so a new setting is a field plus its [`SETTINGS`] line; the flat
//! names from before sections are aliases kept in that table. Precedence: flags > environment >
//! file > defaults.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::{Table, Value};

/// Every setting, as written in `sightline.toml`: one table per subsystem. The doc comments are
/// the reference for developers; [`SETTINGS`] says the same to users.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub ingest: RawIngest,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub retention: RawRetention,
    #[serde(default)]
    pub dashboard: RawDashboard,
    #[serde(default)]
    pub gateway: RawGateway,
    /// Per-project prices over the bundled table, one `[[price_overrides]]` table each:
    /// `project`, `model` (exact name or `*` pattern), `input` and `output` (USD per million
    /// tokens as decimal strings), optional `provider`, `cache_read`, `cache_write`,
    /// `reasoning`, `effective_from` (YYYY-MM-DD). Held in memory (not stored); overrides set
    /// through the API win over them. File only.
    #[serde(default)]
    pub price_overrides: Vec<RawPriceOverride>,
}

/// `[server]`: the listeners and who may use them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// OTLP/HTTP and API listener. Default `127.0.0.1:4318`.
    pub http_addr: Option<String>,
    /// OTLP/gRPC listener. Default `127.0.0.1:4317`.
    pub grpc_addr: Option<String>,
    /// Accept unauthenticated requests on a non-loopback listener when no keys exist. Default false.
    pub allow_unauthenticated: Option<bool>,
    /// A token Prometheus may send (`Authorization: Bearer <token>`) to read `/metrics` instead of
    /// an admin key. Default none.
    pub metrics_token: Option<String>,
    /// Most connections open at once, both listeners together. Default 1024.
    pub max_connections: Option<usize>,
    /// Most connections open at once from one IP address. Default 256.
    pub max_connections_per_peer: Option<usize>,
    /// Seconds an HTTP client may take to send a request's headers. Default 10.
    pub header_read_timeout_secs: Option<u64>,
}

/// `[ingest]`: how much ingest takes in and holds before it answers "retry later".
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawIngest {
    /// Largest HTTP request body, after decompression, in bytes. Default 20 MiB.
    pub max_http_body_bytes: Option<usize>,
    /// Largest gRPC message, after decompression, in bytes. Default 4 MiB.
    pub max_grpc_message_bytes: Option<usize>,
    /// Most spans and log records waiting for a commit before ingest answers "retry later". Default 100000.
    pub max_queued_items: Option<usize>,
    /// Most bytes of request bodies being decoded at once before ingest answers "retry later". Default 256 MiB.
    pub max_inflight_bytes: Option<usize>,
    /// Seconds an HTTP request body may take to arrive in full. Default 120.
    pub body_read_timeout_secs: Option<u64>,
    /// Bytes per second a body must average after its first 5 seconds. Default 16384.
    pub min_body_bytes_per_sec: Option<usize>,
    /// Longest attribute value kept (span, event, resource and log attributes; not input and
    /// output), in bytes; longer ones are cut with a marker saying how much. Default 64 KiB.
    pub max_attribute_value_bytes: Option<usize>,
    /// Most distinct OTLP metric series one project may have; new series past it are refused.
    /// Default 10000.
    pub max_metric_series: Option<usize>,
}

/// `[store]`: which engine keeps the data, and where.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// `sqlite` (embedded, in `data_dir`) or `clickhouse` (shared by many nodes, at
    /// `clickhouse_url`). Default `sqlite`, or `clickhouse` when `clickhouse_url` is set.
    pub engine: Option<String>,
    /// Where the embedded store keeps its files. Default `./sightline-data`.
    pub data_dir: Option<PathBuf>,
    /// The ClickHouse HTTP interface and database, e.g. `http://127.0.0.1:8123/?database=sightline`
    /// (`user` and `password` parameters are passed on).
    pub clickhouse_url: Option<String>,
    /// The sharded layout (docs/clickhouse.md): the cluster's name in the ClickHouse servers'
    /// `<remote_servers>`. Needs `clickhouse_shards`.
    pub clickhouse_cluster: Option<String>,
    /// The sharded layout: every shard's HTTP URL, comma-separated (used for DDL and retention).
    pub clickhouse_shards: Option<String>,
    /// Seconds one read may run before it is stopped and answered 504. Default 30.
    pub read_timeout_secs: Option<u64>,
    /// Most bytes the store may take on disk before ingest is refused (507). Default no cap.
    pub max_disk_bytes: Option<u64>,
    /// Least free bytes left on the data volume before ingest is refused (507). Default 256 MiB.
    pub min_free_disk_bytes: Option<u64>,
}

/// `[retention]`: how long spans and logs are kept.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    /// Delete every project's spans and logs older than this many whole days (UTC; today is
    /// kept too), at start-up and then hourly. Unset: keep everything. On ClickHouse one node
    /// sweeping is enough (see docs/retention.md).
    pub days: Option<u32>,
}

/// `[dashboard]`: the web dashboard's logins.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawDashboard {
    /// How long a dashboard login lasts before the key is asked for again, in hours. Default 12.
    pub session_hours: Option<u32>,
}

/// `[gateway]`: the LLM gateway under `/gateway/<upstream>/` (docs/gateway.md).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawGateway {
    /// Upstreams as `name=[openai:|anthropic:]base_url`, comma-separated, over the defaults
    /// (`openai` and `anthropic` at their public APIs); the base URL includes `/v1`.
    pub upstreams: Option<String>,
    /// Largest request body the gateway reads, in bytes. Default 20 MiB.
    pub max_body_bytes: Option<usize>,
    /// Retries of a call after 429, 5xx, a connection error or a timeout (0-10). Default 2.
    pub retries: Option<u32>,
    /// The first retry's backoff in milliseconds (doubling, with jitter). Default 250.
    pub retry_backoff_ms: Option<u64>,
    /// Per try: seconds until the answer starts; a stream may last this long. Default 600.
    pub timeout_secs: Option<u64>,
    /// Calls waiting to be recorded before new ones are answered unrecorded. Default 10000.
    pub record_queue: Option<usize>,
    /// Output tokens a call reserves in its budgets when it names no maximum. Default 4096.
    pub reserve_max_tokens: Option<u64>,
    /// 64 hex characters sealing stored provider keys (the same on every node). Default: a
    /// secret made on first start in the data directory (`gateway-secret.key`).
    pub encryption_key: Option<String>,
}

/// One `[[price_overrides]]` entry of the config file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawPriceOverride {
    pub project: String,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub cache_read: Option<String>,
    pub cache_write: Option<String>,
    pub reasoning: Option<String>,
    pub effective_from: Option<String>,
}

/// A checked config-file price override.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigPriceOverride {
    pub project: String,
    pub entry: sightline_core::cost::PriceEntry,
}

/// One setting as users see it: its place in the file, its environment variables, its default
/// and one line of doc. README and docs/configuration.md show this table (a test holds them to
/// it, and it to the [`RawConfig`] sections).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setting {
    /// The file's `[section]`; `<SECTION>` in `SIGHTLINE_<SECTION>__<KEY>`.
    pub section: &'static str,
    /// The field in that section; `<KEY>` in `SIGHTLINE_<SECTION>__<KEY>`.
    pub key: &'static str,
    /// The flat name it had before sections, still read as a top-level file key and as
    /// `SIGHTLINE_<NAME>`: the one table of aliases.
    pub legacy: Option<&'static str>,
    /// The default, in Markdown, as users read it.
    pub default: &'static str,
    /// What it does, one line of Markdown.
    pub doc: &'static str,
}

impl Setting {
    /// `section.key`, the name errors use.
    pub fn path(&self) -> String {
        format!("{}.{}", self.section, self.key)
    }

    /// `SIGHTLINE_<SECTION>__<KEY>`.
    pub fn env(&self) -> String {
        format!("SIGHTLINE_{}__{}", self.section, self.key).to_ascii_uppercase()
    }

    /// `SIGHTLINE_<LEGACY>`, for a setting that had a flat name.
    pub fn legacy_env(&self) -> Option<String> {
        self.legacy
            .map(|name| format!("SIGHTLINE_{name}").to_ascii_uppercase())
    }
}

/// Every setting of `sightline serve` (except the file-only `[[price_overrides]]`).
pub const SETTINGS: &[Setting] = &[
    Setting {
        section: "server",
        key: "http_addr",
        legacy: Some("http_addr"),
        default: "`127.0.0.1:4318`",
        doc: "OTLP/HTTP and API listener, IP:PORT.",
    },
    Setting {
        section: "server",
        key: "grpc_addr",
        legacy: Some("grpc_addr"),
        default: "`127.0.0.1:4317`",
        doc: "OTLP/gRPC listener, IP:PORT.",
    },
    Setting {
        section: "server",
        key: "allow_unauthenticated",
        legacy: Some("allow_unauthenticated"),
        default: "`false`",
        doc: "Accept requests without a key on a non-loopback listener while no key exists.",
    },
    Setting {
        section: "server",
        key: "metrics_token",
        legacy: None,
        default: "none",
        doc: "A scrape token for `GET /metrics` (`Authorization: Bearer <token>`), instead of an admin key; at least 16 characters.",
    },
    Setting {
        section: "server",
        key: "max_connections",
        legacy: None,
        default: "1024",
        doc: "Most connections open at once, both listeners together; past it a new connection gets a 503 and is closed.",
    },
    Setting {
        section: "server",
        key: "max_connections_per_peer",
        legacy: None,
        default: "256",
        doc: "Most connections open at once from one IP address.",
    },
    Setting {
        section: "server",
        key: "header_read_timeout_secs",
        legacy: None,
        default: "10",
        doc: "Seconds an HTTP client may take to send a request's headers before the connection is closed.",
    },
    Setting {
        section: "ingest",
        key: "max_http_body_bytes",
        legacy: Some("max_http_body_bytes"),
        default: "20 MiB",
        doc: "Largest HTTP request body, after decompression, in bytes.",
    },
    Setting {
        section: "ingest",
        key: "max_grpc_message_bytes",
        legacy: Some("max_grpc_message_bytes"),
        default: "4 MiB",
        doc: "Largest gRPC message, after decompression, in bytes.",
    },
    Setting {
        section: "ingest",
        key: "max_queued_items",
        legacy: Some("max_queued_items"),
        default: "100000",
        doc: "Most spans and log records awaiting commit before ingest answers \"retry later\".",
    },
    Setting {
        section: "ingest",
        key: "max_inflight_bytes",
        legacy: Some("max_inflight_bytes"),
        default: "256 MiB",
        doc: "Most bytes of request bodies being decoded at once before ingest answers \"retry later\".",
    },
    Setting {
        section: "ingest",
        key: "body_read_timeout_secs",
        legacy: None,
        default: "120",
        doc: "Seconds an HTTP request body may take to arrive in full (answered 408 past it).",
    },
    Setting {
        section: "ingest",
        key: "min_body_bytes_per_sec",
        legacy: None,
        default: "16384",
        doc: "Bytes per second a body must average after its first 5 seconds (answered 408 below it).",
    },
    Setting {
        section: "ingest",
        key: "max_attribute_value_bytes",
        legacy: None,
        default: "64 KiB",
        doc: "Longest attribute value kept (span, event, resource and log attributes; not input and output); longer ones are cut with a marker saying how much, and the answer warns (docs/limits.md).",
    },
    Setting {
        section: "ingest",
        key: "max_metric_series",
        legacy: None,
        default: "10000",
        doc: "Most distinct OTLP metric series (name and attribute set) per project; points of new series past it are refused in the partial-success answer.",
    },
    Setting {
        section: "store",
        key: "engine",
        legacy: Some("store"),
        default: "`sqlite`, or `clickhouse` when `clickhouse_url` is set",
        doc: "The store engine: `sqlite` (embedded, in `data_dir`) or `clickhouse`.",
    },
    Setting {
        section: "store",
        key: "data_dir",
        legacy: Some("data_dir"),
        default: "`./sightline-data`",
        doc: "Where the embedded store keeps its files.",
    },
    Setting {
        section: "store",
        key: "clickhouse_url",
        legacy: Some("clickhouse_url"),
        default: "none",
        doc: "ClickHouse HTTP interface and database, e.g. `http://127.0.0.1:8123/?database=sightline`.",
    },
    Setting {
        section: "store",
        key: "clickhouse_cluster",
        legacy: Some("clickhouse_cluster"),
        default: "none",
        doc: "Sharded layout (docs/clickhouse.md): the cluster's name in `<remote_servers>`.",
    },
    Setting {
        section: "store",
        key: "clickhouse_shards",
        legacy: Some("clickhouse_shards"),
        default: "none",
        doc: "Sharded layout: every shard's HTTP URL, comma-separated.",
    },
    Setting {
        section: "store",
        key: "read_timeout_secs",
        legacy: None,
        default: "30",
        doc: "Seconds one read may run before it is stopped and answered 504 (a read whose client went away is stopped at once).",
    },
    Setting {
        section: "store",
        key: "max_disk_bytes",
        legacy: None,
        default: "no cap",
        doc: "Most bytes the store may take on disk; at it ingest answers 507 with `Retry-After` until space is freed (docs/limits.md).",
    },
    Setting {
        section: "store",
        key: "min_free_disk_bytes",
        legacy: None,
        default: "256 MiB",
        doc: "Least free bytes left on the data volume; below it ingest answers 507 with `Retry-After` (SQLite; ClickHouse where the server reports free space).",
    },
    Setting {
        section: "retention",
        key: "days",
        legacy: Some("retention_days"),
        default: "keep everything",
        doc: "Delete spans and logs older than this many whole days (UTC), at start-up and hourly (docs/retention.md).",
    },
    Setting {
        section: "dashboard",
        key: "session_hours",
        legacy: None,
        default: "12",
        doc: "How long a dashboard login lasts before the key is asked for again, in hours (docs/dashboard.md).",
    },
    Setting {
        section: "gateway",
        key: "upstreams",
        legacy: None,
        default: "`openai` and `anthropic` at their public APIs",
        doc: "Upstreams as `name=[kind:]base_url` (kind `openai` or `anthropic`, URL with `/v1`), comma-separated, over the defaults (docs/gateway.md).",
    },
    Setting {
        section: "gateway",
        key: "max_body_bytes",
        legacy: None,
        default: "20 MiB",
        doc: "Largest request body the gateway reads, in bytes.",
    },
    Setting {
        section: "gateway",
        key: "retries",
        legacy: None,
        default: "2",
        doc: "Retries of a call after 429, 5xx, a connection error or a timeout (0-10).",
    },
    Setting {
        section: "gateway",
        key: "retry_backoff_ms",
        legacy: None,
        default: "250",
        doc: "The first retry's backoff in milliseconds (doubling each time, with jitter).",
    },
    Setting {
        section: "gateway",
        key: "timeout_secs",
        legacy: None,
        default: "600",
        doc: "Per try: seconds until the upstream's answer starts; a stream may last this long.",
    },
    Setting {
        section: "gateway",
        key: "record_queue",
        legacy: None,
        default: "10000",
        doc: "Calls waiting to be recorded before new ones are answered but not recorded (counted).",
    },
    Setting {
        section: "gateway",
        key: "reserve_max_tokens",
        legacy: None,
        default: "4096",
        doc: "Output tokens a call reserves in its budgets when the request names no maximum.",
    },
    Setting {
        section: "gateway",
        key: "encryption_key",
        legacy: None,
        default: "a secret made in the data directory",
        doc: "64 hex characters sealing stored provider keys; set the same on every node.",
    },
];

/// Variables with the prefix that are not settings of `serve` but are known (not errors).
pub const OTHER_ENV_VARS: &[&str] = &[
    "SIGHTLINE_CONFIG",
    "SIGHTLINE_LOG",
    "SIGHTLINE_URL",
    "SIGHTLINE_API_KEY",
];

/// One setting given on the command line: section, key, and the value as text.
pub type Flag = (&'static str, &'static str, String);

/// The validated configuration of `sightline serve`, one part per `RawConfig` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub server: ServerConfig,
    pub ingest: IngestConfig,
    pub store: StoreConfig,
    pub retention: RetentionConfig,
    pub dashboard: DashboardConfig,
    pub gateway: crate::gateway::GatewayConfig,
    pub price_overrides: Vec<ConfigPriceOverride>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    pub allow_unauthenticated: bool,
    pub metrics_token: Option<String>,
    pub max_connections: usize,
    pub max_connections_per_peer: usize,
    pub header_read_timeout: std::time::Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IngestConfig {
    pub max_http_body_bytes: usize,
    pub max_grpc_message_bytes: usize,
    pub max_queued_items: usize,
    pub max_inflight_bytes: usize,
    pub body_read_timeout: std::time::Duration,
    pub min_body_bytes_per_sec: usize,
    pub max_attribute_value_bytes: usize,
    pub max_metric_series: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    pub engine: StoreChoice,
    pub data_dir: PathBuf,
    pub read_timeout: std::time::Duration,
    pub disk: sightline_store::DiskBudget,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RetentionConfig {
    /// Whole days of data kept by the hourly retention sweep; `None`: keep everything.
    pub days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DashboardConfig {
    /// Lifetime of a dashboard login, in seconds.
    pub session_secs: u64,
}

/// Which engine stores the data.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreChoice {
    /// The embedded SQLite file under `data_dir`.
    Sqlite,
    /// A ClickHouse server shared by every node, at this URL; with `cluster` (name, shard
    /// URLs), the sharded layout.
    ClickHouse {
        url: String,
        cluster: Option<(String, Vec<String>)>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{source_name}: {reason}")]
    Source { source_name: String, reason: String },
    #[error("unknown environment variable {name}; known: {known}")]
    UnknownEnv { name: String, known: String },
    #[error("{source_name}: {key} = {value:?} is not valid: {reason}")]
    Invalid {
        source_name: String,
        key: String,
        value: String,
        reason: String,
    },
    #[error("{source_name}: {first} and {second} both set {key}; set it once")]
    Twice {
        source_name: String,
        first: String,
        second: String,
        key: String,
    },
}

/// Loads the configuration: defaults, then the file (if any), then the environment, then flags.
pub fn load(
    file: Option<&Path>,
    env: &HashMap<String, String>,
    flags: &[Flag],
) -> Result<Config, ConfigError> {
    let mut table = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            file_table(&text, &path.display().to_string())?
        }
        None => Table::new(),
    };
    merge(&mut table, env_table(env)?);
    merge(&mut table, flag_table(flags)?);
    deserialize(table, "configuration")?.validate()
}

impl RawConfig {
    /// Parses a TOML file's text, flat names moved into their sections; unknown keys are an
    /// error naming the key.
    pub fn from_toml(text: &str, path: &str) -> Result<Self, ConfigError> {
        deserialize(file_table(text, path)?, &format!("config file {path}"))
    }
}

/// The settings of one source as a table of sections, and which name set each setting, so that
/// two names for one setting in one source are an error naming both.
struct Layer {
    source_name: String,
    table: Table,
    set_by: HashMap<String, String>,
}

impl Layer {
    fn new(source_name: String) -> Layer {
        Layer {
            source_name,
            table: Table::new(),
            set_by: HashMap::new(),
        }
    }

    fn put(
        &mut self,
        section: &str,
        key: &str,
        value: Value,
        name: &str,
    ) -> Result<(), ConfigError> {
        let path = format!("{section}.{key}");
        if let Some(first) = self.set_by.insert(path.clone(), name.to_owned()) {
            return Err(ConfigError::Twice {
                source_name: self.source_name.clone(),
                first,
                second: name.to_owned(),
                key: path,
            });
        }
        let section = self
            .table
            .entry(section)
            .or_insert_with(|| Value::Table(Table::new()));
        // Always a table: only `put` writes sections, and the file adds its other keys after.
        if let Value::Table(section) = section {
            section.insert(key.to_owned(), value);
        }
        Ok(())
    }
}

/// A config file as a table of sections, its flat (pre-section) keys moved into place; checked
/// whole, so a bad key or value is named with the file.
fn file_table(text: &str, path: &str) -> Result<Table, ConfigError> {
    let mut layer = Layer::new(format!("config file {path}"));
    let parsed: Table = toml::from_str(text).map_err(|e| ConfigError::Source {
        source_name: layer.source_name.clone(),
        reason: e.to_string(),
    })?;
    let mut rest = Table::new();
    for (name, value) in parsed {
        let alias = SETTINGS.iter().find(|s| s.legacy == Some(name.as_str()));
        match (value, alias) {
            (Value::Table(keys), _) if SETTINGS.iter().any(|s| s.section == name) => {
                for (key, value) in keys {
                    layer.put(&name, &key, value, &format!("{name}.{key}"))?;
                }
            }
            (value, Some(s)) if !value.is_table() => layer.put(s.section, s.key, value, &name)?,
            // `[[price_overrides]]`, and unknown keys for serde to name.
            (value, _) => {
                rest.insert(name, value);
            }
        }
    }
    let mut table = layer.table;
    table.extend(rest);
    deserialize(table.clone(), &layer.source_name)?;
    Ok(table)
}

/// The `SIGHTLINE_*` variables as a table of sections; an unknown one is an error listing the
/// known ones.
fn env_table(env: &HashMap<String, String>) -> Result<Table, ConfigError> {
    let mut layer = Layer::new("environment".into());
    let mut names: Vec<&String> = env.keys().filter(|k| k.starts_with("SIGHTLINE_")).collect();
    names.sort();
    for name in names {
        if OTHER_ENV_VARS.contains(&name.as_str()) {
            continue;
        }
        let Some(s) = SETTINGS
            .iter()
            .find(|s| s.env() == *name || s.legacy_env().as_ref() == Some(name))
        else {
            let known: Vec<String> = SETTINGS
                .iter()
                .map(|s| match s.legacy_env() {
                    Some(legacy) => format!("{} (or {legacy})", s.env()),
                    None => s.env(),
                })
                .chain(OTHER_ENV_VARS.iter().map(|n| n.to_string()))
                .collect();
            return Err(ConfigError::UnknownEnv {
                name: name.clone(),
                known: known.join(", "),
            });
        };
        let value = typed(
            s.section,
            s.key,
            &env[name],
            &format!("environment variable {name}"),
        )?;
        layer.put(s.section, s.key, value, name)?;
    }
    Ok(layer.table)
}

/// The command-line flags as a table of sections.
fn flag_table(flags: &[Flag]) -> Result<Table, ConfigError> {
    let mut layer = Layer::new("command line".into());
    for (section, key, text) in flags {
        let value = typed(section, key, text, "command line")?;
        layer.put(section, key, value, &format!("{section}.{key}"))?;
    }
    Ok(layer.table)
}

/// A text from the environment or a flag as the value `section.key` takes: a TOML integer,
/// float or boolean when it is one (and `1`/`yes`/`0`/`no`/empty as a boolean, as before
/// sections), else the text itself, so a path or URL (or a directory named `2024`) stays text.
fn typed(section: &str, key: &str, text: &str, source_name: &str) -> Result<Value, ConfigError> {
    let trimmed = text.trim();
    let scalar = trimmed
        .parse::<Value>()
        .ok()
        .filter(|v| matches!(v, Value::Integer(_) | Value::Float(_) | Value::Boolean(_)));
    let word = match trimmed.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Some(Value::Boolean(true)),
        "0" | "false" | "no" | "" => Some(Value::Boolean(false)),
        _ => None,
    };
    let fits = |value: &Value| {
        let entry = Table::from_iter([(key.to_owned(), value.clone())]);
        Table::from_iter([(section.to_owned(), Value::Table(entry))]).try_into::<RawConfig>()
    };
    if let Some(value) = [scalar, word]
        .into_iter()
        .flatten()
        .find(|v| fits(v).is_ok())
    {
        return Ok(value);
    }
    let text_value = Value::String(text.to_owned());
    match fits(&text_value) {
        Ok(_) => Ok(text_value),
        Err(e) => Err(ConfigError::Invalid {
            source_name: source_name.to_owned(),
            key: format!("{section}.{key}"),
            value: text.to_owned(),
            reason: plain(e.message()),
        }),
    }
}

/// `over`'s settings on top of `base`'s, section by section.
fn merge(base: &mut Table, over: Table) {
    for (name, value) in over {
        match (base.get_mut(&name), value) {
            (Some(Value::Table(base)), Value::Table(over)) => merge(base, over),
            (_, value) => {
                base.insert(name, value);
            }
        }
    }
}

/// The one deserialization of merged settings into `RawConfig`.
fn deserialize(table: Table, source_name: &str) -> Result<RawConfig, ConfigError> {
    table
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Source {
            source_name: source_name.to_owned(),
            reason: plain(e.to_string().trim_end()).replace('\n', " "),
        })
}

/// serde's name for what a field takes, as a user says it.
fn plain(reason: &str) -> String {
    reason
        .replace("expected usize", "expected a whole number")
        .replace("expected u32", "expected a whole number")
        .replace("expected a boolean", "expected true or false")
}

impl RawConfig {
    /// Applies defaults and checks every value, section by section.
    pub fn validate(self) -> Result<Config, ConfigError> {
        Ok(Config {
            server: self.server.validate()?,
            ingest: self.ingest.validate()?,
            store: self.store.validate()?,
            retention: self.retention.validate()?,
            dashboard: self.dashboard.validate()?,
            gateway: self.gateway.validate()?,
            price_overrides: price_overrides(self.price_overrides)?,
        })
    }
}

/// A value that `validate` refuses: the key as `section.key`, and how to fix it.
fn invalid(key: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        source_name: "configuration".into(),
        key: key.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

fn addr(key: &str, v: Option<String>, default: &str) -> Result<SocketAddr, ConfigError> {
    let v = v.unwrap_or_else(|| default.to_owned());
    v.parse()
        .map_err(|_| invalid(key, &v, "expected IP:PORT, e.g. 127.0.0.1:4318"))
}

/// Whole seconds, at least one.
fn seconds(key: &str, v: Option<u64>, default: u64) -> Result<std::time::Duration, ConfigError> {
    match v.unwrap_or(default) {
        0 => Err(invalid(key, "0", "must be at least 1 second")),
        n => Ok(std::time::Duration::from_secs(n)),
    }
}

fn positive(key: &str, v: Option<usize>, default: usize) -> Result<usize, ConfigError> {
    match v.unwrap_or(default) {
        0 => Err(invalid(key, "0", "must be greater than zero")),
        n => Ok(n),
    }
}

impl RawServer {
    fn validate(self) -> Result<ServerConfig, ConfigError> {
        Ok(ServerConfig {
            http_addr: addr("server.http_addr", self.http_addr, "127.0.0.1:4318")?,
            grpc_addr: addr("server.grpc_addr", self.grpc_addr, "127.0.0.1:4317")?,
            allow_unauthenticated: self.allow_unauthenticated.unwrap_or(false),
            metrics_token: match self.metrics_token {
                Some(t) if t.trim().chars().count() < 16 => {
                    return Err(invalid(
                        "server.metrics_token",
                        "(hidden)",
                        "use at least 16 characters, e.g. the output of `openssl rand -hex 24`",
                    ))
                }
                t => t.map(|t| t.trim().to_owned()),
            },
            max_connections: positive("server.max_connections", self.max_connections, 1024)?,
            max_connections_per_peer: positive(
                "server.max_connections_per_peer",
                self.max_connections_per_peer,
                256,
            )?,
            header_read_timeout: seconds(
                "server.header_read_timeout_secs",
                self.header_read_timeout_secs,
                10,
            )?,
        })
    }
}

impl RawIngest {
    fn validate(self) -> Result<IngestConfig, ConfigError> {
        Ok(IngestConfig {
            max_http_body_bytes: positive(
                "ingest.max_http_body_bytes",
                self.max_http_body_bytes,
                20 << 20,
            )?,
            max_grpc_message_bytes: positive(
                "ingest.max_grpc_message_bytes",
                self.max_grpc_message_bytes,
                4 << 20,
            )?,
            max_queued_items: positive("ingest.max_queued_items", self.max_queued_items, 100_000)?,
            max_inflight_bytes: positive(
                "ingest.max_inflight_bytes",
                self.max_inflight_bytes,
                256 << 20,
            )?,
            body_read_timeout: seconds(
                "ingest.body_read_timeout_secs",
                self.body_read_timeout_secs,
                120,
            )?,
            min_body_bytes_per_sec: positive(
                "ingest.min_body_bytes_per_sec",
                self.min_body_bytes_per_sec,
                16 << 10,
            )?,
            max_attribute_value_bytes: positive(
                "ingest.max_attribute_value_bytes",
                self.max_attribute_value_bytes,
                64 << 10,
            )?,
            max_metric_series: positive(
                "ingest.max_metric_series",
                self.max_metric_series,
                10_000,
            )?,
        })
    }
}

impl RawStore {
    fn validate(self) -> Result<StoreConfig, ConfigError> {
        Ok(StoreConfig {
            engine: store_choice(self.engine, self.clickhouse_url)?
                .sharded(self.clickhouse_cluster, self.clickhouse_shards)?,
            data_dir: self
                .data_dir
                .unwrap_or_else(|| PathBuf::from("./sightline-data")),
            read_timeout: seconds("store.read_timeout_secs", self.read_timeout_secs, 30)?,
            disk: sightline_store::DiskBudget {
                max_bytes: match self.max_disk_bytes {
                    Some(0) => {
                        return Err(invalid(
                            "store.max_disk_bytes",
                            "0",
                            "must be greater than zero; leave it unset for no cap",
                        ))
                    }
                    cap => cap,
                },
                min_free_bytes: self.min_free_disk_bytes.unwrap_or(256 << 20),
            },
        })
    }
}

/// Most days `retention.days` takes (a hundred years).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

impl RawRetention {
    fn validate(self) -> Result<RetentionConfig, ConfigError> {
        match self.days {
            Some(d) if d == 0 || d > MAX_RETENTION_DAYS => Err(invalid(
                "retention.days",
                &d.to_string(),
                format!("must be 1 to {MAX_RETENTION_DAYS}; leave it unset to keep everything"),
            )),
            days => Ok(RetentionConfig { days }),
        }
    }
}

/// Most hours `dashboard.session_hours` takes (a year).
pub const MAX_SESSION_HOURS: u32 = 8_760;

impl RawDashboard {
    fn validate(self) -> Result<DashboardConfig, ConfigError> {
        match self.session_hours.unwrap_or(12) {
            h @ 1..=MAX_SESSION_HOURS => Ok(DashboardConfig {
                session_secs: u64::from(h) * 3_600,
            }),
            h => Err(invalid(
                "dashboard.session_hours",
                &h.to_string(),
                format!("must be 1 to {MAX_SESSION_HOURS}"),
            )),
        }
    }
}

impl RawGateway {
    fn validate(self) -> Result<crate::gateway::GatewayConfig, ConfigError> {
        use crate::gateway::{parse_secret, GatewayConfig, Upstream};
        let d = GatewayConfig::default();
        let text = self.upstreams.unwrap_or_default();
        let upstreams =
            Upstream::parse_list(&text).map_err(|e| invalid("gateway.upstreams", &text, e))?;
        let retries = self.retries.unwrap_or(d.retries);
        if retries > 10 {
            return Err(invalid(
                "gateway.retries",
                &retries.to_string(),
                "must be 0 to 10",
            ));
        }
        let encryption_key = match self.encryption_key {
            None => None,
            Some(k) => Some(parse_secret(&k).ok_or_else(|| {
                invalid(
                    "gateway.encryption_key",
                    "(hidden)",
                    "expected 64 hex characters (32 bytes), e.g. from `openssl rand -hex 32`",
                )
            })?),
        };
        let millis = |key: &str, v: Option<u64>, default: u64| -> Result<u64, ConfigError> {
            match v.unwrap_or(default) {
                0 => Err(invalid(key, "0", "must be greater than zero")),
                n => Ok(n),
            }
        };
        Ok(GatewayConfig {
            upstreams,
            max_body_bytes: positive(
                "gateway.max_body_bytes",
                self.max_body_bytes,
                d.max_body_bytes,
            )?,
            retries,
            retry_backoff: std::time::Duration::from_millis(millis(
                "gateway.retry_backoff_ms",
                self.retry_backoff_ms,
                d.retry_backoff.as_millis() as u64,
            )?),
            timeout: std::time::Duration::from_secs(millis(
                "gateway.timeout_secs",
                self.timeout_secs,
                d.timeout.as_secs(),
            )?),
            record_queue: positive("gateway.record_queue", self.record_queue, d.record_queue)?,
            reserve_max_tokens: millis(
                "gateway.reserve_max_tokens",
                self.reserve_max_tokens,
                d.reserve_max_tokens,
            )?,
            encryption_key,
        })
    }
}

fn store_choice(engine: Option<String>, url: Option<String>) -> Result<StoreChoice, ConfigError> {
    let engine = engine.unwrap_or_else(|| {
        if url.is_some() {
            "clickhouse"
        } else {
            "sqlite"
        }
        .into()
    });
    match (engine.trim().to_ascii_lowercase().as_str(), url) {
        ("sqlite", _) => Ok(StoreChoice::Sqlite),
        ("clickhouse", Some(url)) => Ok(StoreChoice::ClickHouse { url, cluster: None }),
        ("clickhouse", None) => Err(invalid(
            "store.clickhouse_url",
            "",
            "store.engine = clickhouse needs store.clickhouse_url, e.g. http://127.0.0.1:8123/?database=sightline",
        )),
        _ => Err(invalid("store.engine", &engine, "expected sqlite or clickhouse")),
    }
}

impl StoreChoice {
    /// Adds the sharded layout when `clickhouse_cluster` is set; both settings or neither.
    fn sharded(
        self,
        cluster: Option<String>,
        shards: Option<String>,
    ) -> Result<StoreChoice, ConfigError> {
        let shards: Vec<String> = shards
            .iter()
            .flat_map(|s| s.split(','))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        match (self, cluster) {
            (choice, None) if shards.is_empty() => Ok(choice),
            (_, None) => Err(invalid(
                "store.clickhouse_cluster",
                "",
                "store.clickhouse_shards is set: also set store.clickhouse_cluster, the cluster name in <remote_servers>",
            )),
            (StoreChoice::ClickHouse { url, .. }, Some(name)) if !shards.is_empty() => {
                Ok(StoreChoice::ClickHouse {
                    url,
                    cluster: Some((name, shards)),
                })
            }
            (StoreChoice::ClickHouse { .. }, Some(_)) => Err(invalid(
                "store.clickhouse_shards",
                "",
                "store.clickhouse_cluster needs every shard's HTTP URL, e.g. http://ch1:8123/,http://ch2:8123/",
            )),
            (StoreChoice::Sqlite, Some(_)) => Err(invalid(
                "store.clickhouse_cluster",
                "",
                "the sharded layout needs store.engine = clickhouse and store.clickhouse_url",
            )),
        }
    }
}

fn price_overrides(raw: Vec<RawPriceOverride>) -> Result<Vec<ConfigPriceOverride>, ConfigError> {
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let invalid = |field: &str, value: &str, reason: String| ConfigError::Invalid {
                source_name: "configuration".into(),
                key: format!("price_overrides[{i}].{field}"),
                value: value.into(),
                reason,
            };
            if r.project.trim().is_empty() {
                return Err(invalid(
                    "project",
                    &r.project,
                    "name the project the prices apply to".into(),
                ));
            }
            let fields = crate::pricing::OverrideFields {
                provider: r.provider,
                model: r.model,
                input: r.input,
                output: r.output,
                cache_read: r.cache_read,
                cache_write: r.cache_write,
                reasoning: r.reasoning,
                effective_from: r.effective_from,
            };
            let checked = crate::pricing::check(&fields).map_err(|e| {
                let value = match e.field {
                    "provider" => fields.provider.clone(),
                    "model" => fields.model.clone(),
                    "input" => fields.input.clone(),
                    "output" => fields.output.clone(),
                    "cache_read" => fields.cache_read.clone(),
                    "cache_write" => fields.cache_write.clone(),
                    "reasoning" => fields.reasoning.clone(),
                    _ => fields.effective_from.clone(),
                };
                invalid(e.field, &value.unwrap_or_default(), e.message)
            })?;
            Ok(ConfigPriceOverride {
                project: r.project.trim().to_string(),
                entry: checked.entry,
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
