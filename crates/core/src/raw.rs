//! The wire-neutral input to normalization: what every receiver (OTLP protobuf, OTLP JSON, gRPC,
//! native events) decodes into. Ids are already validated; everything else is as sent.

use crate::ids::{SpanId, TraceId};
use crate::model::{SpanKind, StatusCode};
use crate::value::Attributes;

/// The resource a batch of spans or logs came from (`service.name`, `tenant.id`, ...).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resource {
    pub attributes: Attributes,
}

/// One span as received.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSpan {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub name: String,
    pub span_kind: SpanKind,
    /// UTC nanoseconds since the Unix epoch.
    pub start_ns: i64,
    pub end_ns: i64,
    pub status_code: StatusCode,
    pub status_message: String,
    pub attributes: Attributes,
    pub events: Vec<RawEvent>,
    pub links: Vec<RawLink>,
    pub scope_name: String,
    pub scope_version: String,
}

/// A span event (`exception`, `gen_ai.user.message`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    pub name: String,
    pub time_ns: i64,
    pub attributes: Attributes,
}

/// A link to another span.
#[derive(Debug, Clone, PartialEq)]
pub struct RawLink {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub attributes: Attributes,
}

/// One log record as received (OTLP log record or native JSON event).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawLog {
    pub time_ns: i64,
    pub observed_ns: i64,
    pub severity_number: i32,
    pub severity_text: String,
    pub body: crate::value::AttrValue,
    pub attributes: Attributes,
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
    pub event_name: String,
    pub scope_name: String,
}

/// One decoded ingest request, whatever receiver it came through: the single request type the
/// ingest service takes. Spans and logs point into `resources` by index. Items the decoder had to
/// refuse (bad ids, times) are already counted in `rejected_*`, with reasons in `errors`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawBatch {
    pub resources: Vec<Resource>,
    pub spans: Vec<(usize, RawSpan)>,
    pub logs: Vec<(usize, RawLog)>,
    pub rejected_spans: u64,
    pub rejected_logs: u64,
    /// One line per refused item or field, naming it and the fix.
    pub errors: Vec<String>,
}

/// One decoded metrics export (OTLP protobuf, JSON or gRPC): metrics point into `resources` by
/// index. Data points the decoder had to refuse are counted in `rejected_points`, with reasons
/// in `errors`; the rest are as sent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawMetrics {
    pub resources: Vec<Resource>,
    pub metrics: Vec<RawMetric>,
    pub rejected_points: u64,
    /// One line per refused data point, naming it and the fix.
    pub errors: Vec<String>,
}

/// One metric as received: its identity, its kind, and its data points.
#[derive(Debug, Clone, PartialEq)]
pub struct RawMetric {
    pub resource_index: usize,
    pub name: String,
    pub description: String,
    pub unit: String,
    pub kind: crate::metrics::MetricKind,
    /// Sums and histograms; gauges are `Cumulative` (a gauge has no temporality).
    pub temporality: crate::metrics::Temporality,
    /// Sums only: whether the sum only goes up (a counter).
    pub monotonic: bool,
    pub points: Vec<RawPoint>,
}

/// One data point as received.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPoint {
    pub attributes: Attributes,
    /// Start of the interval the point covers (0: unknown), UTC nanoseconds.
    pub start_ns: i64,
    pub time_ns: i64,
    pub value: RawValue,
}

/// A data point's value, in the shape its metric type sends it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Int(i64),
    Double(f64),
    /// An explicit-bucket histogram: `counts` has one more entry than `bounds` (the last bucket
    /// is everything above the last bound), or none at all.
    Histogram {
        count: u64,
        sum: Option<f64>,
        bounds: Vec<f64>,
        counts: Vec<u64>,
    },
    /// An exponential histogram: bucket `i` of `positive` covers (base^i, base^(i+1)] with
    /// base = 2^(2^-scale), starting at index `offset`.
    Exponential {
        count: u64,
        sum: Option<f64>,
        scale: i32,
        zero_count: u64,
        positive: ExpBuckets,
        negative: ExpBuckets,
    },
    /// A summary: only its count and sum are kept (quantiles are not).
    Summary {
        count: u64,
        sum: f64,
    },
}

/// The populated buckets of one side of an exponential histogram.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExpBuckets {
    pub offset: i32,
    pub counts: Vec<u64>,
}
