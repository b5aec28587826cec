//! Input and output: the precedence between the conventions that carry prompts and completions,
//! the event-based ones, and the parsing of JSON chat messages (GenAI parts, OpenAI-style).

use serde_json::{Map, Value as Json};

use crate::model::{Message, Payload, ToolCall};
use crate::raw::RawEvent;
use crate::value::AttrValue;

use super::attrs::{json_from_text, json_of, Bag};
use super::{flattened, Ctx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Input,
    Output,
}

type Step = fn(&mut Ctx, Side) -> Option<Payload>;

/// The sources in precedence order; the first that yields a payload wins, separately for input
/// and output.
const STEPS: [Step; 9] = [
    langfuse,
    span_semconv,
    details_event,
    message_events,
    legacy_events,
    flattened::openllmetry,
    flattened::openinference,
    traceloop_entity,
    plain_value,
];

pub(super) fn input_output(ctx: &mut Ctx) -> (Option<Payload>, Option<Payload>) {
    let input = STEPS.iter().find_map(|step| step(ctx, Side::Input));
    let output = STEPS.iter().find_map(|step| step(ctx, Side::Output));
    (input, output)
}

/// A JSON array of role-bearing messages, a single message object (`{role, content}`, what
/// the Langfuse OpenAI integration records as output) or `{"messages": [...]}` becomes
/// `Messages`; anything else is a `Value`.
pub(super) fn payload(json: Json) -> Payload {
    match messages_from_json(&json) {
        Some(msgs) => Payload::Messages(msgs),
        None => Payload::Value(json),
    }
}

fn messages_from_json(json: &Json) -> Option<Vec<Message>> {
    if let Some(obj) = json.as_object() {
        if let Some(inner) = obj.get("messages").filter(|_| obj.len() == 1) {
            return messages_from_json(inner);
        }
        let is_message = obj.get("role").is_some_and(Json::is_string)
            && ["content", "tool_calls", "parts"]
                .iter()
                .any(|k| obj.contains_key(*k))
            && obj.keys().all(|k| MESSAGE_KEYS.contains(&k.as_str()));
        return is_message.then(|| vec![message_from_object(obj, "user")]);
    }
    let items = json.as_array().filter(|a| !a.is_empty())?;
    items
        .iter()
        .map(|item| {
            let obj = item.as_object()?;
            obj.get("role").and_then(Json::as_str)?;
            Some(message_from_object(obj, "user"))
        })
        .collect()
}

/// Keys a single message object may carry and still be read as a message.
const MESSAGE_KEYS: &[&str] = &[
    "role",
    "content",
    "tool_calls",
    "parts",
    "name",
    "tool_call_id",
    "finish_reason",
    "refusal",
    "audio",
];

/// (1) Langfuse `langfuse.observation.input` / `.output`, else the trace's
/// `langfuse.trace.input` / `.output` (set on the span that carries the trace's input).
fn langfuse(ctx: &mut Ctx, side: Side) -> Option<Payload> {
    let keys = match side {
        Side::Input => ["langfuse.observation.input", "langfuse.trace.input"],
        Side::Output => ["langfuse.observation.output", "langfuse.trace.output"],
    };
    take_json_payload(ctx, &keys)
}

/// (8) OpenLLMetry `traceloop.entity.input` / `.output`: the JSON its `@workflow`, `@task`,
/// `@agent` and `@tool` decorators record (`{"args": [...], "kwargs": {...}}`, the result).
fn traceloop_entity(ctx: &mut Ctx, side: Side) -> Option<Payload> {
    let key = match side {
        Side::Input => "traceloop.entity.input",
        Side::Output => "traceloop.entity.output",
    };
    take_json_payload(ctx, &[key])
}

/// The first of `keys` present, promoted, as a payload (JSON text parsed).
fn take_json_payload(ctx: &mut Ctx, keys: &[&str]) -> Option<Payload> {
    let key = keys.iter().find(|k| ctx.attrs.has(k))?;
    ctx.attrs.take(key).map(|v| payload(json_of(&v)))
}

fn span_semconv(ctx: &mut Ctx, side: Side) -> Option<Payload> {
    semconv(&mut ctx.attrs, side)
}

/// (2) GenAI v1.37+ `gen_ai.input.messages` (with `gen_ai.system_instructions` prepended as a
/// system message) / `gen_ai.output.messages`, from a span's or an event's attributes.
fn semconv(bag: &mut Bag, side: Side) -> Option<Payload> {
    if side == Side::Output {
        return bag
            .take("gen_ai.output.messages")
            .map(|v| payload(json_of(&v)));
    }
    let system_at = bag.index("gen_ai.system_instructions");
    let system = system_at.and_then(|i| system_message(bag.value(i)));
    let Some(i) = bag.index("gen_ai.input.messages") else {
        let system = system?;
        bag.take_at(system_at?);
        return Some(Payload::Messages(vec![system]));
    };
    let input = payload(json_of(&bag.take_at(i)));
    match (input, system, system_at) {
        (Payload::Messages(mut msgs), Some(system), Some(at)) => {
            bag.take_at(at);
            msgs.insert(0, system);
            Some(Payload::Messages(msgs))
        }
        (input, _, _) => Some(input),
    }
}

/// `gen_ai.system_instructions`: a list of parts, a string, or one message object.
fn system_message(v: &AttrValue) -> Option<Message> {
    let mut msg = Message {
        role: "system".to_string(),
        ..Message::default()
    };
    match json_of(v) {
        Json::String(s) if !s.is_empty() => msg.content = Some(s),
        Json::Array(parts) => {
            let mut texts = Vec::new();
            add_parts(&mut msg, &mut texts, &parts);
            finish_text(&mut msg, texts);
        }
        Json::Object(obj) => msg = message_from_object(&obj, "system"),
        _ => return None,
    }
    Some(msg)
}

/// (3) The `gen_ai.client.inference.operation.details` event carrying the (2) attributes. Only
/// the attributes used are removed from the event; it is dropped once nothing is left.
fn details_event(ctx: &mut Ctx, side: Side) -> Option<Payload> {
    for i in ctx.events_named("gen_ai.client.inference.operation.details") {
        let mut bag = Bag::new(std::mem::take(&mut ctx.events[i].attributes));
        let found = semconv(&mut bag, side);
        ctx.consumed[i] = bag.is_empty();
        ctx.events[i].attributes = bag.into_remaining();
        if found.is_some() {
            return found;
        }
    }
    None
}

const MESSAGE_EVENTS: [(&str, &str); 4] = [
    ("gen_ai.system.message", "system"),
    ("gen_ai.user.message", "user"),
    ("gen_ai.assistant.message", "assistant"),
    ("gen_ai.tool.message", "tool"),
];

/// (4) GenAI v1.28–v1.36 events: one per input message (role from the event name) and one
/// `gen_ai.choice` per output message. All of them are consumed.
fn message_events(ctx: &mut Ctx, side: Side) -> Option<Payload> {
    let mut msgs = Vec::new();
    for i in 0..ctx.events.len() {
        if ctx.consumed[i] {
            continue;
        }
        let event = &ctx.events[i];
        let msg = match side {
            Side::Input => {
                let Some((_, role)) = MESSAGE_EVENTS.iter().find(|(name, _)| *name == event.name)
                else {
                    continue;
                };
                let mut msg = message_from_object(&event_object(event), role);
                msg.role = (*role).to_string();
                msg
            }
            Side::Output if event.name == "gen_ai.choice" => choice_message(event_object(event)),
            Side::Output => continue,
        };
        ctx.consumed[i] = true;
        msgs.push(msg);
    }
    (!msgs.is_empty()).then_some(Payload::Messages(msgs))
}

/// An event's attributes as one object, over the JSON `body` attribute when there is one.
fn event_object(event: &RawEvent) -> Map<String, Json> {
    let mut obj = Map::new();
    for (key, value) in &event.attributes {
        if key == "body" {
            if let Json::Object(body) = json_of(value) {
                for (k, v) in body {
                    obj.entry(k).or_insert(v);
                }
            }
        } else if key == "tool_calls" || key == "message" {
            obj.insert(key.clone(), json_of(value));
        } else {
            obj.insert(key.clone(), value.to_json());
        }
    }
    obj
}

/// A `gen_ai.choice` event: `{index, finish_reason, message: {role, content, tool_calls}}`.
fn choice_message(obj: Map<String, Json>) -> Message {
    let inner = match obj.get("message") {
        Some(Json::Object(m)) => m.clone(),
        _ => obj.clone(),
    };
    let mut msg = message_from_object(&inner, "assistant");
    if msg.finish_reason.is_none() {
        msg.finish_reason = text_field(&obj, "finish_reason");
    }
    msg
}

/// (5) GenAI ≤v1.27 events `gen_ai.content.prompt` / `gen_ai.content.completion` carrying
/// `gen_ai.prompt` / `gen_ai.completion`.
fn legacy_events(ctx: &mut Ctx, side: Side) -> Option<Payload> {
    let (name, key) = match side {
        Side::Input => ("gen_ai.content.prompt", "gen_ai.prompt"),
        Side::Output => ("gen_ai.content.completion", "gen_ai.completion"),
    };
    for i in ctx.events_named(name) {
        let mut bag = Bag::new(std::mem::take(&mut ctx.events[i].attributes));
        let found = bag.take(key).map(|v| payload(json_of(&v)));
        ctx.consumed[i] = bag.is_empty();
        ctx.events[i].attributes = bag.into_remaining();
        if found.is_some() {
            return found;
        }
    }
    None
}

/// (9) `input.value` / `output.value`: JSON when the mime type says so or the text is a JSON
/// object or array, else a string. The mime type attribute goes with the value.
fn plain_value(ctx: &mut Ctx, side: Side) -> Option<Payload> {
    let (key, mime_key) = match side {
        Side::Input => ("input.value", "input.mime_type"),
        Side::Output => ("output.value", "output.mime_type"),
    };
    let i = ctx.attrs.index(key)?;
    let is_json = ctx
        .attrs
        .get(mime_key)
        .and_then(AttrValue::as_str)
        .is_some_and(|m| m.contains("json"));
    let json = match ctx.attrs.take_at(i) {
        AttrValue::Str(s) => {
            let t = s.trim_start();
            let parsed =
                (is_json || t.starts_with(['{', '['])).then(|| serde_json::from_str(&s).ok());
            parsed.flatten().unwrap_or(Json::String(s))
        }
        other => other.to_json(),
    };
    ctx.attrs.take(mime_key);
    Some(payload(json))
}

/// One chat message from a JSON object in any of the shapes we accept: GenAI
/// `{role, parts, name, finish_reason}` or OpenAI-style `{role, content, tool_calls,
/// tool_call_id, name}` (a tool message's `id` is its `tool_call_id`).
pub(super) fn message_from_object(obj: &Map<String, Json>, default_role: &str) -> Message {
    let role = obj
        .get("role")
        .and_then(Json::as_str)
        .filter(|r| !r.is_empty())
        .unwrap_or(default_role);
    let mut msg = Message {
        role: role.to_string(),
        ..Message::default()
    };
    let mut texts = Vec::new();
    if let Some(Json::Array(parts)) = obj.get("parts") {
        add_parts(&mut msg, &mut texts, parts);
    }
    if let Some(content) = obj.get("content") {
        add_content(&mut msg, &mut texts, content);
    }
    let calls = match obj.get("tool_calls") {
        Some(Json::String(s)) => json_from_text(s),
        Some(other) => other.clone(),
        None => Json::Null,
    };
    if let Json::Array(calls) = calls {
        msg.tool_calls.extend(calls.iter().filter_map(tool_call));
    }
    msg.tool_call_id = msg
        .tool_call_id
        .take()
        .or_else(|| text_field(obj, "tool_call_id"));
    if msg.tool_call_id.is_none() && msg.role == "tool" {
        msg.tool_call_id = text_field(obj, "id");
    }
    msg.name = text_field(obj, "name");
    msg.finish_reason = text_field(obj, "finish_reason");
    finish_text(&mut msg, texts);
    msg
}

/// GenAI v1.37+ parts: text joins the content, tool calls and tool responses get their fields,
/// any other part (reasoning, blob, uri, file, ...) is kept as sent.
fn add_parts(msg: &mut Message, texts: &mut Vec<String>, parts: &[Json]) {
    for part in parts {
        let Some(obj) = part.as_object() else {
            msg.parts.push(part.clone());
            continue;
        };
        match obj.get("type").and_then(Json::as_str) {
            Some("text") => match text_field(obj, "content").or_else(|| text_field(obj, "text")) {
                Some(text) => texts.push(text),
                None => msg.parts.push(part.clone()),
            },
            Some("tool_call") => match tool_call(part) {
                Some(call) => msg.tool_calls.push(call),
                None => msg.parts.push(part.clone()),
            },
            Some("tool_call_response") => {
                msg.tool_call_id = msg.tool_call_id.take().or_else(|| text_field(obj, "id"));
                match obj.get("response").or_else(|| obj.get("result")) {
                    Some(Json::String(s)) => texts.push(s.clone()),
                    _ => msg.parts.push(part.clone()),
                }
            }
            _ => msg.parts.push(part.clone()),
        }
    }
}

/// Message content: a string, or a list of strings and content parts (`{type:"text", text}`
/// joins the text; other parts are kept as sent).
pub(super) fn add_content(msg: &mut Message, texts: &mut Vec<String>, content: &Json) {
    match content {
        Json::Null => {}
        Json::String(s) => {
            if !s.is_empty() {
                texts.push(s.clone());
            }
        }
        Json::Array(items) => {
            for item in items {
                let text = match item {
                    Json::String(s) => Some(s.clone()),
                    Json::Object(o) if o.get("type").and_then(Json::as_str) == Some("text") => {
                        text_field(o, "text").or_else(|| text_field(o, "content"))
                    }
                    _ => None,
                };
                match text {
                    Some(t) => texts.push(t),
                    None => msg.parts.push(item.clone()),
                }
            }
        }
        other => msg.parts.push(other.clone()),
    }
}

pub(super) fn finish_text(msg: &mut Message, texts: Vec<String>) {
    if !texts.is_empty() {
        let joined = texts.join("\n");
        msg.content = Some(match msg.content.take() {
            Some(before) => format!("{before}\n{joined}"),
            None => joined,
        });
    }
}

/// `{id, name, arguments}` or OpenAI's `{id, type:"function", function:{name, arguments}}`.
fn tool_call(v: &Json) -> Option<ToolCall> {
    let obj = v.as_object()?;
    let function = obj.get("function").and_then(Json::as_object).unwrap_or(obj);
    let name = text_field(function, "name").or_else(|| text_field(obj, "name"));
    let id = text_field(obj, "id");
    if name.is_none() && id.is_none() {
        return None;
    }
    let arguments = function.get("arguments").or_else(|| obj.get("arguments"));
    Some(ToolCall {
        id,
        name: name.unwrap_or_default(),
        arguments: arguments.map(arguments_json).unwrap_or_default(),
    })
}

/// Tool-call arguments: JSON text parsed, other text kept as a string.
pub(super) fn arguments_json(v: &Json) -> Json {
    match v {
        Json::String(s) => json_from_text(s),
        other => other.clone(),
    }
}

/// A non-empty string (or a number, as text) under `key`.
pub(super) fn text_field(obj: &Map<String, Json>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
