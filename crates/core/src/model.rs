//! The canonical model: every span becomes an [`Observation`], every log record a [`LogRecord`],
//! whatever convention they were sent in. Times are UTC nanoseconds; money is integer nano-USD.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::ids::{SpanId, TraceId};
use crate::value::Attributes;

/// What a step was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservationKind {
    Agent,
    Llm,
    Tool,
    Chain,
    Retriever,
    Embedding,
    Reranker,
    Guardrail,
    Evaluator,
    Event,
    Span,
}

impl ObservationKind {
    pub const ALL: [ObservationKind; 11] = [
        Self::Agent,
        Self::Llm,
        Self::Tool,
        Self::Chain,
        Self::Retriever,
        Self::Embedding,
        Self::Reranker,
        Self::Guardrail,
        Self::Evaluator,
        Self::Event,
        Self::Span,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Llm => "llm",
            Self::Tool => "tool",
            Self::Chain => "chain",
            Self::Retriever => "retriever",
            Self::Embedding => "embedding",
            Self::Reranker => "reranker",
            Self::Guardrail => "guardrail",
            Self::Evaluator => "evaluator",
            Self::Event => "event",
            Self::Span => "span",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// OpenTelemetry span kind, as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    #[default]
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl SpanKind {
    /// From the OTLP enum number; unknown numbers are `Unspecified`.
    pub fn from_otlp(n: i32) -> Self {
        match n {
            1 => Self::Internal,
            2 => Self::Server,
            3 => Self::Client,
            4 => Self::Producer,
            5 => Self::Consumer,
            _ => Self::Unspecified,
        }
    }
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Unspecified => 0,
            Self::Internal => 1,
            Self::Server => 2,
            Self::Client => 3,
            Self::Producer => 4,
            Self::Consumer => 5,
        }
    }
}

/// Span status, as OpenTelemetry defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StatusCode {
    #[default]
    Unset,
    Ok,
    Error,
}

impl StatusCode {
    pub fn from_otlp(n: i32) -> Self {
        match n {
            1 => Self::Ok,
            2 => Self::Error,
            _ => Self::Unset,
        }
    }
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Unset => 0,
            Self::Ok => 1,
            Self::Error => 2,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "unset",
            Self::Ok => "ok",
            Self::Error => "error",
        }
    }
}

/// The error a step ended with: from `error.type`, the status message and `exception` events.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorInfo {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stacktrace: Option<String>,
}

/// Token usage of an llm or embedding call. Every count is `None` when not reported (never a
/// made-up zero). `input` includes cache reads and writes as OpenTelemetry defines it;
/// `output` includes reasoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<i64>,
}

impl Usage {
    pub fn is_empty(&self) -> bool {
        *self == Usage::default()
    }
}

/// A tool call requested by a model inside a message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ToolCall {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    /// Arguments as sent: a JSON value, or a string when they were not JSON.
    #[serde(skip_serializing_if = "Json::is_null", default)]
    pub arguments: Json,
}

/// One chat message, whatever convention carried it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    /// The text content (text parts joined with newlines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Non-text parts (images, blobs, reasoning, ...) kept as sent.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub parts: Vec<Json>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub tool_calls: Vec<ToolCall>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// The input or output of a step: chat messages, or a plain value (text or JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    Messages(Vec<Message>),
    Value(Json),
}

/// Where an observation's cost came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostSource {
    /// The sender reported it (`gen_ai.usage.cost`, `llm.cost.total`, Langfuse cost details).
    Provided,
    /// Token usage times the price registry's price for the model.
    Computed,
    /// No cost could be given; `reason` says why. Never a made-up zero.
    Unknown,
    /// No usage was reported: tokens were counted from the input and output text with the
    /// model's tokenizer and priced; `reason` says how many.
    Estimated,
}

/// The cost of an llm or embedding call, in integer nano-USD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nano_usd: Option<i64>,
    pub source: CostSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A span event that normalization did not consume (exceptions and message events are folded
/// into `error`, `input` and `output`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEvent {
    pub name: String,
    pub time_ns: i64,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty", default)]
    pub attributes: serde_json::Map<String, Json>,
}

/// One step of an agent run: the canonical form of a span.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub name: String,
    pub kind: ObservationKind,
    pub span_kind: SpanKind,
    pub start_ns: i64,
    pub end_ns: i64,
    pub status: StatusCode,
    pub status_message: Option<String>,
    /// Set when the step failed: status ERROR, `error.type`, or an `exception` event.
    pub error: Option<ErrorInfo>,
    pub service_name: Option<String>,
    pub scope_name: Option<String>,
    pub scope_version: Option<String>,
    /// Index into [`WriteBatch::resources`] of the resource this span came from.
    pub resource_index: usize,

    /// `gen_ai.operation.name` (or the equivalent), e.g. `chat`, `execute_tool`.
    pub operation: Option<String>,
    /// Canonical provider name (`openai`, `anthropic`, `aws.bedrock`, `gcp.vertex_ai`, ...).
    pub provider: Option<String>,
    pub request_model: Option<String>,
    pub response_model: Option<String>,
    pub usage: Usage,
    pub finish_reasons: Vec<String>,
    /// Request parameters (temperature, max_tokens, ...), as a JSON object.
    pub request_params: serde_json::Map<String, Json>,
    /// Time to first token, in nanoseconds after `start_ns`.
    pub ttft_ns: Option<i64>,
    /// A cost provided by the sender, in nano-USD.
    pub provided_cost_nano_usd: Option<i64>,
    /// The cost the enrich step settled on (llm and embedding calls only).
    pub cost: Option<Cost>,

    pub agent_name: Option<String>,
    pub agent_id: Option<String>,
    pub session_id: Option<String>,
    pub user_id: Option<String>,
    pub tenant_id: Option<String>,
    /// From the `workspace.id`, `sightline.workspace_id` or `workspace_id` attribute, on the
    /// span first, then on its resource (the attributes stay in `attributes` too).
    pub workspace_id: Option<String>,
    pub tool_name: Option<String>,
    pub tool_call_id: Option<String>,
    pub tool_arguments: Option<Json>,
    pub tool_result: Option<Json>,
    pub tags: Vec<String>,

    pub input: Option<Payload>,
    pub output: Option<Payload>,

    /// Every attribute that was not promoted into a field above, as sent.
    pub attributes: Attributes,
    /// Span events not folded into other fields.
    pub events: Vec<SpanEvent>,
    /// Links to other spans, as (trace id, span id).
    pub links: Vec<(TraceId, SpanId)>,
}

impl Observation {
    /// A bare observation with every optional field empty; normalization fills it in.
    pub fn new(trace_id: TraceId, span_id: SpanId, name: String) -> Self {
        Observation {
            trace_id,
            span_id,
            parent_span_id: None,
            name,
            kind: ObservationKind::Span,
            span_kind: SpanKind::Unspecified,
            start_ns: 0,
            end_ns: 0,
            status: StatusCode::Unset,
            status_message: None,
            error: None,
            service_name: None,
            scope_name: None,
            scope_version: None,
            resource_index: 0,
            operation: None,
            provider: None,
            request_model: None,
            response_model: None,
            usage: Usage::default(),
            finish_reasons: Vec::new(),
            request_params: serde_json::Map::new(),
            ttft_ns: None,
            provided_cost_nano_usd: None,
            cost: None,
            agent_name: None,
            agent_id: None,
            session_id: None,
            user_id: None,
            tenant_id: None,
            workspace_id: None,
            tool_name: None,
            tool_call_id: None,
            tool_arguments: None,
            tool_result: None,
            tags: Vec::new(),
            input: None,
            output: None,
            attributes: Vec::new(),
            events: Vec::new(),
            links: Vec::new(),
        }
    }

    /// The model that answered, else the one requested.
    pub fn model(&self) -> Option<&str> {
        self.response_model
            .as_deref()
            .or(self.request_model.as_deref())
    }

    pub fn is_error(&self) -> bool {
        self.status == StatusCode::Error || self.error.is_some()
    }
}

/// The level of an OpenTelemetry severity number, lowercase (`trace` .. `fatal`, by the
/// specification's ranges of four); `None` for 0 (unset) and numbers out of range.
pub fn severity_level(number: i32) -> Option<&'static str> {
    Some(match number {
        1..=4 => "trace",
        5..=8 => "debug",
        9..=12 => "info",
        13..=16 => "warn",
        17..=20 => "error",
        21..=24 => "fatal",
        _ => return None,
    })
}

/// One log record in canonical form, correlated to traces and sessions when ids are known.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    pub time_ns: i64,
    pub observed_ns: i64,
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
    pub severity_number: i32,
    pub severity_text: Option<String>,
    pub body: Option<Json>,
    pub service_name: Option<String>,
    pub session_id: Option<String>,
    pub agent_name: Option<String>,
    pub event_name: Option<String>,
    pub scope_name: Option<String>,
    pub resource_index: usize,
    /// Every attribute not promoted above.
    pub attributes: Attributes,
}

/// What one accepted request writes, all in one project: the store commits it whole.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WriteBatch {
    pub resources: Vec<crate::raw::Resource>,
    pub observations: Vec<Observation>,
    pub logs: Vec<LogRecord>,
}

impl WriteBatch {
    pub fn is_empty(&self) -> bool {
        self.observations.is_empty() && self.logs.is_empty()
    }
}
