//! Start-up and shutdown: opens the store, checks that the listeners are safe to expose, serves
//! HTTP and gRPC until the shutdown signal, then finishes in-flight writes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::LogsServiceServer;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer;
use sightline_core::cost::PriceRegistry;
use tokio::net::TcpListener;

use crate::admission::Admission;
use crate::auth::Authenticator;
use crate::config::Config;
use crate::grpc::{oversize_as_resource_exhausted, GrpcIngest};
use crate::ingest::{Clock, IngestService, SystemClock};
use crate::metrics::Metrics;
use crate::pricing::PriceBook;
use crate::routes::router;
use crate::state::AppState;
use crate::store::Store;

/// After the shutdown signal, how long in-flight requests may take before the server stops
/// waiting for them (queued writes are committed either way).
const DRAIN_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

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
}

/// The per-project price book: the config file's `[[price_overrides]]` (held in memory, by the
/// project they name, created if missing) and the store's overrides.
async fn price_book(
    config: &Config,
    store: &Arc<dyn crate::store::Engine>,
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

/// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests finish and
/// commits everything queued.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), StartError> {
    let opened = Store::open(&config, config.ingest.max_queued_items).await?;
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
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let state = AppState {
        ingest: Arc::new(
            IngestService::new(store.clone(), Arc::new(SystemClock), prices)
                .with_metrics(metrics.clone())
                .with_price_book(book.clone()),
        ),
        auth: Arc::new(Authenticator::new(store.clone(), anonymous_allowed)),
        traces: store.clone(),
        sessions: store.clone(),
        logs: store.clone(),
        metrics_reader: store.clone(),
        costs: store.clone(),
        feed: store.clone(),
        shutdown: stop_rx.clone(),
        admission: Admission::new(config.ingest.max_inflight_bytes),
        max_http_body_bytes: config.ingest.max_http_body_bytes,
        metrics: metrics.clone(),
        prices: book,
    };
    let sweeper = config.retention.days.map(|days| {
        crate::retention::spawn(
            store.clone(),
            days,
            Arc::new(SystemClock),
            metrics.clone(),
            stop_rx.clone(),
        )
    });
    let grpc = GrpcIngest {
        state: state.clone(),
        max_message_bytes: config.ingest.max_grpc_message_bytes,
    };
    // tonic's own cap is a backstop well above ours, so our check answers RESOURCE_EXHAUSTED.
    let tonic_cap = config.ingest.max_grpc_message_bytes.saturating_mul(4);

    let mut http_stop = stop_rx.clone();
    let mut grpc_stop = stop_rx;
    let http_server =
        axum::serve(listeners.http, router(state)).with_graceful_shutdown(async move {
            let _ = http_stop.changed().await;
        });
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
            LogsServiceServer::new(grpc)
                .max_decoding_message_size(tonic_cap)
                .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
        )
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listeners.grpc),
            async move {
                let _ = grpc_stop.changed().await;
            },
        );
    tracing::info!(%http_addr, %grpc_addr, store = %opened.describe(), "sightline is listening");

    let servers = async {
        let (h, g) = tokio::join!(http_server, grpc_server);
        if let Err(e) = h {
            tracing::error!(error = %e, "HTTP server error");
        }
        if let Err(e) = g {
            tracing::error!(error = %e, "gRPC server error");
        }
    };
    tokio::pin!(servers);
    tokio::select! {
        _ = &mut servers => {}
        _ = shutdown => {
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stop_tx.send(true);
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
    let _ = stop_tx.send(true);
    if let Some(sweeper) = sweeper {
        // A sweep in progress stops between steps; what it deleted stays deleted.
        sweeper.abort();
        let _ = sweeper.await;
    }
    opened.shutdown().await;
    tracing::info!("all queued writes committed; bye");
    Ok(())
}
