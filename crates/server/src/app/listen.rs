//! The listeners: every accepted connection counts against a total and a per-peer cap, shared
//! by the HTTP and gRPC listeners. Past a cap, an HTTP connection gets a 503 problem on the spot
//! and is closed (a gRPC one is closed). HTTP connections are served with HTTP/1.1 or HTTP/2,
//! with a header read timeout, and finish their requests on shutdown.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_stream::Stream;
use tower::ServiceExt;

use crate::error::{ApiError, ErrorCode, Problem, RETRY_AFTER_SECS};

/// How many connections the server holds, and how long a client may take to send its headers.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    pub max_total: usize,
    pub max_per_peer: usize,
    pub header_read_timeout: Duration,
}

/// The open connections, in total and per peer address.
#[derive(Debug)]
pub struct Connections {
    limits: ConnLimits,
    open: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_peer: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct ConnGuard {
    connections: Arc<Connections>,
    peer: IpAddr,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut open = self.connections.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_peer.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                open.per_peer.remove(&self.peer);
            }
        }
    }
}

impl Connections {
    pub fn new(limits: ConnLimits) -> Arc<Self> {
        Arc::new(Connections {
            limits,
            open: Mutex::new(Counts::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for a connection from `peer`, or why there is none.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<ConnGuard, ApiError> {
        let mut open = self.lock();
        let from_peer = open.per_peer.get(&peer).copied().unwrap_or(0);
        if from_peer >= self.limits.max_per_peer {
            return Err(ApiError::new(
                ErrorCode::Overloaded,
                format!(
                    "{peer} already has {from_peer} connections open, the most one address may \
                     (server.max_connections_per_peer): reuse connections, or close idle ones"
                ),
            ));
        }
        if open.total >= self.limits.max_total {
            return Err(ApiError::new(
                ErrorCode::Overloaded,
                format!(
                    "the server holds {} connections, its limit (server.max_connections); retry \
                     after a short delay",
                    open.total
                ),
            ));
        }
        open.total += 1;
        *open.per_peer.entry(peer).or_default() += 1;
        Ok(ConnGuard {
            connections: self.clone(),
            peer,
        })
    }

    pub fn limits(&self) -> ConnLimits {
        self.limits
    }
}

/// Accepts until `stop` turns true, then waits for the open connections to finish their
/// requests (the caller bounds that wait).
pub async fn serve_http(
    listener: TcpListener,
    router: Router,
    connections: Arc<Connections>,
    mut stop: watch::Receiver<bool>,
) {
    let mut open = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(error = %e, "accepting an HTTP connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                match connections.admit(peer.ip()) {
                    Ok(guard) => {
                        let router = router.clone();
                        let limits = connections.limits();
                        open.spawn(serve_connection(stream, router, limits, guard, stop.clone()));
                    }
                    Err(refusal) => {
                        tracing::debug!(%peer, "connection refused: {}", refusal.message);
                        open.spawn(refuse(stream, refusal));
                    }
                }
            }
            Some(_) = open.join_next(), if !open.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    while open.join_next().await.is_some() {}
}

async fn serve_connection(
    stream: TcpStream,
    router: Router,
    limits: ConnLimits,
    guard: ConnGuard,
    mut stop: watch::Receiver<bool>,
) {
    let service =
        router.map_request(|req: axum::http::Request<Incoming>| req.map(axum::body::Body::new));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let conn = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::pin!(conn);
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::trace!(error = %e, "connection ended with an error");
                }
                break;
            }
            _ = stop.changed() => conn.as_mut().graceful_shutdown(),
        }
    }
    drop(guard);
}

/// Answers a refused connection with a 503 problem and closes it; a client that does not read
/// it within a second is dropped. Whatever the client had sent (its request) is read and thrown
/// away for up to a second after the answer, until it closes too: closing a socket with unread
/// bytes sends a reset, which can destroy the answer before the client reads it.
async fn refuse(mut stream: TcpStream, refusal: ApiError) {
    let body = serde_json::to_vec(&Problem {
        status: refusal.code.http_status(),
        code: refusal.code.as_str().to_owned(),
        message: refusal.message,
    })
    .unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {} Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: {RETRY_AFTER_SECS}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        refusal.code.http_status(),
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await
    })
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let mut sink = [0u8; 16 << 10];
        let mut thrown = 0usize;
        while thrown < LINGER_BYTES {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => thrown += n,
            }
        }
    })
    .await;
}

/// Most bytes a refused connection's request is read and thrown away for.
const LINGER_BYTES: usize = 4 << 20;

/// The gRPC listener's connections, counted like HTTP's: a connection past a cap is closed.
pub fn grpc_incoming(
    listener: TcpListener,
    connections: Arc<Connections>,
) -> impl Stream<Item = io::Result<Counted>> {
    let accepted = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio_stream::StreamExt::filter_map(accepted, move |conn| match conn {
        Err(e) => Some(Err(e)),
        Ok(stream) => {
            let peer = stream.peer_addr().ok()?.ip();
            match connections.admit(peer) {
                Ok(guard) => {
                    let _ = stream.set_nodelay(true);
                    Some(Ok(Counted {
                        stream,
                        _guard: guard,
                    }))
                }
                Err(refusal) => {
                    tracing::debug!(%peer, "gRPC connection refused: {}", refusal.message);
                    None
                }
            }
        }
    })
}

/// A TCP stream holding its place among the open connections.
#[derive(Debug)]
pub struct Counted {
    stream: TcpStream,
    _guard: ConnGuard,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

impl tonic::transport::server::Connected for Counted {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_peer: usize) -> ConnLimits {
        ConnLimits {
            max_total: total,
            max_per_peer: per_peer,
            header_read_timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn places_are_counted_per_peer_and_in_total_and_freed_on_drop() {
        let c = Connections::new(limits(3, 2));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = c.admit(a).unwrap();
        let _a2 = c.admit(a).unwrap();
        let refused = c.admit(a).unwrap_err();
        assert_eq!(refused.code, ErrorCode::Overloaded);
        assert!(
            refused.message.contains("max_connections_per_peer"),
            "{}",
            refused.message
        );
        let _b1 = c.admit(b).unwrap();
        let full = c.admit(b).unwrap_err();
        assert!(
            full.message.contains("server.max_connections"),
            "{}",
            full.message
        );
        drop(a1);
        assert!(c.admit(b).is_ok(), "a freed place is taken again");
        assert_eq!(c.lock().per_peer.get(&a), Some(&1));
    }
}
