//! The LLM gateway: OpenAI- and Anthropic-compatible endpoints under `/gateway/<upstream>/`
//! on the HTTP listener, forwarding each call to its upstream byte for byte (apart from what a
//! feature changes) and recording it as an llm or embedding observation through the ingest
//! service. On the way: the caller's Sightline key or provider key (`auth/`), the response cache,
//! rate limits and budgets at admission, retries and fallbacks, and stored provider keys.
//! docs/gateway.md is the user's reference.
//!
//! One file per part: `proxy.rs` (the handler: admission, forwarding, answering), `providers/`
//! (one file per API shape), `forward.rs` (HTTP, retries, fallbacks), `stream.rs` (streamed
//! answers), `record.rs` (settling and recording), `budgets.rs`, `limits.rs`, `cache.rs`,
//! `keys.rs` (stored provider keys), `headers.rs` (what a request's headers say), `api.rs` (the
//! management API), `sse.rs`. The decisions are core's (`sightline_core::gateway`).

mod api;
mod budgets;
mod cache;
mod client;
mod forward;
mod headers;
mod keys;
mod limits;
mod project_cache;
mod providers;
mod proxy;
mod record;
mod spans;
mod sse;
mod stream;
#[cfg(test)]
mod test_store;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sightline_core::time::Clock;
use sightline_store::Engine;
use tokio::sync::watch;

use crate::auth::Authenticator;
use crate::ingest::IngestService;
use crate::pricing::PriceBook;

pub use api::{
    delete_budget, delete_key, delete_rate_limit, list_budget_events, list_budgets, list_keys,
    list_rate_limits, put_budget, put_key, put_rate_limit, upstreams,
};
pub use budgets::{Budgets, TelemetrySpend};
pub use keys::parse_secret;
pub use providers::ProviderKind;
pub use proxy::proxy;

/// One configured upstream: where calls to `/gateway/<name>/...` go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub name: String,
    pub kind: ProviderKind,
    /// The API root including its version, without a trailing slash
    /// (`https://api.openai.com/v1`).
    pub base_url: String,
}

/// The upstreams every gateway has unless the configuration replaces them.
pub const DEFAULT_UPSTREAMS: &str =
    "openai=https://api.openai.com/v1,anthropic=https://api.anthropic.com/v1";

impl Upstream {
    /// Parses `name=[kind:]url` entries, comma-separated, over the defaults (an entry with a
    /// default's name replaces it). The kind is `openai` or `anthropic`; without one it is
    /// `anthropic` for an upstream named so and `openai` otherwise.
    pub fn parse_list(text: &str) -> Result<Vec<Upstream>, String> {
        let mut out: Vec<Upstream> = Vec::new();
        for entry in DEFAULT_UPSTREAMS.split(',').chain(text.split(',')) {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let (name, rest) = entry.split_once('=').ok_or_else(|| {
                format!("{entry:?} is not name=url (e.g. vllm=openai:http://127.0.0.1:8000/v1)")
            })?;
            let name = name.trim().to_ascii_lowercase();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(format!(
                    "upstream name {name:?}: use letters, digits, '-', '_' or '.'"
                ));
            }
            let rest = rest.trim();
            let (kind, url) = match rest.split_once(':') {
                Some((k, u)) if ProviderKind::parse(k).is_some() && !u.starts_with("//") => {
                    (ProviderKind::parse(k), u)
                }
                _ => (None, rest),
            };
            let kind = kind.unwrap_or(if name == "anthropic" {
                ProviderKind::Anthropic
            } else {
                ProviderKind::OpenAi
            });
            let url = url.trim().trim_end_matches('/');
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
                return Err(format!("upstream {name}: {url:?} is not an http(s) URL"));
            }
            let upstream = Upstream {
                name: name.clone(),
                kind,
                base_url: url.to_owned(),
            };
            match out.iter_mut().find(|u| u.name == name) {
                Some(u) => *u = upstream,
                None => out.push(upstream),
            }
        }
        Ok(out)
    }
}

/// The gateway's settings (`[gateway]`).
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayConfig {
    pub upstreams: Vec<Upstream>,
    pub max_body_bytes: usize,
    pub retries: u32,
    pub retry_backoff: Duration,
    /// Per try: how long until the answer's headers; for a stream, how long it may last.
    pub timeout: Duration,
    pub record_queue: usize,
    /// The output tokens a call is reserved for in its budgets when it names no maximum.
    pub reserve_max_tokens: u64,
    /// The provider-key vault's secret; `None`: a file in the data directory.
    pub encryption_key: Option<[u8; 32]>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            upstreams: Upstream::parse_list("").unwrap_or_default(),
            max_body_bytes: 20 << 20,
            retries: 2,
            retry_backoff: Duration::from_millis(250),
            timeout: Duration::from_secs(600),
            record_queue: 10_000,
            reserve_max_tokens: 4096,
            encryption_key: None,
        }
    }
}

/// What the gateway works with.
pub struct Gateway {
    config: GatewayConfig,
    store: Arc<dyn Engine>,
    auth: Arc<Authenticator>,
    prices: Arc<PriceBook>,
    clock: Arc<dyn Clock>,
    http: client::Http,
    budgets: Arc<Budgets>,
    limits: Arc<limits::Limits>,
    cache: Arc<cache::ResponseCache>,
    keys: keys::ProviderKeys,
    recorder: Arc<record::Recorder>,
}

/// The router's handle on the gateway.
#[derive(Clone)]
pub struct GatewayState(pub Arc<Gateway>);

#[derive(Debug, thiserror::Error)]
pub enum GatewayStartError {
    #[error("the gateway's encryption key: {0}")]
    Secret(String),
    #[error("cannot make the gateway's HTTP client: {0}")]
    Client(String),
}

impl Gateway {
    /// Builds the gateway. `budgets` is made first (`Budgets::new`) so that its
    /// [`TelemetrySpend`] listener can be registered with the ingest service.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: GatewayConfig,
        store: Arc<dyn Engine>,
        ingest: Arc<IngestService>,
        auth: Arc<Authenticator>,
        prices: Arc<PriceBook>,
        clock: Arc<dyn Clock>,
        budgets: Arc<Budgets>,
        data_dir: &Path,
    ) -> Result<Gateway, GatewayStartError> {
        let secret = keys::vault_secret(config.encryption_key, data_dir)
            .map_err(|e| GatewayStartError::Secret(e.to_string()))?;
        let vault = keys::Vault::new(&secret).map_err(GatewayStartError::Secret)?;
        let http = client::http().map_err(GatewayStartError::Client)?;
        let limits = Arc::new(limits::Limits::new(store.clone()));
        let cache = Arc::new(cache::ResponseCache::new(store.clone()));
        let recorder = Arc::new(record::Recorder::new(
            config.record_queue,
            ingest,
            cache.clone(),
            limits.clone(),
        ));
        Ok(Gateway {
            keys: keys::ProviderKeys::new(store.clone(), vault),
            store,
            config,
            auth,
            prices,
            clock,
            http,
            budgets,
            limits,
            cache,
            recorder,
        })
    }

    async fn store_rate_limit(
        &self,
        project: sightline_core::ProjectId,
        rule: &sightline_store::RateLimitRule,
    ) -> Result<(), sightline_store::StoreError> {
        let r = self.store.put_rate_limit(project, rule).await;
        self.limits.invalidate(project);
        r
    }

    async fn delete_rate_limit(
        &self,
        project: sightline_core::ProjectId,
        id: &str,
    ) -> Result<bool, sightline_store::StoreError> {
        let r = self
            .store
            .delete_rate_limit(project, id, self.clock.now_ns())
            .await;
        self.limits.invalidate(project);
        r
    }

    pub fn upstream(&self, name: &str) -> Option<&Upstream> {
        self.config.upstreams.iter().find(|u| u.name == name)
    }

    /// Records the calls handed over (until `stop`, then what is queued).
    pub fn recorder_job(
        &self,
        stop: watch::Receiver<bool>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.recorder.clone().run(stop)
    }

    /// Stores budget settlements and notifications, counts telemetry spend, expires
    /// reservations.
    pub fn budgets_job(
        &self,
        stop: watch::Receiver<bool>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.budgets.clone().run(stop)
    }

    /// Deletes expired cache entries every minute.
    pub fn cache_job(
        &self,
        mut stop: watch::Receiver<bool>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let cache = self.cache.clone();
        let clock = self.clock.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(e) = cache.purge(clock.now_ns()).await {
                            tracing::warn!(error = %e, "cannot purge the gateway cache");
                        }
                    }
                    _ = stop.changed() => break,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstreams_parse_over_the_defaults() {
        let list = Upstream::parse_list(
            "openai=http://127.0.0.1:9/v1/, vllm=http://h:8000/v1,claude=anthropic:https://c/v1",
        )
        .unwrap();
        let got: Vec<(&str, ProviderKind, &str)> = list
            .iter()
            .map(|u| (u.name.as_str(), u.kind, u.base_url.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("openai", ProviderKind::OpenAi, "http://127.0.0.1:9/v1"),
                (
                    "anthropic",
                    ProviderKind::Anthropic,
                    "https://api.anthropic.com/v1"
                ),
                ("vllm", ProviderKind::OpenAi, "http://h:8000/v1"),
                ("claude", ProviderKind::Anthropic, "https://c/v1"),
            ]
        );
        for bad in ["nope", "x=ftp://h", "b@d=http://h:1/v1", "=http://h:1/v1"] {
            assert!(Upstream::parse_list(bad).is_err(), "{bad}");
        }
    }
}
