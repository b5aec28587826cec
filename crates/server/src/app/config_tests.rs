//! Tests of config loading: defaults, precedence, the legacy flat names, errors, and the walk of
//! [`SETTINGS`] against the `RawConfig` sections, the environment and the docs.

use std::collections::BTreeSet;

use sightline_core::introspect::struct_fields;

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn from_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    load(None, &env(pairs), &[])
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
    let c = load(None, &HashMap::new(), &[]).unwrap();
    let expected = Config {
        server: ServerConfig {
            http_addr: "127.0.0.1:4318".parse().unwrap(),
            grpc_addr: "127.0.0.1:4317".parse().unwrap(),
            allow_unauthenticated: false,
            metrics_token: None,
            max_connections: 1024,
            max_connections_per_peer: 256,
            header_read_timeout: std::time::Duration::from_secs(10),
        },
        ingest: IngestConfig {
            max_http_body_bytes: 20 << 20,
            max_grpc_message_bytes: 4 << 20,
            max_queued_items: 100_000,
            max_inflight_bytes: 256 << 20,
            body_read_timeout: std::time::Duration::from_secs(120),
            min_body_bytes_per_sec: 16 << 10,
            max_attribute_value_bytes: 64 << 10,
            max_metric_series: 10_000,
        },
        store: StoreConfig {
            engine: StoreChoice::Sqlite,
            data_dir: PathBuf::from("./sightline-data"),
            read_timeout: std::time::Duration::from_secs(30),
            disk: sightline_store::DiskBudget {
                max_bytes: None,
                min_free_bytes: 256 << 20,
            },
        },
        retention: RetentionConfig { days: None },
        dashboard: DashboardConfig {
            session_secs: 12 * 3_600,
        },
        gateway: crate::gateway::GatewayConfig::default(),
        price_overrides: vec![],
    };
    assert_eq!(c, expected);
}

#[test]
fn environment_wins_over_file_and_flags_win_over_environment() {
    let dir = tempfile::tempdir().unwrap();
    let flat = "data_dir = \"/from/file\"\nhttp_addr = \"127.0.0.1:1000\"\ngrpc_addr = \"127.0.0.1:1001\"\n";
    let sectioned = "[store]\ndata_dir = \"/from/file\"\n\
                     [server]\nhttp_addr = \"127.0.0.1:1000\"\ngrpc_addr = \"127.0.0.1:1001\"\n";
    for (text, http_var) in [
        (flat, "SIGHTLINE_HTTP_ADDR"),
        (sectioned, "SIGHTLINE_SERVER__HTTP_ADDR"),
    ] {
        let file = dir.path().join("sightline.toml");
        std::fs::write(&file, text).unwrap();
        let e = env(&[
            (http_var, "127.0.0.1:2000"),
            ("SIGHTLINE_GRPC_ADDR", "127.0.0.1:2001"),
        ]);
        let flags = [("server", "grpc_addr", "127.0.0.1:3001".to_owned())];
        let c = load(Some(&file), &e, &flags).unwrap();
        assert_eq!(c.store.data_dir, PathBuf::from("/from/file"));
        assert_eq!(c.server.http_addr.to_string(), "127.0.0.1:2000");
        assert_eq!(c.server.grpc_addr.to_string(), "127.0.0.1:3001");
    }
}

#[test]
fn retention_days_come_from_file_environment_or_flag_and_zero_is_refused() {
    assert_eq!(from_env(&[]).unwrap().retention.days, None);
    let raw = RawConfig::from_toml("retention_days = 30", "s.toml").unwrap();
    assert_eq!(raw.validate().unwrap().retention.days, Some(30));
    let raw = RawConfig::from_toml("[retention]\ndays = 30", "s.toml").unwrap();
    assert_eq!(raw.validate().unwrap().retention.days, Some(30));
    let c = from_env(&[("SIGHTLINE_RETENTION_DAYS", "7")]);
    assert_eq!(c.unwrap().retention.days, Some(7));
    let err = from_env(&[("SIGHTLINE_RETENTION_DAYS", "7d")]).unwrap_err();
    assert!(err.to_string().contains("whole number"), "{err}");
    assert!(
        err.to_string().contains("SIGHTLINE_RETENTION_DAYS"),
        "{err}"
    );
    for bad in [0, MAX_RETENTION_DAYS + 1] {
        let flags = [("retention", "days", bad.to_string())];
        let err = load(None, &HashMap::new(), &flags).unwrap_err().to_string();
        assert!(
            err.contains("retention.days") && err.contains("unset"),
            "{err}"
        );
    }
}

#[test]
fn unknown_keys_are_errors_that_name_them() {
    let err = RawConfig::from_toml("data_dirr = \"x\"", "s.toml").unwrap_err();
    assert!(err.to_string().contains("data_dirr"), "{err}");
    let err = RawConfig::from_toml("[server]\nhttp_adrr = \"x\"", "s.toml").unwrap_err();
    assert!(
        err.to_string().contains("http_adrr") && err.to_string().contains("http_addr"),
        "{err}"
    );
    let err = RawConfig::from_toml("[sever]\nhttp_addr = \"x\"", "s.toml").unwrap_err();
    assert!(
        err.to_string().contains("sever") && err.to_string().contains("server"),
        "{err}"
    );
    let err = from_env(&[("SIGHTLINE_HTTP_ADRR", "x")]).unwrap_err();
    assert!(err.to_string().contains("SIGHTLINE_HTTP_ADRR"), "{err}");
    assert!(err.to_string().contains("SIGHTLINE_HTTP_ADDR"), "{err}");
    let err = from_env(&[("SIGHTLINE_SERVER__HTTP_ADRR", "x")]).unwrap_err();
    assert!(
        err.to_string().contains("SIGHTLINE_SERVER__HTTP_ADRR")
            && err.to_string().contains("SIGHTLINE_SERVER__HTTP_ADDR"),
        "{err}"
    );
}

#[test]
fn bad_values_name_the_key_and_the_fix() {
    let err = from_env(&[("SIGHTLINE_HTTP_ADDR", "localhost")]).unwrap_err();
    assert!(
        err.to_string().contains("http_addr") && err.to_string().contains("IP:PORT"),
        "{err}"
    );
    let err = from_env(&[("SIGHTLINE_MAX_HTTP_BODY_BYTES", "20MB")]).unwrap_err();
    assert!(
        err.to_string().contains("SIGHTLINE_MAX_HTTP_BODY_BYTES")
            && err.to_string().contains("whole number"),
        "{err}"
    );
    let err = from_env(&[("SIGHTLINE_ALLOW_UNAUTHENTICATED", "maybe")]).unwrap_err();
    assert!(err.to_string().contains("true or false"), "{err}");
    let err = RawConfig::from_toml("[ingest]\nmax_queued_items = \"many\"", "s.toml").unwrap_err();
    assert!(
        err.to_string().contains("s.toml")
            && err.to_string().contains("ingest.max_queued_items")
            && err.to_string().contains("whole number"),
        "{err}"
    );
}

#[test]
fn the_store_is_sqlite_unless_clickhouse_is_chosen() {
    assert_eq!(from_env(&[]).unwrap().store.engine, StoreChoice::Sqlite);
    let url = "http://127.0.0.1:8123/?database=s";
    let c = from_env(&[("SIGHTLINE_CLICKHOUSE_URL", url)]).unwrap();
    assert_eq!(
        c.store.engine,
        StoreChoice::ClickHouse {
            url: url.into(),
            cluster: None
        }
    );
    let err = from_env(&[("SIGHTLINE_STORE", "clickhouse")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("clickhouse_url"), "{err}");
    for text in [
        "store = \"clickhouse\"\nclickhouse_url = \"http://h:1/\"",
        "[store]\nengine = \"clickhouse\"\nclickhouse_url = \"http://h:1/\"",
    ] {
        let c = RawConfig::from_toml(text, "s.toml");
        assert!(matches!(
            c.unwrap().validate().unwrap().store.engine,
            StoreChoice::ClickHouse { .. }
        ));
    }
    let err = from_env(&[("SIGHTLINE_STORE", "postgres")]).unwrap_err();
    assert!(err.to_string().contains("sqlite or clickhouse"), "{err}");
}

#[test]
fn unrelated_variables_are_ignored() {
    assert!(from_env(&[("PATH", "/bin"), ("SIGHTLINE_URL", "http://x")]).is_ok());
}

#[test]
fn a_flat_name_and_its_sectioned_name_in_one_source_is_an_error_naming_both() {
    let err = RawConfig::from_toml(
        "http_addr = \"127.0.0.1:1\"\n[server]\nhttp_addr = \"127.0.0.1:2\"",
        "s.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("s.toml") && err.contains("http_addr and server.http_addr"),
        "{err}"
    );
    let err = from_env(&[
        ("SIGHTLINE_RETENTION_DAYS", "1"),
        ("SIGHTLINE_RETENTION__DAYS", "2"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("SIGHTLINE_RETENTION_DAYS") && err.contains("SIGHTLINE_RETENTION__DAYS"),
        "{err}"
    );
    // Across sources there is no conflict: the environment wins over the file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(&file, "[retention]\ndays = 3").unwrap();
    let c = load(Some(&file), &env(&[("SIGHTLINE_RETENTION_DAYS", "4")]), &[]);
    assert_eq!(c.unwrap().retention.days, Some(4));
}

#[test]
fn environment_text_takes_the_type_of_its_setting() {
    // A path or a name that looks like a number or a boolean stays text.
    let c = from_env(&[("SIGHTLINE_STORE__DATA_DIR", "2024")]).unwrap();
    assert_eq!(c.store.data_dir, PathBuf::from("2024"));
    let c = from_env(&[("SIGHTLINE_DATA_DIR", "yes")]).unwrap();
    assert_eq!(c.store.data_dir, PathBuf::from("yes"));
    // The boolean words read before sections still work.
    for (text, expected) in [
        ("1", true),
        ("yes", true),
        ("TRUE", true),
        (" true ", true),
        ("0", false),
        ("no", false),
        ("", false),
    ] {
        let c = from_env(&[("SIGHTLINE_ALLOW_UNAUTHENTICATED", text)]).unwrap();
        assert_eq!(c.server.allow_unauthenticated, expected, "{text:?}");
    }
    let c = from_env(&[("SIGHTLINE_MAX_QUEUED_ITEMS", " 42 ")]).unwrap();
    assert_eq!(c.ingest.max_queued_items, 42);
}

/// For every setting: a value other than its default, the other variables it needs, and how
/// to read it back from `Config`.
type Case = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    fn(&Config) -> String,
);

fn cases() -> Vec<Case> {
    const URL: (&str, &str) = ("SIGHTLINE_STORE__CLICKHOUSE_URL", "http://ch:8123/");
    fn cluster(c: &Config) -> (String, String) {
        match &c.store.engine {
            StoreChoice::ClickHouse {
                cluster: Some((name, shards)),
                ..
            } => (name.clone(), shards.join(",")),
            other => (format!("{other:?}"), String::new()),
        }
    }
    vec![
        ("server.http_addr", "127.0.0.1:9001", &[], |c| {
            c.server.http_addr.to_string()
        }),
        ("server.grpc_addr", "127.0.0.1:9002", &[], |c| {
            c.server.grpc_addr.to_string()
        }),
        ("server.allow_unauthenticated", "true", &[], |c| {
            c.server.allow_unauthenticated.to_string()
        }),
        (
            "server.metrics_token",
            "scrape-token-0123456789",
            &[],
            |c| c.server.metrics_token.clone().unwrap_or_default(),
        ),
        ("server.max_connections", "77", &[], |c| {
            c.server.max_connections.to_string()
        }),
        ("server.max_connections_per_peer", "7", &[], |c| {
            c.server.max_connections_per_peer.to_string()
        }),
        ("server.header_read_timeout_secs", "3", &[], |c| {
            c.server.header_read_timeout.as_secs().to_string()
        }),
        ("ingest.max_http_body_bytes", "1001", &[], |c| {
            c.ingest.max_http_body_bytes.to_string()
        }),
        ("ingest.max_grpc_message_bytes", "1002", &[], |c| {
            c.ingest.max_grpc_message_bytes.to_string()
        }),
        ("ingest.max_queued_items", "1003", &[], |c| {
            c.ingest.max_queued_items.to_string()
        }),
        ("ingest.max_inflight_bytes", "1004", &[], |c| {
            c.ingest.max_inflight_bytes.to_string()
        }),
        ("ingest.body_read_timeout_secs", "30", &[], |c| {
            c.ingest.body_read_timeout.as_secs().to_string()
        }),
        ("ingest.min_body_bytes_per_sec", "1000", &[], |c| {
            c.ingest.min_body_bytes_per_sec.to_string()
        }),
        ("ingest.max_attribute_value_bytes", "4096", &[], |c| {
            c.ingest.max_attribute_value_bytes.to_string()
        }),
        ("ingest.max_metric_series", "50", &[], |c| {
            c.ingest.max_metric_series.to_string()
        }),
        ("store.engine", "clickhouse", &[URL], |c| {
            match &c.store.engine {
                StoreChoice::Sqlite => "sqlite",
                StoreChoice::ClickHouse { .. } => "clickhouse",
            }
            .into()
        }),
        ("store.data_dir", "/var/lib/sl", &[], |c| {
            c.store.data_dir.display().to_string()
        }),
        (
            "store.clickhouse_url",
            "http://ch:8123/?database=x",
            &[],
            |c| match &c.store.engine {
                StoreChoice::ClickHouse { url, .. } => url.clone(),
                StoreChoice::Sqlite => "sqlite".into(),
            },
        ),
        (
            "store.clickhouse_cluster",
            "c1",
            &[URL, ("SIGHTLINE_STORE__CLICKHOUSE_SHARDS", "http://a/")],
            |c| cluster(c).0,
        ),
        (
            "store.clickhouse_shards",
            "http://a/,http://b/",
            &[URL, ("SIGHTLINE_STORE__CLICKHOUSE_CLUSTER", "c1")],
            |c| cluster(c).1,
        ),
        ("store.read_timeout_secs", "5", &[], |c| {
            c.store.read_timeout.as_secs().to_string()
        }),
        ("store.max_disk_bytes", "1000000", &[], |c| {
            c.store.disk.max_bytes.unwrap_or(0).to_string()
        }),
        ("store.min_free_disk_bytes", "0", &[], |c| {
            c.store.disk.min_free_bytes.to_string()
        }),
        ("retention.days", "7", &[], |c| {
            c.retention.days.map(|d| d.to_string()).unwrap_or_default()
        }),
        ("dashboard.session_hours", "2", &[], |c| {
            (c.dashboard.session_secs / 3_600).to_string()
        }),
        ("gateway.upstreams", "vllm=http://h:8000/v1", &[], |c| {
            let u = c.gateway.upstreams.iter().find(|u| u.name == "vllm");
            u.map(|u| format!("{}={}", u.name, u.base_url))
                .unwrap_or_default()
        }),
        ("gateway.max_body_bytes", "1005", &[], |c| {
            c.gateway.max_body_bytes.to_string()
        }),
        ("gateway.retries", "5", &[], |c| {
            c.gateway.retries.to_string()
        }),
        ("gateway.retry_backoff_ms", "40", &[], |c| {
            c.gateway.retry_backoff.as_millis().to_string()
        }),
        ("gateway.timeout_secs", "30", &[], |c| {
            c.gateway.timeout.as_secs().to_string()
        }),
        ("gateway.record_queue", "77", &[], |c| {
            c.gateway.record_queue.to_string()
        }),
        ("gateway.reserve_max_tokens", "512", &[], |c| {
            c.gateway.reserve_max_tokens.to_string()
        }),
        (
            "gateway.encryption_key",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            &[],
            |c| {
                c.gateway
                    .encryption_key
                    .map(hex::encode)
                    .unwrap_or_default()
            },
        ),
    ]
}

/// The walk the issue asks for: every setting arrives in `Config` through
/// `SIGHTLINE_<SECTION>__<KEY>`, its legacy variable, its `[section]` key and its flat file key.
#[test]
fn every_setting_works_through_every_name_it_has() {
    let cases = cases();
    let names: Vec<&str> = cases.iter().map(|c| c.0).collect();
    let paths: Vec<String> = SETTINGS.iter().map(Setting::path).collect();
    assert_eq!(names, paths, "one case per setting, in SETTINGS order");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    for (s, (_, value, needs, read)) in SETTINGS.iter().zip(cases) {
        for var in [Some(s.env()), s.legacy_env()].into_iter().flatten() {
            let mut pairs = needs.to_vec();
            pairs.push((&var, value));
            let c = from_env(&pairs).unwrap_or_else(|e| panic!("{var}={value}: {e}"));
            assert_eq!(read(&c), value, "{var}");
        }
        let toml_value = typed(s.section, s.key, value, "test").unwrap();
        let mut texts = vec![format!("[{}]\n{} = {toml_value}\n", s.section, s.key)];
        texts.extend(s.legacy.map(|flat| format!("{flat} = {toml_value}\n")));
        for text in texts {
            std::fs::write(&file, &text).unwrap();
            let c = load(Some(&file), &env(needs), &[]).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(read(&c), value, "{text}");
        }
    }
}

#[test]
fn settings_and_the_raw_config_sections_list_the_same_fields() {
    let sections = [
        ("server", struct_fields::<RawServer>()),
        ("ingest", struct_fields::<RawIngest>()),
        ("store", struct_fields::<RawStore>()),
        ("retention", struct_fields::<RawRetention>()),
        ("dashboard", struct_fields::<RawDashboard>()),
        ("gateway", struct_fields::<RawGateway>()),
    ];
    let top: Vec<&str> = struct_fields::<RawConfig>()
        .unwrap()
        .iter()
        .copied()
        .filter(|f| *f != "price_overrides")
        .collect();
    let named: Vec<&str> = sections.iter().map(|(s, _)| *s).collect();
    assert_eq!(top, named, "every RawConfig section is walked here");
    let from_types: BTreeSet<String> = sections
        .iter()
        .flat_map(|(s, fields)| fields.unwrap().iter().map(move |k| format!("{s}.{k}")))
        .collect();
    let from_table: BTreeSet<String> = SETTINGS.iter().map(Setting::path).collect();
    assert_eq!(from_types, from_table);
    assert_eq!(from_table.len(), SETTINGS.len(), "a setting listed twice");
    let legacy: BTreeSet<&str> = SETTINGS.iter().filter_map(|s| s.legacy).collect();
    assert_eq!(
        legacy.len(),
        SETTINGS.iter().filter(|s| s.legacy.is_some()).count(),
        "a flat name aliased twice"
    );
}

/// The `SIGHTLINE_*` names in the rows of the Markdown tables of `text`.
fn table_variables(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| l.starts_with('|'))
        .flat_map(|l| l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|w| w.starts_with("SIGHTLINE_"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn readme_and_the_reference_list_exactly_the_settings_variables() {
    let every: BTreeSet<String> = SETTINGS
        .iter()
        .flat_map(|s| [Some(s.env()), s.legacy_env()])
        .flatten()
        .collect();
    let readme = include_str!("../../../../README.md");
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README has a Configuration section");
    assert_eq!(
        table_variables(section),
        every,
        "README's configuration table"
    );
    let reference = include_str!("../../../../docs/configuration.md");
    assert_eq!(table_variables(reference), every, "docs/configuration.md");
    for s in SETTINGS {
        let row = reference
            .lines()
            .find(|l| l.starts_with('|') && l.contains(&format!("`{}`", s.env())))
            .unwrap_or_else(|| panic!("docs/configuration.md has no row for {}", s.path()));
        assert!(
            row.contains(&format!("`{}`", s.key)) && row.contains(s.default) && row.contains(s.doc),
            "docs/configuration.md's row for {} should show its key, `{}` and `{}`: {row}",
            s.path(),
            s.default,
            s.doc
        );
    }
}

#[test]
fn dashboard_sessions_last_one_hour_to_a_year() {
    assert_eq!(from_env(&[]).unwrap().dashboard.session_secs, 12 * 3_600);
    let raw = RawConfig::from_toml("[dashboard]\nsession_hours = 1", "s.toml").unwrap();
    assert_eq!(raw.validate().unwrap().dashboard.session_secs, 3_600);
    for bad in [0, MAX_SESSION_HOURS + 1] {
        let text = format!("[dashboard]\nsession_hours = {bad}");
        let err = RawConfig::from_toml(&text, "s.toml")
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("dashboard.session_hours"), "{err}");
    }
}
