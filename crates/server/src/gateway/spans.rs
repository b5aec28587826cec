//! A finished call as spans in the OpenTelemetry GenAI conventions: one llm (or embedding)
//! span with the request, the answer, the usage and the timing; with several tries, a parent
//! span and one model span per try. What ingest normalizes, prices and stores like any span.

use serde_json::Value as Json;
use sightline_core::calls::GATEWAY_SCOPE;
use sightline_core::money::usd_exact;
use sightline_core::{AttrValue, RawSpan, SpanId, SpanKind, StatusCode, Usage};

use super::providers::{Endpoint, Summary};
use super::record::{Attempt, CallRecord, Outcome};

fn put(attrs: &mut Vec<(String, AttrValue)>, key: &str, value: AttrValue) {
    attrs.push((key.to_owned(), value));
}

fn text(s: &str) -> AttrValue {
    AttrValue::Str(s.to_owned())
}

/// The call's spans: one llm/embedding span; with several attempts, a parent span and one
/// model span per attempt (the last one carrying the answer).
pub(super) fn spans(record: &CallRecord, summary: &Summary) -> Vec<RawSpan> {
    let tried = record.attempts.len();
    let mut out = Vec::new();
    let call_parent = record.parent;
    if tried > 1 {
        let mut attrs = Vec::new();
        put(
            &mut attrs,
            "sightline.gateway.attempts",
            AttrValue::Int(tried as i64),
        );
        put(
            &mut attrs,
            "sightline.gateway.upstream",
            text(&record.upstream),
        );
        out.push(raw_span(
            record,
            record.span_id,
            call_parent,
            format!(
                "gateway {} {}",
                record.endpoint.operation(),
                record.info.model
            ),
            record.start_ns,
            record.end_ns,
            attrs,
            if record.ok() {
                StatusCode::Ok
            } else {
                StatusCode::Error
            },
            String::new(),
        ));
        for a in &record.attempts[..tried - 1] {
            out.push(failed_attempt(record, a));
        }
    }
    out.push(answer_span(record, summary, tried > 1));
    out
}

#[allow(clippy::too_many_arguments)]
fn raw_span(
    record: &CallRecord,
    span_id: SpanId,
    parent: Option<SpanId>,
    name: String,
    start_ns: i64,
    end_ns: i64,
    attributes: Vec<(String, AttrValue)>,
    status: StatusCode,
    message: String,
) -> RawSpan {
    RawSpan {
        trace_id: record.trace_id,
        span_id,
        parent_span_id: parent,
        name,
        span_kind: SpanKind::Client,
        start_ns,
        end_ns: end_ns.max(start_ns),
        status_code: status,
        status_message: message,
        attributes,
        events: Vec::new(),
        links: Vec::new(),
        scope_name: GATEWAY_SCOPE.into(),
        scope_version: env!("CARGO_PKG_VERSION").into(),
    }
}

/// Attributes every model span of the call shares: operation, provider, the model asked, who
/// the call is for.
fn common(record: &CallRecord, upstream: &str, model: &str) -> Vec<(String, AttrValue)> {
    let mut a = Vec::new();
    put(
        &mut a,
        "gen_ai.operation.name",
        text(record.endpoint.operation()),
    );
    put(&mut a, "gen_ai.provider.name", text(upstream));
    put(&mut a, "gen_ai.request.model", text(model));
    put(&mut a, "sightline.gateway.upstream", text(upstream));
    let h = &record.headers;
    let user = h.user.as_deref().or(record.info.user.as_deref());
    for (key, value) in [
        ("user.id", user),
        ("session.id", h.session.as_deref()),
        ("tenant.id", h.tenant.as_deref()),
        ("gen_ai.agent.name", h.agent.as_deref()),
        ("sightline.session.path", h.session_path.as_deref()),
        ("sightline.session.name", h.session_name.as_deref()),
        ("sightline.gateway.request_id", h.request_id.as_deref()),
        ("sightline.gateway.key", record.key_id.as_deref()),
    ] {
        if let Some(v) = value {
            put(&mut a, key, text(v));
        }
    }
    for (name, value) in &h.properties {
        put(&mut a, &format!("sightline.property.{name}"), text(value));
    }
    a
}

fn failed_attempt(record: &CallRecord, a: &Attempt) -> RawSpan {
    let mut attrs = common(record, &a.upstream, &a.model);
    let message = match (a.status, &a.error) {
        (Some(status), _) => {
            put(
                &mut attrs,
                "http.response.status_code",
                AttrValue::Int(i64::from(status)),
            );
            put(&mut attrs, "error.type", text(&status.to_string()));
            format!("{} answered {status}", a.upstream)
        }
        (None, Some(e)) => {
            put(&mut attrs, "error.type", text("upstream_unreachable"));
            e.clone()
        }
        (None, None) => String::new(),
    };
    raw_span(
        record,
        a.span_id,
        Some(record.span_id),
        format!("{} {}", record.endpoint.operation(), a.model),
        a.start_ns,
        a.end_ns,
        attrs,
        StatusCode::Error,
        message,
    )
}

/// The span of the answering attempt (or of the only one), with the request, the answer, the
/// usage and the timing.
fn answer_span(record: &CallRecord, s: &Summary, child: bool) -> RawSpan {
    let last = record.attempts.last();
    let upstream = last.map_or(record.upstream.as_str(), |a| a.upstream.as_str());
    let model = last.map_or(record.info.model.as_str(), |a| a.model.as_str());
    let mut attrs = common(record, upstream, model);
    if let Some(m) = &s.model {
        put(&mut attrs, "gen_ai.response.model", text(m));
    }
    if let Some(id) = &s.response_id {
        put(&mut attrs, "gen_ai.response.id", text(id));
    }
    if !s.finish_reasons.is_empty() {
        let reasons = s.finish_reasons.iter().map(|r| text(r)).collect();
        put(
            &mut attrs,
            "gen_ai.response.finish_reasons",
            AttrValue::Array(reasons),
        );
    }
    usage_attrs(&mut attrs, record, &s.usage);
    if let Some(ttft) = record.ttft_ns.filter(|t| *t > 0) {
        put(
            &mut attrs,
            "gen_ai.response.time_to_first_chunk",
            AttrValue::Double(ttft as f64 / 1e9),
        );
    }
    request_attrs(&mut attrs, record);
    if !record.headers.omit_response {
        if let Some(output) = &s.output {
            put(
                &mut attrs,
                "gen_ai.output.messages",
                text(&output.to_string()),
            );
        }
    }
    let (status, message) = match &record.outcome {
        Outcome::Answered {
            status,
            complete,
            client_gone,
            stream,
            ..
        } => {
            put(
                &mut attrs,
                "http.response.status_code",
                AttrValue::Int(i64::from(*status)),
            );
            if *stream {
                put(&mut attrs, "gen_ai.request.stream", AttrValue::Bool(true));
            }
            if !complete {
                put(
                    &mut attrs,
                    "sightline.gateway.stream_complete",
                    AttrValue::Bool(false),
                );
            }
            if *client_gone {
                put(
                    &mut attrs,
                    "sightline.gateway.client_disconnected",
                    AttrValue::Bool(true),
                );
            }
            if (200..300).contains(status) {
                (StatusCode::Ok, String::new())
            } else {
                put(&mut attrs, "error.type", text(&status.to_string()));
                (StatusCode::Error, format!("{upstream} answered {status}"))
            }
        }
        Outcome::Failed { message } => {
            put(&mut attrs, "error.type", text("upstream_unreachable"));
            (StatusCode::Error, message.clone())
        }
        Outcome::Abandoned => {
            put(
                &mut attrs,
                "sightline.gateway.client_disconnected",
                AttrValue::Bool(true),
            );
            put(&mut attrs, "error.type", text("client_disconnected"));
            (
                StatusCode::Error,
                "the client disconnected before the answer".to_owned(),
            )
        }
        Outcome::CacheHit(entry) => {
            put(&mut attrs, "sightline.gateway.cache", text("hit"));
            if let Some(saved) = entry.cost_nano_usd {
                put(
                    &mut attrs,
                    "sightline.gateway.cost_saved_usd",
                    text(&usd_exact(i128::from(saved))),
                );
            }
            (StatusCode::Ok, String::new())
        }
    };
    if record.cache_put.is_some() {
        put(&mut attrs, "sightline.gateway.cache", text("miss"));
    }
    let (span_id, parent, start) = match (child, last) {
        (true, Some(a)) => (a.span_id, Some(record.span_id), a.start_ns),
        _ => (record.span_id, record.parent, record.start_ns),
    };
    raw_span(
        record,
        span_id,
        parent,
        format!("{} {model}", record.endpoint.operation()),
        start,
        record.end_ns,
        attrs,
        status,
        message,
    )
}

fn usage_attrs(attrs: &mut Vec<(String, AttrValue)>, record: &CallRecord, u: &Usage) {
    if let Outcome::CacheHit(_) = record.outcome {
        // A hit used no tokens: its cost is zero, the original's is the saving.
        put(attrs, "gen_ai.usage.input_tokens", AttrValue::Int(0));
        put(attrs, "gen_ai.usage.output_tokens", AttrValue::Int(0));
        return;
    }
    for (key, value) in [
        ("gen_ai.usage.input_tokens", u.input),
        ("gen_ai.usage.output_tokens", u.output),
        ("gen_ai.usage.total_tokens", u.total),
        ("gen_ai.usage.cache_read.input_tokens", u.cache_read),
        ("gen_ai.usage.cache_write.input_tokens", u.cache_write),
        ("gen_ai.usage.reasoning.output_tokens", u.reasoning),
    ] {
        if let Some(v) = value {
            put(attrs, key, AttrValue::Int(v));
        }
    }
}

/// Request parameters and, unless omitted, the input messages.
fn request_attrs(attrs: &mut Vec<(String, AttrValue)>, record: &CallRecord) {
    let Ok(request) = serde_json::from_slice::<Json>(&record.request) else {
        return;
    };
    for key in [
        "max_tokens",
        "max_completion_tokens",
        "max_output_tokens",
        "temperature",
        "top_p",
        "top_k",
        "seed",
        "frequency_penalty",
        "presence_penalty",
    ] {
        if let Some(v) = request.get(key).filter(|v| v.is_number()) {
            put(
                attrs,
                &format!("gen_ai.request.{key}"),
                AttrValue::from_json(v),
            );
        }
    }
    if record.headers.omit_request {
        return;
    }
    let prompt = record.kind.provider().prompt(record.endpoint, &request);
    match (record.endpoint, prompt.input) {
        (Endpoint::Embeddings, Some(input)) => {
            put(attrs, "input.value", text(&input.to_string()));
            put(attrs, "input.mime_type", text("application/json"));
        }
        (_, Some(input)) => put(attrs, "gen_ai.input.messages", text(&input.to_string())),
        _ => {}
    }
    if let Some(system) = prompt.system {
        put(
            attrs,
            "gen_ai.system_instructions",
            text(&system.to_string()),
        );
    }
}
