//! A small OTLP/HTTP protobuf exporter for the demo and the query benchmark's loading: posts
//! traces and logs, waits out 429/503 as the server asks, and turns every other failure
//! into a message that names the URL and what to do about it (with the server's own message
//! as text, never the protobuf bytes of its `google.rpc.Status`).

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message as _;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one export keeps retrying while the server answers 429/503.
const THROTTLE_BUDGET: Duration = Duration::from_secs(60);

/// Exports to one server with one (optional) key.
#[derive(Clone)]
pub struct OtlpHttp {
    http: reqwest::Client,
    base: String,
    api_key: Option<String>,
}

/// What the server did not take from an acknowledged export (OTLP partial success).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub count: u64,
    pub message: String,
}

impl OtlpHttp {
    /// A client for the server at `base_url` (`/v1/traces` and `/v1/logs` are appended).
    pub fn new(base_url: &str, api_key: Option<String>) -> anyhow::Result<Self> {
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--url {base_url:?} must start with http:// or https:// (e.g. http://127.0.0.1:4318)");
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            http,
            base,
            api_key: api_key.filter(|k| !k.is_empty()),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// A GET request to `path` on the server, with the key when one is set.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.get(format!("{}{path}", self.base));
        match &self.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    pub async fn traces(&self, request: &ExportTraceServiceRequest) -> anyhow::Result<Rejected> {
        self.traces_encoded(request.encode_to_vec()).await
    }

    /// Posts an already encoded `ExportTraceServiceRequest`.
    pub async fn traces_encoded(&self, body: Vec<u8>) -> anyhow::Result<Rejected> {
        let answer = self.post("/v1/traces", body).await?;
        let partial = ExportTraceServiceResponse::decode(answer.as_ref())
            .ok()
            .and_then(|r| r.partial_success);
        Ok(partial.map_or_else(Rejected::default, |p| Rejected {
            count: p.rejected_spans.max(0) as u64,
            message: p.error_message,
        }))
    }

    pub async fn logs(&self, request: &ExportLogsServiceRequest) -> anyhow::Result<Rejected> {
        self.logs_encoded(request.encode_to_vec()).await
    }

    /// Posts an already encoded `ExportLogsServiceRequest`.
    pub async fn logs_encoded(&self, body: Vec<u8>) -> anyhow::Result<Rejected> {
        let answer = self.post("/v1/logs", body).await?;
        let partial = ExportLogsServiceResponse::decode(answer.as_ref())
            .ok()
            .and_then(|r| r.partial_success);
        Ok(partial.map_or_else(Rejected::default, |p| Rejected {
            count: p.rejected_log_records.max(0) as u64,
            message: p.error_message,
        }))
    }

    /// Posts `body` until it is acknowledged; 429/503 are retried after `Retry-After`.
    async fn post(&self, path: &str, body: Vec<u8>) -> anyhow::Result<bytes::Bytes> {
        let url = format!("{}{path}", self.base);
        let body = bytes::Bytes::from(body);
        let started = Instant::now();
        loop {
            let mut request = self
                .http
                .post(&url)
                .header("content-type", "application/x-protobuf")
                .body(body.clone());
            if let Some(key) = &self.api_key {
                request = request.bearer_auth(key);
            }
            let response = request.send().await.map_err(|e| {
                anyhow!(
                    "cannot reach the server at {}: {e}; is `sightline serve` running there? \
                     Point --url (or SIGHTLINE_URL) at its HTTP address",
                    self.base
                )
            })?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                .map_or(Duration::from_millis(200), Duration::from_secs);
            let answer = response.bytes().await.unwrap_or_default();
            if status.is_success() {
                return Ok(answer);
            }
            let text = answer_text(&answer);
            match status.as_u16() {
                429 | 503 if started.elapsed() + retry_after < THROTTLE_BUDGET => {
                    tokio::time::sleep(retry_after.min(Duration::from_secs(5))).await;
                }
                401 | 403 => bail!(self.auth_error(status, &text)),
                _ => bail!("POST {url} answered {status}: {text}"),
            }
        }
    }

    fn auth_error(&self, status: reqwest::StatusCode, text: &str) -> String {
        match &self.api_key {
            None => format!(
                "the server at {} wants an API key ({status}: {text}); pass one with --api-key \
                 or SIGHTLINE_API_KEY (create one with `sightline keys create`)",
                self.base
            ),
            Some(key) => format!(
                "the server at {} refused the API key {} ({status}: {text}); check --api-key or \
                 SIGHTLINE_API_KEY",
                self.base,
                redact(key)
            ),
        }
    }
}

/// `google.rpc.Status`, the body of an OTLP/HTTP failure in protobuf; only its message is read.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(string, tag = "2")]
    message: String,
}

/// The server's message in a failure's body, as text: the `message` of a JSON problem or
/// `google.rpc.Status`, the body itself when it is short plain text, else its size (never raw
/// bytes).
pub fn answer_text(body: &[u8]) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    if let Some(m) = json.as_ref().and_then(|v| v.get("message")?.as_str()) {
        return m.to_owned();
    }
    if let Ok(text) = std::str::from_utf8(body) {
        if !text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return text.trim().chars().take(300).collect();
        }
    }
    match RpcStatus::decode(body) {
        Ok(status) if !status.message.is_empty() => status.message,
        _ => format!("a {}-byte answer that is not text", body.len()),
    }
}

/// The first few characters of a secret, enough to tell keys apart.
fn redact(key: &str) -> String {
    let shown: String = key.chars().take(6).collect();
    format!("{shown}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_read_as_the_servers_message_never_as_bytes() {
        let status = RpcStatus {
            message: "missing Authorization header".into(),
        };
        assert_eq!(
            answer_text(&status.encode_to_vec()),
            "missing Authorization header"
        );
        let problem = br#"{"status":401,"code":"unauthenticated","message":"invalid API key"}"#;
        assert_eq!(answer_text(problem), "invalid API key");
        assert_eq!(answer_text(b"  upstream down\n"), "upstream down");
        assert_eq!(
            answer_text(&[0xff, 0x00, 0x13]),
            "a 3-byte answer that is not text"
        );
    }
}
