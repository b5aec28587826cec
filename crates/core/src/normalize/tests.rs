//! Normalization cases, one per convention and version: each builds a span as that sender would
//! and compares a compact JSON view of the whole observation (empty fields left out).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Value as Json};

use super::{normalize_log, normalize_span, Normalized};
use crate::ids::{SpanId, TraceId};
use crate::model::{Observation, SpanKind, StatusCode};
use crate::raw::{RawEvent, RawLink, RawLog, RawSpan, Resource};
use crate::value::{AttrValue, Attributes};

/// 2024-05-01T10:00:00Z.
const START: i64 = 1_714_557_600_000_000_000;
const SPAN: &str = "span 'chat gpt-4o' (span_id 0102030405060708)";

fn s(v: &str) -> AttrValue {
    AttrValue::Str(v.to_string())
}
fn i(v: i64) -> AttrValue {
    AttrValue::Int(v)
}
fn d(v: f64) -> AttrValue {
    AttrValue::Double(v)
}
fn arr(items: Vec<AttrValue>) -> AttrValue {
    AttrValue::Array(items)
}
fn map(items: Vec<(&str, AttrValue)>) -> AttrValue {
    AttrValue::Map(kv(items))
}
fn kv(items: Vec<(&str, AttrValue)>) -> Attributes {
    items.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}
fn ev(name: &str, attrs: Vec<(&str, AttrValue)>) -> RawEvent {
    RawEvent {
        name: name.to_string(),
        time_ns: START + 1,
        attributes: kv(attrs),
    }
}

fn span(attrs: Vec<(&str, AttrValue)>) -> RawSpan {
    RawSpan {
        trace_id: TraceId([1; 16]),
        span_id: SpanId([1, 2, 3, 4, 5, 6, 7, 8]),
        parent_span_id: None,
        name: "chat gpt-4o".to_string(),
        span_kind: SpanKind::Client,
        start_ns: START,
        end_ns: START + 2_000_000_000,
        status_code: StatusCode::Unset,
        status_message: String::new(),
        attributes: kv(attrs),
        events: Vec::new(),
        links: Vec::new(),
        scope_name: String::new(),
        scope_version: String::new(),
    }
}

fn with_events(mut raw: RawSpan, events: Vec<RawEvent>) -> RawSpan {
    raw.events = events;
    raw
}

fn with_status(mut raw: RawSpan, code: StatusCode, message: &str) -> RawSpan {
    raw.status_code = code;
    raw.status_message = message.to_string();
    raw
}

/// The observation as JSON, leaving out ids, times and empty fields.
fn view(n: &Normalized<Observation>) -> Json {
    let o = &n.value;
    let mut out = serde_json::Map::new();
    out.insert("kind".into(), json!(o.kind.as_str()));
    let mut put = |key: &str, value: Json| {
        if !(value.is_null() || value == json!([]) || value == json!({})) {
            out.insert(key.to_string(), value);
        }
    };
    put("operation", json!(o.operation));
    if o.status != StatusCode::Unset {
        put("status", json!(o.status.as_str()));
    }
    put("status_message", json!(o.status_message));
    put("service_name", json!(o.service_name));
    put("scope_name", json!(o.scope_name));
    put("scope_version", json!(o.scope_version));
    put("provider", json!(o.provider));
    put("request_model", json!(o.request_model));
    put("response_model", json!(o.response_model));
    put("usage", serde_json::to_value(o.usage).unwrap());
    put("finish_reasons", json!(o.finish_reasons));
    put("request_params", Json::Object(o.request_params.clone()));
    put("ttft_ns", json!(o.ttft_ns));
    put("cost_nano_usd", json!(o.provided_cost_nano_usd));
    put("agent_name", json!(o.agent_name));
    put("agent_id", json!(o.agent_id));
    put("session_id", json!(o.session_id));
    put("user_id", json!(o.user_id));
    put("tenant_id", json!(o.tenant_id));
    put("workspace_id", json!(o.workspace_id));
    put("tool_name", json!(o.tool_name));
    put("tool_call_id", json!(o.tool_call_id));
    put("tool_arguments", json!(o.tool_arguments));
    put("tool_result", json!(o.tool_result));
    put("tags", json!(o.tags));
    put("input", serde_json::to_value(&o.input).unwrap());
    put("output", serde_json::to_value(&o.output).unwrap());
    put(
        "attributes",
        Json::Array(
            o.attributes
                .iter()
                .map(|(k, v)| json!([k, v.to_json()]))
                .collect(),
        ),
    );
    put("events", serde_json::to_value(&o.events).unwrap());
    put(
        "links",
        Json::Array(
            o.links
                .iter()
                .map(|(t, s)| json!([t.to_hex(), s.to_hex()]))
                .collect(),
        ),
    );
    put("warnings", json!(n.warnings));
    if let Some(error) = &o.error {
        out.insert("error".into(), serde_json::to_value(error).unwrap());
    }
    Json::Object(out)
}

fn check(raw: RawSpan, expected: Json) {
    check_in(raw, &Resource::default(), expected);
}

fn check_in(raw: RawSpan, resource: &Resource, expected: Json) {
    let got = view(&normalize_span(raw, resource, 0));
    assert_eq!(
        got,
        expected,
        "\n got: {}\nwant: {}",
        pretty(&got),
        pretty(&expected)
    );
}

fn pretty(v: &Json) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

fn text(role: &str, content: &str) -> Json {
    json!({"role": role, "content": content})
}

mod edge_cases;
mod genai;
mod openinference_langfuse;

#[test]
fn a_single_message_object_is_a_message_list() {
    use crate::model::Payload;
    let json = serde_json::json!({"role": "assistant", "content": "4"});
    match super::messages::payload(json) {
        Payload::Messages(m) => {
            assert_eq!(m.len(), 1);
            assert_eq!(m[0].role, "assistant");
            assert_eq!(m[0].content.as_deref(), Some("4"));
        }
        other => panic!("expected messages, got {other:?}"),
    }
    let wrapped = serde_json::json!({"messages": [{"role": "user", "content": "hi"}]});
    assert!(matches!(super::messages::payload(wrapped), Payload::Messages(m) if m.len() == 1));
    // An object that merely has a role among other data stays a value.
    let not_msg = serde_json::json!({"role": "admin", "content": "x", "user_id": 3});
    assert!(matches!(
        super::messages::payload(not_msg),
        Payload::Value(_)
    ));
}
