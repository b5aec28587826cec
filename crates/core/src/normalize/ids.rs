//! Who and what a step belongs to: agent, session, user, tenant, tool call, and tags.

use crate::model::{Observation, ObservationKind};
use crate::raw::Resource;

use super::attrs::{json_of, string_list};
use super::workspace::{attribute_text, WORKSPACE_KEYS};
use super::{resource_text, Ctx};

/// OpenLLMetry's `Traceloop.set_association_properties` keys, on every span in its context.
const TRACELOOP_SESSION: [&str; 4] = [
    "traceloop.association.properties.session_id",
    "traceloop.association.properties.conversation_id",
    "traceloop.association.properties.thread_id",
    "traceloop.association.properties.chat_id",
];
/// The name OpenLLMetry's `@agent` and `@tool` decorators give (also on workflows and tasks,
/// where it stays: their span name already says it).
const TRACELOOP_ENTITY: &str = "traceloop.entity.name";

pub(super) fn fill(ctx: &mut Ctx, obs: &mut Observation, resource: &Resource) {
    let a = &mut ctx.attrs;
    obs.agent_name = a.take_text(&["gen_ai.agent.name", "agent.name"]);
    if obs.agent_name.is_none() && obs.kind == ObservationKind::Agent {
        obs.agent_name = a.take_text(&[TRACELOOP_ENTITY]);
    }
    obs.agent_id = a.take_text(&["gen_ai.agent.id"]);
    obs.session_id = a
        .take_text(&[
            "gen_ai.conversation.id",
            "session.id",
            "langfuse.session.id",
        ])
        .or_else(|| a.take_text(&TRACELOOP_SESSION));
    obs.user_id = a.take_text(&[
        "user.id",
        "langfuse.user.id",
        "enduser.id",
        "traceloop.association.properties.user_id",
    ]);
    obs.tenant_id = a
        .take_text(&["tenant.id", "traceloop.association.properties.tenant_id"])
        .or_else(|| resource_text(resource, "tenant.id"));
    // The workspace attributes stay in `attributes`: attribute filters and groups read them.
    obs.workspace_id = WORKSPACE_KEYS
        .iter()
        .find_map(|k| a.get(k).and_then(|v| v.to_text()).filter(|s| !s.is_empty()))
        .or_else(|| attribute_text(&resource.attributes, &WORKSPACE_KEYS));
    obs.tool_name = a.take_text(&["gen_ai.tool.name", "tool.name"]);
    if obs.tool_name.is_none() && obs.kind == ObservationKind::Tool {
        obs.tool_name = a.take_text(&[TRACELOOP_ENTITY]);
    }
    obs.tool_call_id = a.take_text(&["gen_ai.tool.call.id", "tool.id", "tool_call.id"]);
    obs.tool_arguments = take_json(ctx, &["gen_ai.tool.call.arguments", "tool.parameters"]);
    obs.tool_result = take_json(ctx, &["gen_ai.tool.call.result"]);
    obs.tags = tags(ctx);
}

/// The first of `keys` present, as JSON (JSON text parsed, other text kept as a string).
fn take_json(ctx: &mut Ctx, keys: &[&str]) -> Option<serde_json::Value> {
    let key = keys.iter().find(|k| ctx.attrs.has(k))?;
    ctx.attrs.take(key).map(|v| json_of(&v))
}

/// `tag.tags`, `langfuse.trace.tags` and `langfuse.tags`, merged in that order without repeats.
fn tags(ctx: &mut Ctx) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for key in ["tag.tags", "langfuse.trace.tags", "langfuse.tags"] {
        while let Some(i) = ctx.attrs.index(key) {
            let Some(list) = string_list(ctx.attrs.value(i), true) else {
                break;
            };
            ctx.attrs.take_at(i);
            for tag in list {
                if !tags.contains(&tag) {
                    tags.push(tag);
                }
            }
        }
    }
    tags
}
