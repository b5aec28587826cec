//! One small error-code enum, mapped once to HTTP and once to gRPC status, and the API's error
//! with its one HTTP answer (the JSON problem shape `{status, code, message}`).

mod bare;
pub mod rpc;

pub use bare::problem_bodies;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sightline_store::StoreError;

/// The kinds of failure a request can meet; each maps to one HTTP and one gRPC answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidArgument,
    Unauthenticated,
    /// Authenticated, but the caller's role does not allow it.
    Forbidden,
    NotFound,
    /// The route exists but does not take this HTTP method.
    MethodNotAllowed,
    /// The request contradicts what is stored (a name or key already in use).
    Conflict,
    /// The client sent its request too slowly.
    RequestTimeout,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// A rate limit or budget of the caller is reached: retry after a delay.
    RateLimited,
    /// Queues full: retry after a delay.
    Overloaded,
    /// Shutting down or storage failing: retry after a delay.
    Unavailable,
    /// A read ran past the server's read budget and was stopped: narrow it.
    Timeout,
    /// The store's disk budget is spent: retry once space is freed.
    InsufficientStorage,
    Internal,
}

/// Seconds a client should wait before retrying an `Overloaded`/`Unavailable` answer.
pub const RETRY_AFTER_SECS: u64 = 1;

/// Seconds a client should wait before retrying while the disk budget is spent: freeing space
/// takes a retention sweep or an operator.
pub const DISK_RETRY_AFTER_SECS: u64 = 30;

impl ErrorCode {
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidArgument => 400,
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::RequestTimeout => 408,
            Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::RateLimited => 429,
            Self::Overloaded | Self::Unavailable => 503,
            Self::Timeout => 504,
            Self::InsufficientStorage => 507,
            Self::Internal => 500,
        }
    }

    pub fn grpc_code(self) -> tonic::Code {
        match self {
            Self::InvalidArgument | Self::UnsupportedMediaType => tonic::Code::InvalidArgument,
            Self::Unauthenticated => tonic::Code::Unauthenticated,
            Self::Forbidden => tonic::Code::PermissionDenied,
            Self::NotFound => tonic::Code::NotFound,
            Self::MethodNotAllowed => tonic::Code::Unimplemented,
            Self::Conflict => tonic::Code::AlreadyExists,
            Self::RequestTimeout => tonic::Code::DeadlineExceeded,
            Self::PayloadTooLarge | Self::RateLimited | Self::InsufficientStorage => {
                tonic::Code::ResourceExhausted
            }
            Self::Overloaded | Self::Unavailable => tonic::Code::Unavailable,
            Self::Timeout => tonic::Code::DeadlineExceeded,
            Self::Internal => tonic::Code::Internal,
        }
    }

    /// Short machine-readable name used in JSON problem bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::RequestTimeout => "request_timeout",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited => "rate_limited",
            Self::Overloaded => "overloaded",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::InsufficientStorage => "insufficient_storage",
            Self::Internal => "internal",
        }
    }

    /// The code of an HTTP status the router answered by itself: the one with that status,
    /// else `invalid_argument` for a 4xx and `internal` for anything else.
    pub fn for_status(status: u16) -> ErrorCode {
        const ALL: [ErrorCode; 11] = [
            ErrorCode::InvalidArgument,
            ErrorCode::Unauthenticated,
            ErrorCode::Forbidden,
            ErrorCode::NotFound,
            ErrorCode::MethodNotAllowed,
            ErrorCode::Conflict,
            ErrorCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::RateLimited,
            ErrorCode::Unavailable,
            ErrorCode::Internal,
        ];
        match ALL.into_iter().find(|c| c.http_status() == status) {
            Some(code) => code,
            None if (400..500).contains(&status) => ErrorCode::InvalidArgument,
            None => ErrorCode::Internal,
        }
    }

    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::Overloaded | Self::Unavailable | Self::RateLimited | Self::InsufficientStorage
        )
    }

    /// Seconds to wait before retrying a retryable answer.
    pub fn retry_after_secs(self) -> u64 {
        match self {
            Self::InsufficientStorage => DISK_RETRY_AFTER_SECS,
            _ => RETRY_AFTER_SECS,
        }
    }

    pub fn status(self) -> StatusCode {
        StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// Adds `Retry-After` to a retryable answer.
    pub fn add_retry_after(self, resp: &mut Response) {
        if self.is_retryable() {
            resp.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(self.retry_after_secs()),
            );
        }
    }
}

/// An error with its code and a message that names the field and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// The gRPC status; retryable answers carry `google.rpc.RetryInfo` in the status details
    /// (what OTLP exporters read) and a plain `retry-after` entry for humans.
    pub fn to_grpc(&self) -> tonic::Status {
        let code = self.code.grpc_code();
        let delay = self.code.retry_after_secs();
        let mut status = if self.code.is_retryable() {
            let details = rpc::retry_status_details(code as i32, &self.message, delay);
            tonic::Status::with_details(code, self.message.clone(), details.into())
        } else {
            tonic::Status::new(code, self.message.clone())
        };
        if self.code.is_retryable() {
            if let Ok(v) = delay.to_string().parse() {
                status.metadata_mut().insert("retry-after", v);
            }
        }
        status
    }
}

/// The JSON problem shape `{status, code, message}`, with `Retry-After` when retryable.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            status: self.code.http_status(),
            code: self.code.as_str().to_owned(),
            message: self.message,
        };
        let mut resp = (self.code.status(), axum::Json(problem)).into_response();
        self.code.add_retry_after(&mut resp);
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::Overloaded { .. } => ErrorCode::Overloaded,
            StoreError::Unavailable(_) => ErrorCode::Unavailable,
            StoreError::Engine(_) => ErrorCode::Unavailable,
            StoreError::Conflict(_) => ErrorCode::Conflict,
            StoreError::Invalid(_) => ErrorCode::InvalidArgument,
            StoreError::TooLarge(_) => ErrorCode::Internal,
            StoreError::TimedOut(_) => ErrorCode::Timeout,
            StoreError::DiskFull(_) => ErrorCode::InsufficientStorage,
        };
        ApiError::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn retryable_grpc_answers_carry_retry_info() {
        let status = ApiError::new(ErrorCode::Overloaded, "queue full").to_grpc();
        assert_eq!(status.code(), tonic::Code::Unavailable);
        let details = rpc::RpcStatus::decode(status.details()).unwrap();
        assert_eq!(
            details.details[0].type_url,
            "type.googleapis.com/google.rpc.RetryInfo"
        );
        let info = rpc::RetryInfo::decode(details.details[0].value.as_slice()).unwrap();
        assert_eq!(info.retry_delay.unwrap().seconds, RETRY_AFTER_SECS as i64);
        let bad = ApiError::new(ErrorCode::InvalidArgument, "bad").to_grpc();
        assert!(bad.details().is_empty());
        assert_eq!(
            ApiError::new(ErrorCode::PayloadTooLarge, "big")
                .to_grpc()
                .code(),
            tonic::Code::ResourceExhausted
        );
    }

    #[test]
    fn a_read_too_large_for_the_store_is_not_retryable() {
        let e = ApiError::from(StoreError::TooLarge("over max_memory_usage".into()));
        assert_eq!(e.code.http_status(), 500);
        assert!(!e.code.is_retryable());
        assert_eq!(
            ApiError::from(StoreError::Conflict("key in use".into())).code,
            ErrorCode::Conflict
        );
        assert_eq!(
            ApiError::from(StoreError::Invalid("bucket_ns".into())).code,
            ErrorCode::InvalidArgument
        );
        assert!(ApiError::from(StoreError::Unavailable("down".into()))
            .code
            .is_retryable());
    }

    #[test]
    fn a_read_past_its_budget_is_a_504_and_a_spent_disk_budget_a_507_with_retry_info() {
        let slow = ApiError::from(StoreError::TimedOut("past 30 s".into()));
        assert_eq!(slow.code.http_status(), 504);
        assert!(
            !slow.code.is_retryable(),
            "the same read would time out again"
        );
        assert_eq!(slow.to_grpc().code(), tonic::Code::DeadlineExceeded);
        let full = ApiError::from(StoreError::DiskFull("cap".into()));
        assert_eq!(full.code.http_status(), 507);
        let mut resp = full.clone().into_response();
        full.code.add_retry_after(&mut resp);
        assert_eq!(
            resp.headers()[header::RETRY_AFTER],
            DISK_RETRY_AFTER_SECS.to_string()
        );
        let status = full.to_grpc();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        let details = rpc::RpcStatus::decode(status.details()).unwrap();
        let info = rpc::RetryInfo::decode(details.details[0].value.as_slice()).unwrap();
        assert_eq!(
            info.retry_delay.unwrap().seconds,
            DISK_RETRY_AFTER_SECS as i64
        );
    }
}
