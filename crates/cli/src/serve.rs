//! `sightline serve` and `sightline keys`: the commands that run against the store directly.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use sightline_core::time::{Clock, SystemClock};
use sightline_server::app::config::{self, Config, RawConfig};
use sightline_server::app::store_config;
use sightline_store::StoreConfig;

/// Settings shared by every command that opens the store. Each flag overrides the config file
/// and the `SIGHTLINE_*` environment.
#[derive(clap::Args, Debug, Default)]
pub struct StoreArgs {
    /// TOML config file (also `SIGHTLINE_CONFIG`).
    #[arg(long, env = "SIGHTLINE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory of the embedded store [default: ./sightline-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Store engine: sqlite or clickhouse [default: sqlite, or clickhouse with --clickhouse-url].
    #[arg(long)]
    pub store: Option<String>,
    /// ClickHouse HTTP URL with the database, e.g. http://127.0.0.1:8123/?database=sightline.
    #[arg(long)]
    pub clickhouse_url: Option<String>,
    /// Sharded layout: the cluster name in the ClickHouse servers' <remote_servers>.
    #[arg(long)]
    pub clickhouse_cluster: Option<String>,
    /// Sharded layout: every shard's HTTP URL, comma-separated.
    #[arg(long)]
    pub clickhouse_shards: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// OTLP/HTTP and API listener [default: 127.0.0.1:4318].
    #[arg(long)]
    pub http_addr: Option<String>,
    /// OTLP/gRPC listener [default: 127.0.0.1:4317].
    #[arg(long)]
    pub grpc_addr: Option<String>,
    /// Accept requests without a key on a non-loopback listener while no key exists.
    #[arg(long)]
    pub allow_unauthenticated: bool,
    /// Largest HTTP body after decompression, in bytes [default: 20 MiB].
    #[arg(long)]
    pub max_http_body_bytes: Option<usize>,
    /// Largest gRPC message, in bytes [default: 4 MiB].
    #[arg(long)]
    pub max_grpc_message_bytes: Option<usize>,
    /// Most spans and logs waiting for a commit before ingest answers 503 [default: 100000].
    #[arg(long)]
    pub max_queued_items: Option<usize>,
    /// Delete spans and logs older than this many whole days (UTC), at start-up and hourly
    /// [default: keep everything].
    #[arg(long)]
    pub retention_days: Option<u32>,
}

pub(crate) fn load(store: &StoreArgs, flags: RawConfig) -> anyhow::Result<Config> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let flags = RawConfig {
        data_dir: store.data_dir.clone(),
        store: store.store.clone(),
        clickhouse_url: store.clickhouse_url.clone(),
        clickhouse_cluster: store.clickhouse_cluster.clone(),
        clickhouse_shards: store.clickhouse_shards.clone(),
        ..flags
    };
    Ok(config::load(store.config.as_deref(), &env, flags)?)
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = load(
        &args.store,
        RawConfig {
            http_addr: args.http_addr,
            grpc_addr: args.grpc_addr,
            allow_unauthenticated: args.allow_unauthenticated.then_some(true),
            max_http_body_bytes: args.max_http_body_bytes,
            max_grpc_message_bytes: args.max_grpc_message_bytes,
            max_queued_items: args.max_queued_items,
            retention_days: args.retention_days,
            ..Default::default()
        },
    )?;
    let stop = shutdown_signal()?;
    let listeners = sightline_server::app::Listeners::bind(&config).await?;
    sightline_server::app::run(config, listeners, stop).await?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, before
/// anything is served: a signal sent as soon as the server answers is not missed (with lazily
/// installed handlers it would kill the process).
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// Create a key pair for a project (created if missing). The secret is printed once.
    Create {
        /// Project name: letters, digits, '-', '_' or '.'.
        #[arg(long)]
        project: String,
        #[command(flatten)]
        store: StoreArgs,
        /// Print the key as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn keys(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Create {
            project,
            store,
            json,
        } => {
            let config = load(&store, RawConfig::default())?;
            let opened = sightline_store::open(&StoreConfig {
                max_queued: 1000,
                ..store_config(&config)
            })
            .await
            .context("opening the store")?;
            let db = opened.engine();
            let now = SystemClock.now_ns();
            let key = sightline_server::auth::create_key(db.as_ref(), &project, now).await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"project": key.project_name, "public_key": key.public_key, "secret_key": key.secret_key})
                );
            } else {
                println!("project:    {}", key.project_name);
                println!("public key: {}", key.public_key);
                println!("secret key: {}", key.secret_key);
                println!();
                println!("The secret is shown once; only its hash is stored. Send it as");
                println!("  Authorization: Bearer {}", key.secret_key);
                println!("or, like the Langfuse SDK, as Basic auth with public:secret.");
            }
            opened.shutdown().await;
            Ok(())
        }
    }
}
