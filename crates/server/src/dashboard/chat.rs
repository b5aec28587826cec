//! Inputs and outputs as a conversation: chat messages as bubbles by role (system, user,
//! assistant, tool) with their tool calls and tool results, and any other value as text or
//! pretty JSON. Everything is text to the template, so a payload holding HTML shows as HTML
//! source, never as markup.

use maud::{html, Markup};
use serde_json::Value as Json;
use sightline_core::{Message, Payload};

/// A payload: messages as bubbles, a plain value as text or JSON.
pub fn payload(p: &Payload) -> Markup {
    match p {
        Payload::Messages(messages) => self::messages(messages, false),
        Payload::Value(v) => value(v),
    }
}

/// Messages as bubbles; with `fold_system`, system prompts start folded.
pub fn messages(messages: &[Message], fold_system: bool) -> Markup {
    html! {
        div.chat {
            @for m in messages {
                @if fold_system && m.role == "system" {
                    details.msg.role-system {
                        summary { span.role { "system" } " " span.muted { (preview(m)) } }
                        (message_body(m))
                    }
                } @else {
                    div class={ "msg role-" (role_class(&m.role)) } {
                        div.who {
                            span.role { (m.role) }
                            @if let Some(n) = &m.name { " " span.muted { (n) } }
                            @if let Some(id) = &m.tool_call_id { " " span.muted.mono title="the tool call this answers" { "↩ " (id) } }
                            @if let Some(r) = &m.finish_reason { " " span.muted { "· " (r) } }
                        }
                        (message_body(m))
                    }
                }
            }
        }
    }
}

fn message_body(m: &Message) -> Markup {
    html! {
        @if let Some(c) = &m.content {
            div.text { (c) }
        }
        @for call in &m.tool_calls {
            div.tool-call {
                span.muted { "calls tool " }
                strong { (call.name) }
                @if let Some(id) = &call.id { " " span.muted.mono { (id) } }
                @if !call.arguments.is_null() { (value(&call.arguments)) }
            }
        }
        @for part in &m.parts {
            div.part { (value(part)) }
        }
    }
}

/// A bubble's colour class: the known roles, else `other`.
fn role_class(role: &str) -> &'static str {
    match role {
        "system" | "developer" => "system",
        "user" | "human" => "user",
        "assistant" | "ai" | "model" => "assistant",
        "tool" | "function" | "ipython" => "tool",
        _ => "other",
    }
}

/// The start of a message, for a folded one.
fn preview(m: &Message) -> String {
    let text = m.content.as_deref().unwrap_or("");
    super::format::clip(text.lines().next().unwrap_or(""), 90)
}

/// A value: a string as text, anything else as indented JSON.
pub fn value(v: &Json) -> Markup {
    match v {
        Json::String(s) => html! { div.text { (s) } },
        other => json(other),
    }
}

/// Indented JSON in a code block.
pub fn json(v: &Json) -> Markup {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    html! { pre.json { (text) } }
}

/// The last user message and the first assistant answer of a turn: what a conversation view
/// shows of each trace (system prompts and history are in the trace itself).
pub fn turn_messages(input: Option<&Payload>, output: Option<&Payload>) -> Markup {
    let asked: Vec<Message> = match input {
        Some(Payload::Messages(m)) => {
            let last_user = m.iter().rposition(|m| role_class(&m.role) == "user");
            match last_user {
                Some(i) => m[i..].to_vec(),
                None => m.iter().rev().take(1).cloned().collect(),
            }
        }
        _ => Vec::new(),
    };
    html! {
        @if !asked.is_empty() { (messages(&asked, true)) }
        @else if let Some(Payload::Value(v)) = input {
            div.chat { div.msg.role-user { div.who { span.role { "input" } } (value(v)) } }
        }
        @match output {
            Some(Payload::Messages(m)) => (messages(m, true)),
            Some(Payload::Value(v)) => {
                div.chat { div.msg.role-assistant { div.who { span.role { "output" } } (value(v)) } }
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sightline_core::ToolCall;

    #[test]
    fn messages_render_as_text_with_their_tool_calls() {
        let hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
        let p = Payload::Messages(vec![
            Message {
                role: "user".into(),
                content: Some(hostile.into()),
                ..Default::default()
            },
            Message {
                role: "assistant".into(),
                tool_calls: vec![ToolCall {
                    id: Some("call_1".into()),
                    name: "search<b>".into(),
                    arguments: json!({"q": hostile}),
                }],
                ..Default::default()
            },
            Message {
                role: "tool".into(),
                tool_call_id: Some("call_1".into()),
                content: Some("42".into()),
                ..Default::default()
            },
        ]);
        let html = payload(&p).into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(html.contains("role-user") && html.contains("role-tool"));
        assert!(html.contains("search&lt;b&gt;") && html.contains("call_1"));
        let v = value(&json!({"a": [1, 2]})).into_string();
        assert!(v.contains("&quot;a&quot;"), "{v}");
    }

    #[test]
    fn a_turn_shows_the_last_question_and_the_answer() {
        let m = |role: &str, text: &str| Message {
            role: role.into(),
            content: Some(text.into()),
            ..Default::default()
        };
        let input = Payload::Messages(vec![
            m("system", "be brief"),
            m("user", "first"),
            m("assistant", "a1"),
            m("user", "second"),
        ]);
        let output = Payload::Messages(vec![m("assistant", "answer")]);
        let html = turn_messages(Some(&input), Some(&output)).into_string();
        assert!(html.contains("second") && html.contains("answer"));
        assert!(!html.contains("first"), "{html}");
    }
}
