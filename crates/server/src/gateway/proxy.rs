//! The gateway's handler, `ANY /gateway/<upstream>/<path>`: find the upstream and endpoint,
//! know the caller, read the body (capped), then for a model call: answer from the cache, or
//! admit it (rate limits, then budgets: refused calls never reach the upstream), forward it
//! with retries and fallbacks, and answer with the upstream's status, headers and bytes while
//! the call is recorded off the response's path. Failures the gateway answers itself use the
//! provider's own error shape.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Uri};
use axum::response::Response;
use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use serde_json::{json, Value as Json};
use sightline_core::gateway::budget::worst_case_cost;
use sightline_core::gateway::canonical::canonical_bytes;
use sightline_core::gateway::ratelimit::Policy;
use sightline_core::gateway::CallTags;
use sightline_core::money::usd_exact;
use sightline_core::time::format_rfc3339;
use sightline_core::{SpanId, TraceId};

use super::budgets::{AdmitError, Refused};
use super::cache::{cache_key, Lookup, DEFAULT_TTL_SECS, MAX_TTL_SECS};
use super::client::Answer;
use super::forward::{self, Target};
use super::headers::CallHeaders;
use super::providers::{
    with_include_usage, with_model, Endpoint, ErrorKind, Provider, ProviderKind,
};
use super::record::{CachePut, Call, CallRecord, Outcome};
use super::stream::{Finished, Tee};
use super::{Gateway, GatewayState, Upstream};
use crate::error::ErrorCode;

/// The largest answer read whole (streams are not read whole).
const MAX_ANSWER_BYTES: usize = 64 << 20;

/// `ANY /gateway/{upstream}/{*path}`.
pub async fn proxy(
    State(state): State<GatewayState>,
    Path((name, rest)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    state
        .0
        .handle(&name, &rest, &method, &uri, &headers, body)
        .await
}

/// An answer in `provider`'s error shape.
fn error(
    provider: &dyn Provider,
    status: u16,
    kind: ErrorKind,
    message: &str,
    extra: Option<Json>,
    headers: &[(&'static str, String)],
) -> Response {
    let body = provider.error_body(status, kind, message, extra);
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    add(&mut resp, headers);
    resp
}

fn add(resp: &mut Response, headers: &[(&'static str, String)]) {
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            resp.headers_mut().insert(HeaderName::from_static(name), v);
        }
    }
}

fn kind_of(code: ErrorCode) -> ErrorKind {
    match code {
        ErrorCode::Unauthenticated | ErrorCode::Forbidden => ErrorKind::Authentication,
        ErrorCode::InvalidArgument | ErrorCode::UnsupportedMediaType | ErrorCode::Conflict => {
            ErrorKind::InvalidRequest
        }
        ErrorCode::NotFound => ErrorKind::NotFound,
        ErrorCode::PayloadTooLarge => ErrorKind::TooLarge,
        ErrorCode::RateLimited => ErrorKind::RateLimited,
        _ => ErrorKind::Internal,
    }
}

/// The request body, refused past `limit` bytes.
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, (u16, String)> {
    let too_large = || {
        (
            413,
            format!("the request body exceeds the gateway's {limit} byte limit (gateway.max_body_bytes)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        if e.into_inner().is::<http_body_util::LengthLimitError>() {
            too_large()
        } else {
            (400, "could not read the request body".to_owned())
        }
    })
}

/// Upstream response headers the client gets: all but hop-by-hop fields and the length.
fn answer_headers(upstream: &HeaderMap) -> HeaderMap {
    const DROP: &[&str] = &[
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "te",
        "trailer",
        "upgrade",
    ];
    let mut out = HeaderMap::new();
    for (name, value) in upstream {
        if !DROP.contains(&name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

fn respond(
    status: u16,
    headers: HeaderMap,
    body: Body,
    ours: &[(&'static str, String)],
) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() =
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
    *resp.headers_mut() = headers;
    add(&mut resp, ours);
    resp
}

/// Reads an upstream answer whole, up to [`MAX_ANSWER_BYTES`], within `timeout`.
async fn read_answer(resp: Answer, timeout: Duration) -> Result<Bytes, String> {
    let read = Limited::new(resp.into_body(), MAX_ANSWER_BYTES).collect();
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(format!(
            "the upstream's answer exceeds {MAX_ANSWER_BYTES} bytes"
        )),
        Ok(Err(e)) => Err(format!("the upstream broke off its answer: {e}")),
        Err(_) => Err("the upstream did not finish its answer in time".into()),
    }
}

/// The 429 of a budget refusal: which budget, its limit, what is spent and held, and when it
/// resets.
fn budget_refusal(provider: &dyn Provider, r: &Refused, now_ns: i64) -> Response {
    let usd = |n: i64| usd_exact(i128::from(n));
    let resets = format_rfc3339(r.reset_ns);
    let message = format!(
        "budget {} ({}, {}) is used up: limit ${}, spent ${}, held by calls in flight ${}; this call may cost up to ${}; it resets at {resets}",
        r.budget.id,
        r.budget.scope,
        r.budget.window,
        usd(r.refusal.limit),
        usd(r.refusal.spent),
        usd(r.refusal.reserved),
        usd(r.refusal.needed),
    );
    let extra = json!({"budget": {
        "id": r.budget.id,
        "scope": r.budget.scope.to_string(),
        "window": r.budget.window.to_string(),
        "limit_usd": usd(r.refusal.limit),
        "spent_usd": usd(r.refusal.spent),
        "reserved_usd": usd(r.refusal.reserved),
        "needed_usd": usd(r.refusal.needed),
        "resets_at": resets,
    }});
    let wait = ((r.reset_ns - now_ns).max(0) / 1_000_000_000 + 1).to_string();
    error(
        provider,
        429,
        ErrorKind::BudgetExceeded,
        &message,
        Some(extra),
        &[("retry-after", wait)],
    )
}

impl Gateway {
    async fn handle(
        self: &Arc<Self>,
        name: &str,
        rest: &str,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Body,
    ) -> Response {
        let started = Instant::now();
        let start_ns = self.clock.now_ns();
        let Some(upstream) = self.upstream(name) else {
            let names: Vec<&str> = self
                .config
                .upstreams
                .iter()
                .map(|u| u.name.as_str())
                .collect();
            let message = format!(
                "unknown upstream {name:?}: this gateway serves {} (gateway.upstreams adds more)",
                names.join(", ")
            );
            return error(
                ProviderKind::OpenAi.provider(),
                404,
                ErrorKind::NotFound,
                &message,
                None,
                &[],
            );
        };
        let provider = upstream.kind.provider();
        let fail = |status: u16, kind: ErrorKind, message: &str| {
            error(provider, status, kind, message, None, &[])
        };
        let Some(endpoint) = provider.endpoint(method.as_str(), rest) else {
            let message = format!(
                "the gateway does not serve {method} /{rest} for {} upstreams; it serves {}",
                upstream.kind.as_str(),
                provider.served()
            );
            return fail(404, ErrorKind::NotFound, &message);
        };
        let who = match self.auth.gateway_caller(headers).await {
            Ok(w) => w,
            Err(e) => return fail(e.code.http_status(), kind_of(e.code), &e.message),
        };
        let project = who.caller.project();
        let key_id = who.caller.key_id();
        let body = match read_body(body, headers, self.config.max_body_bytes).await {
            Ok(b) => b,
            Err((413, m)) => return fail(413, ErrorKind::TooLarge, &m),
            Err((status, m)) => return fail(status, ErrorKind::InvalidRequest, &m),
        };
        let call = match CallHeaders::parse(headers) {
            Ok(c) => c,
            Err(e) => return fail(400, ErrorKind::InvalidRequest, &e),
        };
        // The provider key: the caller's own, else the one stored for its Sightline key.
        let stored = match &who.provider_key {
            Some(_) => None,
            None => match self.keys.resolve(project, &upstream.name, key_id).await {
                Ok(k) => k,
                Err(e) => return fail(500, ErrorKind::Internal, &e),
            },
        };
        let key = who
            .provider_key
            .clone()
            .or_else(|| stored.as_ref().map(|s| s.secret.clone()));
        if endpoint == Endpoint::Models {
            return self
                .pass_through(upstream, method, rest, uri.query(), headers, key)
                .await;
        }
        let info = match provider.parse_request(endpoint, &body) {
            Ok(i) => i,
            Err(e) => return fail(400, ErrorKind::InvalidRequest, &e),
        };
        let user = call.user.clone().or_else(|| info.user.clone());
        let tenant = call.tenant.clone();
        let properties = call.properties.clone();
        let tags = CallTags {
            tenant: tenant.as_deref(),
            user: user.as_deref(),
            key: key_id,
            properties: &properties,
        };
        let requested_policy = match call
            .rate_limit_policy
            .as_deref()
            .map(Policy::parse)
            .transpose()
        {
            Ok(p) => p,
            Err(e) => return fail(400, ErrorKind::InvalidRequest, &e),
        };
        let targets = match self
            .targets(
                upstream,
                &info,
                &call.fallbacks,
                &body,
                key,
                project,
                key_id,
            )
            .await
        {
            Ok(t) => t,
            Err(e) => return fail(400, ErrorKind::InvalidRequest, &e),
        };
        let (trace_id, parent) = match call.parent {
            Some((t, s)) => (t, Some(s)),
            None => (TraceId(rand::random()), None),
        };
        let mut ours: Vec<(&'static str, String)> = vec![("sightline-trace-id", trace_id.to_hex())];
        let prices = self.prices.registry(project).await;
        let mut record = CallRecord {
            project,
            key_id: key_id.map(str::to_owned),
            upstream: upstream.name.clone(),
            kind: upstream.kind,
            endpoint,
            headers: call,
            request: body.clone(),
            info,
            trace_id,
            parent,
            span_id: SpanId(rand::random()),
            start_ns,
            end_ns: start_ns,
            ttft_ns: None,
            outcome: Outcome::Abandoned,
            attempts: Vec::new(),
            prices: prices.clone(),
            reservation: None,
            limits: None,
            cache_put: None,
        };

        // The cache: a hit costs nothing and is answered at once.
        let h = &record.headers;
        let cache_ttl = h
            .cache_max_age
            .or(stored.as_ref().and_then(|s| s.cache_ttl_secs));
        let cache_on = h
            .cache
            .unwrap_or(stored.as_ref().is_some_and(|s| s.cache_ttl_secs.is_some()));
        if cache_on {
            let canonical = canonical_bytes(&body).unwrap_or_default();
            let seed = h.cache_seed.as_deref().unwrap_or("");
            let key = cache_key(project, seed, uri.path(), &canonical);
            match self
                .cache
                .lookup(project, &key, h.cache_bucket, start_ns)
                .await
            {
                Ok(Lookup::Hit(entry)) => {
                    ours.push(("sightline-cache", "HIT".into()));
                    return self.replay(record, *entry, &ours);
                }
                Ok(Lookup::Miss { slot }) => {
                    let ttl = cache_ttl.unwrap_or(DEFAULT_TTL_SECS).min(MAX_TTL_SECS);
                    let ttl_ns =
                        i64::try_from(ttl).unwrap_or(i64::MAX / 1_000_000_000) * 1_000_000_000;
                    record.cache_put = Some(CachePut {
                        key,
                        slot,
                        expires_ns: start_ns.saturating_add(ttl_ns),
                    });
                    ours.push(("sightline-cache", "MISS".into()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "gateway cache lookup failed; calling the upstream")
                }
            }
        }

        // Rate limits, then budgets: a refused call never reaches the upstream.
        match self
            .limits
            .admit(project, &tags, requested_policy.as_ref(), start_ns)
            .await
        {
            Ok(Ok(admitted)) => {
                ours.extend(admitted.headers.iter().cloned());
                record.limits = Some(admitted);
            }
            Ok(Err(limited)) => {
                let mut fields = limited.headers.clone();
                fields.push(("retry-after", limited.retry_after_secs.to_string()));
                let message = format!(
                    "rate limit {} reached; retry in {} s",
                    limited.policy.to_text(),
                    limited.retry_after_secs
                );
                return error(
                    provider,
                    429,
                    ErrorKind::RateLimited,
                    &message,
                    None,
                    &fields,
                );
            }
            Err(e) => {
                return fail(
                    503,
                    ErrorKind::Internal,
                    &format!("rate limits unavailable: {e}"),
                )
            }
        }
        let max_out = i64::try_from(
            record
                .info
                .max_tokens
                .unwrap_or(self.config.reserve_max_tokens),
        )
        .unwrap_or(i64::MAX);
        let input_bound = i64::try_from(body.len()).unwrap_or(i64::MAX);
        // Priced only when a budget applies.
        let worst = || {
            targets
                .iter()
                .filter_map(|t| prices.lookup(Some(&t.upstream.name), &t.model, start_ns))
                .map(|e| worst_case_cost(e, input_bound, max_out))
                .max()
                .unwrap_or(0)
        };
        let retries = record.headers.retries.unwrap_or(self.config.retries);
        let tries = (retries + 1).saturating_mul(targets.len() as u32);
        let lifetime = self.config.timeout.saturating_mul(tries)
            + Duration::from_secs(60 + 10 * u64::from(tries));
        let expires_ns =
            start_ns.saturating_add(i64::try_from(lifetime.as_nanos()).unwrap_or(i64::MAX));
        match self.budgets.admit(project, &tags, worst, expires_ns).await {
            Ok(r) => record.reservation = r,
            Err(AdmitError::Refused(r)) => {
                return budget_refusal(provider, &r, self.clock.now_ns())
            }
            Err(AdmitError::Store(e)) => {
                return fail(
                    503,
                    ErrorKind::Internal,
                    &format!("budgets unavailable: {e}"),
                )
            }
        }

        // Forward. A stream is asked for its usage when the client did not ask.
        let strip = provider.needs_usage_request(endpoint, &record.info);
        let targets: Vec<Target<'_>> = targets
            .into_iter()
            .map(|mut t| {
                if strip {
                    t.body = with_include_usage(&t.body);
                }
                t
            })
            .collect();
        let policy = forward::Policy {
            retries,
            backoff: self.config.retry_backoff,
            timeout: self.config.timeout,
        };
        let call = Call::new(self.recorder.clone(), self.clock.clone(), record);
        let forwarded = forward::forward(
            &self.http,
            self.clock.as_ref(),
            method,
            rest,
            uri.query(),
            headers,
            targets,
            policy,
        )
        .await;
        let (answered_by, attempts) = (forwarded.upstream, forwarded.attempts);
        let resp = match forwarded.response {
            Ok(r) => r,
            Err(message) => {
                let status = if forwarded.timed_out { 504 } else { 502 };
                call.finish(|r| {
                    r.outcome = Outcome::Failed {
                        message: message.clone(),
                    };
                    r.attempts = attempts;
                    r.upstream = answered_by;
                });
                return error(provider, status, ErrorKind::Upstream, &message, None, &ours);
            }
        };
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let headers_out = answer_headers(resp.headers());
        if (200..300).contains(&status) && content_type.starts_with("text/event-stream") {
            let finish = move |f: Finished| {
                call.finish(|r| {
                    r.ttft_ns = f
                        .first_chunk
                        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
                    r.outcome = Outcome::Answered {
                        status,
                        content_type,
                        body: f.bytes,
                        stream: true,
                        complete: f.complete,
                        client_gone: f.client_gone,
                        strip_usage: strip,
                    };
                    r.attempts = attempts;
                    r.upstream = answered_by;
                })
            };
            let tee = Tee::new(
                resp,
                strip.then_some((provider, endpoint)),
                started,
                self.config.timeout,
                Box::new(finish),
            );
            return respond(status, headers_out, Body::from_stream(tee), &ours);
        }
        match read_answer(resp, self.config.timeout).await {
            Ok(bytes) => {
                let body = bytes.clone();
                call.finish(|r| {
                    r.outcome = Outcome::Answered {
                        status,
                        content_type,
                        body,
                        stream: false,
                        complete: true,
                        client_gone: false,
                        strip_usage: false,
                    };
                    r.attempts = attempts;
                    r.upstream = answered_by;
                });
                respond(status, headers_out, Body::from(bytes), &ours)
            }
            Err(message) => {
                call.finish(|r| {
                    r.outcome = Outcome::Failed {
                        message: message.clone(),
                    };
                    r.attempts = attempts;
                    r.upstream = answered_by;
                });
                error(provider, 502, ErrorKind::Upstream, &message, None, &ours)
            }
        }
    }

    /// The request's targets: its own upstream and model, then each fallback (`upstream/model`
    /// or `model`; the upstream must speak the same API), each with its provider key.
    #[allow(clippy::too_many_arguments)]
    async fn targets<'a>(
        &'a self,
        primary: &'a Upstream,
        info: &super::providers::RequestInfo,
        fallbacks: &[String],
        body: &Bytes,
        key: Option<String>,
        project: sightline_core::ProjectId,
        caller_key: Option<&str>,
    ) -> Result<Vec<Target<'a>>, String> {
        let mut out = vec![Target {
            upstream: primary,
            model: info.model.clone(),
            body: body.clone(),
            key: key.clone(),
        }];
        for f in fallbacks {
            let (upstream, model) = match f.split_once('/') {
                Some((name, model)) if self.upstream(name).is_some() => {
                    (self.upstream(name), model)
                }
                _ => (Some(primary), f.as_str()),
            };
            let Some(upstream) = upstream else { continue };
            if upstream.kind != primary.kind {
                return Err(format!(
                    "fallback {f:?}: upstream {} speaks {}, this call speaks {}; fall back to upstreams of the same kind",
                    upstream.name,
                    upstream.kind.as_str(),
                    primary.kind.as_str()
                ));
            }
            let key = if upstream.name == primary.name {
                key.clone()
            } else {
                self.keys
                    .resolve(project, &upstream.name, caller_key)
                    .await?
                    .map(|k| k.secret)
                    .or_else(|| key.clone())
            };
            let body = if model == info.model {
                body.clone()
            } else {
                with_model(body, model)
            };
            out.push(Target {
                upstream,
                model: model.to_owned(),
                body,
                key,
            });
        }
        Ok(out)
    }

    /// `GET /v1/models`: forwarded once, answered as it came, not recorded.
    async fn pass_through(
        &self,
        upstream: &Upstream,
        method: &Method,
        rest: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        key: Option<String>,
    ) -> Response {
        let provider = upstream.kind.provider();
        let target = Target {
            upstream,
            model: String::new(),
            body: Bytes::new(),
            key,
        };
        let policy = forward::Policy {
            retries: 0,
            backoff: self.config.retry_backoff,
            timeout: self.config.timeout,
        };
        let f = forward::forward(
            &self.http,
            self.clock.as_ref(),
            method,
            rest,
            query,
            headers,
            vec![target],
            policy,
        )
        .await;
        match f.response {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers_out = answer_headers(resp.headers());
                match read_answer(resp, self.config.timeout).await {
                    Ok(bytes) => respond(status, headers_out, Body::from(bytes), &[]),
                    Err(m) => error(provider, 502, ErrorKind::Upstream, &m, None, &[]),
                }
            }
            Err(m) => error(
                provider,
                if f.timed_out { 504 } else { 502 },
                ErrorKind::Upstream,
                &m,
                None,
                &[],
            ),
        }
    }

    /// A cache hit: the stored answer (a stream replayed event by event), recorded as a hit.
    fn replay(
        &self,
        mut record: CallRecord,
        entry: sightline_store::CachedResponse,
        ours: &[(&'static str, String)],
    ) -> Response {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&entry.content_type) {
            headers.insert(header::CONTENT_TYPE, v);
        }
        let body = if entry.stream {
            let events: Vec<Result<Bytes, std::io::Error>> = super::sse::events(&entry.body)
                .into_iter()
                .map(Ok)
                .collect();
            Body::from_stream(tokio_stream::iter(events))
        } else {
            Body::from(entry.body.clone())
        };
        let status = entry.status;
        record.end_ns = self.clock.now_ns();
        record.outcome = Outcome::CacheHit(Box::new(entry));
        record.ttft_ns = Some(record.end_ns - record.start_ns);
        self.recorder.submit(record);
        respond(status, headers, body, ours)
    }
}
