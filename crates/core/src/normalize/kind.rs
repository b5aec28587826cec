//! What a step was: the observation kind, from explicit kind attributes in precedence order, then
//! inferred from the attributes present.

use crate::model::ObservationKind as K;

use super::Ctx;

/// Langfuse SDK `langfuse.observation.type`.
fn from_langfuse(v: &str) -> Option<K> {
    Some(match v {
        "generation" => K::Llm,
        "span" => K::Span,
        "event" => K::Event,
        "agent" => K::Agent,
        "tool" => K::Tool,
        "chain" => K::Chain,
        "retriever" => K::Retriever,
        "embedding" => K::Embedding,
        "guardrail" => K::Guardrail,
        "evaluator" => K::Evaluator,
        _ => return None,
    })
}

/// OpenInference `openinference.span.kind` (`UNKNOWN` and anything else fall through).
fn from_openinference(v: &str) -> Option<K> {
    Some(match v {
        "llm" => K::Llm,
        "embedding" => K::Embedding,
        "chain" | "prompt" => K::Chain,
        "retriever" => K::Retriever,
        "reranker" => K::Reranker,
        "tool" => K::Tool,
        "agent" => K::Agent,
        "guardrail" => K::Guardrail,
        "evaluator" => K::Evaluator,
        _ => return None,
    })
}

/// OpenLLMetry (Traceloop) `traceloop.span.kind`: its decorators' `@workflow` and `@task`
/// are steps of a pipeline (chain, like `invoke_workflow`); `@agent` and `@tool` as named.
fn from_traceloop(v: &str) -> Option<K> {
    Some(match v {
        "workflow" | "task" => K::Chain,
        "agent" => K::Agent,
        "tool" => K::Tool,
        _ => return None,
    })
}

/// OpenTelemetry GenAI `gen_ai.operation.name` (an open set: unknown values fall through).
fn from_operation(v: &str) -> Option<K> {
    Some(match v {
        "chat" | "text_completion" | "generate_content" | "completion" | "generate" => K::Llm,
        "embeddings" => K::Embedding,
        "execute_tool" => K::Tool,
        "invoke_agent" | "create_agent" => K::Agent,
        "invoke_workflow" => K::Chain,
        "retrieval" => K::Retriever,
        _ => return None,
    })
}

const TOOL_KEYS: [&str; 3] = ["gen_ai.tool.name", "gen_ai.tool.call.id", "tool.name"];
const MODEL_KEYS: [&str; 4] = [
    "gen_ai.request.model",
    "gen_ai.response.model",
    "llm.model_name",
    "langfuse.observation.model.name",
];

/// The kind. The Langfuse, OpenInference and Traceloop kind attributes are promoted when they
/// decide it (except OpenInference `PROMPT` and Traceloop `workflow` and `task`, which are kept
/// since `chain` does not say them);
/// `gen_ai.operation.name` is promoted into `operation` separately.
pub(super) fn kind(ctx: &mut Ctx) -> K {
    let lowered = |ctx: &Ctx, key: &str| {
        ctx.attrs
            .get(key)
            .and_then(|v| v.to_text())
            .map(|s| s.trim().to_lowercase())
    };

    if let Some(kind) = lowered(ctx, "langfuse.observation.type")
        .as_deref()
        .and_then(from_langfuse)
    {
        ctx.attrs.take("langfuse.observation.type");
        return kind;
    }
    if let Some(v) = lowered(ctx, "openinference.span.kind") {
        if let Some(kind) = from_openinference(&v) {
            if v != "prompt" {
                ctx.attrs.take("openinference.span.kind");
            }
            return kind;
        }
    }
    if let Some(v) = lowered(ctx, "traceloop.span.kind") {
        if let Some(kind) = from_traceloop(&v) {
            if kind != K::Chain {
                ctx.attrs.take("traceloop.span.kind");
            }
            return kind;
        }
    }
    if let Some(kind) = lowered(ctx, "gen_ai.operation.name")
        .as_deref()
        .and_then(from_operation)
    {
        return kind;
    }
    let present = |keys: &[&str]| keys.iter().any(|k| ctx.attrs.has(k));
    if present(&TOOL_KEYS) {
        K::Tool
    } else if present(&MODEL_KEYS) {
        K::Llm
    } else if present(&["gen_ai.agent.name"]) {
        K::Agent
    } else {
        K::Span
    }
}
