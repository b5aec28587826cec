//! Anthropic's API shape: messages and models. Its `input_tokens` exclude cache reads and
//! writes, which OpenTelemetry counts as input: they are added back. A stream's
//! `message_delta` usage is cumulative: the last value wins.

use serde_json::{json, Value as Json};
use sightline_core::cost::usage_from_anthropic;
use sightline_core::Usage;

use super::{
    common_info, count, object, text, Endpoint, ErrorKind, KeyHeader, Prompt, Provider,
    ProviderKind, RequestInfo, Summary,
};

pub struct Anthropic;

impl Provider for Anthropic {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    fn endpoint(&self, method: &str, path: &str) -> Option<Endpoint> {
        match (method, path) {
            ("POST", "v1/messages") => Some(Endpoint::Messages),
            ("GET", p) if p == "v1/models" || p.starts_with("v1/models/") => Some(Endpoint::Models),
            _ => None,
        }
    }

    fn served(&self) -> &'static str {
        "POST /v1/messages and GET /v1/models"
    }

    fn parse_request(&self, _endpoint: Endpoint, body: &[u8]) -> Result<RequestInfo, String> {
        let obj = object(body)?;
        let mut info = common_info(&obj, &["max_tokens"])?;
        info.user = obj
            .get("metadata")
            .and_then(|m| m.get("user_id"))
            .and_then(Json::as_str)
            .filter(|u| !u.is_empty())
            .map(str::to_owned);
        Ok(info)
    }

    fn needs_usage_request(&self, _endpoint: Endpoint, _info: &RequestInfo) -> bool {
        false
    }

    fn is_usage_event(&self, _endpoint: Endpoint, _data: &[u8]) -> bool {
        false
    }

    fn key_header(&self) -> KeyHeader {
        KeyHeader::Named("x-api-key")
    }

    fn error_body(&self, status: u16, kind: ErrorKind, message: &str, extra: Option<Json>) -> Json {
        let kind = match kind {
            ErrorKind::InvalidRequest => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::TooLarge => "request_too_large",
            ErrorKind::RateLimited | ErrorKind::BudgetExceeded => "rate_limit_error",
            ErrorKind::Upstream if status == 504 => "timeout_error",
            ErrorKind::Upstream | ErrorKind::Internal => "api_error",
        };
        let mut error = json!({"type": kind, "message": message});
        if let (Some(Json::Object(extra)), Some(e)) = (extra, error.as_object_mut()) {
            e.extend(extra);
        }
        json!({"type": "error", "error": error})
    }

    fn summarize(&self, _endpoint: Endpoint, body: &[u8]) -> Summary {
        let Ok(v) = serde_json::from_slice::<Json>(body) else {
            return Summary::default();
        };
        let reason = text(&v, "stop_reason");
        let parts: Vec<Json> = v["content"]
            .as_array()
            .into_iter()
            .flatten()
            .map(block_part)
            .collect();
        Summary {
            model: text(&v, "model"),
            response_id: text(&v, "id"),
            usage: usage(&v["usage"], None),
            finish_reasons: reason.iter().cloned().collect(),
            output: Some(assistant(parts, reason)),
        }
    }

    fn summarize_stream(&self, _endpoint: Endpoint, events: &[Vec<u8>]) -> Summary {
        let mut s = Summary::default();
        let mut start_usage = Json::Null;
        let mut last_output: Option<i64> = None;
        let mut late_input: Option<Json> = None;
        // (type, text or JSON so far, id, name) per content block.
        let mut blocks: Vec<(String, String, Json, Json)> = Vec::new();
        let mut reason = None;
        for data in events {
            let Ok(v) = serde_json::from_slice::<Json>(data) else {
                continue;
            };
            match v["type"].as_str() {
                Some("message_start") => {
                    s.model = text(&v["message"], "model");
                    s.response_id = text(&v["message"], "id");
                    start_usage = v["message"]["usage"].clone();
                }
                Some("content_block_start") => {
                    let b = &v["content_block"];
                    let kind = b["type"].as_str().unwrap_or("text").to_owned();
                    let initial = b["text"].as_str().unwrap_or("").to_owned();
                    blocks.push((kind, initial, b["id"].clone(), b["name"].clone()));
                }
                Some("content_block_delta") => {
                    if let Some(block) = blocks.last_mut() {
                        let d = &v["delta"];
                        for key in ["text", "partial_json", "thinking"] {
                            if let Some(t) = d[key].as_str() {
                                block.1.push_str(t);
                            }
                        }
                    }
                }
                Some("message_delta") => {
                    reason = text(&v["delta"], "stop_reason").or(reason);
                    if let Some(n) = count(&v["usage"]["output_tokens"]) {
                        last_output = Some(n);
                    }
                    if v["usage"]["input_tokens"].as_i64().is_some_and(|n| n > 0) {
                        late_input = Some(v["usage"].clone());
                    }
                }
                _ => {}
            }
        }
        let mut u = late_input.unwrap_or(start_usage);
        if let (Some(n), Some(obj)) = (last_output, u.as_object_mut()) {
            obj.insert("output_tokens".into(), json!(n));
        }
        s.usage = usage(&u, last_output);
        let parts: Vec<Json> = blocks
            .into_iter()
            .map(|(kind, body, id, name)| match kind.as_str() {
                "tool_use" => json!({"type": "tool_call", "id": id, "name": name,
                    "arguments": serde_json::from_str::<Json>(&body).unwrap_or(Json::String(body))}),
                "thinking" => json!({"type": "reasoning", "content": body}),
                _ => json!({"type": "text", "content": body}),
            })
            .collect();
        s.finish_reasons = reason.iter().cloned().collect();
        if !parts.is_empty() {
            s.output = Some(assistant(parts, reason));
        }
        s
    }

    fn prompt(&self, _endpoint: Endpoint, request: &Json) -> Prompt {
        let input = request["messages"].as_array().map(|msgs| {
            Json::Array(
                msgs.iter()
                    .map(|m| match &m["content"] {
                        Json::Array(blocks) => json!({"role": m["role"],
                            "parts": blocks.iter().map(block_part).collect::<Vec<_>>()}),
                        other => json!({"role": m["role"], "content": other}),
                    })
                    .collect(),
            )
        });
        let system = match &request["system"] {
            Json::Array(blocks) => Some(Json::Array(blocks.iter().map(block_part).collect())),
            Json::String(s) if !s.is_empty() => Some(json!(s)),
            _ => None,
        };
        Prompt { input, system }
    }
}

/// Anthropic usage in the OpenTelemetry convention; `output` overrides `output_tokens`.
fn usage(u: &Json, output: Option<i64>) -> Usage {
    if !u.is_object() {
        return Usage::default();
    }
    let input = count(&u["input_tokens"]);
    let read = count(&u["cache_read_input_tokens"]);
    let write = count(&u["cache_creation_input_tokens"]);
    let out = output.or_else(|| count(&u["output_tokens"]));
    if input.is_none() && out.is_none() {
        return Usage::default();
    }
    let mut usage = usage_from_anthropic(
        input.unwrap_or(0),
        read.unwrap_or(0),
        write.unwrap_or(0),
        out.unwrap_or(0),
    );
    usage.cache_read = read;
    usage.cache_write = write;
    if out.is_none() {
        usage.output = None;
        usage.total = None;
    }
    usage
}

/// A content block as a GenAI message part.
fn block_part(b: &Json) -> Json {
    match b["type"].as_str() {
        Some("text") => json!({"type": "text", "content": b["text"]}),
        Some("tool_use") => {
            json!({"type": "tool_call", "id": b["id"], "name": b["name"], "arguments": b["input"]})
        }
        Some("tool_result") => {
            let response = match &b["content"] {
                Json::Array(parts) => Json::String(
                    parts
                        .iter()
                        .filter_map(|p| p["text"].as_str())
                        .collect::<Vec<_>>()
                        .join("\n"),
                ),
                other => other.clone(),
            };
            json!({"type": "tool_call_response", "id": b["tool_use_id"], "response": response})
        }
        Some("thinking") => json!({"type": "reasoning", "content": b["thinking"]}),
        _ => b.clone(),
    }
}

fn assistant(parts: Vec<Json>, reason: Option<String>) -> Json {
    let mut m = json!({"role": "assistant", "parts": parts});
    if let Some(r) = reason {
        m["finish_reason"] = json!(r);
    }
    json!([m])
}
