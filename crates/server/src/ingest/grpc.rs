//! OTLP/gRPC receivers: `TraceService/Export`, `LogsService/Export` and
//! `MetricsService/Export`, on the same ingest path as HTTP. Oversized messages get RESOURCE_EXHAUSTED, a full queue UNAVAILABLE.

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::LogsService;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::MetricsService;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::sync::Arc;

use prost::Message;
use sightline_core::{ProjectId, RawBatch};
use tonic::{Request, Response, Status};

use super::otlp;
use super::{IngestOutcome, IngestState};
use crate::auth::{grpc_caller, Authenticator};
use crate::error::{ApiError, ErrorCode};

#[derive(Clone)]
pub struct GrpcIngest {
    pub state: IngestState,
    pub auth: Arc<Authenticator>,
    pub max_message_bytes: usize,
}

impl GrpcIngest {
    async fn project<T>(&self, request: &Request<T>) -> Result<ProjectId, ApiError> {
        grpc_caller(&self.auth, request).await?.write_project()
    }

    async fn run(
        &self,
        project: ProjectId,
        size: usize,
        raw: impl FnOnce() -> RawBatch,
    ) -> Result<IngestOutcome, ApiError> {
        let _ticket = self.admit(size)?;
        self.state.service.ingest(project, raw()).await
    }

    /// Checks the message size and takes its share of the admission budget.
    fn admit(&self, size: usize) -> Result<super::admission::Ticket, ApiError> {
        if size > self.max_message_bytes {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the message is {size} bytes, over the {} byte limit; send smaller batches",
                    self.max_message_bytes
                ),
            ));
        }
        self.state.admission.admit(size)
    }
}

#[tonic::async_trait]
impl TraceService for GrpcIngest {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let project = self.project(&request).await.map_err(|e| e.to_grpc())?;
        let req = request.into_inner();
        let size = req.encoded_len();
        let outcome = self
            .run(project, size, || otlp::traces_to_raw(req))
            .await
            .map_err(|e| e.to_grpc())?;
        let partial_success =
            (outcome.rejected_spans > 0 || !outcome.message.is_empty()).then(|| {
                ExportTracePartialSuccess {
                    rejected_spans: outcome.rejected_spans as i64,
                    error_message: outcome.message.clone(),
                }
            });
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success,
        }))
    }
}

#[tonic::async_trait]
impl LogsService for GrpcIngest {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        let project = self.project(&request).await.map_err(|e| e.to_grpc())?;
        let req = request.into_inner();
        let size = req.encoded_len();
        let outcome = self
            .run(project, size, || otlp::logs_to_raw(req))
            .await
            .map_err(|e| e.to_grpc())?;
        let partial_success =
            (outcome.rejected_logs > 0 || !outcome.message.is_empty()).then(|| {
                ExportLogsPartialSuccess {
                    rejected_log_records: outcome.rejected_logs as i64,
                    error_message: outcome.message.clone(),
                }
            });
        Ok(Response::new(ExportLogsServiceResponse { partial_success }))
    }
}

#[tonic::async_trait]
impl MetricsService for GrpcIngest {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        let project = self.project(&request).await.map_err(|e| e.to_grpc())?;
        let req = request.into_inner();
        let _ticket = self.admit(req.encoded_len()).map_err(|e| e.to_grpc())?;
        let outcome = self
            .state
            .service
            .ingest_metrics(project, otlp::metrics_to_raw(req))
            .await
            .map_err(|e| e.to_grpc())?;
        let partial_success =
            (outcome.rejected_points > 0 || !outcome.message.is_empty()).then(|| {
                ExportMetricsPartialSuccess {
                    rejected_data_points: outcome.rejected_points as i64,
                    error_message: outcome.message.clone(),
                }
            });
        Ok(Response::new(ExportMetricsServiceResponse {
            partial_success,
        }))
    }
}

/// tonic refuses messages over its decoding limit with OUT_OF_RANGE; OTLP asks for
/// RESOURCE_EXHAUSTED (not retryable without RetryInfo). This rewrites that one answer.
pub fn oversize_as_resource_exhausted(
    mut resp: axum::http::Response<tonic::body::Body>,
) -> axum::http::Response<tonic::body::Body> {
    let headers = resp.headers_mut();
    let is_out_of_range = headers
        .get("grpc-status")
        .is_some_and(|v| v.as_bytes() == b"11");
    let is_size = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|m| m.contains("too large") || m.contains("too%20large"));
    if is_out_of_range && is_size {
        headers.insert("grpc-status", axum::http::HeaderValue::from_static("8"));
    }
    resp
}
