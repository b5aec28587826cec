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

    pub fn to_grpc(&self) -> tonic::Status {
        let mut status = tonic::Status::new(self.code.grpc_code(), self.message.clone());
        if self.code.is_retryable() {
            // RetryInfo is what OTLP exporters read; the header form is the simplest we can send.
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
        };
        ApiError::new(code, e.to_string())
    }
}
