//! Conversion of decoded OTLP requests into the wire-neutral `RawBatch`, checking each span and log
//! record on its own: a bad item is counted and explained, the rest of the batch is kept.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::trace::v1::{span, Span};
use sightline_core::{
    AttrValue, Attributes, RawBatch, RawEvent, RawLink, RawLog, RawSpan, Resource, SpanId,
    SpanKind, StatusCode, TraceId,
};

use super::{excerpt, ErrorLines};

const TRACE_FIX: &str = "send the W3C trace id (16 random bytes)";
const SPAN_FIX: &str = "send the span's 8-byte id";
const PARENT_FIX: &str = "send the parent's 8-byte span id, or leave it empty for a root span";

/// Converts one OTLP/JSON or protobuf trace export into a `RawBatch`.
pub fn traces_to_raw(req: ExportTraceServiceRequest) -> RawBatch {
    let mut batch = RawBatch::default();
    let mut errors = ErrorLines::default();
    for (i, rs) in req.resource_spans.into_iter().enumerate() {
        let resource = batch.resources.len();
        let attributes = rs
            .resource
            .map(|r| attributes(r.attributes))
            .unwrap_or_default();
        batch.resources.push(Resource { attributes });
        for (j, ss) in rs.scope_spans.into_iter().enumerate() {
            let (scope_name, scope_version) =
                ss.scope.map(|s| (s.name, s.version)).unwrap_or_default();
            for (k, span) in ss.spans.into_iter().enumerate() {
                let at = || format!("resourceSpans[{i}].scopeSpans[{j}].spans[{k}]");
                match check_span(&span) {
                    Ok(checked) => {
                        let raw = build_span(
                            span,
                            checked,
                            &scope_name,
                            &scope_version,
                            &at,
                            &mut errors,
                        );
                        batch.spans.push((resource, raw));
                    }
                    Err(problem) => {
                        batch.rejected_spans += 1;
                        errors.push_with(|| {
                            format!("{} (span {}): {problem}", at(), excerpt(&span.name))
                        });
                    }
                }
            }
        }
    }
    batch.errors = errors.finish();
    batch
}

/// The validated identity and times of a span.
struct Checked {
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: Option<SpanId>,
    start_ns: i64,
    end_ns: i64,
}

fn check_span(span: &Span) -> Result<Checked, String> {
    let trace_id =
        TraceId::from_bytes(&span.trace_id).map_err(|e| format!("traceId {e}; {TRACE_FIX}"))?;
    let span_id =
        SpanId::from_bytes(&span.span_id).map_err(|e| format!("spanId {e}; {SPAN_FIX}"))?;
    let parent_span_id = if span.parent_span_id.is_empty() {
        None
    } else {
        Some(
            SpanId::from_bytes(&span.parent_span_id)
                .map_err(|e| format!("parentSpanId {e}; {PARENT_FIX}"))?,
        )
    };
    let (start, end) = (span.start_time_unix_nano, span.end_time_unix_nano);
    if start == 0 {
        return Err("startTimeUnixNano is 0; send the span's start time in nanoseconds since the Unix epoch".into());
    }
    let start_ns = time(start, "startTimeUnixNano")?;
    let end_ns = time(end, "endTimeUnixNano")?;
    if end < start {
        return Err(format!(
            "endTimeUnixNano ({end}) is before startTimeUnixNano ({start}); send the end time of a finished span, in nanoseconds since the Unix epoch"
        ));
    }
    Ok(Checked {
        trace_id,
        span_id,
        parent_span_id,
        start_ns,
        end_ns,
    })
}

/// A wire time (u64 nanoseconds) as the model's i64, refusing times past the year 2262.
pub(super) fn time(ns: u64, field: &str) -> Result<i64, String> {
    i64::try_from(ns).map_err(|_| {
        format!("{field} ({ns}) is beyond the year 2262; send nanoseconds since the Unix epoch")
    })
}

fn build_span(
    span: Span,
    checked: Checked,
    scope_name: &str,
    scope_version: &str,
    at: &dyn Fn() -> String,
    errors: &mut ErrorLines,
) -> RawSpan {
    let status = span.status.unwrap_or_default();
    let mut events = Vec::with_capacity(span.events.len());
    for (e, event) in span.events.into_iter().enumerate() {
        match build_event(event, checked.start_ns) {
            Ok(ev) => events.push(ev),
            Err((name, problem)) => errors.push_with(|| {
                format!(
                    "{}.events[{e}] (event {}): {problem}; the event was dropped and the span kept",
                    at(),
                    excerpt(&name)
                )
            }),
        }
    }
    let mut links = Vec::with_capacity(span.links.len());
    for (l, link) in span.links.into_iter().enumerate() {
        match build_link(link) {
            Ok(lk) => links.push(lk),
            Err(problem) => errors.push_with(|| {
                format!(
                    "{}.links[{l}]: {problem}; the link was dropped and the span kept",
                    at()
                )
            }),
        }
    }
    RawSpan {
        trace_id: checked.trace_id,
        span_id: checked.span_id,
        parent_span_id: checked.parent_span_id,
        name: span.name,
        span_kind: SpanKind::from_otlp(span.kind),
        start_ns: checked.start_ns,
        end_ns: checked.end_ns,
        status_code: StatusCode::from_otlp(status.code),
        status_message: status.message,
        attributes: attributes(span.attributes),
        events,
        links,
        scope_name: scope_name.to_owned(),
        scope_version: scope_version.to_owned(),
    }
}

/// An event without a time is placed at the span's start.
fn build_event(event: span::Event, span_start_ns: i64) -> Result<RawEvent, (String, String)> {
    let time_ns = match event.time_unix_nano {
        0 => span_start_ns,
        ns => match time(ns, "timeUnixNano") {
            Ok(t) => t,
            Err(problem) => return Err((event.name, problem)),
        },
    };
    Ok(RawEvent {
        name: event.name,
        time_ns,
        attributes: attributes(event.attributes),
    })
}

fn build_link(link: span::Link) -> Result<RawLink, String> {
    let trace_id =
        TraceId::from_bytes(&link.trace_id).map_err(|e| format!("traceId {e}; {TRACE_FIX}"))?;
    let span_id = SpanId::from_bytes(&link.span_id)
        .map_err(|e| format!("spanId {e}; send the linked span's 8-byte id"))?;
    Ok(RawLink {
        trace_id,
        span_id,
        attributes: attributes(link.attributes),
    })
}

/// Converts one OTLP log export into a `RawBatch`.
pub fn logs_to_raw(req: ExportLogsServiceRequest) -> RawBatch {
    let mut batch = RawBatch::default();
    let mut errors = ErrorLines::default();
    for (i, rl) in req.resource_logs.into_iter().enumerate() {
        let resource = batch.resources.len();
        let attributes = rl
            .resource
            .map(|r| attributes(r.attributes))
            .unwrap_or_default();
        batch.resources.push(Resource { attributes });
        for (j, sl) in rl.scope_logs.into_iter().enumerate() {
            let scope_name = sl.scope.map(|s| s.name).unwrap_or_default();
            for (k, record) in sl.log_records.into_iter().enumerate() {
                match build_log(record, &scope_name) {
                    Ok(log) => batch.logs.push((resource, log)),
                    Err(problem) => {
                        batch.rejected_logs += 1;
                        errors.push_with(|| {
                            format!("resourceLogs[{i}].scopeLogs[{j}].logRecords[{k}]: {problem}")
                        });
                    }
                }
            }
        }
    }
    batch.errors = errors.finish();
    batch
}

/// A log without a time takes its observed time; with neither, 0 is kept for the service to stamp.
fn build_log(record: LogRecord, scope_name: &str) -> Result<RawLog, String> {
    let trace_id = match record.trace_id.as_slice() {
        [] => None,
        bytes => Some(TraceId::from_bytes(bytes).map_err(|e| {
            format!("traceId {e}; send the W3C trace id of the active span, or leave it empty")
        })?),
    };
    let span_id = match record.span_id.as_slice() {
        [] => None,
        bytes => Some(SpanId::from_bytes(bytes).map_err(|e| {
            format!("spanId {e}; send the active span's 8-byte id, or leave it empty")
        })?),
    };
    let observed_ns = time(record.observed_time_unix_nano, "observedTimeUnixNano")?;
    let time_ns = match record.time_unix_nano {
        0 => observed_ns,
        ns => time(ns, "timeUnixNano")?,
    };
    Ok(RawLog {
        time_ns,
        observed_ns,
        severity_number: record.severity_number,
        severity_text: record.severity_text,
        body: record.body.map(attr_value).unwrap_or(AttrValue::Empty),
        attributes: attributes(record.attributes),
        trace_id,
        span_id,
        event_name: record.event_name,
        scope_name: scope_name.to_owned(),
    })
}

pub(super) fn attributes(kvs: Vec<KeyValue>) -> Attributes {
    kvs.into_iter()
        .map(|kv| (kv.key, kv.value.map(attr_value).unwrap_or(AttrValue::Empty)))
        .collect()
}

/// `AnyValue` to `AttrValue`; an unset value (and the profiles-only string index) is `Empty`.
/// Nesting depth is already bounded by the decoders (prost and serde_json both cap recursion).
fn attr_value(v: AnyValue) -> AttrValue {
    use any_value::Value as V;
    match v.value {
        Some(V::StringValue(s)) => AttrValue::Str(s),
        Some(V::BoolValue(b)) => AttrValue::Bool(b),
        Some(V::IntValue(i)) => AttrValue::Int(i),
        Some(V::DoubleValue(d)) => AttrValue::Double(d),
        Some(V::BytesValue(b)) => AttrValue::Bytes(b),
        Some(V::ArrayValue(a)) => AttrValue::Array(a.values.into_iter().map(attr_value).collect()),
        Some(V::KvlistValue(kv)) => AttrValue::Map(attributes(kv.values)),
        Some(V::StringValueStrindex(_)) | None => AttrValue::Empty,
    }
}
