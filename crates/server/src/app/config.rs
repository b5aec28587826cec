//! Configuration in two stages: [`RawConfig`] is what a TOML file, `SIGHTLINE_*` environment
//! variables and command-line flags say (every field optional, unknown keys refused); [`Config`]
//! is the validated result. Precedence: flags > environment > file > defaults.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Every setting, as written in `sightline.toml`. The doc comments are the reference.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Where the embedded store keeps its files. Default `./sightline-data`.
    pub data_dir: Option<PathBuf>,
    /// OTLP/HTTP and API listener. Default `127.0.0.1:4318`.
    pub http_addr: Option<String>,
    /// OTLP/gRPC listener. Default `127.0.0.1:4317`.
    pub grpc_addr: Option<String>,
    /// Accept unauthenticated requests on a non-loopback listener when no keys exist. Default false.
    pub allow_unauthenticated: Option<bool>,
    /// Largest HTTP request body, after decompression, in bytes. Default 20 MiB.
    pub max_http_body_bytes: Option<usize>,
    /// Largest gRPC message, after decompression, in bytes. Default 4 MiB.
    pub max_grpc_message_bytes: Option<usize>,
    /// Most spans and log records waiting for a commit before ingest answers "retry later". Default 100000.
    pub max_queued_items: Option<usize>,
    /// Most bytes of request bodies being decoded at once before ingest answers "retry later". Default 256 MiB.
    pub max_inflight_bytes: Option<usize>,
    /// The store engine: `sqlite` (embedded, in `data_dir`) or `clickhouse` (shared by many
    /// nodes, at `clickhouse_url`). Default `sqlite`, or `clickhouse` when `clickhouse_url` is set.
    pub store: Option<String>,
    /// The ClickHouse HTTP interface and database, e.g. `http://127.0.0.1:8123/?database=sightline`
    /// (`user` and `password` parameters are passed on).
    pub clickhouse_url: Option<String>,
    /// The sharded layout (docs/clickhouse.md): the cluster's name in the ClickHouse servers'
    /// `<remote_servers>`. Needs `clickhouse_shards`.
    pub clickhouse_cluster: Option<String>,
    /// The sharded layout: every shard's HTTP URL, comma-separated (used for DDL and retention).
    pub clickhouse_shards: Option<String>,
    /// Delete every project's spans and logs older than this many whole days (UTC; today is
    /// kept too), at start-up and then hourly. Unset: keep everything. On ClickHouse one node
    /// sweeping is enough (see docs/retention.md).
    pub retention_days: Option<u32>,
    /// Per-project prices over the bundled table, one `[[price_overrides]]` table each:
    /// `project`, `model` (exact name or `*` pattern), `input` and `output` (USD per million
    /// tokens as decimal strings), optional `provider`, `cache_read`, `cache_write`,
    /// `reasoning`, `effective_from` (YYYY-MM-DD). Held in memory (not stored); overrides set
    /// through the API win over them. File only.
    #[serde(default)]
    pub price_overrides: Vec<RawPriceOverride>,
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

/// The environment variables Sightline reads, one per setting, plus the few the CLI uses.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("SIGHTLINE_DATA_DIR", "data_dir"),
    ("SIGHTLINE_HTTP_ADDR", "http_addr"),
    ("SIGHTLINE_GRPC_ADDR", "grpc_addr"),
    ("SIGHTLINE_ALLOW_UNAUTHENTICATED", "allow_unauthenticated"),
    ("SIGHTLINE_MAX_HTTP_BODY_BYTES", "max_http_body_bytes"),
    ("SIGHTLINE_MAX_GRPC_MESSAGE_BYTES", "max_grpc_message_bytes"),
    ("SIGHTLINE_MAX_QUEUED_ITEMS", "max_queued_items"),
    ("SIGHTLINE_MAX_INFLIGHT_BYTES", "max_inflight_bytes"),
    ("SIGHTLINE_STORE", "store"),
    ("SIGHTLINE_CLICKHOUSE_URL", "clickhouse_url"),
    ("SIGHTLINE_CLICKHOUSE_CLUSTER", "clickhouse_cluster"),
    ("SIGHTLINE_CLICKHOUSE_SHARDS", "clickhouse_shards"),
    ("SIGHTLINE_RETENTION_DAYS", "retention_days"),
];

/// Variables with the prefix that are not settings of `serve` but are known (not errors).
pub const OTHER_ENV_VARS: &[&str] = &[
    "SIGHTLINE_CONFIG",
    "SIGHTLINE_LOG",
    "SIGHTLINE_URL",
    "SIGHTLINE_API_KEY",
];

/// The validated configuration of `sightline serve`.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub data_dir: PathBuf,
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    pub allow_unauthenticated: bool,
    pub max_http_body_bytes: usize,
    pub max_grpc_message_bytes: usize,
    pub max_queued_items: usize,
    pub max_inflight_bytes: usize,
    pub store: StoreChoice,
    /// Whole days of data kept by the hourly retention sweep; `None`: keep everything.
    pub retention_days: Option<u32>,
    pub price_overrides: Vec<ConfigPriceOverride>,
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
    #[error("config file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("unknown environment variable {name}; known: {known}")]
    UnknownEnv { name: String, known: String },
    #[error("{source_name}: {key} = {value:?} is not valid: {reason}")]
    Invalid {
        source_name: String,
        key: String,
        value: String,
        reason: String,
    },
}

impl RawConfig {
    /// Parses a TOML file's text; unknown keys are an error naming the key.
    pub fn from_toml(text: &str, path: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::File {
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Reads the `SIGHTLINE_*` variables from `env`; an unknown one is an error.
    pub fn from_env(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut raw = RawConfig::default();
        let mut names: Vec<&String> = env.keys().filter(|k| k.starts_with("SIGHTLINE_")).collect();
        names.sort();
        for name in names {
            let value = &env[name];
            let Some((_, key)) = ENV_VARS.iter().find(|(n, _)| n == name) else {
                if OTHER_ENV_VARS.contains(&name.as_str()) {
                    continue;
                }
                let known: Vec<&str> = ENV_VARS
                    .iter()
                    .map(|(n, _)| *n)
                    .chain(OTHER_ENV_VARS.iter().copied())
                    .collect();
                return Err(ConfigError::UnknownEnv {
                    name: name.clone(),
                    known: known.join(", "),
                });
            };
            let invalid = |reason: &str| ConfigError::Invalid {
                source_name: format!("environment variable {name}"),
                key: (*key).to_owned(),
                value: value.clone(),
                reason: reason.to_owned(),
            };
            let num = || {
                value
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| invalid("expected a whole number of bytes or items"))
            };
            match *key {
                "data_dir" => raw.data_dir = Some(PathBuf::from(value)),
                "http_addr" => raw.http_addr = Some(value.clone()),
                "grpc_addr" => raw.grpc_addr = Some(value.clone()),
                "allow_unauthenticated" => {
                    raw.allow_unauthenticated =
                        Some(match value.trim().to_ascii_lowercase().as_str() {
                            "1" | "true" | "yes" => true,
                            "0" | "false" | "no" | "" => false,
                            _ => return Err(invalid("expected true or false")),
                        })
                }
                "max_http_body_bytes" => raw.max_http_body_bytes = Some(num()?),
                "max_grpc_message_bytes" => raw.max_grpc_message_bytes = Some(num()?),
                "max_queued_items" => raw.max_queued_items = Some(num()?),
                "max_inflight_bytes" => raw.max_inflight_bytes = Some(num()?),
                "store" => raw.store = Some(value.clone()),
                "clickhouse_url" => raw.clickhouse_url = Some(value.clone()),
                "clickhouse_cluster" => raw.clickhouse_cluster = Some(value.clone()),
                "clickhouse_shards" => raw.clickhouse_shards = Some(value.clone()),
                "retention_days" => {
                    raw.retention_days = Some(
                        value
                            .trim()
                            .parse::<u32>()
                            .map_err(|_| invalid("expected a whole number of days"))?,
                    )
                }
                _ => {}
            }
        }
        Ok(raw)
    }

    /// `self` with every field that `over` sets replaced.
    pub fn overridden_by(self, over: RawConfig) -> RawConfig {
        RawConfig {
            data_dir: over.data_dir.or(self.data_dir),
            http_addr: over.http_addr.or(self.http_addr),
            grpc_addr: over.grpc_addr.or(self.grpc_addr),
            allow_unauthenticated: over.allow_unauthenticated.or(self.allow_unauthenticated),
            max_http_body_bytes: over.max_http_body_bytes.or(self.max_http_body_bytes),
            max_grpc_message_bytes: over.max_grpc_message_bytes.or(self.max_grpc_message_bytes),
            max_queued_items: over.max_queued_items.or(self.max_queued_items),
            max_inflight_bytes: over.max_inflight_bytes.or(self.max_inflight_bytes),
            store: over.store.or(self.store),
            clickhouse_url: over.clickhouse_url.or(self.clickhouse_url),
            clickhouse_cluster: over.clickhouse_cluster.or(self.clickhouse_cluster),
            clickhouse_shards: over.clickhouse_shards.or(self.clickhouse_shards),
            retention_days: over.retention_days.or(self.retention_days),
            price_overrides: if over.price_overrides.is_empty() {
                self.price_overrides
            } else {
                over.price_overrides
            },
        }
    }

    /// Applies defaults and checks every value.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let addr =
            |key: &str, v: Option<String>, default: &str| -> Result<SocketAddr, ConfigError> {
                let v = v.unwrap_or_else(|| default.to_owned());
                v.parse().map_err(|_| ConfigError::Invalid {
                    source_name: "configuration".into(),
                    key: key.into(),
                    value: v.clone(),
                    reason: "expected IP:PORT, e.g. 127.0.0.1:4318".into(),
                })
            };
        let positive =
            |key: &str, v: Option<usize>, default: usize| -> Result<usize, ConfigError> {
                match v.unwrap_or(default) {
                    0 => Err(ConfigError::Invalid {
                        source_name: "configuration".into(),
                        key: key.into(),
                        value: "0".into(),
                        reason: "must be greater than zero".into(),
                    }),
                    n => Ok(n),
                }
            };
        Ok(Config {
            data_dir: self
                .data_dir
                .unwrap_or_else(|| PathBuf::from("./sightline-data")),
            http_addr: addr("http_addr", self.http_addr, "127.0.0.1:4318")?,
            grpc_addr: addr("grpc_addr", self.grpc_addr, "127.0.0.1:4317")?,
            allow_unauthenticated: self.allow_unauthenticated.unwrap_or(false),
            max_http_body_bytes: positive(
                "max_http_body_bytes",
                self.max_http_body_bytes,
                20 << 20,
            )?,
            max_grpc_message_bytes: positive(
                "max_grpc_message_bytes",
                self.max_grpc_message_bytes,
                4 << 20,
            )?,
            max_queued_items: positive("max_queued_items", self.max_queued_items, 100_000)?,
            max_inflight_bytes: positive("max_inflight_bytes", self.max_inflight_bytes, 256 << 20)?,
            store: store_choice(self.store, self.clickhouse_url)?
                .sharded(self.clickhouse_cluster, self.clickhouse_shards)?,
            retention_days: retention_days(self.retention_days)?,
            price_overrides: price_overrides(self.price_overrides)?,
        })
    }
}

/// Most days `retention_days` takes (a hundred years).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

fn retention_days(days: Option<u32>) -> Result<Option<u32>, ConfigError> {
    match days {
        Some(d) if d == 0 || d > MAX_RETENTION_DAYS => Err(ConfigError::Invalid {
            source_name: "configuration".into(),
            key: "retention_days".into(),
            value: d.to_string(),
            reason: format!("must be 1 to {MAX_RETENTION_DAYS}; leave it unset to keep everything"),
        }),
        d => Ok(d),
    }
}

fn store_choice(store: Option<String>, url: Option<String>) -> Result<StoreChoice, ConfigError> {
    let invalid = |key: &str, value: &str, reason: &str| ConfigError::Invalid {
        source_name: "configuration".into(),
        key: key.into(),
        value: value.into(),
        reason: reason.into(),
    };
    let engine = store.unwrap_or_else(|| {
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
            "clickhouse_url",
            "",
            "store = clickhouse needs clickhouse_url, e.g. http://127.0.0.1:8123/?database=sightline",
        )),
        _ => Err(invalid("store", &engine, "expected sqlite or clickhouse")),
    }
}

impl StoreChoice {
    /// Adds the sharded layout when `clickhouse_cluster` is set; both settings or neither.
    fn sharded(
        self,
        cluster: Option<String>,
        shards: Option<String>,
    ) -> Result<StoreChoice, ConfigError> {
        let invalid = |key: &str, reason: &str| ConfigError::Invalid {
            source_name: "configuration".into(),
            key: key.into(),
            value: String::new(),
            reason: reason.into(),
        };
        let shards: Vec<String> = shards
            .iter()
            .flat_map(|s| s.split(','))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        match (self, cluster) {
            (choice, None) if shards.is_empty() => Ok(choice),
            (_, None) => Err(invalid(
                "clickhouse_cluster",
                "clickhouse_shards is set: also set clickhouse_cluster, the cluster name in <remote_servers>",
            )),
            (StoreChoice::ClickHouse { url, .. }, Some(name)) if !shards.is_empty() => {
                Ok(StoreChoice::ClickHouse {
                    url,
                    cluster: Some((name, shards)),
                })
            }
            (StoreChoice::ClickHouse { .. }, Some(_)) => Err(invalid(
                "clickhouse_shards",
                "clickhouse_cluster needs every shard's HTTP URL, e.g. http://ch1:8123/,http://ch2:8123/",
            )),
            (StoreChoice::Sqlite, Some(_)) => Err(invalid(
                "clickhouse_cluster",
                "the sharded layout needs store = clickhouse and clickhouse_url",
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

/// Loads the configuration: defaults, then the file (if any), then the environment, then flags.
pub fn load(
    file: Option<&Path>,
    env: &HashMap<String, String>,
    flags: RawConfig,
) -> Result<Config, ConfigError> {
    let from_file = match file {
        Some(p) => RawConfig::from_file(p)?,
        None => RawConfig::default(),
    };
    from_file
        .overridden_by(RawConfig::from_env(env)?)
        .overridden_by(flags)
        .validate()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn price_overrides_come_from_the_file_and_errors_name_the_field() {
        let ok = RawConfig::from_toml(
            "[[price_overrides]]\nproject = \"a\"\nprovider = \"openai\"\nmodel = \"gpt-4o\"\n\
             input = \"1\"\noutput = \"2\"\n",
            "f",
        )
        .unwrap()
        .validate()
        .unwrap();
        assert_eq!(ok.price_overrides.len(), 1);
        assert_eq!(ok.price_overrides[0].project, "a");
        assert_eq!(ok.price_overrides[0].entry.output.to_string(), "2");
        let bad = RawConfig::from_toml(
            "[[price_overrides]]\nproject = \"a\"\nmodel = \"gpt-4o\"\ninput = \"x\"\noutput = \"2\"\n",
            "f",
        )
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
        assert!(bad.contains("price_overrides[0].input"), "{bad}");
        let unknown = RawConfig::from_toml(
            "[[price_overrides]]\nproject = \"a\"\nmodle = \"gpt-4o\"\n",
            "f",
        )
        .unwrap_err()
        .to_string();
        assert!(unknown.contains("modle"), "{unknown}");
    }

    #[test]
    fn defaults_need_nothing() {
        let c = load(None, &HashMap::new(), RawConfig::default()).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("./sightline-data"));
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:4318");
        assert_eq!(c.grpc_addr.to_string(), "127.0.0.1:4317");
        assert_eq!(c.max_http_body_bytes, 20 << 20);
        assert_eq!(c.max_grpc_message_bytes, 4 << 20);
        assert!(!c.allow_unauthenticated);
    }

    #[test]
    fn environment_wins_over_file_and_flags_win_over_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sightline.toml");
        std::fs::write(&file, "data_dir = \"/from/file\"\nhttp_addr = \"127.0.0.1:1000\"\ngrpc_addr = \"127.0.0.1:1001\"\n").unwrap();
        let e = env(&[
            ("SIGHTLINE_HTTP_ADDR", "127.0.0.1:2000"),
            ("SIGHTLINE_GRPC_ADDR", "127.0.0.1:2001"),
        ]);
        let flags = RawConfig {
            grpc_addr: Some("127.0.0.1:3001".into()),
            ..Default::default()
        };
        let c = load(Some(&file), &e, flags).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from/file"));
        assert_eq!(c.http_addr.to_string(), "127.0.0.1:2000");
        assert_eq!(c.grpc_addr.to_string(), "127.0.0.1:3001");
    }

    #[test]
    fn retention_days_come_from_file_environment_or_flag_and_zero_is_refused() {
        let c = load(None, &HashMap::new(), RawConfig::default()).unwrap();
        assert_eq!(c.retention_days, None);
        let raw = RawConfig::from_toml("retention_days = 30", "s.toml").unwrap();
        assert_eq!(raw.validate().unwrap().retention_days, Some(30));
        let c = load(
            None,
            &env(&[("SIGHTLINE_RETENTION_DAYS", "7")]),
            RawConfig::default(),
        );
        assert_eq!(c.unwrap().retention_days, Some(7));
        let err = RawConfig::from_env(&env(&[("SIGHTLINE_RETENTION_DAYS", "7d")])).unwrap_err();
        assert!(err.to_string().contains("whole number of days"), "{err}");
        for bad in [0, MAX_RETENTION_DAYS + 1] {
            let flags = RawConfig {
                retention_days: Some(bad),
                ..Default::default()
            };
            let err = load(None, &HashMap::new(), flags).unwrap_err().to_string();
            assert!(
                err.contains("retention_days") && err.contains("unset"),
                "{err}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_errors_that_name_them() {
        let err = RawConfig::from_toml("data_dirr = \"x\"", "s.toml").unwrap_err();
        assert!(err.to_string().contains("data_dirr"), "{err}");
        let err = RawConfig::from_env(&env(&[("SIGHTLINE_HTTP_ADRR", "x")])).unwrap_err();
        assert!(err.to_string().contains("SIGHTLINE_HTTP_ADRR"), "{err}");
        assert!(err.to_string().contains("SIGHTLINE_HTTP_ADDR"), "{err}");
    }

    #[test]
    fn bad_values_name_the_key_and_the_fix() {
        let err = load(
            None,
            &env(&[("SIGHTLINE_HTTP_ADDR", "localhost")]),
            RawConfig::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("http_addr") && err.to_string().contains("IP:PORT"),
            "{err}"
        );
        let err =
            RawConfig::from_env(&env(&[("SIGHTLINE_MAX_HTTP_BODY_BYTES", "20MB")])).unwrap_err();
        assert!(
            err.to_string().contains("SIGHTLINE_MAX_HTTP_BODY_BYTES"),
            "{err}"
        );
        let err =
            RawConfig::from_env(&env(&[("SIGHTLINE_ALLOW_UNAUTHENTICATED", "maybe")])).unwrap_err();
        assert!(err.to_string().contains("true or false"), "{err}");
    }

    #[test]
    fn the_store_is_sqlite_unless_clickhouse_is_chosen() {
        let none = RawConfig::default;
        assert_eq!(
            load(None, &env(&[]), none()).unwrap().store,
            StoreChoice::Sqlite
        );
        let url = "http://127.0.0.1:8123/?database=s";
        let c = load(None, &env(&[("SIGHTLINE_CLICKHOUSE_URL", url)]), none()).unwrap();
        assert_eq!(
            c.store,
            StoreChoice::ClickHouse {
                url: url.into(),
                cluster: None
            }
        );
        let env_store = env(&[("SIGHTLINE_STORE", "clickhouse")]);
        let err = load(None, &env_store, none()).unwrap_err().to_string();
        assert!(err.contains("clickhouse_url"), "{err}");
        let c = RawConfig::from_toml(
            "store = \"clickhouse\"\nclickhouse_url = \"http://h:1/\"",
            "s.toml",
        );
        assert!(matches!(
            c.unwrap().validate().unwrap().store,
            StoreChoice::ClickHouse { .. }
        ));
        let err = load(None, &env(&[("SIGHTLINE_STORE", "postgres")]), none()).unwrap_err();
        assert!(err.to_string().contains("sqlite or clickhouse"), "{err}");
    }

    #[test]
    fn unrelated_variables_are_ignored() {
        assert!(
            RawConfig::from_env(&env(&[("PATH", "/bin"), ("SIGHTLINE_URL", "http://x")])).is_ok()
        );
    }
}
