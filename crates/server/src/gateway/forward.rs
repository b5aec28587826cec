//! Calling the upstreams: the request goes to each target in turn (the request's own upstream
//! and model, then its fallbacks), each tried again after 429, 5xx, a connection error or a
//! timeout, with exponential backoff and full jitter (at least the upstream's `Retry-After`),
//! a bounded number of times. The last answer is returned as it came, so when every try fails
//! the client gets the upstream's own error. Every try is noted for the trace.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use bytes::Bytes;
use http_body_util::Full;
use sightline_core::time::Clock;
use sightline_core::SpanId;

use super::client::{Answer, Http};
use super::headers::CallHeaders;
use super::providers::KeyHeader;
use super::record::Attempt;
use super::Upstream;
use crate::auth::{bearer_header, is_credential_header};

/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// One place to send the request: an upstream, the model, the body (with that model) and key.
pub struct Target<'a> {
    pub upstream: &'a Upstream,
    pub model: String,
    pub body: Bytes,
    pub key: Option<String>,
}

/// How a forwarded request ended.
pub struct Forwarded {
    /// The last answer (any status), or why no upstream answered.
    pub response: Result<Answer, String>,
    /// The upstream of the last try.
    pub upstream: String,
    pub attempts: Vec<Attempt>,
    /// The last try's failure was a timeout.
    pub timed_out: bool,
}

/// How many tries and how long each may take.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub retries: u32,
    pub backoff: Duration,
    pub timeout: Duration,
}

fn retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504 | 529)
}

/// Whether another target may do better after this status (not for a request that is wrong).
fn worth_a_fallback(status: u16) -> bool {
    !(200..300).contains(&status) && !matches!(status, 400 | 413 | 422)
}

/// Request headers that go upstream: everything but hop-by-hop fields, the host, the length,
/// compression (answers are read to record them), credentials and the gateway's own headers.
pub fn forwarded_headers(headers: &HeaderMap) -> HeaderMap {
    const HOP: &[&str] = &[
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "accept-encoding",
    ];
    let mut out = HeaderMap::new();
    for (name, value) in headers {
        let n = name.as_str();
        if HOP.contains(&n) || is_credential_header(name) || CallHeaders::is_ours(n) {
            continue;
        }
        out.append(name.clone(), value.clone());
    }
    out
}

/// The wait before try `n` (0-based) after a failure: exponential with full jitter, at least
/// `retry_after`, at most [`MAX_BACKOFF`].
fn backoff(base: Duration, n: u32, retry_after: Option<Duration>) -> Duration {
    let exp = base.saturating_mul(1u32 << n.min(16)).min(MAX_BACKOFF);
    let jittered = exp.mul_f64(rand::random_range(0.5..=1.0));
    jittered
        .max(retry_after.unwrap_or_default())
        .min(MAX_BACKOFF)
}

fn retry_after(resp: &Answer) -> Option<Duration> {
    resp.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Sends the request to `targets` in turn, with retries, until one answers 2xx or all are
/// tried.
#[allow(clippy::too_many_arguments)]
pub async fn forward(
    http: &Http,
    clock: &dyn Clock,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    targets: Vec<Target<'_>>,
    policy: Policy,
) -> Forwarded {
    let base_headers = forwarded_headers(headers);
    let mut attempts = Vec::new();
    let mut last: Result<Answer, String> = Err("no upstream was tried".into());
    let mut upstream = String::new();
    let mut timed_out = false;
    let count = targets.len();
    for (t, target) in targets.into_iter().enumerate() {
        upstream = target.upstream.name.clone();
        let mut url = format!(
            "{}/{}",
            target.upstream.base_url,
            path.trim_start_matches("v1/")
        );
        if let Some(q) = query {
            url.push('?');
            url.push_str(q);
        }
        for n in 0..=policy.retries {
            let req = match request(method, &url, &base_headers, &target) {
                Ok(r) => r,
                Err(e) => {
                    last = Err(e);
                    break;
                }
            };
            let start_ns = clock.now_ns();
            let sent = tokio::time::timeout(policy.timeout, http.request(req)).await;
            let mut attempt = Attempt {
                upstream: upstream.clone(),
                model: target.model.clone(),
                span_id: SpanId(rand::random()),
                status: None,
                error: None,
                start_ns,
                end_ns: clock.now_ns(),
            };
            let (again, wait) = match sent {
                Ok(Ok(resp)) => {
                    let status = resp.status().as_u16();
                    attempt.status = Some(status);
                    timed_out = false;
                    let wait = retry_after(&resp);
                    let again = retryable(status);
                    let fallback = worth_a_fallback(status);
                    attempts.push(attempt);
                    last = Ok(resp);
                    if (200..300).contains(&status) || (!again && (!fallback || t + 1 == count)) {
                        return done(last, upstream, attempts, timed_out);
                    }
                    if !again {
                        break;
                    }
                    (again, wait)
                }
                Ok(Err(e)) => {
                    let message = format!("cannot reach {}: {e}", target.upstream.name);
                    attempt.error = Some(message.clone());
                    attempts.push(attempt);
                    timed_out = false;
                    last = Err(message);
                    (true, None)
                }
                Err(_) => {
                    let message = format!(
                        "{} did not answer within {} s",
                        target.upstream.name,
                        policy.timeout.as_secs()
                    );
                    attempt.error = Some(message.clone());
                    attempts.push(attempt);
                    timed_out = true;
                    last = Err(message);
                    (true, None)
                }
            };
            if again && n < policy.retries {
                tokio::time::sleep(backoff(policy.backoff, n, wait)).await;
            }
        }
    }
    done(last, upstream, attempts, timed_out)
}

/// The request to `url` for `target`, with the provider key where its provider takes it.
fn request(
    method: &Method,
    url: &str,
    headers: &HeaderMap,
    target: &Target<'_>,
) -> Result<Request<Full<Bytes>>, String> {
    let mut req = Request::builder()
        .method(method.clone())
        .uri(url)
        .body(Full::new(target.body.clone()))
        .map_err(|e| format!("cannot call {url}: {e}"))?;
    *req.headers_mut() = headers.clone();
    if let Some(key) = &target.key {
        let (name, value) = match target.upstream.kind.provider().key_header() {
            KeyHeader::Bearer => bearer_header(key),
            KeyHeader::Named(name) => (HeaderName::from_static(name), key.clone()),
        };
        let value = HeaderValue::from_str(&value)
            .map_err(|_| "the provider key holds characters a header cannot carry".to_owned())?;
        req.headers_mut().insert(name, value);
    }
    Ok(req)
}

fn done(
    response: Result<Answer, String>,
    upstream: String,
    attempts: Vec<Attempt>,
    timed_out: bool,
) -> Forwarded {
    Forwarded {
        response,
        upstream,
        attempts,
        timed_out,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let base = Duration::from_millis(100);
        for n in 0..6 {
            let d = backoff(base, n, None);
            let full = base * (1 << n);
            assert!(d >= full / 2 && d <= full, "{n}: {d:?}");
        }
        assert_eq!(backoff(base, 30, None).max(MAX_BACKOFF), MAX_BACKOFF);
        assert!(backoff(base, 0, Some(Duration::from_secs(3))) >= Duration::from_secs(3));
        assert_eq!(backoff(base, 0, Some(Duration::from_secs(99))), MAX_BACKOFF);
    }

    #[test]
    fn credentials_and_our_headers_stay_behind() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("x-api-key", "sk-ant"),
            ("sightline-auth", "Bearer sk-sl-1"),
            ("helicone-property-x", "1"),
            ("host", "gw"),
            ("accept-encoding", "gzip"),
            ("anthropic-version", "2023-06-01"),
            ("openai-beta", "assistants=v2"),
            ("content-type", "application/json"),
        ] {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let out = forwarded_headers(&h);
        let names: Vec<&str> = out.keys().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        for kept in ["anthropic-version", "openai-beta", "content-type"] {
            assert!(names.contains(&kept), "{kept}");
        }
        assert!(retryable(529) && retryable(429) && !retryable(400));
        assert!(worth_a_fallback(404) && !worth_a_fallback(400) && !worth_a_fallback(200));
    }
}
