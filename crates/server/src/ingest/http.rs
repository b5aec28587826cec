//! HTTP receivers: OTLP/HTTP (also the Langfuse SDK's path) and the native event receiver.
//! Handlers get the caller by their signature, read the body under the admission budget and
//! the size cap, decode it and call the one ingest service; the routes are in `app/routes.rs`.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::admission::Ticket;
use super::body::{decode_body, BodyError};
use super::otlp::{self, Format};
use super::IngestState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode};

/// Which OTLP signal a request carries.
#[derive(Clone, Copy)]
enum Signal {
    Traces,
    Logs,
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

/// Reads the body under the admission budget and the size cap (after decompression).
async fn read_body(
    state: &IngestState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Vec<u8>, Ticket), ApiError> {
    let limit = state.max_http_body_bytes;
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
    let mut ticket = state.admission.admit(declared.unwrap_or(64 << 10))?;
    let raw: Bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        let e = e.into_inner();
        if e.is::<http_body_util::LengthLimitError>() {
            too_large()
        } else {
            ApiError::new(
                ErrorCode::InvalidArgument,
                format!("could not read the request body: {e}"),
            )
        }
    })?;
    let encoding = header_str(headers, header::CONTENT_ENCODING);
    let decoded = decode_body(&raw, encoding, limit).map_err(|e| match e {
        BodyError::TooLarge { .. } => too_large(),
        BodyError::UnsupportedEncoding(_) => {
            ApiError::new(ErrorCode::UnsupportedMediaType, e.to_string())
        }
        other => ApiError::new(ErrorCode::InvalidArgument, other.to_string()),
    })?;
    if decoded.len() > raw.len() {
        state
            .admission
            .grow(&mut ticket, decoded.len() - raw.len())?;
    }
    Ok((decoded, ticket))
}

async fn otlp_export(
    state: IngestState,
    caller: Result<Caller, ApiError>,
    signal: Signal,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let format = match otlp_format(&headers) {
        Ok(f) => f,
        Err(e) => return otlp_error(&e, None),
    };
    let result = async {
        let project = caller?.write_project()?;
        let (bytes, _ticket) = read_body(&state, &headers, body).await?;
        let raw = match signal {
            Signal::Traces => otlp::traces_to_raw(
                otlp::decode_traces(&bytes, format)
                    .map_err(|e| ApiError::new(ErrorCode::InvalidArgument, e.to_string()))?,
            ),
            Signal::Logs => otlp::logs_to_raw(
                otlp::decode_logs(&bytes, format)
                    .map_err(|e| ApiError::new(ErrorCode::InvalidArgument, e.to_string()))?,
            ),
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
            };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, content_type(format))],
                body,
            )
                .into_response()
        }
        Err(e) => otlp_error(&e, Some(format)),
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
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let project = caller.write_project()?;
    let (bytes, _ticket) = read_body(&state, &headers, body).await?;
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
