//! JSON views of stored data for the API. Times are given both as UTC nanoseconds and as
//! RFC 3339 text; ids as lowercase hex.

use serde_json::{json, Map, Value as Json};
use sightline_core::time::format_rfc3339;
use sightline_core::value::attributes_to_json;
use sightline_core::{LogRecord, Observation, Resource};
use sightline_store::TraceDetail;

fn resource_json(resources: &[Resource], idx: usize) -> Json {
    resources
        .get(idx)
        .map(|r| attributes_to_json(&r.attributes))
        .unwrap_or_else(|| json!({}))
}

pub fn observation(o: &Observation, resources: &[Resource]) -> Json {
    let mut v = json!({
        "trace_id": o.trace_id.to_hex(),
        "span_id": o.span_id.to_hex(),
        "parent_span_id": o.parent_span_id.map(|p| p.to_hex()),
        "name": o.name,
        "kind": o.kind,
        "span_kind": o.span_kind,
        "start_ns": o.start_ns,
        "end_ns": o.end_ns,
        "start_time": format_rfc3339(o.start_ns),
        "end_time": format_rfc3339(o.end_ns),
        "duration_ns": o.end_ns - o.start_ns,
        "status": o.status.as_str(),
        "status_message": o.status_message,
        "is_error": o.is_error(),
        "error": o.error,
        "service_name": o.service_name,
        "scope": scope(o),
        "resource": resource_json(resources, o.resource_index),
        "operation": o.operation,
        "provider": o.provider,
        "model": o.model(),
        "request_model": o.request_model,
        "response_model": o.response_model,
        "usage": o.usage,
        "finish_reasons": o.finish_reasons,
        "request_params": o.request_params,
        "ttft_ns": o.ttft_ns,
        "provided_cost_nano_usd": o.provided_cost_nano_usd,
        "cost": o.cost,
        "agent_name": o.agent_name,
        "agent_id": o.agent_id,
        "session_id": o.session_id,
        "user_id": o.user_id,
        "tenant_id": o.tenant_id,
        "tool_name": o.tool_name,
        "tool_call_id": o.tool_call_id,
        "tool_arguments": o.tool_arguments,
        "tool_result": o.tool_result,
        "tags": o.tags,
        "input": o.input,
        "output": o.output,
        "attributes": attributes_to_json(&o.attributes),
        "events": o.events,
        "links": o.links.iter().map(|(t, s)| json!({"trace_id": t.to_hex(), "span_id": s.to_hex()})).collect::<Vec<_>>(),
    });
    drop_nulls(&mut v);
    v
}

pub fn log(l: &LogRecord, resources: &[Resource]) -> Json {
    let mut v = json!({
        "time_ns": l.time_ns,
        "time": format_rfc3339(l.time_ns),
        "observed_ns": l.observed_ns,
        "trace_id": l.trace_id.map(|t| t.to_hex()),
        "span_id": l.span_id.map(|s| s.to_hex()),
        "severity_number": l.severity_number,
        "severity_text": l.severity_text,
        "body": l.body,
        "service_name": l.service_name,
        "session_id": l.session_id,
        "agent_name": l.agent_name,
        "event_name": l.event_name,
        "scope_name": l.scope_name,
        "resource": resource_json(resources, l.resource_index),
        "attributes": attributes_to_json(&l.attributes),
    });
    drop_nulls(&mut v);
    v
}

fn scope(o: &Observation) -> Json {
    let mut v = json!({"name": o.scope_name, "version": o.scope_version});
    drop_nulls(&mut v);
    v
}

pub fn trace(t: &TraceDetail) -> Json {
    let mut summary = serde_json::to_value(&t.summary).unwrap_or_else(|_| json!({}));
    drop_nulls(&mut summary);
    json!({
        "trace_id": t.summary.trace_id,
        "summary": summary,
        "observations": t.observations.iter().map(|o| observation(o, &t.resources)).collect::<Vec<_>>(),
        "logs": t.logs.iter().map(|l| log(l, &t.resources)).collect::<Vec<_>>(),
    })
}

/// Removes null members at the top level: absent fields are absent, not `null`.
fn drop_nulls(v: &mut Json) {
    if let Json::Object(m) = v {
        let keep: Map<String, Json> = std::mem::take(m)
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .collect();
        *m = keep;
    }
}
