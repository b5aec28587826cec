//! Sightline's domain core: the canonical observation model, the wire-neutral input it is built
//! from, and the normalization that maps every telemetry convention onto it. No IO happens here.

pub mod calls;
pub mod cost;
pub mod gateway;
pub mod ids;
pub mod introspect;
pub mod metrics;
pub mod model;
pub mod model_name;
pub mod money;
pub mod normalize;
pub mod raw;
pub mod time;
pub mod value;

pub use ids::{ProjectId, SpanId, TraceId};
pub use model::{
    Cost, CostSource, ErrorInfo, LogRecord, Message, Observation, ObservationKind, Payload,
    SpanEvent, SpanKind, StatusCode, ToolCall, Usage, WriteBatch,
};
pub use raw::{
    ExpBuckets, RawBatch, RawEvent, RawLink, RawLog, RawMetric, RawMetrics, RawPoint, RawSpan,
    RawValue, Resource,
};
pub use value::{AttrValue, Attributes};
