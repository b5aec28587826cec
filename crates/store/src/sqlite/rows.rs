//! The mapping between the canonical model and SQLite rows: promoted columns plus two zstd-compressed
//! JSON blobs (`detail` for everything else, `payload` for input/output). Field names in the
//! blobs are short on purpose: every byte is paid once per span.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use sightline_core::value::attributes_to_json;
use sightline_core::{
    AttrValue, Cost, CostSource, ErrorInfo, LogRecord, Observation, ObservationKind, Payload,
    SpanEvent, SpanId, SpanKind, StatusCode, TraceId,
};

use crate::codec::{pack, unpack};
use crate::StoreError;

#[derive(Serialize, Deserialize, Default)]
struct SpanDetail {
    /// OpenTelemetry span kind number.
    #[serde(rename = "k", default, skip_serializing_if = "is_zero")]
    span_kind: i32,
    #[serde(rename = "sm", default, skip_serializing_if = "Option::is_none")]
    status_message: Option<String>,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    error: Option<ErrorInfo>,
    #[serde(rename = "sn", default, skip_serializing_if = "Option::is_none")]
    scope_name: Option<String>,
    #[serde(rename = "sv", default, skip_serializing_if = "Option::is_none")]
    scope_version: Option<String>,
    #[serde(rename = "op", default, skip_serializing_if = "Option::is_none")]
    operation: Option<String>,
    /// Request model when it differs from the `model` column (see `mf`).
    #[serde(rename = "rq", default, skip_serializing_if = "Option::is_none")]
    request_model: Option<String>,
    #[serde(rename = "rs", default, skip_serializing_if = "Option::is_none")]
    response_model: Option<String>,
    /// Bit 0: the request model equals the `model` column; bit 1: the response model does.
    #[serde(rename = "mf", default, skip_serializing_if = "is_zero_u8")]
    model_flags: u8,
    #[serde(rename = "fr", default, skip_serializing_if = "Vec::is_empty")]
    finish_reasons: Vec<String>,
    #[serde(rename = "rp", default, skip_serializing_if = "Map::is_empty")]
    request_params: Map<String, Json>,
    #[serde(rename = "tt", default, skip_serializing_if = "Option::is_none")]
    ttft_ns: Option<i64>,
    #[serde(rename = "ai", default, skip_serializing_if = "Option::is_none")]
    agent_id: Option<String>,
    #[serde(rename = "tn", default, skip_serializing_if = "Option::is_none")]
    tool_name: Option<String>,
    #[serde(rename = "tc", default, skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<String>,
    #[serde(rename = "tg", default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(rename = "a", default, skip_serializing_if = "Map::is_empty")]
    attributes: Map<String, Json>,
    #[serde(rename = "ev", default, skip_serializing_if = "Vec::is_empty")]
    events: Vec<SpanEvent>,
    #[serde(rename = "l", default, skip_serializing_if = "Vec::is_empty")]
    links: Vec<(String, String)>,
    /// The sender's own cost, when it differs from the cost column (it never does today).
    #[serde(rename = "pc", default, skip_serializing_if = "Option::is_none")]
    provided_cost: Option<i64>,
    /// Where the cost column came from: 1 provided, 2 computed, 3 unknown (0: no cost).
    #[serde(rename = "cs", default, skip_serializing_if = "is_zero_u8")]
    cost_source: u8,
    /// Why the cost is unknown.
    #[serde(rename = "cr", default, skip_serializing_if = "Option::is_none")]
    cost_reason: Option<String>,
}

#[derive(Serialize, Deserialize, Default)]
struct SpanPayload {
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    input: Option<Payload>,
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    output: Option<Payload>,
    #[serde(rename = "ta", default, skip_serializing_if = "Option::is_none")]
    tool_arguments: Option<Json>,
    #[serde(rename = "tr", default, skip_serializing_if = "Option::is_none")]
    tool_result: Option<Json>,
    /// The tool arguments are the input value (stored once, in `i`).
    #[serde(rename = "tai", default, skip_serializing_if = "is_false")]
    tool_arguments_are_input: bool,
    /// The tool result is the output value (stored once, in `o`).
    #[serde(rename = "tro", default, skip_serializing_if = "is_false")]
    tool_result_is_output: bool,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}
fn is_zero_u8(n: &u8) -> bool {
    *n == 0
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// Stable small integers for kinds in the `kind` column (never renumber).
pub fn kind_code(kind: ObservationKind) -> i64 {
    match kind {
        ObservationKind::Span => 0,
        ObservationKind::Agent => 1,
        ObservationKind::Llm => 2,
        ObservationKind::Tool => 3,
        ObservationKind::Chain => 4,
        ObservationKind::Retriever => 5,
        ObservationKind::Embedding => 6,
        ObservationKind::Reranker => 7,
        ObservationKind::Guardrail => 8,
        ObservationKind::Evaluator => 9,
        ObservationKind::Event => 10,
    }
}

pub fn kind_from_code(code: i64) -> ObservationKind {
    ObservationKind::ALL
        .into_iter()
        .find(|k| kind_code(*k) == code)
        .unwrap_or(ObservationKind::Span)
}

/// The encoded form of one observation, ready to bind.
pub struct SpanRow {
    pub model: Option<String>,
    pub detail: Vec<u8>,
    pub payload: Option<Vec<u8>>,
}

pub fn encode_span(obs: &Observation) -> Result<SpanRow, StoreError> {
    let model = obs.model().map(str::to_owned);
    let mut flags = 0u8;
    let mut request_model = obs.request_model.clone();
    let mut response_model = obs.response_model.clone();
    if request_model.is_some() && request_model == model {
        flags |= 1;
        request_model = None;
    }
    if response_model.is_some() && response_model == model {
        flags |= 2;
        response_model = None;
    }
    let detail = SpanDetail {
        span_kind: obs.span_kind.as_i32(),
        status_message: obs.status_message.clone(),
        error: obs.error.clone(),
        scope_name: obs.scope_name.clone(),
        scope_version: obs.scope_version.clone(),
        // Stored in the `operation` column since schema 2; `detail` keeps it for older rows.
        operation: None,
        request_model,
        response_model,
        model_flags: flags,
        finish_reasons: obs.finish_reasons.clone(),
        request_params: obs.request_params.clone(),
        ttft_ns: obs.ttft_ns,
        agent_id: obs.agent_id.clone(),
        tool_name: obs.tool_name.clone(),
        tool_call_id: obs.tool_call_id.clone(),
        tags: obs.tags.clone(),
        attributes: match attributes_to_json(&obs.attributes) {
            Json::Object(m) => m,
            _ => Map::new(),
        },
        events: obs.events.clone(),
        links: obs
            .links
            .iter()
            .map(|(t, s)| (t.to_hex(), s.to_hex()))
            .collect(),
        provided_cost: obs
            .provided_cost_nano_usd
            .filter(|p| Some(*p) != obs.cost.as_ref().and_then(|c| c.nano_usd)),
        cost_source: match obs.cost.as_ref().map(|c| c.source) {
            None => 0,
            Some(CostSource::Provided) => 1,
            Some(CostSource::Computed) => 2,
            Some(CostSource::Unknown) => 3,
            // Added later: older binaries read 4 as "no cost source" and keep the amount.
            Some(CostSource::Estimated) => 4,
        },
        cost_reason: obs.cost.as_ref().and_then(|c| c.reason.clone()),
    };
    let same = |payload: &Option<Payload>, value: &Option<Json>| matches!((payload, value), (Some(Payload::Value(p)), Some(v)) if p == v);
    let tool_arguments_are_input = same(&obs.input, &obs.tool_arguments);
    let tool_result_is_output = same(&obs.output, &obs.tool_result);
    let payload = SpanPayload {
        input: obs.input.clone(),
        output: obs.output.clone(),
        tool_arguments: if tool_arguments_are_input {
            None
        } else {
            obs.tool_arguments.clone()
        },
        tool_result: if tool_result_is_output {
            None
        } else {
            obs.tool_result.clone()
        },
        tool_arguments_are_input,
        tool_result_is_output,
    };
    let has_payload = payload.input.is_some()
        || payload.output.is_some()
        || payload.tool_arguments.is_some()
        || payload.tool_result.is_some();
    Ok(SpanRow {
        model,
        detail: pack(&detail)?,
        payload: if has_payload {
            Some(pack(&payload)?)
        } else {
            None
        },
    })
}

/// The promoted columns of a stored span, as read back.
pub struct SpanColumns {
    pub trace_id: Vec<u8>,
    pub span_id: Vec<u8>,
    pub parent_span_id: Option<Vec<u8>>,
    pub start_ns: i64,
    pub duration_ns: i64,
    pub kind: i64,
    pub name: String,
    pub status: i64,
    pub service: Option<String>,
    pub agent: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub tokens: [Option<i64>; 6],
    pub cost_nano_usd: Option<i64>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub tenant_id: Option<String>,
    pub operation: Option<String>,
    pub detail: Vec<u8>,
    pub payload: Option<Vec<u8>>,
}

/// The columns a span read selects, in the order [`read_span_columns`] expects.
pub const SPAN_SELECT: &str =
    "trace_id, span_id, parent_span_id, start_ns, duration_ns, kind, name, \
     status, service, agent, provider, model, input_tokens, output_tokens, total_tokens, \
     cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nano_usd, user_id, session_id, \
     tenant_id, operation, resource_hash, detail";

/// Reads the [`SPAN_SELECT`] columns starting at `at`, plus the payload at `payload_at` when
/// given. Returns the columns and the span's resource hash.
pub fn read_span_columns(
    r: &rusqlite::Row<'_>,
    at: usize,
    payload_at: Option<usize>,
) -> rusqlite::Result<(SpanColumns, i64)> {
    Ok((
        SpanColumns {
            trace_id: r.get(at)?,
            span_id: r.get(at + 1)?,
            parent_span_id: r.get(at + 2)?,
            start_ns: r.get(at + 3)?,
            duration_ns: r.get(at + 4)?,
            kind: r.get(at + 5)?,
            name: r.get(at + 6)?,
            status: r.get(at + 7)?,
            service: r.get(at + 8)?,
            agent: r.get(at + 9)?,
            provider: r.get(at + 10)?,
            model: r.get(at + 11)?,
            tokens: [
                r.get(at + 12)?,
                r.get(at + 13)?,
                r.get(at + 14)?,
                r.get(at + 15)?,
                r.get(at + 16)?,
                r.get(at + 17)?,
            ],
            cost_nano_usd: r.get(at + 18)?,
            user_id: r.get(at + 19)?,
            session_id: r.get(at + 20)?,
            tenant_id: r.get(at + 21)?,
            operation: r.get(at + 22)?,
            detail: r.get(at + 24)?,
            payload: match payload_at {
                Some(i) => r.get(i)?,
                None => None,
            },
        },
        r.get(at + 23)?,
    ))
}

pub fn decode_span(c: SpanColumns, resource_index: usize) -> Result<Observation, StoreError> {
    let bad = |what: &str| StoreError::Engine(format!("corrupt stored span: bad {what}"));
    let trace_id = TraceId::from_bytes(&c.trace_id).map_err(|_| bad("trace id"))?;
    let span_id = SpanId::from_bytes(&c.span_id).map_err(|_| bad("span id"))?;
    let detail: SpanDetail = unpack(&c.detail)?;
    let payload: SpanPayload = match &c.payload {
        Some(p) => unpack(p)?,
        None => SpanPayload::default(),
    };
    let mut obs = Observation::new(trace_id, span_id, c.name);
    obs.parent_span_id = match c.parent_span_id {
        Some(p) => Some(SpanId::from_bytes(&p).map_err(|_| bad("parent span id"))?),
        None => None,
    };
    obs.kind = kind_from_code(c.kind);
    obs.span_kind = SpanKind::from_otlp(detail.span_kind);
    obs.start_ns = c.start_ns;
    obs.end_ns = c.start_ns.saturating_add(c.duration_ns);
    obs.status = StatusCode::from_otlp(c.status as i32);
    obs.status_message = detail.status_message;
    obs.error = detail.error;
    obs.service_name = c.service;
    obs.scope_name = detail.scope_name;
    obs.scope_version = detail.scope_version;
    obs.resource_index = resource_index;
    obs.operation = c.operation.or(detail.operation);
    obs.provider = c.provider;
    obs.request_model = if detail.model_flags & 1 != 0 {
        c.model.clone()
    } else {
        detail.request_model
    };
    obs.response_model = if detail.model_flags & 2 != 0 {
        c.model.clone()
    } else {
        detail.response_model
    };
    let [input, output, total, cache_read, cache_write, reasoning] = c.tokens;
    obs.usage = sightline_core::Usage {
        input,
        output,
        total,
        cache_read,
        cache_write,
        reasoning,
    };
    obs.finish_reasons = detail.finish_reasons;
    obs.request_params = detail.request_params;
    obs.ttft_ns = detail.ttft_ns;
    let source = match detail.cost_source {
        1 => Some(CostSource::Provided),
        2 => Some(CostSource::Computed),
        3 => Some(CostSource::Unknown),
        4 => Some(CostSource::Estimated),
        _ => None,
    };
    obs.cost = source.map(|source| Cost {
        nano_usd: c.cost_nano_usd,
        source,
        reason: detail.cost_reason,
    });
    obs.provided_cost_nano_usd = match source {
        Some(CostSource::Provided) => c.cost_nano_usd,
        _ => detail.provided_cost,
    };
    obs.agent_name = c.agent;
    obs.agent_id = detail.agent_id;
    obs.session_id = c.session_id;
    obs.user_id = c.user_id;
    obs.tenant_id = c.tenant_id;
    obs.tool_name = detail.tool_name;
    obs.tool_call_id = detail.tool_call_id;
    let value_of = |p: &Option<Payload>| match p {
        Some(Payload::Value(v)) => Some(v.clone()),
        _ => None,
    };
    obs.tool_arguments = if payload.tool_arguments_are_input {
        value_of(&payload.input)
    } else {
        payload.tool_arguments
    };
    obs.tool_result = if payload.tool_result_is_output {
        value_of(&payload.output)
    } else {
        payload.tool_result
    };
    obs.tags = detail.tags;
    obs.input = payload.input;
    obs.output = payload.output;
    obs.attributes = detail
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), AttrValue::from_json(v)))
        .collect();
    obs.events = detail.events;
    obs.links = detail
        .links
        .iter()
        .filter_map(|(t, s)| Some((TraceId::from_hex(t).ok()?, SpanId::from_hex(s).ok()?)))
        .collect();
    Ok(obs)
}

/// The parts of `detail` that filters look at (serde skips the rest cheaply).
#[derive(Deserialize)]
struct DetailFilterView {
    #[serde(rename = "tg", default)]
    tags: Vec<String>,
    #[serde(rename = "a", default)]
    attributes: Map<String, Json>,
}

/// Whether a span's `detail` blob holds every (key, value) attribute (values rendered as text:
/// strings as they are, anything else as JSON) and every tag.
pub fn detail_matches(
    detail: &[u8],
    attributes: &[(String, String)],
    tags: &[String],
) -> Result<bool, StoreError> {
    let view: DetailFilterView = unpack(detail)?;
    let attributes_hold = attributes
        .iter()
        .all(|(k, want)| match view.attributes.get(k) {
            Some(Json::String(s)) => s == want,
            Some(other) => {
                let rendered = other.to_string();
                rendered == *want
            }
            None => false,
        });
    Ok(attributes_hold && tags.iter().all(|t| view.tags.contains(t)))
}

#[derive(Deserialize)]
struct PayloadTextView {
    #[serde(rename = "i", default)]
    input: Option<Payload>,
    #[serde(rename = "o", default)]
    output: Option<Payload>,
}

/// Whether the input or output in a `payload` blob contains `needle_lower` (already lowercase),
/// case-insensitively. Message text, names and tool-call arguments are searched; roles and keys
/// are not.
pub fn payload_contains(payload: &[u8], needle_lower: &str) -> Result<bool, StoreError> {
    let view: PayloadTextView = unpack(payload)?;
    Ok([view.input, view.output]
        .iter()
        .flatten()
        .any(|p| payload_has(p, needle_lower)))
}

/// Case-insensitive substring test; `needle_lower` is already lowercase.
pub fn contains_ci(haystack: &str, needle_lower: &str) -> bool {
    if haystack.is_ascii() && needle_lower.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle_lower.as_bytes());
        return n.is_empty()
            || h.windows(n.len())
                .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b));
    }
    haystack.to_lowercase().contains(needle_lower)
}

fn payload_has(p: &Payload, needle: &str) -> bool {
    match p {
        Payload::Value(v) => json_has(v, needle),
        Payload::Messages(messages) => messages.iter().any(|m| {
            m.content.as_deref().is_some_and(|c| contains_ci(c, needle))
                || m.parts.iter().any(|part| json_has(part, needle))
                || m.tool_calls
                    .iter()
                    .any(|c| contains_ci(&c.name, needle) || json_has(&c.arguments, needle))
        }),
    }
}

/// Whether any string inside `v` (not keys) contains `needle`.
fn json_has(v: &Json, needle: &str) -> bool {
    match v {
        Json::String(s) => contains_ci(s, needle),
        Json::Array(a) => a.iter().any(|x| json_has(x, needle)),
        Json::Object(o) => o.values().any(|x| json_has(x, needle)),
        Json::Number(n) => contains_ci(&n.to_string(), needle),
        Json::Bool(_) | Json::Null => false,
    }
}

/// The input and output stored in a `payload` blob.
pub fn decode_input_output(
    payload: &[u8],
) -> Result<(Option<Payload>, Option<Payload>), StoreError> {
    let view: PayloadTextView = unpack(payload)?;
    Ok((view.input, view.output))
}

#[derive(Serialize, Deserialize, Default)]
struct LogDetail {
    #[serde(rename = "o", default)]
    observed_ns: i64,
    #[serde(rename = "en", default, skip_serializing_if = "Option::is_none")]
    event_name: Option<String>,
    #[serde(rename = "sn", default, skip_serializing_if = "Option::is_none")]
    scope_name: Option<String>,
    #[serde(rename = "a", default, skip_serializing_if = "Map::is_empty")]
    attributes: Map<String, Json>,
    /// The `body` column holds JSON text of a structured body (not a plain string).
    #[serde(rename = "bj", default, skip_serializing_if = "is_false")]
    body_is_json: bool,
}

pub fn encode_log_detail(log: &LogRecord) -> Result<Vec<u8>, StoreError> {
    pack(&LogDetail {
        observed_ns: log.observed_ns,
        event_name: log.event_name.clone(),
        scope_name: log.scope_name.clone(),
        attributes: match attributes_to_json(&log.attributes) {
            Json::Object(m) => m,
            _ => Map::new(),
        },
        body_is_json: matches!(&log.body, Some(b) if !b.is_string()),
    })
}

/// Log bodies are stored as text: strings as they are, anything else as JSON.
pub fn encode_log_body(body: &Option<Json>) -> Option<String> {
    match body {
        None => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

pub struct LogColumns {
    pub time_ns: i64,
    pub trace_id: Option<Vec<u8>>,
    pub span_id: Option<Vec<u8>>,
    pub severity: i64,
    pub severity_text: Option<String>,
    pub service: Option<String>,
    pub session_id: Option<String>,
    pub agent: Option<String>,
    pub body: Option<String>,
    pub detail: Vec<u8>,
}

/// The columns a log read selects, in the order [`read_log_columns`] expects.
pub const LOG_SELECT: &str = "time_ns, trace_id, span_id, severity, severity_text, service, \
     session_id, agent, body, resource_hash, detail";

/// Reads the [`LOG_SELECT`] columns starting at `at`; returns them and the resource hash.
pub fn read_log_columns(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<(LogColumns, i64)> {
    Ok((
        LogColumns {
            time_ns: r.get(at)?,
            trace_id: r.get(at + 1)?,
            span_id: r.get(at + 2)?,
            severity: r.get(at + 3)?,
            severity_text: r.get(at + 4)?,
            service: r.get(at + 5)?,
            session_id: r.get(at + 6)?,
            agent: r.get(at + 7)?,
            body: r.get(at + 8)?,
            detail: r.get(at + 10)?,
        },
        r.get(at + 9)?,
    ))
}

pub fn decode_log(c: LogColumns, resource_index: usize) -> Result<LogRecord, StoreError> {
    let detail: LogDetail = unpack(&c.detail)?;
    Ok(LogRecord {
        time_ns: c.time_ns,
        observed_ns: detail.observed_ns,
        trace_id: c.trace_id.and_then(|b| TraceId::from_bytes(&b).ok()),
        span_id: c.span_id.and_then(|b| SpanId::from_bytes(&b).ok()),
        severity_number: c.severity as i32,
        severity_text: c.severity_text,
        body: match c.body {
            Some(text) if detail.body_is_json => {
                Some(serde_json::from_str(&text).unwrap_or(Json::String(text)))
            }
            other => other.map(Json::String),
        },
        service_name: c.service,
        session_id: c.session_id,
        agent_name: c.agent,
        event_name: detail.event_name,
        scope_name: detail.scope_name,
        resource_index,
        attributes: detail
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), AttrValue::from_json(v)))
            .collect(),
    })
}

/// Resource attributes in their stored form and their hash (the hash identifies them).
pub fn encode_resource(attrs: &[(String, AttrValue)]) -> Result<(i64, Vec<u8>), StoreError> {
    let json = serde_json::to_vec(&attributes_to_json(attrs))
        .map_err(|e| StoreError::Engine(e.to_string()))?;
    let hash = crate::codec::stable_hash(&json);
    Ok((hash, pack(&attributes_to_json(attrs))?))
}

pub fn decode_resource(blob: &[u8]) -> Result<Vec<(String, AttrValue)>, StoreError> {
    let map: Map<String, Json> = unpack(blob)?;
    Ok(map
        .iter()
        .map(|(k, v)| (k.clone(), AttrValue::from_json(v)))
        .collect())
}
