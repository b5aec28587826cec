//! A span's stored form: the promoted columns both engines keep (`SpanColumns`, and the
//! `model`, `request_model` and `model_family` columns from [`encode_span`]) plus two
//! zstd-compressed JSON blobs, `detail` for everything else and `payload` for input/output. Field names in the blobs are short on purpose: every
//! byte is paid once per span.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use sightline_core::value::attributes_to_json;
use sightline_core::{
    AttrValue, Cost, CostSource, ErrorInfo, Observation, Payload, SpanEvent, SpanId, SpanKind,
    StatusCode, TraceId,
};

use sightline_core::model_name::family;
use sightline_core::normalize::trace_name;
use sightline_core::normalize::workspace::{attribute_text, WORKSPACE_KEYS};

use super::kind::kind_from_code;
use super::{is_false, pack, unpack};
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
    /// Request model when it differs from the `model` column (see `mf`), in rows written before
    /// the `request_model` column; newer rows keep it there only.
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
    /// The workspace, only when the span's own attributes do not give it (it came from the
    /// resource; `""`: none although they name one). See [`StoredWorkspace`].
    #[serde(rename = "ws", default, skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
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

/// The encoded form of one observation, ready to bind.
pub struct SpanRow {
    /// The answered model, else the requested one.
    pub model: Option<String>,
    /// The requested model when it differs from `model` (else none).
    pub request_model: Option<String>,
    /// The family of `model` (`sightline_core::model_name::family`) when it differs from it.
    pub model_family: Option<String>,
    /// The trace's name a root span gives (`sightline_core::normalize::trace_name`).
    pub trace_name: Option<String>,
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
    let model_family = model
        .as_deref()
        .map(family)
        .filter(|f| Some(*f) != model.as_deref())
        .map(str::to_owned);
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
        // In the `request_model` column.
        request_model: None,
        response_model,
        model_flags: flags,
        finish_reasons: obs.finish_reasons.clone(),
        request_params: obs.request_params.clone(),
        ttft_ns: obs.ttft_ns,
        agent_id: obs.agent_id.clone(),
        workspace_id: if obs.workspace_id == attribute_text(&obs.attributes, &WORKSPACE_KEYS) {
            None
        } else {
            Some(obs.workspace_id.clone().unwrap_or_default())
        },
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
        request_model,
        model_family,
        trace_name: obs
            .parent_span_id
            .is_none()
            .then(|| trace_name(obs))
            .flatten(),
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
    /// The `request_model` column (schema 9 on SQLite, 10 on ClickHouse; older rows keep the
    /// request model in `detail`).
    pub request_model: Option<String>,
    pub tokens: [Option<i64>; 6],
    pub cost_nano_usd: Option<i64>,
    pub user_id: Option<String>,
    pub session_id: Option<String>,
    pub tenant_id: Option<String>,
    pub operation: Option<String>,
    pub detail: Vec<u8>,
    pub payload: Option<Vec<u8>>,
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
        c.request_model.or(detail.request_model)
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
    obs.workspace_id = StoredWorkspace::workspace(&detail.workspace_id, &detail.attributes, None);
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

/// The input and output of a `payload` blob (serde skips the tool fields cheaply).
#[derive(Deserialize)]
struct PayloadTextView {
    #[serde(rename = "i", default)]
    input: Option<Payload>,
    #[serde(rename = "o", default)]
    output: Option<Payload>,
}

/// The input and output stored in a `payload` blob.
pub fn decode_input_output(
    payload: &[u8],
) -> Result<(Option<Payload>, Option<Payload>), StoreError> {
    let view: PayloadTextView = unpack(payload)?;
    Ok((view.input, view.output))
}

/// What a raw scan reads of a `detail` blob without decoding the whole span: the attributes
/// and the stored workspace (serde skips the rest).
#[derive(Deserialize, Default)]
pub struct StoredWorkspace {
    #[serde(rename = "a", default)]
    pub attributes: Map<String, Json>,
    #[serde(rename = "ws", default)]
    pub workspace_id: Option<String>,
}

impl StoredWorkspace {
    /// The span's workspace: the stored one when there is one, else the workspace rule on its
    /// attributes, then on its `resource` (rows stored before normalization kept it, and rows
    /// whose attributes give it).
    pub fn of(&self, resource: Option<&[(String, AttrValue)]>) -> Option<String> {
        Self::workspace(&self.workspace_id, &self.attributes, resource)
    }

    fn workspace(
        stored: &Option<String>,
        attributes: &Map<String, Json>,
        resource: Option<&[(String, AttrValue)]>,
    ) -> Option<String> {
        if let Some(w) = stored {
            return (!w.is_empty()).then(|| w.clone());
        }
        let text = |v: &Json| match v {
            Json::String(s) => Some(s.clone()),
            Json::Null => None,
            other => Some(other.to_string()),
        };
        WORKSPACE_KEYS
            .iter()
            .find_map(|k| attributes.get(*k).and_then(text).filter(|s| !s.is_empty()))
            .or_else(|| resource.and_then(|r| attribute_text(r, &WORKSPACE_KEYS)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_workspace_wins_then_the_attributes_then_the_resource() {
        let attrs = |pairs: &[(&str, Json)]| -> Map<String, Json> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let resource = [("workspace_id".to_string(), AttrValue::Str("w-res".into()))];
        let stored = |ws: Option<&str>, a: Map<String, Json>| StoredWorkspace {
            attributes: a,
            workspace_id: ws.map(str::to_owned),
        };
        let named = attrs(&[("workspace.id", Json::from("w-span"))]);
        let cases = [
            (stored(Some("w-1"), named.clone()), Some("w-1")),
            (stored(Some(""), named.clone()), None),
            (stored(None, named), Some("w-span")),
            (
                stored(None, attrs(&[("workspace_id", Json::from(7))])),
                Some("7"),
            ),
            // A row stored before the workspace was kept: the resource's.
            (stored(None, Map::new()), Some("w-res")),
        ];
        for (s, want) in cases {
            assert_eq!(
                s.of(Some(&resource)).as_deref(),
                want,
                "{:?}",
                s.workspace_id
            );
        }
        assert_eq!(stored(None, Map::new()).of(None), None);
    }
}
