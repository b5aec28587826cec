//! The API shapes the gateway speaks, one file per provider with the same parts (the
//! [`Provider`] trait): which paths it serves, what admission reads from a request (model,
//! stream, max tokens), the body edit that asks a stream for its usage, how the provider key is
//! sent, the error body, and what a response or a stream says (model, usage, finish reasons,
//! messages) for recording. `tests.rs` runs one table over every provider.

mod anthropic;
mod openai;
#[cfg(test)]
mod tests;

use bytes::Bytes;
use serde_json::{Map, Value as Json};
use sightline_core::Usage;

/// Which API shape an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// OpenAI and every OpenAI-compatible server (vLLM, Ollama, ...).
    OpenAi,
    Anthropic,
}

impl ProviderKind {
    pub fn parse(text: &str) -> Option<ProviderKind> {
        match text.trim().to_ascii_lowercase().as_str() {
            "openai" => Some(ProviderKind::OpenAi),
            "anthropic" => Some(ProviderKind::Anthropic),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }

    pub fn provider(self) -> &'static dyn Provider {
        match self {
            ProviderKind::OpenAi => &openai::OpenAi,
            ProviderKind::Anthropic => &anthropic::Anthropic,
        }
    }
}

/// One path the gateway serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    ChatCompletions,
    Responses,
    Embeddings,
    /// `GET /v1/models` (and `/v1/models/<id>`): passed through, not recorded.
    Models,
    Messages,
}

impl Endpoint {
    /// Whether calls to it are model calls (recorded, budgeted, cached).
    pub fn is_call(self) -> bool {
        !matches!(self, Endpoint::Models)
    }

    /// `gen_ai.operation.name` of its calls.
    pub fn operation(self) -> &'static str {
        match self {
            Endpoint::Embeddings => "embeddings",
            _ => "chat",
        }
    }
}

/// What admission reads from a request body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestInfo {
    pub model: String,
    pub stream: bool,
    /// The most output tokens the request allows, when it says.
    pub max_tokens: Option<u64>,
    /// The client asked a stream for its usage itself (OpenAI `stream_options.include_usage`).
    pub include_usage: bool,
    /// The end user the body names (OpenAI `user`, Anthropic `metadata.user_id`).
    pub user: Option<String>,
}

/// What a response (or a whole stream) says, for recording and settling.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    /// The model that answered.
    pub model: Option<String>,
    pub response_id: Option<String>,
    /// In the OpenTelemetry convention: input includes cache reads and writes, output
    /// includes reasoning.
    pub usage: Usage,
    pub finish_reasons: Vec<String>,
    /// The output as a JSON array of messages (OpenAI style or GenAI parts).
    pub output: Option<Json>,
}

/// The input side of a call, for recording.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prompt {
    /// A JSON array of messages, or another JSON value for embeddings.
    pub input: Option<Json>,
    /// System instructions kept apart from the messages (Anthropic `system`, OpenAI Responses
    /// `instructions`).
    pub system: Option<Json>,
}

/// One provider's API shape. Every method is pure: the gateway does the IO.
pub trait Provider: Sync {
    fn kind(&self) -> ProviderKind;

    /// The endpoint `method path` is (path after `/gateway/<upstream>/`, e.g.
    /// `v1/chat/completions`); `None` when the gateway does not serve it for this provider.
    fn endpoint(&self, method: &str, path: &str) -> Option<Endpoint>;

    /// The paths it serves, for error messages.
    fn served(&self) -> &'static str;

    /// Reads what admission needs; the error says what is wrong with the body.
    fn parse_request(&self, endpoint: Endpoint, body: &[u8]) -> Result<RequestInfo, String>;

    /// Whether a streamed call needs its body edited to report usage (the edit is
    /// [`Provider::ask_usage`]; the usage event is then stripped for the client).
    fn needs_usage_request(&self, endpoint: Endpoint, info: &RequestInfo) -> bool;

    /// Whether one stream event is the usage-only event the gateway asked for.
    fn is_usage_event(&self, endpoint: Endpoint, data: &[u8]) -> bool;

    /// How the provider key is sent.
    fn key_header(&self) -> KeyHeader;

    /// This provider's error body for a failure the gateway itself answers.
    fn error_body(&self, status: u16, kind: ErrorKind, message: &str, extra: Option<Json>) -> Json;

    /// What a whole JSON response says.
    fn summarize(&self, endpoint: Endpoint, body: &[u8]) -> Summary;

    /// What a stream's events (their `data:` payloads, in order) say.
    fn summarize_stream(&self, endpoint: Endpoint, events: &[Vec<u8>]) -> Summary;

    /// The request's messages and system instructions, for recording.
    fn prompt(&self, endpoint: Endpoint, request: &Json) -> Prompt;
}

/// Where a provider takes its API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHeader {
    /// The standard bearer token header.
    Bearer,
    /// A header of its own (`x-api-key`).
    Named(&'static str),
}

/// Why the gateway itself refuses a call; each provider names it its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    Authentication,
    NotFound,
    TooLarge,
    RateLimited,
    BudgetExceeded,
    /// The upstream could not be reached (no answer at all).
    Upstream,
    Internal,
}

/// The request with `stream_options.include_usage` set to true, editing the bytes only where
/// it must: a body without `stream_options` gets the field spliced in after its `{`; one that
/// has `stream_options` is rewritten.
pub fn with_include_usage(body: &Bytes) -> Bytes {
    let has_options = memchr_find(body, b"\"stream_options\"");
    if !has_options {
        if let Some(open) = body.iter().position(|b| *b == b'{') {
            let rest = &body[open + 1..];
            let empty = rest.iter().all(|b| b.is_ascii_whitespace() || *b == b'}');
            let insert: &[u8] = if empty {
                b"\"stream_options\":{\"include_usage\":true}"
            } else {
                b"\"stream_options\":{\"include_usage\":true},"
            };
            let mut out = Vec::with_capacity(body.len() + insert.len());
            out.extend_from_slice(&body[..=open]);
            out.extend_from_slice(insert);
            out.extend_from_slice(rest);
            return Bytes::from(out);
        }
    }
    edit_json(body, |obj| {
        let options = obj
            .entry("stream_options")
            .or_insert_with(|| Json::Object(Map::new()));
        if !options.is_object() {
            *options = Json::Object(Map::new());
        }
        if let Some(o) = options.as_object_mut() {
            o.insert("include_usage".into(), Json::Bool(true));
        }
    })
}

/// The request with its `model` replaced (a fallback to another model).
pub fn with_model(body: &Bytes, model: &str) -> Bytes {
    edit_json(body, |obj| {
        obj.insert("model".into(), Json::String(model.to_owned()));
    })
}

/// `body` parsed, edited and written back; unchanged when it is not a JSON object.
fn edit_json(body: &Bytes, edit: impl FnOnce(&mut Map<String, Json>)) -> Bytes {
    match serde_json::from_slice::<Json>(body) {
        Ok(Json::Object(mut obj)) => {
            edit(&mut obj);
            serde_json::to_vec(&Json::Object(obj))
                .map(Bytes::from)
                .unwrap_or_else(|_| body.clone())
        }
        _ => body.clone(),
    }
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A JSON count as `i64`, when present.
pub(crate) fn count(v: &Json) -> Option<i64> {
    v.as_i64().filter(|n| *n >= 0)
}

/// The first non-empty string under `key`.
pub(crate) fn text(v: &Json, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The body as a JSON object, or why not.
pub(crate) fn object(body: &[u8]) -> Result<Map<String, Json>, String> {
    match serde_json::from_slice::<Json>(body) {
        Ok(Json::Object(m)) => Ok(m),
        Ok(_) => Err("the request body must be a JSON object".into()),
        Err(e) => Err(format!("the request body is not valid JSON: {e}")),
    }
}

/// Reads `model`, `stream` and the max-tokens field `max_key` of a request object.
pub(crate) fn common_info(
    obj: &Map<String, Json>,
    max_keys: &[&str],
) -> Result<RequestInfo, String> {
    let model = match obj.get("model") {
        Some(Json::String(m)) if !m.trim().is_empty() => m.clone(),
        Some(_) => return Err("`model` must be a non-empty string".into()),
        None => return Err("`model` is required: name the model to call".into()),
    };
    let stream = match obj.get("stream") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => return Err("`stream` must be true or false".into()),
    };
    let max_tokens = max_keys
        .iter()
        .find_map(|k| obj.get(*k).and_then(Json::as_u64));
    Ok(RequestInfo {
        model,
        stream,
        max_tokens,
        ..RequestInfo::default()
    })
}
