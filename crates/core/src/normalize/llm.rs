//! Model-call fields: provider, request and response model, finish reasons, request parameters
//! and time to first token.

use serde_json::{Map, Value as Json};

use crate::model::Observation;

use super::attrs::{json_object, number, parse_timestamp, seconds_to_ns, string_list};
use super::Ctx;

/// Request model attributes before OpenInference's invocation parameters.
const REQUEST_MODEL: [&str; 3] = [
    "gen_ai.request.model",
    "langfuse.observation.model.name",
    "llm.request.model_name",
];
/// OpenInference's catch-all model names, after every other request model source.
const FALLBACK_MODEL: [&str; 2] = ["llm.model_name", "embedding.model_name"];
const INVOCATION_PARAMETERS: &str = "llm.invocation_parameters";

pub(super) fn fill(ctx: &mut Ctx, obs: &mut Observation) {
    obs.provider = provider(ctx);
    // OpenInference names the model it asked for in `llm.request.model_name` (new) or in the
    // `model` of `llm.invocation_parameters`; then `llm.model_name` is the model that answered.
    let (request, openinference_request) = match ctx.attrs.take_text_from(&REQUEST_MODEL) {
        Some((source, model)) => (
            Some(model),
            REQUEST_MODEL[source] == "llm.request.model_name",
        ),
        None => match invocation_model(ctx) {
            Some(model) => (Some(model), true),
            None => (ctx.attrs.take_text(&FALLBACK_MODEL), false),
        },
    };
    obs.response_model = response_model(ctx, request.as_deref(), openinference_request);
    obs.request_model = request;
    obs.finish_reasons = finish_reasons(ctx);
    obs.request_params = request_params(ctx, obs.request_model.as_deref());
    obs.ttft_ns = ttft(ctx);
}

/// The `model` string of OpenInference `llm.invocation_parameters` (the attribute stays for
/// [`request_params`], which drops the key when it agrees with the request model).
fn invocation_model(ctx: &Ctx) -> Option<String> {
    let object = json_object(ctx.attrs.get(INVOCATION_PARAMETERS)?)?;
    match object.get("model")? {
        Json::String(m) if !m.trim().is_empty() => Some(m.clone()),
        _ => None,
    }
}

/// Old and vendor spellings of a provider, mapped to the OpenTelemetry GenAI
/// `gen_ai.provider.name` values; anything else is kept, lowercased.
pub(super) fn canonical_provider(value: &str) -> String {
    let lower = value.trim().to_lowercase();
    let canonical = match lower.as_str() {
        "az.ai.inference" => "azure.ai.inference",
        "az.ai.openai" | "azure" => "azure.ai.openai",
        "gemini" => "gcp.gemini",
        "vertex_ai" | "vertexai" | "google" => "gcp.vertex_ai",
        "xai" => "x_ai",
        "aws" | "amazon" => "aws.bedrock",
        "mistralai" => "mistral_ai",
        _ => return lower,
    };
    canonical.to_string()
}

fn provider(ctx: &mut Ctx) -> Option<String> {
    ctx.attrs
        .take_text(&[
            "gen_ai.provider.name",
            "gen_ai.system",
            "llm.provider",
            "llm.system",
        ])
        .map(|p| canonical_provider(&p))
}

/// `gen_ai.response.model`, else `llm.response.model_name`, else OpenInference `llm.model_name`
/// when the request model came from OpenInference's own request fields (then `llm.model_name`
/// is the model that answered; it is promoted, and left empty when it equals the request model).
fn response_model(ctx: &mut Ctx, request: Option<&str>, openinference: bool) -> Option<String> {
    if let Some(model) = ctx
        .attrs
        .take_text(&["gen_ai.response.model", "llm.response.model_name"])
    {
        return Some(model);
    }
    if !openinference {
        return None;
    }
    let model = ctx.attrs.take_text(&["llm.model_name"])?;
    (Some(model.as_str()) != request).then_some(model)
}

fn finish_reasons(ctx: &mut Ctx) -> Vec<String> {
    if let Some(i) = ctx.attrs.index("gen_ai.response.finish_reasons") {
        if let Some(list) = string_list(ctx.attrs.value(i), false).filter(|l| !l.is_empty()) {
            ctx.attrs.take_at(i);
            return list;
        }
    }
    ctx.attrs
        .take_text(&["llm.finish_reason"])
        .into_iter()
        .collect()
}

/// Every `gen_ai.request.*` but the model, prefix stripped; then the keys of the Langfuse
/// `langfuse.observation.model.parameters` and OpenInference `llm.invocation_parameters` JSON
/// objects that are not set yet (earlier sources win), but `model`, which is the request model.
/// A JSON attribute is promoted unless one of its keys lost to a different value (its `model`
/// differs from `request_model`), in which case it also stays, whole.
fn request_params(ctx: &mut Ctx, request_model: Option<&str>) -> Map<String, Json> {
    let mut params = Map::new();
    for i in ctx.attrs.with_prefix("gen_ai.request.") {
        let name = ctx.attrs.key(i)["gen_ai.request.".len()..].to_string();
        if name == "model" || name.is_empty() || params.contains_key(&name) {
            continue;
        }
        params.insert(name, ctx.attrs.take_at(i).to_json());
    }
    for key in [
        "langfuse.observation.model.parameters",
        INVOCATION_PARAMETERS,
    ] {
        let Some(i) = ctx.attrs.index(key) else {
            continue;
        };
        match json_object(ctx.attrs.value(i)) {
            Some(mut object) => {
                let model_lost = object
                    .remove("model")
                    .is_some_and(|m| m.as_str() != request_model);
                // Kept whole when one of its keys lost to an earlier source with another value.
                let lost = model_lost
                    || object
                        .iter()
                        .any(|(k, v)| params.get(k).is_some_and(|p| p != v));
                if !lost {
                    ctx.attrs.take_at(i);
                }
                for (k, v) in object {
                    params.entry(k).or_insert(v);
                }
            }
            None => {
                let value = ctx.attrs.value(i).clone();
                ctx.warn(
                    key,
                    &value,
                    "is not a JSON object",
                    "its entries were not used as request parameters",
                    "send a JSON object string such as {\"temperature\":0.2}",
                );
            }
        }
    }
    params
}

/// `gen_ai.response.time_to_first_chunk` (seconds), else Langfuse
/// `langfuse.observation.completion_start_time` minus the span start, else
/// `gen_ai.server.time_to_first_token` (seconds). Only positive values are taken.
fn ttft(ctx: &mut Ctx) -> Option<i64> {
    const SECONDS_FIX: &str = "send the delay in seconds as a positive number, e.g. 0.35";
    const LOST: &str = "not used as time to first token";
    if let Some(ns) = seconds(
        ctx,
        "gen_ai.response.time_to_first_chunk",
        LOST,
        SECONDS_FIX,
    ) {
        return Some(ns);
    }
    let key = "langfuse.observation.completion_start_time";
    if let Some(i) = ctx.attrs.index(key) {
        let at = ctx
            .attrs
            .value(i)
            .to_text()
            .and_then(|t| parse_timestamp(&t));
        match at
            .map(|t| t.saturating_sub(ctx.start_ns))
            .filter(|d| *d > 0)
        {
            Some(delta) => {
                ctx.attrs.take_at(i);
                return Some(delta);
            }
            None => {
                let value = ctx.attrs.value(i).clone();
                ctx.warn(
                    key,
                    &value,
                    "is not an ISO-8601 timestamp after the span start",
                    LOST,
                    "send an RFC 3339 time after the span start, e.g. 2024-05-01T10:00:00.250Z",
                );
            }
        }
    }
    seconds(ctx, "gen_ai.server.time_to_first_token", LOST, SECONDS_FIX)
}

/// A positive duration in seconds as nanoseconds, promoting the attribute; warns when it is junk.
fn seconds(ctx: &mut Ctx, key: &str, lost: &str, fix: &str) -> Option<i64> {
    let i = ctx.attrs.index(key)?;
    match number(ctx.attrs.value(i)).and_then(seconds_to_ns) {
        Some(ns) => {
            ctx.attrs.take_at(i);
            Some(ns)
        }
        None => {
            let value = ctx.attrs.value(i).clone();
            ctx.warn(
                key,
                &value,
                "is not a positive number of seconds",
                lost,
                fix,
            );
            None
        }
    }
}
