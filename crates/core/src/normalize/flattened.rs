//! Flattened message attributes, re-nested into messages: OpenLLMetry `gen_ai.prompt.{i}.*` /
//! `gen_ai.completion.{i}.*` and OpenInference `llm.input_messages.{i}.message.*` /
//! `llm.output_messages.{i}.message.*`. Only the keys recognized here are promoted.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use crate::model::{Message, Payload, ToolCall};
use crate::value::AttrValue;

use super::messages::{add_content, arguments_json, finish_text, text_field, Side};
use super::Ctx;

/// How one convention spells its flattened keys.
struct Flavor {
    input: &'static str,
    output: &'static str,
    /// Between the message index and the field (`message.` for OpenInference).
    message: &'static str,
    /// Between the tool call index and its field.
    call: &'static str,
    call_name: &'static str,
    call_arguments: &'static str,
}

const OPENLLMETRY: Flavor = Flavor {
    input: "gen_ai.prompt.",
    output: "gen_ai.completion.",
    message: "",
    call: "",
    call_name: "name",
    call_arguments: "arguments",
};

const OPENINFERENCE: Flavor = Flavor {
    input: "llm.input_messages.",
    output: "llm.output_messages.",
    message: "message.",
    call: "tool_call.",
    call_name: "function.name",
    call_arguments: "function.arguments",
};

/// (6) OpenLLMetry / Traceloop.
pub(super) fn openllmetry(ctx: &mut Ctx, side: Side) -> Option<Payload> {
    flattened(ctx, side, &OPENLLMETRY)
}

/// (7) OpenInference.
pub(super) fn openinference(ctx: &mut Ctx, side: Side) -> Option<Payload> {
    flattened(ctx, side, &OPENINFERENCE)
}

enum Field {
    Role,
    Content,
    Name,
    ToolCallId,
    FinishReason,
    /// Tool call `j`: `id`, `name` or `arguments`.
    Call(usize, &'static str),
    /// Content part `k` (OpenInference `contents.{k}.message_content.*`), at a dotted sub-path.
    Part(usize, String),
}

#[derive(Default)]
struct Draft {
    role: Option<String>,
    content: Option<Json>,
    name: Option<String>,
    tool_call_id: Option<String>,
    finish_reason: Option<String>,
    calls: BTreeMap<usize, Map<String, Json>>,
    parts: BTreeMap<usize, Map<String, Json>>,
}

fn flattened(ctx: &mut Ctx, side: Side, flavor: &Flavor) -> Option<Payload> {
    let prefix = match side {
        Side::Input => flavor.input,
        Side::Output => flavor.output,
    };
    let mut drafts: BTreeMap<usize, Draft> = BTreeMap::new();
    for i in ctx.attrs.with_prefix(prefix) {
        let key = ctx.attrs.key(i).to_string();
        let Some((n, rest)) = split_index(&key[prefix.len()..]) else {
            continue;
        };
        let Some(field) = rest
            .strip_prefix(flavor.message)
            .and_then(|f| classify(f, flavor))
        else {
            continue;
        };
        let value = ctx.attrs.take_at(i);
        let draft = drafts.entry(n).or_default();
        match field {
            Field::Role => draft.role = value.to_text(),
            Field::Content => draft.content = Some(content_json(value)),
            Field::Name => draft.name = value.to_text(),
            Field::ToolCallId => draft.tool_call_id = value.to_text(),
            Field::FinishReason => draft.finish_reason = value.to_text(),
            Field::Call(j, name) => {
                draft
                    .calls
                    .entry(j)
                    .or_default()
                    .insert(name.to_string(), value.to_json());
            }
            Field::Part(k, path) => {
                insert_path(draft.parts.entry(k).or_default(), &path, value.to_json())
            }
        }
    }
    if drafts.is_empty() {
        return None;
    }
    let default_role = match side {
        Side::Input => "user",
        Side::Output => "assistant",
    };
    Some(Payload::Messages(
        drafts
            .into_values()
            .map(|d| message(d, default_role))
            .collect(),
    ))
}

fn classify(field: &str, flavor: &Flavor) -> Option<Field> {
    match field {
        "role" => return Some(Field::Role),
        "content" => return Some(Field::Content),
        "name" => return Some(Field::Name),
        "tool_call_id" => return Some(Field::ToolCallId),
        "finish_reason" => return Some(Field::FinishReason),
        _ => {}
    }
    if let Some(rest) = field.strip_prefix("tool_calls.") {
        let (j, rest) = split_index(rest)?;
        let name = match rest.strip_prefix(flavor.call)? {
            "id" => "id",
            f if f == flavor.call_name => "name",
            f if f == flavor.call_arguments => "arguments",
            _ => return None,
        };
        return Some(Field::Call(j, name));
    }
    let rest = field.strip_prefix("contents.")?;
    let (k, rest) = split_index(rest)?;
    let path = rest.strip_prefix("message_content.")?;
    (!path.is_empty()).then(|| Field::Part(k, path.to_string()))
}

/// `12.rest` as (12, "rest").
fn split_index(s: &str) -> Option<(usize, &str)> {
    let (n, rest) = s.split_once('.')?;
    if n.is_empty() || !n.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((n.parse().ok()?, rest))
}

/// Flattened content is usually text; OpenLLMetry sends multimodal content as a JSON list of
/// parts, which is parsed.
fn content_json(value: AttrValue) -> Json {
    match value {
        AttrValue::Str(s) => {
            if s.trim_start().starts_with('[') {
                if let Ok(Json::Array(items)) = serde_json::from_str::<Json>(&s) {
                    if items.iter().all(|p| p.get("type").is_some()) {
                        return Json::Array(items);
                    }
                }
            }
            Json::String(s)
        }
        other => other.to_json(),
    }
}

fn insert_path(map: &mut Map<String, Json>, path: &str, value: Json) {
    match path.split_once('.') {
        None => {
            map.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let entry = map
                .entry(head.to_string())
                .or_insert_with(|| Json::Object(Map::new()));
            if !entry.is_object() {
                *entry = Json::Object(Map::new());
            }
            if let Json::Object(inner) = entry {
                insert_path(inner, rest, value);
            }
        }
    }
}

fn message(draft: Draft, default_role: &str) -> Message {
    let mut msg = Message {
        role: draft
            .role
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| default_role.to_string()),
        name: draft.name,
        tool_call_id: draft.tool_call_id,
        finish_reason: draft.finish_reason,
        ..Message::default()
    };
    let mut texts = Vec::new();
    if let Some(content) = &draft.content {
        add_content(&mut msg, &mut texts, content);
    }
    for part in draft.parts.into_values() {
        match (
            part.get("type").and_then(Json::as_str),
            text_field(&part, "text"),
        ) {
            (Some("text") | None, Some(text)) => texts.push(text),
            _ => msg.parts.push(Json::Object(part)),
        }
    }
    finish_text(&mut msg, texts);
    msg.tool_calls = draft
        .calls
        .into_values()
        .map(|call| ToolCall {
            id: text_field(&call, "id"),
            name: text_field(&call, "name").unwrap_or_default(),
            arguments: call
                .get("arguments")
                .map(arguments_json)
                .unwrap_or_default(),
        })
        .collect();
    msg
}
