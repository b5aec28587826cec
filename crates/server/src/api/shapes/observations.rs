//! An observation (one step of an agent run) as `/observations`, `/traces/{id}/observations/
//! {span_id}` and the live stream show it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use sightline_core::time::format_rfc3339;
use sightline_core::{
    Cost, ErrorInfo, ObservationKind, Payload, Resource, SpanEvent, SpanKind, StatusCode, Usage,
};

use super::{attribute_map, present, resource_map};

/// One step of an agent run. A field the server always sends takes its default when missing
/// (`kind`: `span`), as the module says.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Observation {
    #[serde(default)]
    pub trace_id: String,
    #[serde(default)]
    pub span_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default = "unclassified")]
    pub kind: ObservationKind,
    #[serde(default)]
    pub span_kind: SpanKind,
    #[serde(default)]
    pub start_ns: i64,
    #[serde(default)]
    pub end_ns: i64,
    #[serde(default)]
    pub start_time: String,
    #[serde(default)]
    pub end_time: String,
    #[serde(default)]
    pub duration_ns: i64,
    #[serde(default)]
    pub status: StatusCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// Status `error`, or an `error` recorded.
    #[serde(default)]
    pub is_error: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub resource: Map<String, Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The response model, else the request model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_model: Option<String>,
    #[serde(default)]
    pub usage: Usage,
    #[serde(default)]
    pub finish_reasons: Vec<String>,
    #[serde(default)]
    pub request_params: Map<String, Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_ns: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provided_cost_nano_usd: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_arguments: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_result: Option<Json>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Payload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Payload>,
    #[serde(default)]
    pub attributes: Map<String, Json>,
    #[serde(default)]
    pub events: Vec<SpanEvent>,
    #[serde(default)]
    pub links: Vec<Link>,
}

fn unclassified() -> ObservationKind {
    ObservationKind::Span
}

/// The instrumentation scope that reported the span.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct Scope {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A link to another span.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct Link {
    pub trace_id: String,
    pub span_id: String,
}

impl Observation {
    /// `o` as the API shows it; `resources` is what `o.resource_index` points into.
    pub fn new(o: &sightline_core::Observation, resources: &[Resource]) -> Self {
        Observation {
            trace_id: o.trace_id.to_hex(),
            span_id: o.span_id.to_hex(),
            parent_span_id: o.parent_span_id.map(|p| p.to_hex()),
            name: o.name.clone(),
            kind: o.kind,
            span_kind: o.span_kind,
            start_ns: o.start_ns,
            end_ns: o.end_ns,
            start_time: format_rfc3339(o.start_ns),
            end_time: format_rfc3339(o.end_ns),
            duration_ns: o.end_ns - o.start_ns,
            status: o.status,
            status_message: o.status_message.clone(),
            is_error: o.is_error(),
            error: o.error.clone(),
            service_name: o.service_name.clone(),
            scope: Scope {
                name: o.scope_name.clone(),
                version: o.scope_version.clone(),
            },
            resource: resource_map(resources, o.resource_index),
            operation: o.operation.clone(),
            provider: o.provider.clone(),
            model: o.model().map(str::to_owned),
            request_model: o.request_model.clone(),
            response_model: o.response_model.clone(),
            usage: o.usage,
            finish_reasons: o.finish_reasons.clone(),
            request_params: o.request_params.clone(),
            ttft_ns: o.ttft_ns,
            provided_cost_nano_usd: o.provided_cost_nano_usd,
            cost: o.cost.clone(),
            agent_name: o.agent_name.clone(),
            agent_id: o.agent_id.clone(),
            session_id: o.session_id.clone(),
            user_id: o.user_id.clone(),
            tenant_id: o.tenant_id.clone(),
            tool_name: o.tool_name.clone(),
            tool_call_id: o.tool_call_id.clone(),
            tool_arguments: present(&o.tool_arguments),
            tool_result: present(&o.tool_result),
            tags: o.tags.clone(),
            input: o.input.clone(),
            output: o.output.clone(),
            attributes: attribute_map(&o.attributes),
            events: o.events.clone(),
            links: o
                .links
                .iter()
                .map(|(t, s)| Link {
                    trace_id: t.to_hex(),
                    span_id: s.to_hex(),
                })
                .collect(),
        }
    }
}
