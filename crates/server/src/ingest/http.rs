//! HTTP receivers: OTLP/HTTP traces, logs and metrics (traces also on the Langfuse SDK's path)
//! and the native event receiver.
//! Handlers get the caller by their signature, read the body under the admission budget and
//! the size cap, decode it and call the one ingest service; the routes are in `app/routes.rs`.
//!
//! An answer given before the whole body arrived (refused, unauthenticated, too large) is given
//! after the rest of the body is read and thrown away ([`Incoming::answer`]), or, when that would
//! take too long, with `Connection: close`: a keep-alive client then neither reuses a connection
//! the server is about to close nor loses the answer to the reset that closing a socket with
//! unread bytes sends.

use axum::body::{Body, BodyDataStream};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;
use tokio_stream::StreamExt;

use super::admission::Ticket;
use super::body::{decode_body, human_size, BodyError, BodyRules, RATE_GRACE};
use super::otlp::{self, Format};
use super::IngestState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};

/// Which OTLP signal a request carries.
#[derive(Clone, Copy)]
enum Signal {
    Traces,
    Logs,
    Metrics,
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn otlp_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let ct = header_str(headers, header::CONTENT_TYPE).unwrap_or("");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Format::Protobuf),
        "application/json" => Ok(Format::Json),
        _ => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("Content-Type {ct:?} is not supported: send application/x-protobuf or application/json"),
        )),
    }
}

/// An OTLP failure: a `google.rpc.Status` in the request's format (JSON when it was unknown).
fn otlp_error(e: &ApiError, format: Option<Format>) -> Response {
    let format = format.unwrap_or(Format::Json);
    let body = otlp::encode_status(e.code.grpc_code() as i32, &e.message, format);
    let mut resp = (
        e.code.status(),
        [(header::CONTENT_TYPE, content_type(format))],
        body,
    )
        .into_response();
    e.code.add_retry_after(&mut resp);
    resp
}

fn content_type(format: Format) -> &'static str {
    match format {
        Format::Protobuf => "application/x-protobuf",
        Format::Json => "application/json",
    }
}

/// Bytes reserved from the admission budget at a time while a body arrives.
const RESERVE_STEP: usize = 64 << 10;

/// Longest the rest of a body is read and thrown away after an early answer.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// A request body as it comes off the wire, and whether all of it has.
struct Incoming {
    chunks: BodyDataStream,
    ended: bool,
}

impl Incoming {
    fn new(body: Body) -> Self {
        Incoming {
            chunks: body.into_data_stream(),
            ended: false,
        }
    }

    async fn next(&mut self) -> Option<Result<bytes::Bytes, axum::Error>> {
        let next = self.chunks.next().await;
        if !matches!(next, Some(Ok(_))) {
            self.ended = true;
        }
        next
    }

    /// `response`, once the rest of the body is read and thrown away (at most `rules.limit`
    /// bytes within [`DRAIN_TIME`], at the least rate); past that, or when `drain` is false, with
    /// `Connection: close`.
    async fn answer(&mut self, mut response: Response, rules: &BodyRules, drain: bool) -> Response {
        if !self.ended && drain {
            let started = Instant::now();
            let mut thrown = 0usize;
            while !self.ended && thrown <= rules.limit {
                let deadline = started + rules.wait_limit(thrown).min(DRAIN_TIME);
                match tokio::time::timeout_at(deadline, self.next()).await {
                    Ok(Some(Ok(chunk))) => thrown += chunk.len(),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
        if !self.ended {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// Reads the body off the wire and decodes it, under the admission budget and the size cap
/// (after decompression). The budget is reserved for bytes as they arrive, never for a length a
/// client only declared; a body slower than the least rate, or not in by the timeout, is a 408.
async fn read_body(
    state: &IngestState,
    headers: &HeaderMap,
    body: &mut Incoming,
) -> Result<(Vec<u8>, Ticket), ApiError> {
    let rules = state.body;
    let limit = rules.limit;
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body exceeds the {limit} byte limit (after decompression); send smaller batches"),
        )
    };
    let declared =
        header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut ticket = state.admission.admit(RESERVE_STEP)?;
    let mut reserved = RESERVE_STEP;
    let mut raw: Vec<u8> = Vec::with_capacity(declared.unwrap_or(0).min(RESERVE_STEP));
    let started = Instant::now();
    loop {
        let deadline = started + rules.wait_limit(raw.len());
        let next = tokio::time::timeout_at(deadline, body.next())
            .await
            .map_err(|_| too_slow(&rules, raw.len(), started.elapsed()))?;
        let chunk = match next {
            None => break,
            Some(Ok(chunk)) => chunk,
            Some(Err(e)) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidArgument,
                    format!("could not read the request body: {e}"),
                ))
            }
        };
        if raw.len() + chunk.len() > limit {
            return Err(too_large());
        }
        if raw.len() + chunk.len() > reserved {
            let step = chunk.len().max(RESERVE_STEP);
            state.admission.grow(&mut ticket, step)?;
            reserved += step;
        }
        raw.extend_from_slice(&chunk);
    }
    let encoding = header_str(headers, header::CONTENT_ENCODING);
    let decoded = decode_body(&raw, encoding, limit).map_err(|e| match e {
        BodyError::TooLarge { .. } => too_large(),
        BodyError::UnsupportedEncoding(_) => {
            ApiError::new(ErrorCode::UnsupportedMediaType, e.to_string())
        }
        other => ApiError::new(ErrorCode::InvalidArgument, other.to_string()),
    })?;
    if decoded.len() > reserved {
        state
            .admission
            .grow(&mut ticket, decoded.len() - reserved)?;
    }
    Ok((decoded, ticket))
}

/// The 408 for a body that came too slowly, with what arrived and what was asked.
fn too_slow(rules: &BodyRules, received: usize, after: std::time::Duration) -> ApiError {
    ApiError::new(
        ErrorCode::RequestTimeout,
        format!(
            "the request body came too slowly: {} in {:.1} s; a body must average {}/s after its \
             first {} s and arrive within {} s (ingest.min_body_bytes_per_sec, \
             ingest.body_read_timeout_secs)",
            human_size(received),
            after.as_secs_f64(),
            human_size(rules.min_bytes_per_sec),
            RATE_GRACE.as_secs(),
            rules.timeout.as_secs()
        ),
    )
}

async fn otlp_export(
    state: IngestState,
    caller: Result<Caller, ApiError>,
    signal: Signal,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut body = Incoming::new(body);
    let format = match otlp_format(&headers) {
        Ok(f) => f,
        Err(e) => return body.answer(otlp_error(&e, None), &state.body, true).await,
    };
    let result = async {
        let project = caller?.write_project()?;
        let (bytes, _ticket) = read_body(&state, &headers, &mut body).await?;
        let invalid =
            |e: otlp::DecodeError| ApiError::new(ErrorCode::InvalidArgument, e.to_string());
        let raw = match signal {
            Signal::Traces => {
                otlp::traces_to_raw(otlp::decode_traces(&bytes, format).map_err(invalid)?)
            }
            Signal::Logs => otlp::logs_to_raw(otlp::decode_logs(&bytes, format).map_err(invalid)?),
            Signal::Metrics => {
                let raw =
                    otlp::metrics_to_raw(otlp::decode_metrics(&bytes, format).map_err(invalid)?);
                drop(bytes);
                return state.service.ingest_metrics(project, raw).await;
            }
        };
        drop(bytes);
        state.service.ingest(project, raw).await
    }
    .await;
    match result {
        Ok(outcome) => {
            let body = match signal {
                Signal::Traces => {
                    otlp::encode_trace_response(outcome.rejected_spans, &outcome.message, format)
                }
                Signal::Logs => {
                    otlp::encode_logs_response(outcome.rejected_logs, &outcome.message, format)
                }
                Signal::Metrics => {
                    otlp::encode_metrics_response(outcome.rejected_points, &outcome.message, format)
                }
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, content_type(format))],
                body,
            )
                .into_response()
        }
        Err(e) => {
            let drain = e.code != ErrorCode::RequestTimeout;
            body.answer(otlp_error(&e, Some(format)), &state.body, drain)
                .await
        }
    }
}

/// `POST /v1/traces` and `/api/public/otel/v1/traces`. An authentication failure is answered
/// in OTLP's shape, so the caller comes as a `Result`.
pub async fn otlp_traces(
    State(state): State<IngestState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    otlp_export(state, caller, Signal::Traces, headers, body).await
}

/// `POST /v1/logs`.
pub async fn otlp_logs(
    State(state): State<IngestState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    otlp_export(state, caller, Signal::Logs, headers, body).await
}

/// `POST /v1/metrics`.
pub async fn otlp_metrics(
    State(state): State<IngestState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    otlp_export(state, caller, Signal::Metrics, headers, body).await
}

/// What `POST /api/v1/events` answers.
#[derive(serde::Serialize)]
struct EventsAnswer<'a> {
    accepted: u64,
    rejected: u64,
    errors: Vec<&'a str>,
}

/// `POST /api/v1/events`: JSON array or JSON lines of structured log events.
pub async fn events(
    State(state): State<IngestState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut body = Incoming::new(body);
    match receive_events(&state, caller, &headers, &mut body).await {
        Ok(answer) => answer,
        Err(e) => {
            let drain = e.code != ErrorCode::RequestTimeout;
            body.answer(e.into_response(), &state.body, drain).await
        }
    }
}

async fn receive_events(
    state: &IngestState,
    caller: Result<Caller, ApiError>,
    headers: &HeaderMap,
    body: &mut Incoming,
) -> Result<Response, ApiError> {
    let project = caller?.write_project()?;
    let (bytes, _ticket) = read_body(state, headers, body).await?;
    let now = state.service.clock().now_ns();
    let raw = super::events::decode_events(&bytes, now)
        .map_err(|e| ApiError::new(ErrorCode::InvalidArgument, e.to_string()))?;
    drop(bytes);
    if raw.logs.is_empty() && raw.rejected_logs > 0 {
        return Err(ApiError::new(
            ErrorCode::InvalidArgument,
            raw.errors.join("\n"),
        ));
    }
    let o = state.service.ingest(project, raw).await?;
    Ok(axum::Json(EventsAnswer {
        accepted: o.accepted_logs,
        rejected: o.rejected_logs,
        errors: o.message.lines().collect(),
    })
    .into_response())
}
