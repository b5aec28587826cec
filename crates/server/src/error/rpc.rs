//! The `google.rpc` messages Sightline answers with (`Status`, `RetryInfo`): the body of every
//! OTLP/HTTP failure and the retry hint of gRPC answers. Hand-declared prost messages, so no
//! generated googleapis crate is needed.

use prost::Message;

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
