//! One export to the server, over OTLP/HTTP or OTLP/gRPC, and what came of it: acknowledged
//! (with the spans partial success rejected), throttled (with the server's `Retry-After`), or failed.

use std::time::Duration;

use anyhow::Context as _;
use bytes::{BufMut as _, Bytes};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message as _;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};

use super::IngestOptions;

const GRPC_EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The outcome of one export attempt.
pub(super) enum Outcome {
    /// Committed; the number of spans the server rejected through partial success.
    Acked {
        rejected: u64,
    },
    Throttled {
        retry_after: Option<Duration>,
    },
    /// The request got no answer at all (the connection failed or was closed under it).
    Unanswered(String),
    Failed(String),
}

pub(super) async fn send_http(
    http: &reqwest::Client,
    args: &IngestOptions,
    body: Bytes,
    gzip: bool,
) -> Outcome {
    let url = format!("{}/v1/traces", args.http_url.trim_end_matches('/'));
    let mut request = http
        .post(url)
        .header("content-type", "application/x-protobuf")
        .body(body);
    if gzip {
        request = request.header("content-encoding", "gzip");
    }
    if let Some(key) = &args.api_key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Outcome::Unanswered(format!("http: {e}")),
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) => return Outcome::Unanswered(format!("http: the answer broke off: {e}")),
    };
    if status.is_success() {
        let rejected = ExportTraceServiceResponse::decode(body.as_ref())
            .ok()
            .and_then(|r| r.partial_success)
            .map_or(0, |p| p.rejected_spans.max(0) as u64);
        Outcome::Acked { rejected }
    } else if status.as_u16() == 429 || status.as_u16() == 503 {
        Outcome::Throttled { retry_after }
    } else {
        let text = crate::send::answer_text(&body);
        Outcome::Failed(format!("http {status}: {text}"))
    }
}

pub(super) type GrpcClient = tonic::client::Grpc<tonic::transport::Channel>;

pub(super) async fn grpc_client(args: &IngestOptions) -> anyhow::Result<GrpcClient> {
    let channel = tonic::transport::Endpoint::from_shared(args.grpc_url.clone())
        .with_context(|| format!("bad --grpc-url {}", args.grpc_url))?
        .timeout(REQUEST_TIMEOUT)
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("cannot connect to {}", args.grpc_url))?;
    let mut client = tonic::client::Grpc::new(channel);
    if args.gzip {
        client = client.send_compressed(CompressionEncoding::Gzip);
    }
    Ok(client)
}

pub(super) async fn send_grpc(
    client: &mut GrpcClient,
    args: &IngestOptions,
    body: Bytes,
) -> Outcome {
    if let Err(e) = client.ready().await {
        return Outcome::Failed(format!("grpc: channel not ready: {e}"));
    }
    let mut request = tonic::Request::new(body);
    if let Some(key) = &args.api_key {
        match format!("Bearer {key}").parse() {
            Ok(value) => {
                request.metadata_mut().insert("authorization", value);
            }
            Err(_) => return Outcome::Failed("grpc: --api-key is not a valid header value".into()),
        }
    }
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(GRPC_EXPORT_PATH);
    match client.unary(request, path, RawCodec).await {
        Ok(response) => {
            let rejected = response
                .get_ref()
                .partial_success
                .as_ref()
                .map_or(0, |p| p.rejected_spans.max(0) as u64);
            Outcome::Acked { rejected }
        }
        Err(status) => {
            let retry_after = status
                .metadata()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            match status.code() {
                tonic::Code::Unavailable | tonic::Code::ResourceExhausted
                    if retry_after.is_some() =>
                {
                    Outcome::Throttled { retry_after }
                }
                // A refusal by the server carries retry-after; UNAVAILABLE without it is the
                // transport failing.
                tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled => {
                    Outcome::Unanswered(format!("grpc {:?}: {}", status.code(), status.message()))
                }
                tonic::Code::ResourceExhausted => Outcome::Throttled { retry_after },
                code => Outcome::Failed(format!("grpc {code:?}: {}", status.message())),
            }
        }
    }
}

/// Sends pre-encoded request bytes as they are (the same bytes the generated client would
/// produce) and decodes the response with prost.
#[derive(Clone, Copy)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, tonic::Status> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}
