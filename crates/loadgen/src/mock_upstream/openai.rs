//! The mock's OpenAI shapes: chat completions, responses and embeddings (bodies and streams),
//! the model list and the error body.

use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value as Json};

use super::{pieces, sse, Answer, CREATED};

const TOOL_ARGUMENTS: &str = "{\"city\":\"Paris\"}";
const TOOL_CALL_ID: &str = "call_mock_1";

pub(super) fn error(status: u16, message: &str) -> Response {
    let kind = match status {
        401 => "invalid_request_error",
        404 => "not_found_error",
        429 => "rate_limit_exceeded",
        s if s >= 500 => "server_error",
        _ => "invalid_request_error",
    };
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": null}});
    let status = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

pub(super) fn models() -> Response {
    let data: Vec<Json> = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": CREATED, "owned_by": "mock"}))
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

fn chat_usage(a: &Answer) -> Json {
    json!({
        "prompt_tokens": a.input,
        "completion_tokens": a.output,
        "total_tokens": a.input + a.output,
        "prompt_tokens_details": {"cached_tokens": a.cached, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": a.reasoning, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    })
}

pub(super) fn chat(a: &Answer) -> Json {
    let (message, finish) = match &a.tool {
        Some(name) => (
            json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [
                {"id": TOOL_CALL_ID, "type": "function",
                 "function": {"name": name, "arguments": TOOL_ARGUMENTS}}]}),
            "tool_calls",
        ),
        None => (
            json!({"role": "assistant", "content": a.text, "refusal": null}),
            "stop",
        ),
    };
    json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": CREATED,
        "model": a.model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": chat_usage(a),
        "system_fingerprint": "fp_mock"
    })
}

pub(super) fn chat_stream(a: &Answer, include_usage: bool) -> Vec<Bytes> {
    let chunk = |choices: Json| {
        let mut c = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk",
            "created": CREATED, "model": a.model, "system_fingerprint": "fp_mock",
            "choices": choices});
        if include_usage {
            c["usage"] = Json::Null;
        }
        c
    };
    let delta = |d: Json, finish: Json| json!([{"index": 0, "delta": d, "logprobs": null, "finish_reason": finish}]);
    let mut frames = vec![chunk(delta(
        json!({"role": "assistant", "content": "", "refusal": null}),
        Json::Null,
    ))];
    let finish = match &a.tool {
        Some(name) => {
            frames.push(chunk(delta(
                json!({"tool_calls": [{"index": 0, "id": TOOL_CALL_ID, "type": "function",
                    "function": {"name": name, "arguments": ""}}]}),
                Json::Null,
            )));
            for part in ["{\"city\":", "\"Paris\"}"] {
                frames.push(chunk(delta(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": part}}]}),
                    Json::Null,
                )));
            }
            "tool_calls"
        }
        None => {
            for piece in pieces(&a.text) {
                frames.push(chunk(delta(json!({"content": piece}), Json::Null)));
            }
            "stop"
        }
    };
    frames.push(chunk(delta(json!({}), json!(finish))));
    if include_usage {
        let mut last = chunk(json!([]));
        last["usage"] = chat_usage(a);
        frames.push(last);
    }
    let mut out: Vec<Bytes> = frames.iter().map(|f| sse(None, &f.to_string())).collect();
    out.push(sse(None, "[DONE]"));
    out
}

fn responses_usage(a: &Answer) -> Json {
    json!({
        "input_tokens": a.input,
        "input_tokens_details": {"cached_tokens": a.cached},
        "output_tokens": a.output,
        "output_tokens_details": {"reasoning_tokens": a.reasoning},
        "total_tokens": a.input + a.output
    })
}

fn response_object(a: &Answer, status: &str, output: Json, usage: Json) -> Json {
    json!({
        "id": "resp_mock",
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "error": null,
        "incomplete_details": null,
        "instructions": null,
        "model": a.model,
        "output": output,
        "parallel_tool_calls": true,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage
    })
}

fn output_item(a: &Answer) -> Json {
    match &a.tool {
        Some(name) => json!({"type": "function_call", "id": "fc_mock", "call_id": TOOL_CALL_ID,
            "name": name, "arguments": TOOL_ARGUMENTS, "status": "completed"}),
        None => json!({"type": "message", "id": "msg_mock", "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": a.text, "annotations": []}]}),
    }
}

pub(super) fn responses(a: &Answer) -> Json {
    response_object(a, "completed", json!([output_item(a)]), responses_usage(a))
}

pub(super) fn responses_stream(a: &Answer) -> Vec<Bytes> {
    let mut seq = 0;
    let mut events: Vec<(String, Json)> = Vec::new();
    let mut push = |name: &str, mut data: Json| {
        data["type"] = json!(name);
        data["sequence_number"] = json!(seq);
        seq += 1;
        events.push((name.to_owned(), data));
    };
    let started = response_object(a, "in_progress", json!([]), Json::Null);
    push("response.created", json!({"response": started.clone()}));
    push("response.in_progress", json!({"response": started}));
    let item = output_item(a);
    let mut open = item.clone();
    open["status"] = json!("in_progress");
    match &a.tool {
        Some(_) => {
            open["arguments"] = json!("");
            push(
                "response.output_item.added",
                json!({"output_index": 0, "item": open}),
            );
            for part in ["{\"city\":", "\"Paris\"}"] {
                push(
                    "response.function_call_arguments.delta",
                    json!({"item_id": "fc_mock", "output_index": 0, "delta": part}),
                );
            }
            push(
                "response.function_call_arguments.done",
                json!({"item_id": "fc_mock", "output_index": 0, "arguments": TOOL_ARGUMENTS}),
            );
        }
        None => {
            open["content"] = json!([]);
            push(
                "response.output_item.added",
                json!({"output_index": 0, "item": open}),
            );
            let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": []});
            push(
                "response.content_part.added",
                json!({"item_id": "msg_mock",
                "output_index": 0, "content_index": 0, "part": part("")}),
            );
            for piece in pieces(&a.text) {
                push(
                    "response.output_text.delta",
                    json!({"item_id": "msg_mock",
                    "output_index": 0, "content_index": 0, "delta": piece}),
                );
            }
            push(
                "response.output_text.done",
                json!({"item_id": "msg_mock",
                "output_index": 0, "content_index": 0, "text": a.text}),
            );
            push(
                "response.content_part.done",
                json!({"item_id": "msg_mock",
                "output_index": 0, "content_index": 0, "part": part(&a.text)}),
            );
        }
    }
    push(
        "response.output_item.done",
        json!({"output_index": 0, "item": item}),
    );
    push("response.completed", json!({"response": responses(a)}));
    events
        .iter()
        .map(|(name, data)| sse(Some(name), &data.to_string()))
        .collect()
}

/// One embedding per input, eight floats each, as floats or as OpenAI's base64 of
/// little-endian f32 when the request asks for it.
pub(super) fn embeddings(a: &Answer, request: &Json) -> Json {
    let inputs = match &request["input"] {
        Json::Array(items) => items.len().max(1),
        _ => 1,
    };
    let base64 = request["encoding_format"].as_str() == Some("base64");
    let data: Vec<Json> = (0..inputs)
        .map(|i| {
            let floats: Vec<f32> = (0..8).map(|j| (i * 8 + j) as f32 / 64.0).collect();
            let embedding = if base64 {
                let bytes: Vec<u8> = floats.iter().flat_map(|f| f.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(floats)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    json!({"object": "list", "data": data, "model": a.model,
        "usage": {"prompt_tokens": a.input, "total_tokens": a.input}})
}
