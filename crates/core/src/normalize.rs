//! Normalization: from a [`RawSpan`] in any convention to an [`Observation`].

use crate::model::{LogRecord, Observation};
use crate::raw::{RawLog, RawSpan, Resource};

/// A normalized span and the warnings worth telling the sender (junk values that were kept as
/// plain attributes instead of being promoted).
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized<T> {
    pub value: T,
    pub warnings: Vec<String>,
}

/// Maps one span onto the canonical model. `resource` is the span's resource and
/// `resource_index` its position in the batch.
pub fn normalize_span(raw: RawSpan, resource: &Resource, resource_index: usize) -> Normalized<Observation> {
    let mut obs = Observation::new(raw.trace_id, raw.span_id, raw.name);
    obs.parent_span_id = raw.parent_span_id;
    obs.span_kind = raw.span_kind;
    obs.start_ns = raw.start_ns;
    obs.end_ns = raw.end_ns;
    obs.status = raw.status_code;
    obs.resource_index = resource_index;
    obs.attributes = raw.attributes;
    obs.service_name = resource
        .attributes
        .iter()
        .find(|(k, _)| k == "service.name")
        .and_then(|(_, v)| v.to_text());
    Normalized { value: obs, warnings: Vec::new() }
}

/// Maps one log record onto the canonical model.
pub fn normalize_log(raw: RawLog, resource: &Resource, resource_index: usize) -> Normalized<LogRecord> {
    let record = LogRecord {
        time_ns: raw.time_ns,
        observed_ns: raw.observed_ns,
        trace_id: raw.trace_id,
        span_id: raw.span_id,
        severity_number: raw.severity_number,
        severity_text: (!raw.severity_text.is_empty()).then_some(raw.severity_text),
        body: match raw.body {
            crate::value::AttrValue::Empty => None,
            b => Some(b.to_json()),
        },
        service_name: resource
            .attributes
            .iter()
            .find(|(k, _)| k == "service.name")
            .and_then(|(_, v)| v.to_text()),
        session_id: None,
        agent_name: None,
        event_name: (!raw.event_name.is_empty()).then_some(raw.event_name),
        scope_name: (!raw.scope_name.is_empty()).then_some(raw.scope_name),
        resource_index,
        attributes: raw.attributes,
    };
    Normalized { value: record, warnings: Vec::new() }
}
