//! The mock's Anthropic shapes: messages (body and event stream), the model list and the error
//! body.

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value as Json};

use super::{pieces, sse, Answer};

const TOOL_USE_ID: &str = "toolu_mock_1";

pub(super) fn error(status: u16, message: &str) -> Response {
    let kind = match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    let body = json!({"type": "error", "error": {"type": kind, "message": message}});
    let status = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

pub(super) fn models() -> Response {
    axum::Json(json!({
        "data": [{"type": "model", "id": "claude-mock", "display_name": "Claude Mock",
                  "created_at": "2025-01-01T00:00:00Z"}],
        "has_more": false, "first_id": "claude-mock", "last_id": "claude-mock"
    }))
    .into_response()
}

fn usage(a: &Answer, output: u64) -> Json {
    json!({"input_tokens": a.input, "output_tokens": output,
        "cache_creation_input_tokens": a.cache_write, "cache_read_input_tokens": a.cached})
}

fn content(a: &Answer) -> (Json, &'static str) {
    match &a.tool {
        Some(name) => (
            json!([{"type": "tool_use", "id": TOOL_USE_ID, "name": name, "input": {"city": "Paris"}}]),
            "tool_use",
        ),
        None => (json!([{"type": "text", "text": a.text}]), "end_turn"),
    }
}

pub(super) fn message(a: &Answer) -> Json {
    let (content, stop) = content(a);
    json!({"id": "msg_mock", "type": "message", "role": "assistant", "model": a.model,
        "content": content, "stop_reason": stop, "stop_sequence": null, "usage": usage(a, a.output)})
}

pub(super) fn message_stream(a: &Answer) -> Vec<Bytes> {
    let mut events: Vec<(&str, Json)> = vec![(
        "message_start",
        json!({"type": "message_start", "message": {"id": "msg_mock", "type": "message",
            "role": "assistant", "model": a.model, "content": [], "stop_reason": null,
            "stop_sequence": null, "usage": usage(a, 1)}}),
    )];
    let (_, stop) = content(a);
    match &a.tool {
        Some(name) => {
            events.push(("content_block_start", json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "tool_use", "id": TOOL_USE_ID, "name": name, "input": {}}})));
            for part in ["{\"city\":", " \"Paris\"}"] {
                events.push((
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "input_json_delta", "partial_json": part}}),
                ));
            }
        }
        None => {
            events.push((
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
            ));
            events.push(("ping", json!({"type": "ping"})));
            for piece in pieces(&a.text) {
                events.push((
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": piece}}),
                ));
            }
        }
    }
    events.push((
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push((
        "message_delta",
        json!({"type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": null},
        "usage": {"output_tokens": a.output}}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));
    events
        .iter()
        .map(|(name, data)| sse(Some(name), &data.to_string()))
        .collect()
}
