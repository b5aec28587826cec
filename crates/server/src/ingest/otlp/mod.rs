//! OTLP wire formats (protobuf and JSON) and their conversion into the wire-neutral `RawBatch`
//! (traces, logs) and `RawMetrics`. Wire types never leave this module: handlers decode with
//! [`decode_traces`] / [`decode_logs`] / [`decode_metrics`], convert with [`traces_to_raw`] /
//! [`logs_to_raw`] / [`metrics_to_raw`] and answer with the `encode_*` functions.
//!
//! Validation is split in two on purpose. Decoding fails the whole request only when the body
//! cannot be represented as the OTLP message at all (bad protobuf, bad JSON, a field of the wrong
//! type, a non-hex id string). Conversion checks each span and log record (id lengths, all-zero
//! ids, times; a metric's data points) and refuses only the bad items, so one bad span or data
//! point costs nothing else.

mod convert;
mod json;
mod json_metrics;
mod metrics;
#[cfg(test)]
mod metrics_tests;
mod response;
#[cfg(test)]
mod tests;

pub use convert::{logs_to_raw, traces_to_raw};
pub use metrics::metrics_to_raw;
pub use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
pub use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
pub use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
pub use response::{
    encode_logs_response, encode_metrics_response, encode_status, encode_trace_response,
};

use prost::Message;

/// Which OTLP encoding a body uses (from `Content-Type`: `application/x-protobuf` or
/// `application/json`). Responses use the same encoding as the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Protobuf,
    Json,
}

/// Why a request body could not be decoded at all. The text names the place and the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    #[error("the body is not a valid {message} protobuf: {reason}; send an OTLP/protobuf body with Content-Type: application/x-protobuf, or JSON with Content-Type: application/json")]
    Protobuf {
        message: &'static str,
        reason: String,
    },
    #[error("the body is not valid JSON: {0}; send an OTLP/JSON body with Content-Type: application/json, or protobuf with Content-Type: application/x-protobuf")]
    JsonSyntax(String),
    /// A JSON value of the wrong shape; `path` is like `resourceSpans[0].scopeSpans[1].spans[3].kind`.
    #[error("{path}: {problem}")]
    Json { path: String, problem: String },
}

/// Decodes an `ExportTraceServiceRequest`. An empty body is a valid empty request.
pub fn decode_traces(
    body: &[u8],
    format: Format,
) -> Result<ExportTraceServiceRequest, DecodeError> {
    match format {
        Format::Protobuf => {
            ExportTraceServiceRequest::decode(body).map_err(|e| DecodeError::Protobuf {
                message: "ExportTraceServiceRequest",
                reason: e.to_string(),
            })
        }
        Format::Json => json::traces(body),
    }
}

/// Decodes an `ExportLogsServiceRequest`. An empty body is a valid empty request.
pub fn decode_logs(body: &[u8], format: Format) -> Result<ExportLogsServiceRequest, DecodeError> {
    match format {
        Format::Protobuf => {
            ExportLogsServiceRequest::decode(body).map_err(|e| DecodeError::Protobuf {
                message: "ExportLogsServiceRequest",
                reason: e.to_string(),
            })
        }
        Format::Json => json::logs(body),
    }
}

/// Decodes an `ExportMetricsServiceRequest`. An empty body is a valid empty request.
pub fn decode_metrics(
    body: &[u8],
    format: Format,
) -> Result<ExportMetricsServiceRequest, DecodeError> {
    match format {
        Format::Protobuf => {
            ExportMetricsServiceRequest::decode(body).map_err(|e| DecodeError::Protobuf {
                message: "ExportMetricsServiceRequest",
                reason: e.to_string(),
            })
        }
        Format::Json => json_metrics::metrics(body),
    }
}

/// How many refusal lines a `RawBatch` keeps; the rest are counted in a last line.
pub(crate) const MAX_ERROR_LINES: usize = 20;

/// Collects refusal lines for `RawBatch::errors`, keeping the first [`MAX_ERROR_LINES`] and
/// counting the rest (formatting only the lines it keeps).
#[derive(Debug, Default)]
pub(crate) struct ErrorLines {
    lines: Vec<String>,
    more: u64,
}

impl ErrorLines {
    pub(crate) fn push_with(&mut self, line: impl FnOnce() -> String) {
        if self.lines.len() < MAX_ERROR_LINES {
            self.lines.push(line());
        } else {
            self.more += 1;
        }
    }

    pub(crate) fn finish(mut self) -> Vec<String> {
        if self.more > 0 {
            self.lines.push(format!("... and {} more", self.more));
        }
        self.lines
    }
}

/// A bounded, printable excerpt of user text for error messages.
pub(crate) fn excerpt(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut:?}...")
    }
}
