//! Logs for the benchmark traffic: what an agent would log while running a generated trace
//! (a line when it finishes, one per tool call, one per failure), derived from the spans alone
//! so the span traffic stays exactly what it was.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, InstrumentationScope};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

use super::{attr, failed, kv_str, SCOPE_NAME};

const MS: u64 = 1_000_000;

/// The log records of one trace, by time.
pub fn for_trace(spans: &[Span]) -> Vec<LogRecord> {
    let Some(root) = spans.iter().find(|s| s.parent_span_id.is_empty()) else {
        return Vec::new();
    };
    let agent = attr(root, "gen_ai.agent.name").unwrap_or("agent");
    let session = attr(root, "gen_ai.conversation.id");
    let record = |span: &Span, time: u64, (number, text): (i32, &str), body: String| {
        let mut attributes = vec![kv_str("gen_ai.agent.name", agent)];
        if let Some(session) = session {
            attributes.push(kv_str("session.id", session));
        }
        if let Some(error_type) = attr(span, "error.type") {
            attributes.push(kv_str("error.type", error_type));
        }
        LogRecord {
            time_unix_nano: time,
            observed_time_unix_nano: time,
            severity_number: number,
            severity_text: text.to_string(),
            body: Some(AnyValue {
                value: Some(Value::StringValue(body)),
            }),
            attributes,
            flags: 1,
            trace_id: span.trace_id.clone(),
            span_id: span.span_id.clone(),
            ..Default::default()
        }
    };
    let mut logs = Vec::new();
    for span in spans {
        let took = span
            .end_time_unix_nano
            .saturating_sub(span.start_time_unix_nano)
            / MS;
        let status = span.status.as_ref().map_or("", |s| s.message.as_str());
        let is_root = std::ptr::eq(span, root);
        if failed(span) && !is_root {
            let error_type = attr(span, "error.type").unwrap_or("Error");
            let body = format!(
                "{} failed after {took} ms: {error_type}: {status}",
                span.name
            );
            logs.push(record(span, span.end_time_unix_nano, (17, "ERROR"), body));
        } else if attr(span, "gen_ai.operation.name") == Some("execute_tool") {
            let body = format!("{} returned in {took} ms", span.name);
            logs.push(record(span, span.end_time_unix_nano, (5, "DEBUG"), body));
        }
    }
    let steps = spans.len() - 1;
    let (severity, body) = if failed(root) {
        let status = root.status.as_ref().map_or("", |s| s.message.as_str());
        (
            (17, "ERROR"),
            format!("{agent} gave up after {steps} steps: {status}"),
        )
    } else {
        let took = root
            .end_time_unix_nano
            .saturating_sub(root.start_time_unix_nano)
            / MS;
        (
            (9, "INFO"),
            format!("{agent} answered in {took} ms after {steps} steps"),
        )
    };
    logs.push(record(root, root.end_time_unix_nano, severity, body));
    logs.sort_by_key(|l| l.time_unix_nano);
    logs
}

/// One export request of `(resource, logs)` groups.
pub fn request(groups: Vec<(Resource, Vec<LogRecord>)>) -> ExportLogsServiceRequest {
    let scope = InstrumentationScope {
        name: SCOPE_NAME.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        ..Default::default()
    };
    let resource_logs = groups
        .into_iter()
        .filter(|(_, logs)| !logs.is_empty())
        .map(|(resource, log_records)| ResourceLogs {
            resource: Some(resource),
            scope_logs: vec![ScopeLogs {
                scope: Some(scope.clone()),
                log_records,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        })
        .collect();
    ExportLogsServiceRequest { resource_logs }
}
