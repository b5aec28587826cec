//! Normalization: from a [`RawSpan`] or [`RawLog`] in any convention (OpenTelemetry GenAI of
//! every version, OpenLLMetry, OpenInference, the Langfuse SDK) to the canonical model.
//!
//! Each field has an ordered list of sources (see `docs/normalization.md`); the first usable one
//! is promoted into the field and removed from the attributes. Everything else, including the
//! losing side of a conflict and values too broken to promote, stays in `attributes` as sent.

mod attrs;
pub mod cap;
mod error;
mod flattened;
mod ids;
mod kind;
mod llm;
mod messages;
mod usage;
pub mod workspace;

#[cfg(test)]
mod tests;

use crate::model::{LogRecord, Observation, ObservationKind, Payload, SpanEvent};
use crate::raw::{RawEvent, RawLog, RawSpan, Resource};
use crate::value::{attributes_to_json, AttrValue};

use attrs::Bag;

/// A normalized span and the warnings worth telling the sender (junk values that were kept as
/// plain attributes instead of being promoted).
#[derive(Debug, Clone, PartialEq)]
pub struct Normalized<T> {
    pub value: T,
    pub warnings: Vec<String>,
}

/// The span being normalized: attributes and events still to promote, and the warnings so far.
struct Ctx {
    attrs: Bag,
    events: Vec<RawEvent>,
    /// Parallel to `events`: set when an event was folded into a field.
    consumed: Vec<bool>,
    /// `span 'name' (span_id hex)`, the prefix of every warning.
    label: String,
    start_ns: i64,
    warnings: Vec<String>,
}

impl Ctx {
    /// Records that `key` held `value`, which could not be promoted: `problem` says what is
    /// wrong with it, `lost` what that costs, `fix` what to send instead.
    fn warn(&mut self, key: &str, value: &AttrValue, problem: &str, lost: &str, fix: &str) {
        self.warnings.push(format!(
            "{}: attribute {key} = {} {problem}; it was kept as a plain attribute and {lost} \
             (fix: {fix})",
            self.label,
            attrs::shown(value),
        ));
    }

    /// Indices of the events with this name not consumed yet, in order.
    fn events_named(&self, name: &str) -> Vec<usize> {
        (0..self.events.len())
            .filter(|&i| !self.consumed[i] && self.events[i].name == name)
            .collect()
    }
}

/// Maps one span onto the canonical model. `resource` is the span's resource and
/// `resource_index` its position in the batch.
pub fn normalize_span(
    raw: RawSpan,
    resource: &Resource,
    resource_index: usize,
) -> Normalized<Observation> {
    let mut obs = Observation::new(raw.trace_id, raw.span_id, raw.name);
    obs.parent_span_id = raw.parent_span_id;
    obs.span_kind = raw.span_kind;
    obs.start_ns = raw.start_ns;
    obs.end_ns = raw.end_ns;
    obs.status = raw.status_code;
    obs.status_message = non_empty(raw.status_message);
    obs.resource_index = resource_index;
    obs.scope_name = non_empty(raw.scope_name);
    obs.scope_version = non_empty(raw.scope_version);
    obs.service_name = resource_text(resource, "service.name");
    obs.links = raw.links.iter().map(|l| (l.trace_id, l.span_id)).collect();

    let consumed = vec![false; raw.events.len()];
    let mut ctx = Ctx {
        attrs: Bag::new(raw.attributes),
        events: raw.events,
        consumed,
        label: format!("span '{}' (span_id {})", obs.name, obs.span_id),
        start_ns: raw.start_ns,
        warnings: Vec::new(),
    };

    obs.kind = kind::kind(&mut ctx);
    obs.operation = ctx.attrs.take_text(&["gen_ai.operation.name"]);
    obs.error = error::error(&mut ctx, obs.status, obs.status_message.as_deref());
    llm::fill(&mut ctx, &mut obs);
    usage::fill(&mut ctx, &mut obs);
    ids::fill(&mut ctx, &mut obs, resource);

    let (input, output) = messages::input_output(&mut ctx);
    obs.input = input;
    obs.output = output;
    if obs.kind == ObservationKind::Tool {
        if obs.input.is_none() {
            obs.input = obs.tool_arguments.clone().map(Payload::Value);
        }
        if obs.output.is_none() {
            obs.output = obs.tool_result.clone().map(Payload::Value);
        }
    }
    if obs.finish_reasons.is_empty() {
        if let Some(Payload::Messages(msgs)) = &obs.output {
            obs.finish_reasons = msgs
                .iter()
                .filter_map(|m| m.finish_reason.clone())
                .collect();
        }
    }

    obs.attributes = ctx.attrs.into_remaining();
    obs.events = ctx
        .events
        .into_iter()
        .zip(ctx.consumed)
        .filter(|(_, consumed)| !consumed)
        .map(|(e, _)| SpanEvent {
            name: e.name,
            time_ns: e.time_ns,
            attributes: json_map(&e.attributes),
        })
        .collect();
    Normalized {
        value: obs,
        warnings: ctx.warnings,
    }
}

/// Maps one log record onto the canonical model: `session.id` (else `gen_ai.conversation.id`)
/// and `gen_ai.agent.name` (else `agent.name`) are promoted; the rest stays.
pub fn normalize_log(
    raw: RawLog,
    resource: &Resource,
    resource_index: usize,
) -> Normalized<LogRecord> {
    let mut bag = Bag::new(raw.attributes);
    let session_id = bag.take_text(&["session.id", "gen_ai.conversation.id"]);
    let agent_name = bag.take_text(&["gen_ai.agent.name", "agent.name"]);
    let record = LogRecord {
        time_ns: raw.time_ns,
        observed_ns: raw.observed_ns,
        trace_id: raw.trace_id,
        span_id: raw.span_id,
        severity_number: raw.severity_number,
        severity_text: non_empty(raw.severity_text),
        body: match raw.body {
            AttrValue::Empty => None,
            b => Some(b.to_json()),
        },
        service_name: resource_text(resource, "service.name"),
        session_id,
        agent_name,
        event_name: non_empty(raw.event_name),
        scope_name: non_empty(raw.scope_name),
        resource_index,
        attributes: bag.into_remaining(),
    };
    Normalized {
        value: record,
        warnings: Vec::new(),
    }
}

/// The attribute naming the trace (Langfuse's `langfuse.trace.name`; it stays in `attributes`).
pub const TRACE_NAME_KEY: &str = "langfuse.trace.name";

/// The name a span gives its trace, when it names one: `langfuse.trace.name`, non-empty. The
/// stores take the root span's as the trace's `root_name`, instead of the root's span name.
pub fn trace_name(obs: &Observation) -> Option<String> {
    workspace::attribute_text(&obs.attributes, &[TRACE_NAME_KEY])
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn resource_text(resource: &Resource, key: &str) -> Option<String> {
    resource
        .attributes
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.to_text())
        .filter(|s| !s.is_empty())
}

fn json_map(attrs: &[(String, AttrValue)]) -> serde_json::Map<String, serde_json::Value> {
    match attributes_to_json(attrs) {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}
