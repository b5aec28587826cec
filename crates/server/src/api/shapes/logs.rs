//! A log record as `/logs`, the trace tree and the live stream show it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use sightline_core::time::format_rfc3339;
use sightline_core::{LogRecord, Resource};

use super::{attribute_map, present, resource_map};

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct Log {
    pub time_ns: i64,
    pub time: String,
    pub observed_ns: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// OpenTelemetry severity, 1-24 (0: unset).
    pub severity_number: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope_name: Option<String>,
    pub resource: Map<String, Json>,
    pub attributes: Map<String, Json>,
}

impl Log {
    /// `l` as the API shows it; `resources` is what `l.resource_index` points into.
    pub fn new(l: &LogRecord, resources: &[Resource]) -> Self {
        Log {
            time_ns: l.time_ns,
            time: format_rfc3339(l.time_ns),
            observed_ns: l.observed_ns,
            trace_id: l.trace_id.map(|t| t.to_hex()),
            span_id: l.span_id.map(|s| s.to_hex()),
            severity_number: l.severity_number,
            severity_text: l.severity_text.clone(),
            body: present(&l.body),
            service_name: l.service_name.clone(),
            session_id: l.session_id.clone(),
            agent_name: l.agent_name.clone(),
            event_name: l.event_name.clone(),
            scope_name: l.scope_name.clone(),
            resource: resource_map(resources, l.resource_index),
            attributes: attribute_map(&l.attributes),
        }
    }
}
