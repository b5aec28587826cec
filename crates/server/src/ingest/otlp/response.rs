//! OTLP response bodies: export responses (full or partial success) and the `google.rpc.Status`
//! failure body, in the encoding the request used.

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use serde_json::{json, Value};

use super::Format;
use crate::error::rpc::RpcStatus;

/// Whether a partial-success part is set: only when something was rejected or there is a warning.
fn partial(rejected: u64, message: &str) -> bool {
    rejected > 0 || !message.is_empty()
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The JSON export response: `{}`, or `{"partialSuccess": {<count_key>: "<n>", "errorMessage": ...}}`
/// with the int64 count as a decimal string, as OTLP/JSON encodes int64.
fn json_response(rejected: u64, message: &str, count_key: &str) -> Vec<u8> {
    if !partial(rejected, message) {
        return b"{}".to_vec();
    }
    let count = saturating_i64(rejected);
    let message = Value::String(message.to_owned());
    format!(r#"{{"partialSuccess":{{"{count_key}":"{count}","errorMessage":{message}}}}}"#)
        .into_bytes()
}

/// The body of a successful trace export. `partial_success` is left unset when nothing was
/// rejected and there is no message; `rejected` 0 with a message is a warning.
pub fn encode_trace_response(rejected: u64, message: &str, format: Format) -> Vec<u8> {
    match format {
        Format::Json => json_response(rejected, message, "rejectedSpans"),
        Format::Protobuf => ExportTraceServiceResponse {
            partial_success: partial(rejected, message).then(|| ExportTracePartialSuccess {
                rejected_spans: saturating_i64(rejected),
                error_message: message.to_owned(),
            }),
        }
        .encode_to_vec(),
    }
}

/// The body of a successful logs export; see [`encode_trace_response`].
pub fn encode_logs_response(rejected: u64, message: &str, format: Format) -> Vec<u8> {
    match format {
        Format::Json => json_response(rejected, message, "rejectedLogRecords"),
        Format::Protobuf => ExportLogsServiceResponse {
            partial_success: partial(rejected, message).then(|| ExportLogsPartialSuccess {
                rejected_log_records: saturating_i64(rejected),
                error_message: message.to_owned(),
            }),
        }
        .encode_to_vec(),
    }
}

/// The body of a successful metrics export; see [`encode_trace_response`].
pub fn encode_metrics_response(rejected: u64, message: &str, format: Format) -> Vec<u8> {
    match format {
        Format::Json => json_response(rejected, message, "rejectedDataPoints"),
        Format::Protobuf => ExportMetricsServiceResponse {
            partial_success: partial(rejected, message).then(|| ExportMetricsPartialSuccess {
                rejected_data_points: saturating_i64(rejected),
                error_message: message.to_owned(),
            }),
        }
        .encode_to_vec(),
    }
}

/// The `google.rpc.Status` failure body (`code` is a gRPC code, e.g. 3 INVALID_ARGUMENT).
pub fn encode_status(code: i32, message: &str, format: Format) -> Vec<u8> {
    match format {
        Format::Json => json!({ "code": code, "message": message })
            .to_string()
            .into_bytes(),
        Format::Protobuf => RpcStatus {
            code,
            message: message.to_owned(),
            details: Vec::new(),
        }
        .encode_to_vec(),
    }
}
