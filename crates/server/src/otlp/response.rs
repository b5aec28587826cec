//! OTLP response bodies: export responses (full or partial success) and the `google.rpc.Status`
//! failure body, in the encoding the request used.

use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};
use prost::Message;
use serde_json::{json, Value};

use super::Format;

/// `google.rpc.Status`, the body of every OTLP/HTTP 4xx and 5xx answer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<ProtoAny>,
}

/// `google.protobuf.Any`, as carried in [`RpcStatus::details`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoAny {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.RetryInfo`: how long a client should wait before retrying.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoDuration {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// A `google.rpc.Status` carrying `RetryInfo`, encoded for the `grpc-status-details-bin`
/// trailer: what OTLP exporters read to delay their retry.
pub fn retry_status_details(code: i32, message: &str, retry_after_secs: u64) -> Vec<u8> {
    let info = RetryInfo {
        retry_delay: Some(ProtoDuration {
            seconds: retry_after_secs.min(i64::MAX as u64) as i64,
            nanos: 0,
        }),
    };
    RpcStatus {
        code,
        message: message.to_owned(),
        details: vec![ProtoAny {
            type_url: "type.googleapis.com/google.rpc.RetryInfo".into(),
            value: prost::Message::encode_to_vec(&info),
        }],
    }
    .encode_to_vec()
}

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
