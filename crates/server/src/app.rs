//! Start-up and shutdown: opens the store, checks that the listeners are safe to expose, serves
//! HTTP and gRPC until the shutdown signal, then finishes in-flight writes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::LogsServiceServer;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer;
use sightline_core::cost::PriceRegistry;
use sightline_store::sqlite::{SqliteConfig, SqliteStore};
use sightline_store::KeyStore;
use tokio::net::TcpListener;

use crate::admission::Admission;
use crate::auth::Authenticator;
use crate::config::Config;
use crate::grpc::{oversize_as_resource_exhausted, GrpcIngest};
use crate::ingest::{IngestService, SystemClock};
use crate::routes::router;
use crate::state::AppState;

/// The sockets to serve on, bound by the caller (tests bind port 0).
pub struct Listeners {
    pub http: TcpListener,
    pub grpc: TcpListener,
}

impl Listeners {
    pub async fn bind(config: &Config) -> std::io::Result<Listeners> {
        let http = TcpListener::bind(config.http_addr)
            .await
            .map_err(|e| with_addr(e, "HTTP", config.http_addr))?;
        let grpc = TcpListener::bind(config.grpc_addr)
            .await
            .map_err(|e| with_addr(e, "gRPC", config.grpc_addr))?;
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

/// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests finish and
/// commits everything queued.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), StartError> {
    let store = Arc::new(SqliteStore::open(&SqliteConfig {
        data_dir: config.data_dir.clone(),
        max_queued: config.max_queued_items,
    })?);
    let http_addr = listeners.http.local_addr()?;
    let grpc_addr = listeners.grpc.local_addr()?;
    let exposed = [http_addr, grpc_addr]
        .into_iter()
        .find(|a| !a.ip().is_loopback());
    if let Some(addr) = exposed {
        if !config.allow_unauthenticated && !store.has_keys().await? {
            return Err(StartError::Unprotected { addr });
        }
    }
    let anonymous_allowed = exposed.is_none() || config.allow_unauthenticated;
    let prices = Arc::new(PriceRegistry::bundled().map_err(|e| StartError::Prices(e.to_string()))?);
    let state = AppState {
        ingest: Arc::new(IngestService::new(
            store.clone(),
            Arc::new(SystemClock),
            prices,
        )),
        auth: Arc::new(Authenticator::new(store.clone(), anonymous_allowed)),
        traces: store.clone(),
        admission: Admission::new(config.max_inflight_bytes),
        max_http_body_bytes: config.max_http_body_bytes,
    };
    let grpc = GrpcIngest {
        state: state.clone(),
        max_message_bytes: config.max_grpc_message_bytes,
    };
    // tonic's own cap is a backstop well above ours, so our check answers RESOURCE_EXHAUSTED.
    let tonic_cap = config.max_grpc_message_bytes.saturating_mul(4);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut http_stop = stop_rx.clone();
    let mut grpc_stop = stop_rx;
    let http_server =
        axum::serve(listeners.http, router(state)).with_graceful_shutdown(async move {
            let _ = http_stop.changed().await;
        });
    let mut grpc_builder = tonic::transport::Server::builder().layer(
        tower::util::MapResponseLayer::new(oversize_as_resource_exhausted),
    );
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
    tracing::info!(%http_addr, %grpc_addr, data_dir = %config.data_dir.display(), "sightline is listening");

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
            servers.await;
        }
    }
    let store_for_close = store.clone();
    let _ = tokio::task::spawn_blocking(move || store_for_close.shutdown()).await;
    tracing::info!("all queued writes committed; bye");
    Ok(())
}
