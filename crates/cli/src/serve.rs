//! `sightline serve`, and the store settings shared by the commands that open the store
//! directly (`keys`, `retention`).

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use sightline_server::app::config::{self, Config, Flag};
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

impl StoreArgs {
    /// Whether a flag naming the store (`--data-dir`, `--store`, `--clickhouse-*`) was given.
    pub(crate) fn any_given(&self) -> bool {
        !self.flags().is_empty()
    }

    /// The store flags given, as settings over the file and the environment.
    fn flags(&self) -> Vec<Flag> {
        given([
            (
                "store",
                "data_dir",
                self.data_dir.as_ref().map(|p| p.display().to_string()),
            ),
            ("store", "engine", self.store.clone()),
            ("store", "clickhouse_url", self.clickhouse_url.clone()),
            (
                "store",
                "clickhouse_cluster",
                self.clickhouse_cluster.clone(),
            ),
            ("store", "clickhouse_shards", self.clickhouse_shards.clone()),
        ])
    }
}

impl ServeArgs {
    /// The flags given besides the store's, as settings over the file and the environment.
    fn flags(&self) -> Vec<Flag> {
        let number = |n: Option<usize>| n.map(|n| n.to_string());
        given([
            ("server", "http_addr", self.http_addr.clone()),
            ("server", "grpc_addr", self.grpc_addr.clone()),
            (
                "server",
                "allow_unauthenticated",
                self.allow_unauthenticated.then(|| "true".into()),
            ),
            (
                "ingest",
                "max_http_body_bytes",
                number(self.max_http_body_bytes),
            ),
            (
                "ingest",
                "max_grpc_message_bytes",
                number(self.max_grpc_message_bytes),
            ),
            ("ingest", "max_queued_items", number(self.max_queued_items)),
            (
                "retention",
                "days",
                self.retention_days.map(|d| d.to_string()),
            ),
        ])
    }
}

/// The flags that were given.
fn given<const N: usize>(flags: [(&'static str, &'static str, Option<String>); N]) -> Vec<Flag> {
    flags
        .into_iter()
        .filter_map(|(section, key, value)| Some((section, key, value?)))
        .collect()
}

/// The configuration of a command that opens the store: its flags (`store`'s and `more`) over
/// the environment over the file `--config` names.
pub(crate) fn load(store: &StoreArgs, more: Vec<Flag>) -> anyhow::Result<Config> {
    let env: HashMap<String, String> = std::env::vars().collect();
    let flags = [store.flags(), more].concat();
    Ok(config::load(store.config.as_deref(), &env, &flags)?)
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = load(&args.store, args.flags())?;
    let stop = shutdown_signal()?;
    let listeners = sightline_server::app::Listeners::bind(&config).await?;
    sightline_server::app::run(config, listeners, stop).await?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, before
/// anything is served: a signal sent as soon as the server answers is not missed (with lazily
/// installed handlers it would kill the process).
pub(crate) fn shutdown_signal(
) -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
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

/// Opens the store the settings name, for the commands that work on it directly (keys,
/// retention) while a server may be running on it.
pub(crate) async fn open_store(store: &StoreArgs) -> anyhow::Result<sightline_store::Store> {
    open_configured(&load(store, vec![])?).await
}

/// Opens the store `config` names (creating it if needed).
pub(crate) async fn open_configured(config: &Config) -> anyhow::Result<sightline_store::Store> {
    sightline_store::open(&StoreConfig {
        max_queued: 1000,
        ..store_config(config)
    })
    .await
    .context("opening the store")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use sightline_server::app::config::StoreChoice;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn every_flag_arrives_in_its_setting() {
        let args = Cli::try_parse_from([
            "serve",
            "--data-dir=/d",
            "--store=clickhouse",
            "--clickhouse-url=http://h/",
            "--clickhouse-cluster=c",
            "--clickhouse-shards=http://a/",
            "--http-addr=127.0.0.1:1",
            "--grpc-addr=127.0.0.1:2",
            "--allow-unauthenticated",
            "--max-http-body-bytes=3",
            "--max-grpc-message-bytes=4",
            "--max-queued-items=5",
            "--retention-days=6",
        ])
        .unwrap()
        .serve;
        let flags = [args.store.flags(), args.flags()].concat();
        let c = config::load(None, &HashMap::new(), &flags).unwrap();
        assert_eq!(c.store.data_dir, PathBuf::from("/d"));
        let cluster = Some(("c".to_owned(), vec!["http://a/".to_owned()]));
        let url = "http://h/".to_owned();
        assert_eq!(c.store.engine, StoreChoice::ClickHouse { url, cluster });
        assert_eq!(c.server.http_addr.port(), 1);
        assert_eq!(c.server.grpc_addr.port(), 2);
        assert!(c.server.allow_unauthenticated);
        let i = &c.ingest;
        assert_eq!((i.max_http_body_bytes, i.max_grpc_message_bytes), (3, 4));
        assert_eq!(i.max_queued_items, 5);
        assert_eq!(c.retention.days, Some(6));
    }
}
