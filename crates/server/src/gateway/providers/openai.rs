//! OpenAI's API shape (and every OpenAI-compatible server): chat completions, responses,
//! embeddings and models. `prompt_tokens` / `input_tokens` include cached tokens and
//! `completion_tokens` / `output_tokens` include reasoning, as OpenTelemetry counts them.

use serde_json::{json, Map, Value as Json};
use sightline_core::Usage;

use super::{
    common_info, count, object, text, Endpoint, ErrorKind, KeyHeader, Prompt, Provider,
    ProviderKind, RequestInfo, Summary,
};

pub struct OpenAi;

impl Provider for OpenAi {
    fn kind(&self) -> ProviderKind {
        ProviderKind::OpenAi
    }

    fn endpoint(&self, method: &str, path: &str) -> Option<Endpoint> {
        match (method, path) {
            ("POST", "v1/chat/completions") => Some(Endpoint::ChatCompletions),
            ("POST", "v1/responses") => Some(Endpoint::Responses),
            ("POST", "v1/embeddings") => Some(Endpoint::Embeddings),
            ("GET", p) if p == "v1/models" || p.starts_with("v1/models/") => Some(Endpoint::Models),
            _ => None,
        }
    }

    fn served(&self) -> &'static str {
        "POST /v1/chat/completions, POST /v1/responses, POST /v1/embeddings and GET /v1/models"
    }

    fn parse_request(&self, endpoint: Endpoint, body: &[u8]) -> Result<RequestInfo, String> {
        let obj = object(body)?;
        let max_keys: &[&str] = match endpoint {
            Endpoint::ChatCompletions => &["max_completion_tokens", "max_tokens"],
            Endpoint::Responses => &["max_output_tokens"],
            _ => &[],
        };
        let mut info = common_info(&obj, max_keys)?;
        info.include_usage = obj
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Json::as_bool)
            .unwrap_or(false);
        info.user = obj
            .get("user")
            .and_then(Json::as_str)
            .filter(|u| !u.is_empty())
            .map(str::to_owned);
        Ok(info)
    }

    fn needs_usage_request(&self, endpoint: Endpoint, info: &RequestInfo) -> bool {
        endpoint == Endpoint::ChatCompletions && info.stream && !info.include_usage
    }

    fn is_usage_event(&self, endpoint: Endpoint, data: &[u8]) -> bool {
        // Only the usage event has no choices: look for that before parsing anything.
        let no_choices = contains(data, b"\"choices\":[]") || contains(data, b"\"choices\": []");
        if endpoint != Endpoint::ChatCompletions || !no_choices || !contains(data, b"\"usage\"") {
            return false;
        }
        match serde_json::from_slice::<Json>(data) {
            Ok(v) => {
                v["usage"].is_object() && v["choices"].as_array().is_some_and(|c| c.is_empty())
            }
            Err(_) => false,
        }
    }

    fn key_header(&self) -> KeyHeader {
        KeyHeader::Bearer
    }

    fn error_body(
        &self,
        _status: u16,
        kind: ErrorKind,
        message: &str,
        extra: Option<Json>,
    ) -> Json {
        let (kind, code) = match kind {
            ErrorKind::InvalidRequest => ("invalid_request_error", Json::Null),
            ErrorKind::Authentication => ("invalid_request_error", json!("invalid_api_key")),
            ErrorKind::NotFound => ("invalid_request_error", json!("not_found")),
            ErrorKind::TooLarge => ("invalid_request_error", json!("request_too_large")),
            ErrorKind::RateLimited => ("rate_limit_error", json!("rate_limit_exceeded")),
            ErrorKind::BudgetExceeded => ("budget_exceeded", json!("budget_exceeded")),
            ErrorKind::Upstream => ("api_error", json!("upstream_unreachable")),
            ErrorKind::Internal => ("server_error", Json::Null),
        };
        let mut error = json!({"message": message, "type": kind, "param": null, "code": code});
        if let (Some(Json::Object(extra)), Some(e)) = (extra, error.as_object_mut()) {
            e.extend(extra);
        }
        json!({ "error": error })
    }

    fn summarize(&self, endpoint: Endpoint, body: &[u8]) -> Summary {
        let Ok(v) = serde_json::from_slice::<Json>(body) else {
            return Summary::default();
        };
        match endpoint {
            Endpoint::Responses => response_summary(&v),
            Endpoint::Embeddings => Summary {
                model: text(&v, "model"),
                usage: Usage {
                    input: count(&v["usage"]["prompt_tokens"]),
                    total: count(&v["usage"]["total_tokens"]),
                    ..Usage::default()
                },
                ..Summary::default()
            },
            _ => chat_summary(&v),
        }
    }

    fn summarize_stream(&self, endpoint: Endpoint, events: &[Vec<u8>]) -> Summary {
        match endpoint {
            Endpoint::Responses => responses_stream(events),
            _ => chat_stream(events),
        }
    }

    fn prompt(&self, endpoint: Endpoint, request: &Json) -> Prompt {
        match endpoint {
            Endpoint::Responses => Prompt {
                input: match &request["input"] {
                    Json::String(s) => Some(json!([{"role": "user", "content": s}])),
                    Json::Array(items) => {
                        Some(Json::Array(items.iter().map(response_item).collect()))
                    }
                    _ => None,
                },
                system: request
                    .get("instructions")
                    .filter(|i| !i.is_null())
                    .cloned(),
            },
            Endpoint::Embeddings => Prompt {
                input: request.get("input").cloned(),
                system: None,
            },
            _ => Prompt {
                input: request.get("messages").cloned(),
                system: None,
            },
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Chat completions' usage, in the OpenTelemetry convention already.
fn chat_usage(u: &Json) -> Usage {
    if !u.is_object() {
        return Usage::default();
    }
    Usage {
        input: count(&u["prompt_tokens"]),
        output: count(&u["completion_tokens"]),
        total: count(&u["total_tokens"]),
        cache_read: count(&u["prompt_tokens_details"]["cached_tokens"]),
        cache_write: None,
        reasoning: count(&u["completion_tokens_details"]["reasoning_tokens"]),
    }
}

fn chat_summary(v: &Json) -> Summary {
    let choices = v["choices"].as_array().cloned().unwrap_or_default();
    let mut output = Vec::new();
    let mut finish = Vec::new();
    for c in &choices {
        let mut message = c["message"].clone();
        if let Some(reason) = text(c, "finish_reason") {
            if let Some(m) = message.as_object_mut() {
                m.insert("finish_reason".into(), json!(reason));
            }
            finish.push(reason);
        }
        if message.is_object() {
            output.push(message);
        }
    }
    Summary {
        model: text(v, "model"),
        response_id: text(v, "id"),
        usage: chat_usage(&v["usage"]),
        finish_reasons: finish,
        output: (!output.is_empty()).then_some(Json::Array(output)),
    }
}

/// One streamed choice being put together.
#[derive(Default)]
struct Choice {
    content: String,
    /// (id, name, arguments) by tool call index.
    tools: Vec<(String, String, String)>,
    finish: Option<String>,
}

fn chat_stream(events: &[Vec<u8>]) -> Summary {
    let mut s = Summary::default();
    let mut choices: Vec<Choice> = Vec::new();
    for data in events {
        let Ok(v) = serde_json::from_slice::<Json>(data) else {
            continue;
        };
        if s.model.is_none() {
            s.model = text(&v, "model");
            s.response_id = text(&v, "id");
        }
        if v["usage"].is_object() {
            s.usage = chat_usage(&v["usage"]);
        }
        for c in v["choices"].as_array().into_iter().flatten() {
            let i = c["index"].as_u64().unwrap_or(0).min(64) as usize;
            if choices.len() <= i {
                choices.resize_with(i + 1, Choice::default);
            }
            let choice = &mut choices[i];
            if let Some(t) = c["delta"]["content"].as_str() {
                choice.content.push_str(t);
            }
            for call in c["delta"]["tool_calls"].as_array().into_iter().flatten() {
                let j = call["index"].as_u64().unwrap_or(0).min(64) as usize;
                if choice.tools.len() <= j {
                    choice.tools.resize_with(j + 1, Default::default);
                }
                let tool = &mut choice.tools[j];
                if let Some(id) = call["id"].as_str() {
                    tool.0 = id.to_owned();
                }
                if let Some(name) = call["function"]["name"].as_str() {
                    tool.1.push_str(name);
                }
                if let Some(args) = call["function"]["arguments"].as_str() {
                    tool.2.push_str(args);
                }
            }
            if let Some(reason) = text(c, "finish_reason") {
                choice.finish = Some(reason);
            }
        }
    }
    let mut output = Vec::new();
    for c in choices {
        let mut m = Map::new();
        m.insert("role".into(), json!("assistant"));
        if !c.content.is_empty() || c.tools.is_empty() {
            m.insert("content".into(), json!(c.content));
        }
        if !c.tools.is_empty() {
            let calls: Vec<Json> = c
                .tools
                .into_iter()
                .map(|(id, name, args)| {
                    json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}})
                })
                .collect();
            m.insert("tool_calls".into(), Json::Array(calls));
        }
        if let Some(reason) = c.finish {
            m.insert("finish_reason".into(), json!(reason));
            s.finish_reasons.push(reason);
        }
        output.push(Json::Object(m));
    }
    s.output = (!output.is_empty()).then_some(Json::Array(output));
    s
}

fn response_summary(v: &Json) -> Summary {
    let u = &v["usage"];
    let usage = if u.is_object() {
        Usage {
            input: count(&u["input_tokens"]),
            output: count(&u["output_tokens"]),
            total: count(&u["total_tokens"]),
            cache_read: count(&u["input_tokens_details"]["cached_tokens"]),
            cache_write: None,
            reasoning: count(&u["output_tokens_details"]["reasoning_tokens"]),
        }
    } else {
        Usage::default()
    };
    let output: Vec<Json> = v["output"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(output_message)
        .collect();
    let finish = match (text(v, "status"), text(&v["incomplete_details"], "reason")) {
        (_, Some(reason)) => vec![reason],
        (Some(status), None) => vec![status],
        _ => Vec::new(),
    };
    Summary {
        model: text(v, "model"),
        response_id: text(v, "id"),
        usage,
        finish_reasons: finish,
        output: (!output.is_empty()).then_some(Json::Array(output)),
    }
}

/// A Responses API output item as a message: text of `message` items, tool calls of
/// `function_call` items, other items (reasoning, ...) as parts.
fn output_message(item: &Json) -> Option<Json> {
    match item["type"].as_str()? {
        "message" => {
            let texts: Vec<&str> = item["content"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["text"].as_str())
                .collect();
            Some(
                json!({"role": item["role"].as_str().unwrap_or("assistant"), "content": texts.join("")}),
            )
        }
        "function_call" => Some(json!({"role": "assistant", "tool_calls": [{
            "id": item["call_id"], "type": "function",
            "function": {"name": item["name"], "arguments": item["arguments"]}}]})),
        _ => Some(json!({"role": "assistant", "parts": [item]})),
    }
}

/// A Responses API input item as a message.
fn response_item(item: &Json) -> Json {
    match item["type"].as_str() {
        Some("function_call") => json!({"role": "assistant", "tool_calls": [{
            "id": item["call_id"], "type": "function",
            "function": {"name": item["name"], "arguments": item["arguments"]}}]}),
        Some("function_call_output") => {
            json!({"role": "tool", "tool_call_id": item["call_id"], "content": item["output"]})
        }
        _ => {
            let content = match &item["content"] {
                Json::Array(parts) => Json::Array(
                    parts
                        .iter()
                        .map(|p| match p["type"].as_str() {
                            Some("input_text" | "output_text") => {
                                json!({"type": "text", "text": p["text"]})
                            }
                            _ => p.clone(),
                        })
                        .collect(),
                ),
                other => other.clone(),
            };
            json!({"role": item["role"].as_str().unwrap_or("user"), "content": content})
        }
    }
}

fn responses_stream(events: &[Vec<u8>]) -> Summary {
    let mut text_so_far = String::new();
    let mut model = None;
    for data in events {
        let Ok(v) = serde_json::from_slice::<Json>(data) else {
            continue;
        };
        match v["type"].as_str() {
            Some("response.completed" | "response.incomplete" | "response.failed") => {
                return response_summary(&v["response"]);
            }
            Some("response.created") => model = text(&v["response"], "model"),
            Some("response.output_text.delta") => {
                text_so_far.push_str(v["delta"].as_str().unwrap_or(""));
            }
            _ => {}
        }
    }
    Summary {
        model,
        output: (!text_so_far.is_empty())
            .then(|| json!([{"role": "assistant", "content": text_so_far}])),
        ..Summary::default()
    }
}
