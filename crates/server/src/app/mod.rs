//! The app: start-up, wiring and shutdown. Opens the store, checks that the listeners are safe
//! to expose, builds each part's state, starts the background jobs under the supervisor, serves
//! HTTP and gRPC until the shutdown signal, then finishes in-flight writes. The only module that
//! knows every other one.

pub mod config;
pub mod listen;
pub mod routes;
pub mod state;
pub mod tasks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::LogsServiceServer;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::MetricsServiceServer;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer;
use sightline_core::cost::PriceRegistry;
use sightline_core::time::{Clock, SystemClock};
use sightline_store::clickhouse::cluster::ClusterConfig;
use sightline_store::{Engine, EngineConfig, StoreConfig};
use tokio::net::TcpListener;

use self::config::Config;
use self::config::StoreChoice;
use self::listen::{ConnLimits, Connections};
use self::routes::router;
use self::state::AppState;
use self::tasks::Supervisor;
use crate::api::ApiState;
use crate::auth::{Authenticator, ScrapePolicy, Sessions};
use crate::gateway::{Budgets, Gateway, GatewayState, TelemetrySpend};
use crate::ingest::admission::Admission;
use crate::ingest::body::BodyRules;
use crate::ingest::grpc::{oversize_as_resource_exhausted, GrpcIngest};
use crate::ingest::{IngestService, IngestState};
use crate::metrics::Metrics;
use crate::pricing::PriceBook;

/// After the shutdown signal, how long in-flight requests may take before the server stops
/// waiting for them (queued writes are committed either way).
const DRAIN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// After the servers stopped, how long background jobs may take to notice the stop signal
/// before they are aborted.
const JOB_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// The sockets to serve on, bound by the caller (tests bind port 0).
pub struct Listeners {
    pub http: TcpListener,
    pub grpc: TcpListener,
}

impl Listeners {
    pub async fn bind(config: &Config) -> std::io::Result<Listeners> {
        let http = TcpListener::bind(config.server.http_addr)
            .await
            .map_err(|e| with_addr(e, "HTTP", config.server.http_addr))?;
        let grpc = TcpListener::bind(config.server.grpc_addr)
            .await
            .map_err(|e| with_addr(e, "gRPC", config.server.grpc_addr))?;
        Ok(Listeners { http, grpc })
    }
}

fn with_addr(e: std::io::Error, what: &str, addr: SocketAddr) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("cannot listen for {what} on {addr}: {e}"))
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Store(#[from] sightline_store::StoreError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the bundled price table is invalid: {0}")]
    Prices(String),
    #[error(
        "refusing to listen on {addr} (beyond loopback) without API keys: create one with \
         `sightline keys create --project NAME`, or pass --allow-unauthenticated to accept anyone"
    )]
    Unprotected { addr: SocketAddr },
    #[error("{0}")]
    Gateway(#[from] crate::gateway::GatewayStartError),
}

/// The per-project price book: the config file's `[[price_overrides]]` (held in memory, by the
/// project they name, created if missing) and the store's overrides.
async fn price_book(
    config: &Config,
    store: &Arc<dyn Engine>,
    bundled: &PriceRegistry,
) -> Result<PriceBook, StartError> {
    let mut by_project: std::collections::HashMap<_, Vec<_>> = Default::default();
    for o in &config.price_overrides {
        let project = store
            .ensure_project(&o.project, SystemClock.now_ns())
            .await?;
        by_project.entry(project).or_default().push(o.entry.clone());
    }
    Ok(PriceBook::new(bundled.clone(), store.clone(), by_project))
}

/// The store the configuration chose; `max_queued_items` bounds its write queue.
pub fn store_config(config: &Config) -> StoreConfig {
    let engine = match &config.store.engine {
        StoreChoice::Sqlite => EngineConfig::Sqlite {
            data_dir: config.store.data_dir.clone(),
        },
        StoreChoice::ClickHouse { url, cluster } => EngineConfig::ClickHouse {
            url: url.clone(),
            cluster: cluster.as_ref().map(|(name, shard_urls)| ClusterConfig {
                name: name.clone(),
                shard_urls: shard_urls.clone(),
            }),
        },
    };
    StoreConfig {
        engine,
        max_queued: config.ingest.max_queued_items,
        limits: sightline_store::StoreLimits {
            read_timeout: config.store.read_timeout,
            disk: config.store.disk,
        },
    }
}

/// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests finish and
/// commits everything queued.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), StartError> {
    let opened = sightline_store::open(&store_config(&config)).await?;
    let store = opened.engine();
    let http_addr = listeners.http.local_addr()?;
    let grpc_addr = listeners.grpc.local_addr()?;
    let exposed = [http_addr, grpc_addr]
        .into_iter()
        .find(|a| !a.ip().is_loopback());
    if let Some(addr) = exposed {
        if !config.server.allow_unauthenticated && !store.has_keys().await? {
            return Err(StartError::Unprotected { addr });
        }
    }
    let anonymous_allowed = exposed.is_none() || config.server.allow_unauthenticated;
    let prices = Arc::new(PriceRegistry::bundled().map_err(|e| StartError::Prices(e.to_string()))?);
    let book = Arc::new(price_book(&config, &store, &prices).await?);
    let metrics = Arc::new(Metrics::default());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut supervisor = Supervisor::default();
    let stop = supervisor.stop_signal();
    // Budgets count the spend of telemetry too: they listen to ingest.
    let budgets = Budgets::new(store.clone(), clock.clone());
    let service = Arc::new(
        IngestService::new(store.clone(), clock.clone(), prices)
            .with_listener(metrics.clone())
            .with_listener(Arc::new(TelemetrySpend(budgets.clone())))
            .with_price_book(book.clone())
            .with_max_attribute_value(config.ingest.max_attribute_value_bytes)
            .with_metric_writer(store.clone(), config.ingest.max_metric_series),
    );
    let auth = Arc::new(
        Authenticator::new(store.clone(), anonymous_allowed).with_sessions(Sessions::new(
            store.clone(),
            clock.clone(),
            config.dashboard.session_secs,
        )),
    );
    let gateway = Arc::new(Gateway::new(
        config.gateway.clone(),
        store.clone(),
        service.clone(),
        auth.clone(),
        book.clone(),
        clock.clone(),
        budgets,
        &config.store.data_dir,
    )?);
    supervisor.spawn("gateway recorder", gateway.recorder_job(stop.clone()));
    supervisor.spawn("gateway budgets", gateway.budgets_job(stop.clone()));
    supervisor.spawn("gateway cache", gateway.cache_job(stop.clone()));
    let state = AppState {
        auth,
        scrape: Arc::new(ScrapePolicy::new(
            config.server.metrics_token.as_deref(),
            exposed.is_none(),
        )),
        ingest: IngestState {
            service: service.clone(),
            admission: Admission::new(config.ingest.max_inflight_bytes),
            body: BodyRules {
                limit: config.ingest.max_http_body_bytes,
                timeout: config.ingest.body_read_timeout,
                min_bytes_per_sec: config.ingest.min_body_bytes_per_sec,
            },
        },
        api: ApiState {
            traces: store.clone(),
            sessions: store.clone(),
            logs: store.clone(),
            metrics: store.clone(),
            otlp_metrics: store.clone(),
            max_metric_series: config.ingest.max_metric_series,
            costs: store.clone(),
            feed: store.clone(),
            prices: book,
            clock: clock.clone(),
            live: service.live().clone(),
            shutdown: stop.clone(),
        },
        metrics: metrics.clone(),
        otlp: crate::metrics::otlp::OtlpSource(store.clone()),
        gateway: GatewayState(gateway),
    };
    if let Some(days) = config.retention.days {
        supervisor.spawn(
            "retention",
            crate::jobs::retention::run(
                store.clone(),
                days,
                clock.clone(),
                metrics.clone(),
                stop.clone(),
            ),
        );
    }
    supervisor.spawn(
        "disk",
        crate::jobs::disk::run(store.clone(), metrics.clone(), stop.clone()),
    );
    let grpc = GrpcIngest {
        state: state.ingest.clone(),
        auth: state.auth.clone(),
        max_message_bytes: config.ingest.max_grpc_message_bytes,
    };
    // tonic's own cap is a backstop well above ours, so our check answers RESOURCE_EXHAUSTED.
    let tonic_cap = config.ingest.max_grpc_message_bytes.saturating_mul(4);

    let connections = Connections::new(ConnLimits {
        max_total: config.server.max_connections,
        max_per_peer: config.server.max_connections_per_peer,
        header_read_timeout: config.server.header_read_timeout,
    });
    let mut grpc_stop = stop.clone();
    let http_server = listen::serve_http(listeners.http, router(state), connections.clone(), stop);
    let mut grpc_builder =
        tonic::transport::Server::builder().layer(tower::util::MapResponseLayer::new(move |r| {
            metrics.grpc_answer(oversize_as_resource_exhausted(r))
        }));
    let grpc_server = grpc_builder
        .add_service(
            TraceServiceServer::new(grpc.clone())
                .max_decoding_message_size(tonic_cap)
                .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
        )
        .add_service(
            LogsServiceServer::new(grpc.clone())
                .max_decoding_message_size(tonic_cap)
                .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
        )
        .add_service(
            MetricsServiceServer::new(grpc)
                .max_decoding_message_size(tonic_cap)
                .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
        )
        .serve_with_incoming_shutdown(
            listen::grpc_incoming(listeners.grpc, connections),
            async move {
                let _ = grpc_stop.changed().await;
            },
        );
    tracing::info!(%http_addr, %grpc_addr, store = %opened.describe(), "sightline is listening");

    let servers = async {
        let ((), g) = tokio::join!(http_server, grpc_server);
        if let Err(e) = g {
            tracing::error!(error = %e, "gRPC server error");
        }
    };
    tokio::pin!(servers);
    tokio::select! {
        _ = &mut servers => {}
        _ = shutdown => {
            tracing::info!("shutting down: finishing in-flight requests");
            supervisor.stop();
            // Live streams end on the signal; a client whose socket stopped draining cannot be
            // told, so in-flight requests get a bounded time before we stop waiting for them.
            if tokio::time::timeout(DRAIN_DEADLINE, &mut servers).await.is_err() {
                tracing::warn!(
                    seconds = DRAIN_DEADLINE.as_secs(),
                    "some connections did not finish in time; closing them"
                );
            }
        }
    }
    // A retention sweep in progress stops between steps; what it deleted stays deleted.
    supervisor.shutdown(JOB_GRACE).await;
    opened.shutdown().await;
    tracing::info!("all queued writes committed; bye");
    Ok(())
}
