//! One small error-code enum, mapped once to HTTP and once to gRPC status.

use sightline_store::StoreError;

/// The kinds of failure a request can meet; each maps to one HTTP and one gRPC answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidArgument,
    Unauthenticated,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// Queues full: retry after a delay.
    Overloaded,
    /// Shutting down or storage failing: retry after a delay.
    Unavailable,
    Internal,
}

/// Seconds a client should wait before retrying an `Overloaded`/`Unavailable` answer.
pub const RETRY_AFTER_SECS: u64 = 1;

impl ErrorCode {
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidArgument => 400,
            Self::Unauthenticated => 401,
            Self::NotFound => 404,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::Overloaded | Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }

    pub fn grpc_code(self) -> tonic::Code {
        match self {
            Self::InvalidArgument | Self::UnsupportedMediaType => tonic::Code::InvalidArgument,
            Self::Unauthenticated => tonic::Code::Unauthenticated,
            Self::NotFound => tonic::Code::NotFound,
            Self::PayloadTooLarge => tonic::Code::ResourceExhausted,
            Self::Overloaded | Self::Unavailable => tonic::Code::Unavailable,
            Self::Internal => tonic::Code::Internal,
        }
    }

    /// Short machine-readable name used in JSON problem bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::Unauthenticated => "unauthenticated",
            Self::NotFound => "not_found",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Overloaded => "overloaded",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }

    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Overloaded | Self::Unavailable)
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
        let mut status = if self.code.is_retryable() {
            let details =
                crate::otlp::retry_status_details(code as i32, &self.message, RETRY_AFTER_SECS);
            tonic::Status::with_details(code, self.message.clone(), details.into())
        } else {
            tonic::Status::new(code, self.message.clone())
        };
        if self.code.is_retryable() {
            if let Ok(v) = RETRY_AFTER_SECS.to_string().parse() {
                status.metadata_mut().insert("retry-after", v);
            }
        }
        status
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::Overloaded { .. } => ErrorCode::Overloaded,
            StoreError::Unavailable(_) => ErrorCode::Unavailable,
            StoreError::Engine(_) => ErrorCode::Unavailable,
            StoreError::Conflict(_) => ErrorCode::InvalidArgument,
            StoreError::TooLarge(_) => ErrorCode::Internal,
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
        let details = crate::otlp::RpcStatus::decode(status.details()).unwrap();
        assert_eq!(
            details.details[0].type_url,
            "type.googleapis.com/google.rpc.RetryInfo"
        );
        let info = crate::otlp::RetryInfo::decode(details.details[0].value.as_slice()).unwrap();
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
        assert!(ApiError::from(StoreError::Unavailable("down".into()))
            .code
            .is_retryable());
    }
}
