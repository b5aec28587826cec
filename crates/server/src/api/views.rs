//! JSON views of stored data for the API. Times are given both as UTC nanoseconds and as
//! RFC 3339 text; ids as lowercase hex.

use serde_json::{json, Map, Value as Json};
use sightline_core::time::format_rfc3339;
use sightline_core::value::attributes_to_json;
use sightline_core::{LogRecord, Observation, Resource};
use sightline_store::{MetricPoint, SessionDetail, SessionSummary, TraceDetail, TraceSummary};

use super::tree::{arrange, place_logs, Node};

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

/// A trace summary as listed: the stored aggregates plus RFC 3339 times and the duration.
pub fn trace_summary(t: &TraceSummary) -> Json {
    let mut v = serde_json::to_value(t).unwrap_or_else(|_| json!({}));
    if let Json::Object(m) = &mut v {
        m.insert("start_time".into(), format_rfc3339(t.start_ns).into());
        m.insert("end_time".into(), format_rfc3339(t.end_ns).into());
        m.insert("duration_ns".into(), (t.end_ns - t.start_ns).into());
    }
    drop_nulls(&mut v);
    v
}

/// One trace as a tree: observations in tree order, each with its depth, orphan flag, child
/// count and the logs carrying its span id; the trace's other logs at the top level.
pub fn trace_tree(t: &TraceDetail) -> Json {
    let nodes: Vec<Node> = t
        .observations
        .iter()
        .map(|o| Node {
            span_id: o.span_id,
            parent: o.parent_span_id,
            start_ns: o.start_ns,
        })
        .collect();
    let mut logs: Vec<&LogRecord> = t.logs.iter().collect();
    logs.sort_by_key(|l| l.time_ns);
    let log_spans: Vec<_> = logs.iter().map(|l| l.span_id).collect();
    let (inside, loose) = place_logs(&nodes, &log_spans);
    let placed = arrange(&nodes);
    let orphan_count = placed.iter().filter(|p| p.orphan).count();
    let observations: Vec<Json> = placed
        .iter()
        .map(|p| {
            let mut v = observation(&t.observations[p.index], &t.resources);
            if let Json::Object(m) = &mut v {
                m.insert("depth".into(), p.depth.into());
                m.insert("orphan".into(), p.orphan.into());
                m.insert("child_count".into(), p.child_count.into());
                let own: Vec<Json> = inside[p.index]
                    .iter()
                    .map(|&j| log(logs[j], &t.resources))
                    .collect();
                m.insert("logs".into(), Json::Array(own));
            }
            v
        })
        .collect();
    json!({
        "trace_id": t.summary.trace_id,
        "summary": trace_summary(&t.summary),
        "observation_count": t.observations.len(),
        "orphan_count": orphan_count,
        "observations": observations,
        "logs": loose.iter().map(|&j| log(logs[j], &t.resources)).collect::<Vec<_>>(),
    })
}

pub fn session_summary(s: &SessionSummary) -> Json {
    let mut v = serde_json::to_value(s).unwrap_or_else(|_| json!({}));
    if let Json::Object(m) = &mut v {
        m.insert("first_seen".into(), format_rfc3339(s.first_seen_ns).into());
        m.insert("last_seen".into(), format_rfc3339(s.last_seen_ns).into());
    }
    drop_nulls(&mut v);
    v
}

/// A session as a conversation: each turn is a trace summary plus its root's input and output.
pub fn session_detail(s: &SessionDetail) -> Json {
    let traces: Vec<Json> = s
        .turns
        .iter()
        .map(|turn| {
            let mut v = trace_summary(&turn.trace);
            if let Json::Object(m) = &mut v {
                for (key, payload) in [("input", &turn.input), ("output", &turn.output)] {
                    if let Some(p) = payload {
                        m.insert(key.into(), serde_json::to_value(p).unwrap_or(Json::Null));
                    }
                }
            }
            drop_nulls(&mut v);
            v
        })
        .collect();
    json!({"session": session_summary(&s.summary), "traces": traces})
}

/// One metrics bucket; latencies in milliseconds, `error_rate` = errors / requests.
pub fn metric_point(p: &MetricPoint) -> Json {
    let ms = |ns: i64| ns as f64 / 1e6;
    let error_rate = if p.requests > 0 {
        p.errors as f64 / p.requests as f64
    } else {
        0.0
    };
    let mut v = json!({
        "time_ns": p.bucket_start_ns,
        "time": format_rfc3339(p.bucket_start_ns),
        "requests": p.requests,
        "errors": p.errors,
        "error_rate": error_rate,
        "input_tokens": p.input_tokens,
        "output_tokens": p.output_tokens,
        "total_tokens": p.total_tokens,
        "latency_p50_ms": ms(p.latency_p50_ns),
        "latency_p95_ms": ms(p.latency_p95_ns),
        "latency_p99_ms": ms(p.latency_p99_ns),
        "cost_nano_usd": p.cost_nano_usd,
    });
    drop_nulls(&mut v);
    v
}

/// Points ordered by (group, bucket start) into one series per group.
pub fn metric_series(points: &[MetricPoint]) -> Vec<Json> {
    let mut series: Vec<(Option<&str>, Vec<Json>)> = Vec::new();
    for p in points {
        let group = p.group.as_deref();
        match series.last_mut() {
            Some((g, pts)) if *g == group => pts.push(metric_point(p)),
            _ => series.push((group, vec![metric_point(p)])),
        }
    }
    series
        .into_iter()
        .map(|(group, points)| {
            let mut v = json!({"group": group, "points": points});
            drop_nulls(&mut v);
            v
        })
        .collect()
}

/// Removes null members at the top level: absent fields are absent, not `null`.
pub fn drop_nulls(v: &mut Json) {
    if let Json::Object(m) = v {
        let keep: Map<String, Json> = std::mem::take(m)
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .collect();
        *m = keep;
    }
}
