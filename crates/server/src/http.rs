//! HTTP handlers: OTLP/HTTP receivers and the native event receiver (the read API is in
//! [`crate::api`]). Handlers extract, call a service, and map the result; the routes are in
//! [`crate::routes`].

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sightline_core::ProjectId;

use crate::admission::Ticket;
use crate::auth::parse_authorization;
use crate::body::{decode_body, BodyError};
use crate::error::{ApiError, ErrorCode, RETRY_AFTER_SECS};
use crate::otlp::{self, Format};
use crate::state::AppState;

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

fn retry_after(resp: &mut Response, code: ErrorCode) {
    if code.is_retryable() {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    }
}

fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An OTLP failure: a `google.rpc.Status` in the request's format (JSON when it was unknown).
fn otlp_error(e: &ApiError, format: Option<Format>) -> Response {
    let format = format.unwrap_or(Format::Json);
    let body = otlp::encode_status(e.code.grpc_code() as i32, &e.message, format);
    let mut resp = (
        status_of(e.code),
        [(header::CONTENT_TYPE, content_type(format))],
        body,
    )
        .into_response();
    retry_after(&mut resp, e.code);
    resp
}

/// A read-API failure: the JSON problem shape `{status, code, message}`.
pub fn problem(e: &ApiError) -> Response {
    let status = status_of(e.code);
    let body = json!({"status": status.as_u16(), "code": e.code.as_str(), "message": e.message});
    let mut resp = (status, axum::Json(body)).into_response();
    retry_after(&mut resp, e.code);
    resp
}

fn content_type(format: Format) -> &'static str {
    match format {
        Format::Protobuf => "application/x-protobuf",
        Format::Json => "application/json",
    }
}

/// Authenticates, then reads the body under the admission budget and the size cap.
async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(ProjectId, Vec<u8>, Ticket), ApiError> {
    let credential = parse_authorization(header_str(headers, header::AUTHORIZATION))?;
    let project = state.auth.authenticate(&credential).await?;
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
        if e.to_string().contains("length limit") {
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
    Ok((project, decoded, ticket))
}

async fn otlp_export(state: AppState, signal: Signal, headers: HeaderMap, body: Body) -> Response {
    let format = match otlp_format(&headers) {
        Ok(f) => f,
        Err(e) => return otlp_error(&e, None),
    };
    let result = async {
        let (project, bytes, _ticket) = read_body(&state, &headers, body).await?;
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
        state.ingest.ingest(project, raw).await
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

pub async fn otlp_traces(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    otlp_export(state, Signal::Traces, headers, body).await
}

pub async fn otlp_logs(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    otlp_export(state, Signal::Logs, headers, body).await
}

/// `POST /api/v1/events`: JSON array or JSON lines of structured log events.
pub async fn events(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let result = async {
        let (project, bytes, _ticket) = read_body(&state, &headers, body).await?;
        let now = state.ingest.clock().now_ns();
        let raw = crate::events::decode_events(&bytes, now)
            .map_err(|e| ApiError::new(ErrorCode::InvalidArgument, e.to_string()))?;
        drop(bytes);
        if raw.logs.is_empty() && raw.rejected_logs > 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidArgument,
                raw.errors.join("\n"),
            ));
        }
        state.ingest.ingest(project, raw).await
    }
    .await;
    match result {
        Ok(o) => axum::Json(json!({
            "accepted": o.accepted_logs,
            "rejected": o.rejected_logs,
            "errors": o.message.lines().collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => problem(&e),
    }
}

pub async fn health() -> Response {
    axum::Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})).into_response()
}
