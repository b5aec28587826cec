//! Failures the router answers by itself (an unknown route, a method a route does not take,
//! an extractor's rejection) come with an empty or plain-text body; this middleware gives them
//! the problem shape like every other failure, keeping `Allow` on a 405. Answers that already
//! carry a typed body (the problem JSON, OTLP's `google.rpc.Status`) pass untouched.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, ErrorCode};

/// Most bytes of a plain-text failure read to become its message.
const MAX_TEXT_BYTES: usize = 4096;

/// Rewrites failures without a typed body into the problem shape.
pub async fn problem_bodies(request: Request, next: Next) -> Response {
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_typed(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_TEXT_BYTES).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_owned(),
        Err(_) => String::new(),
    };
    let allow = parts.headers.get(header::ALLOW).cloned();
    let mut answer = bare_error(status, &method, uri.path(), allow.as_ref(), &text).into_response();
    if let Some(allow) = allow {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    answer
}

/// Whether the body has a content type other than plain text.
fn is_typed(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| !ct.starts_with("text/plain"))
}

/// The error a bare answer stands for; its message says what to do instead.
fn bare_error(
    status: StatusCode,
    method: &Method,
    path: &str,
    allow: Option<&HeaderValue>,
    text: &str,
) -> ApiError {
    let code = ErrorCode::for_status(status.as_u16());
    let message = match code {
        ErrorCode::NotFound if text.is_empty() => format!(
            "no route {method} {path}: the query API is under /api/v1 (GET /api/v1/openapi.json \
             describes it), OTLP goes to POST /v1/traces and /v1/logs"
        ),
        ErrorCode::MethodNotAllowed => {
            let allowed: Vec<&str> = allow
                .and_then(|a| a.to_str().ok())
                .map(|a| {
                    a.split(',')
                        .map(str::trim)
                        .filter(|m| !m.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{path} does not take {method}; it takes {} (see the Allow header)",
                allowed.join(", ")
            )
        }
        _ if text.is_empty() => format!("{method} {path} failed: {status}"),
        _ => text.to_owned(),
    };
    ApiError::new(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_answers_get_a_code_and_a_message_that_says_what_to_do() {
        let get = Method::GET;
        let e = bare_error(StatusCode::NOT_FOUND, &get, "/nope", None, "");
        assert_eq!((e.code, e.code.http_status()), (ErrorCode::NotFound, 404));
        assert!(e.message.contains("/api/v1/openapi.json"), "{}", e.message);
        let allow = HeaderValue::from_static("GET,HEAD");
        let e = bare_error(
            StatusCode::METHOD_NOT_ALLOWED,
            &Method::POST,
            "/api/v1/traces",
            Some(&allow),
            "",
        );
        assert_eq!(e.code.http_status(), 405);
        assert_eq!(
            e.message,
            "/api/v1/traces does not take POST; it takes GET, HEAD (see the Allow header)"
        );
        let e = bare_error(
            StatusCode::BAD_REQUEST,
            &get,
            "/x",
            None,
            "Invalid URL: bad escape",
        );
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::InvalidArgument, "Invalid URL: bad escape")
        );
        let e = bare_error(StatusCode::UNPROCESSABLE_ENTITY, &get, "/x", None, "");
        assert_eq!(e.code, ErrorCode::InvalidArgument);
        let e = bare_error(StatusCode::BAD_GATEWAY, &get, "/x", None, "");
        assert_eq!(e.code, ErrorCode::Internal);
    }
}
