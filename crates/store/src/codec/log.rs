//! A log's stored form: promoted columns (`LogColumns`), the body as text, and a
//! zstd-compressed JSON `detail` blob for the rest.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use sightline_core::value::attributes_to_json;
use sightline_core::{AttrValue, LogRecord, SpanId, TraceId};

use super::{is_false, pack, unpack};
use crate::StoreError;

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
