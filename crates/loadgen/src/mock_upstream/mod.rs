//! A mock LLM upstream for the gateway's tests and benchmark: OpenAI's chat completions,
//! responses, embeddings and models, and Anthropic's messages and models, streaming and not,
//! with usage (cache and reasoning tokens too), tool calls, and errors and latency injected per
//! model through a control endpoint. Answers are deterministic: the same request gets the same
//! bytes, so a test can compare calling it directly with calling it through the gateway.
//!
//! Control (JSON): `POST /mock/behaviour` sets how one model answers (see [`Behaviour`]);
//! `GET /mock/stats` counts requests per model and shows the last one's body and credential;
//! `POST /mock/reset` forgets both.

mod anthropic;
mod openai;
mod paced;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value as Json};
use tokio::net::TcpListener;

use paced::Paced;

/// How the mock runs.
#[derive(Debug, Clone, Default)]
pub struct MockOptions {
    /// Listen on `127.0.0.1:port` (0: any free port).
    pub port: u16,
    /// Delay before every answer (before the first chunk of a stream), unless a model's
    /// behaviour says otherwise.
    pub latency_ms: u64,
    /// Delay between the chunks of a stream.
    pub chunk_delay_ms: u64,
    /// Accept requests without a provider key (by default they get a 401).
    pub no_key_check: bool,
}

/// How one model answers, set through `POST /mock/behaviour` (every field optional).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Behaviour {
    pub model: String,
    /// The statuses of the next requests, one each (`[503, 429]`: two failures, then success).
    pub fail: Vec<u16>,
    pub latency_ms: Option<u64>,
    pub chunk_delay_ms: Option<u64>,
    /// Input tokens (OpenAI `prompt_tokens`, which include cached ones; Anthropic's
    /// `input_tokens`, which do not), output tokens, cached (read) input, cache writes
    /// (Anthropic) and reasoning tokens (OpenAI).
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cached_tokens: Option<u64>,
    pub cache_write_tokens: Option<u64>,
    pub reasoning_tokens: Option<u64>,
    /// The reply text (split into chunks on spaces when streamed).
    pub text: Option<String>,
    /// The model name the answer reports (default: the asked model with `-2025-01-01`).
    pub answer_model: Option<String>,
}

/// What one answer carries, resolved from the behaviour and the defaults.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub model: String,
    pub text: String,
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    pub cache_write: u64,
    pub reasoning: u64,
    /// The first tool the request offers, if any: the answer calls it.
    pub tool: Option<String>,
}

pub(crate) const DEFAULT_TEXT: &str = "Hello from the mock upstream, friend.";
/// `created` of every answer: fixed, so answers repeat byte for byte.
pub(crate) const CREATED: u64 = 1_700_000_000;

#[derive(Default)]
struct ModelStats {
    requests: u64,
    last_body: Json,
    last_key: Option<String>,
    last_path: String,
}

#[derive(Default)]
struct Mock {
    options: MockOptions,
    behaviours: Mutex<HashMap<String, Behaviour>>,
    stats: Mutex<HashMap<String, ModelStats>>,
    total: AtomicU64,
}

type Shared = Arc<Mock>;

/// Binds the mock's listener on loopback.
pub async fn bind(options: &MockOptions) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], options.port))).await
}

/// Serves the mock on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    options: MockOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = Arc::new(Mock {
        options,
        ..Mock::default()
    });
    let app = Router::new()
        .route("/mock/behaviour", post(set_behaviour))
        .route("/mock/stats", get(stats))
        .route("/mock/reset", post(reset))
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(llm))
        .route("/v1/responses", post(llm))
        .route("/v1/embeddings", post(llm))
        .route("/v1/messages", post(llm))
        .fallback(not_found)
        .with_state(state);
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn set_behaviour(State(mock): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<Behaviour>(&body) {
        Ok(b) => {
            if let Ok(mut map) = mock.behaviours.lock() {
                map.insert(b.model.clone(), b);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, format!("behaviour: {e}")).into_response(),
    }
}

async fn stats(State(mock): State<Shared>) -> Response {
    let models: serde_json::Map<String, Json> = mock
        .stats
        .lock()
        .map(|s| {
            s.iter()
                .map(|(m, st)| {
                    let v = json!({"requests": st.requests, "last_body": st.last_body,
                                   "last_key": st.last_key, "last_path": st.last_path});
                    (m.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default();
    axum::Json(json!({"total": mock.total.load(Ordering::Relaxed), "models": models}))
        .into_response()
}

async fn reset(State(mock): State<Shared>) -> Response {
    if let Ok(mut b) = mock.behaviours.lock() {
        b.clear();
    }
    if let Ok(mut s) = mock.stats.lock() {
        s.clear();
    }
    mock.total.store(0, Ordering::Relaxed);
    StatusCode::NO_CONTENT.into_response()
}

async fn not_found(uri: Uri) -> Response {
    openai::error(404, &format!("the mock has no route {}", uri.path()))
}

fn is_anthropic(headers: &HeaderMap, path: &str) -> bool {
    path == "/v1/messages" || headers.contains_key("anthropic-version")
}

/// The provider key the request carries (`Authorization: Bearer` or `x-api-key`).
fn provider_key(headers: &HeaderMap) -> Option<String> {
    if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(k.to_owned()).filter(|k| !k.is_empty());
    }
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .filter(|k| !k.is_empty())
}

async fn models(State(mock): State<Shared>, headers: HeaderMap) -> Response {
    let anthropic = is_anthropic(&headers, "");
    if !mock.options.no_key_check && provider_key(&headers).is_none() {
        return missing_key(anthropic);
    }
    if anthropic {
        anthropic::models()
    } else {
        openai::models()
    }
}

fn missing_key(anthropic: bool) -> Response {
    if anthropic {
        anthropic::error(401, "x-api-key header is required")
    } else {
        openai::error(401, "You didn't provide an API key.")
    }
}

/// Every model call: checks the key, counts it, applies the model's behaviour, answers.
async fn llm(
    State(mock): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let anthropic = is_anthropic(&headers, &path);
    let error = |status: u16, message: &str| {
        if anthropic {
            anthropic::error(status, message)
        } else {
            openai::error(status, message)
        }
    };
    if method != Method::POST {
        return error(405, "use POST");
    }
    let request: Json = match serde_json::from_slice(&body) {
        Ok(v @ Json::Object(_)) => v,
        _ => return error(400, "the body is not a JSON object"),
    };
    let model = request["model"].as_str().unwrap_or("").to_owned();
    mock.total.fetch_add(1, Ordering::Relaxed);
    let key = provider_key(&headers);
    if let Ok(mut stats) = mock.stats.lock() {
        let s = stats.entry(model.clone()).or_default();
        s.requests += 1;
        s.last_body = request.clone();
        s.last_key = key.clone();
        s.last_path = path.clone();
    }
    let (behaviour, failure) = match mock.behaviours.lock() {
        Ok(mut map) => match map.get_mut(&model) {
            Some(b) => {
                let failure = (!b.fail.is_empty()).then(|| b.fail.remove(0));
                (b.clone(), failure)
            }
            None => (Behaviour::default(), None),
        },
        Err(_) => (Behaviour::default(), None),
    };
    let latency = Duration::from_millis(behaviour.latency_ms.unwrap_or(mock.options.latency_ms));
    if !mock.options.no_key_check && key.is_none() {
        return missing_key(anthropic);
    }
    if model.is_empty() {
        return error(400, "you must provide a model parameter");
    }
    if let Some(status) = failure {
        tokio::time::sleep(latency).await;
        let mut resp = error(status, &format!("injected failure {status} for {model}"));
        if status == 429 {
            resp.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("0"));
        }
        return resp;
    }
    let answer = answer(&behaviour, &request, &model, anthropic);
    let stream = request["stream"].as_bool().unwrap_or(false);
    let gap = Duration::from_millis(
        behaviour
            .chunk_delay_ms
            .unwrap_or(mock.options.chunk_delay_ms),
    );
    let frames = match path.as_str() {
        "/v1/messages" if stream => anthropic::message_stream(&answer),
        "/v1/messages" => return delayed(latency, anthropic::message(&answer)).await,
        "/v1/chat/completions" if stream => {
            let usage = request["stream_options"]["include_usage"].as_bool() == Some(true);
            openai::chat_stream(&answer, usage)
        }
        "/v1/chat/completions" => return delayed(latency, openai::chat(&answer)).await,
        "/v1/responses" if stream => openai::responses_stream(&answer),
        "/v1/responses" => return delayed(latency, openai::responses(&answer)).await,
        _ => return delayed(latency, openai::embeddings(&answer, &request)).await,
    };
    let body = Body::from_stream(Paced::new(frames, latency, gap));
    Response::builder()
        .header("content-type", "text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache")
        .body(body)
        .unwrap_or_else(|_| error(500, "cannot build the stream"))
}

async fn delayed(latency: Duration, json: Json) -> Response {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let body = serde_json::to_vec(&json).unwrap_or_default();
    ([("content-type", "application/json")], body).into_response()
}

fn answer(b: &Behaviour, request: &Json, model: &str, anthropic: bool) -> Answer {
    let tools = request["tools"].as_array().filter(|t| !t.is_empty());
    let tool = tools.and_then(|t| {
        t[0]["function"]["name"]
            .as_str()
            .or(t[0]["name"].as_str())
            .map(str::to_owned)
    });
    Answer {
        model: b
            .answer_model
            .clone()
            .unwrap_or_else(|| format!("{model}-2025-01-01")),
        text: b.text.clone().unwrap_or_else(|| DEFAULT_TEXT.to_owned()),
        input: b.input_tokens.unwrap_or(21),
        output: b.output_tokens.unwrap_or(7),
        cached: b.cached_tokens.unwrap_or(4),
        cache_write: b
            .cache_write_tokens
            .unwrap_or(if anthropic { 2 } else { 0 }),
        reasoning: b.reasoning_tokens.unwrap_or(if anthropic { 0 } else { 2 }),
        tool,
    }
}

/// The reply text in stream chunks: each word with the space after it.
pub(crate) fn pieces(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// One server-sent event: `data: <json>` (with `event: <name>` when named).
pub(crate) fn sse(event: Option<&str>, data: &str) -> Bytes {
    match event {
        Some(name) => Bytes::from(format!("event: {name}\ndata: {data}\n\n")),
        None => Bytes::from(format!("data: {data}\n\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_keep_every_character() {
        assert_eq!(pieces("a b  c"), vec!["a ", "b ", " ", "c"]);
        assert_eq!(pieces(DEFAULT_TEXT).concat(), DEFAULT_TEXT);
        assert_eq!(pieces(""), vec![""]);
    }
}
