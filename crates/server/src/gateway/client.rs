//! The HTTP client the gateway calls upstreams with: hyper's pooled client, plain HTTP or TLS
//! (rustls with the ring provider, the system's root certificates). Kept to the gateway so the
//! binary's other HTTP clients (ClickHouse, the CLI) are not touched by it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::{ConfigBuilderExt, HttpsConnector};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The upstream client.
pub type Http = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;
/// An upstream's answer, its body still to be read.
pub type Answer = hyper::Response<hyper::body::Incoming>;

/// A pooled client. Without usable system root certificates HTTPS upstreams fail (said in the
/// log); plain HTTP ones (local servers, tests) work either way.
pub fn http() -> Result<Http, String> {
    let mut plain = HttpConnector::new();
    plain.enforce_http(false);
    plain.set_nodelay(true);
    plain.set_connect_timeout(Some(Duration::from_secs(10)));
    let versions = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?;
    let tls = match versions.clone().with_native_roots() {
        Ok(b) => b.with_no_client_auth(),
        Err(e) => {
            tracing::warn!(error = %e, "no system root certificates: HTTPS upstreams will fail");
            versions
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        }
    };
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(plain);
    Ok(Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector))
}
