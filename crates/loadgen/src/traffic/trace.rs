//! One agent trace: the `invoke_agent` root, its `chat` and `execute_tool` steps, and failures.

use opentelemetry_proto::tonic::trace::v1::{span, status, Span, Status};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value as Json};

use super::catalog::{Failure, Service, ToolKind, FAILURES, PROVIDERS, TOOLS};
use super::{kv_f64, kv_int, kv_str, kv_str_array, text, ERROR_RATE};

/// What a trace needs from its session.
pub struct TraceContext<'a> {
    pub start_ns: u64,
    pub service: &'a Service,
    pub conversation_id: Option<&'a str>,
    pub user_id: &'a str,
}

/// A tool call decided by an llm step and executed by the tool step after it.
struct ToolCall {
    tool: usize,
    id: String,
    arguments: Json,
    result: Json,
}

/// One planned step of the agent loop.
enum Step {
    /// An llm call; `calls` are the tool calls it asks for (none for the final answer).
    Llm {
        calls: Vec<usize>,
    },
    Tool {
        call: usize,
    },
}

pub(super) const MS: u64 = 1_000_000;

/// Generates the spans of one trace, children first and the root last.
pub fn generate(rng: &mut StdRng, ctx: &TraceContext<'_>) -> Vec<Span> {
    let trace_id = random_id::<16>(rng);
    let root_id = random_id::<8>(rng);
    let provider = &PROVIDERS[ctx.service.provider];
    let primary = rng.random_range(0..provider.models.len());
    let system = ctx.service.system_prompt;
    let user_len = rng.random_range(150..450);
    let user_turn = text::user_text(rng, user_len);

    let (steps, calls) = plan(rng, ctx.service);
    let failure = rng
        .random_bool(ERROR_RATE)
        .then(|| &FAILURES[rng.random_range(0..FAILURES.len())]);
    // The failing step: the first tool step for tool failures, a random llm step otherwise.
    let failing_step = failure.map(|f| {
        let candidates: Vec<usize> = steps
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Step::Tool { .. }) == f.on_tool)
            .map(|(i, _)| i)
            .collect();
        candidates[rng.random_range(0..candidates.len())]
    });

    let mut spans = Vec::with_capacity(steps.len() + 1);
    let mut cursor = ctx.start_ns + rng.random_range(MS..5 * MS);
    let mut last_results: Vec<usize> = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let fails = failing_step == Some(i);
        let mut span = Span {
            trace_id: trace_id.to_vec(),
            span_id: random_id::<8>(rng).to_vec(),
            parent_span_id: root_id.to_vec(),
            flags: 1,
            ..Default::default()
        };
        let duration = match step {
            Step::Llm { calls: asked } => {
                let model = if rng.random_bool(0.7) {
                    primary
                } else {
                    rng.random_range(0..provider.models.len())
                };
                let model = &provider.models[model];
                span.name = format!("chat {}", model.request);
                span.kind = span::SpanKind::Client as i32;
                let input = input_messages(system, &user_turn, &last_results, &calls);
                let input_tokens = (input.len() / 4) as i64 + rng.random_range(200..4_000);
                span.attributes = vec![
                    kv_str("gen_ai.operation.name", "chat"),
                    kv_str("gen_ai.provider.name", provider.name),
                    kv_str("gen_ai.request.model", model.request),
                    kv_f64(
                        "gen_ai.request.temperature",
                        [0.0, 0.2, 0.7, 1.0][rng.random_range(0..4)],
                    ),
                    kv_int(
                        "gen_ai.request.max_tokens",
                        [1024, 2048, 4096][rng.random_range(0..3)],
                    ),
                    kv_str("server.address", provider.address),
                    kv_str("gen_ai.input.messages", input),
                ];
                if !fails {
                    let (output, finish) = output_messages(rng, asked, &calls);
                    let output_tokens = (output.len() / 4) as i64 + rng.random_range(0..200);
                    span.attributes.extend([
                        kv_str("gen_ai.response.model", model.response),
                        kv_str(
                            "gen_ai.response.id",
                            format!("resp_{:024x}", rng.random::<u128>() >> 32),
                        ),
                        kv_str_array("gen_ai.response.finish_reasons", &[finish]),
                        kv_int("gen_ai.usage.input_tokens", input_tokens),
                        kv_int("gen_ai.usage.output_tokens", output_tokens),
                        kv_int(
                            "gen_ai.usage.cache_read.input_tokens",
                            if rng.random_bool(0.5) {
                                rng.random_range(0..=input_tokens * 4 / 5)
                            } else {
                                0
                            },
                        ),
                        kv_str("gen_ai.output.messages", output),
                    ]);
                }
                last_results.clone_from(asked);
                log_uniform(rng, 200 * MS, 3_000 * MS)
            }
            Step::Tool { call } => {
                let call = &calls[*call];
                let tool = &TOOLS[call.tool];
                span.name = format!("execute_tool {}", tool.name);
                span.kind = span::SpanKind::Internal as i32;
                span.attributes = vec![
                    kv_str("gen_ai.operation.name", "execute_tool"),
                    kv_str("gen_ai.tool.name", tool.name),
                    kv_str("gen_ai.tool.type", "function"),
                    kv_str("gen_ai.tool.call.id", call.id.clone()),
                    kv_str("gen_ai.tool.call.arguments", call.arguments.to_string()),
                ];
                if !fails {
                    span.attributes
                        .push(kv_str("gen_ai.tool.call.result", call.result.to_string()));
                }
                log_uniform(rng, 5 * MS, 500 * MS)
            }
        };
        span.start_time_unix_nano = cursor;
        span.end_time_unix_nano = cursor + duration;
        cursor = span.end_time_unix_nano + rng.random_range(MS / 10..3 * MS);
        if let (true, Some(failure)) = (fails, failure) {
            fail(rng, &mut span, failure);
            spans.push(span);
            break; // the agent gives up: no further steps
        }
        spans.push(span);
    }

    let mut root = Span {
        trace_id: trace_id.to_vec(),
        span_id: root_id.to_vec(),
        flags: 1,
        name: format!("invoke_agent {}", ctx.service.agent),
        kind: span::SpanKind::Internal as i32,
        start_time_unix_nano: ctx.start_ns,
        end_time_unix_nano: cursor + rng.random_range(MS / 2..5 * MS),
        attributes: vec![
            kv_str("gen_ai.operation.name", "invoke_agent"),
            kv_str("gen_ai.agent.name", ctx.service.agent),
            kv_str("user.id", ctx.user_id),
        ],
        ..Default::default()
    };
    if let Some(conversation) = ctx.conversation_id {
        root.attributes
            .push(kv_str("gen_ai.conversation.id", conversation));
    }
    if let Some(failure) = failure {
        root.attributes
            .push(kv_str("error.type", failure.error_type));
        root.status = Some(Status {
            message: failure.message.to_string(),
            code: status::StatusCode::Error as i32,
        });
    }
    spans.push(root);
    spans
}

/// Lays out 2-4 llm steps and 1-2 tool steps: each tool runs between the llm call that asked
/// for it and the next one; the last llm call gives the final answer.
fn plan(rng: &mut StdRng, service: &Service) -> (Vec<Step>, Vec<ToolCall>) {
    let n_llm = rng.random_range(2..=4usize);
    let n_tool = rng.random_range(1..=2usize);
    let calls: Vec<ToolCall> = (0..n_tool)
        .map(|_| {
            let tool = service.tools[rng.random_range(0..service.tools.len())];
            let (arguments, result) = tool_io(rng, TOOLS[tool].kind);
            ToolCall {
                tool,
                id: format!("call_{:016x}", rng.random::<u64>()),
                arguments,
                result,
            }
        })
        .collect();
    let mut steps = Vec::with_capacity(n_llm + n_tool);
    for i in 0..n_llm {
        // Tool j follows llm call min(j, n_llm - 2): with two llm calls both tools share a gap.
        let asked: Vec<usize> = (0..n_tool).filter(|j| (*j).min(n_llm - 2) == i).collect();
        steps.push(Step::Llm {
            calls: asked.clone(),
        });
        steps.extend(asked.into_iter().map(|call| Step::Tool { call }));
    }
    (steps, calls)
}

/// `gen_ai.input.messages`: system prompt, the user turn, and the results of the last tools.
fn input_messages(system: &str, user: &str, results: &[usize], calls: &[ToolCall]) -> String {
    let mut messages = vec![
        json!({"role": "system", "parts": [{"type": "text", "content": system}]}),
        json!({"role": "user", "parts": [{"type": "text", "content": user}]}),
    ];
    for &i in results {
        messages.push(json!({
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": calls[i].id, "response": calls[i].result}],
        }));
    }
    Json::Array(messages).to_string()
}

/// `gen_ai.output.messages` and the finish reason: tool calls, or a final answer.
fn output_messages(
    rng: &mut StdRng,
    asked: &[usize],
    calls: &[ToolCall],
) -> (String, &'static str) {
    let (mut parts, finish) = if asked.is_empty() {
        let len = rng.random_range(150..450);
        let answer = text::assistant_text(rng, len);
        let finish = if rng.random_bool(0.03) {
            "length"
        } else {
            "stop"
        };
        (vec![json!({"type": "text", "content": answer})], finish)
    } else {
        let len = rng.random_range(40..160);
        let thought = text::assistant_text(rng, len);
        (
            vec![json!({"type": "text", "content": thought})],
            "tool_call",
        )
    };
    for &i in asked {
        let call = &calls[i];
        parts.push(json!({
            "type": "tool_call", "id": call.id, "name": TOOLS[call.tool].name, "arguments": call.arguments,
        }));
    }
    let message = json!([{"role": "assistant", "parts": parts, "finish_reason": finish}]);
    (message.to_string(), finish)
}

/// Small JSON arguments and result for a tool call.
pub(super) fn tool_io(rng: &mut StdRng, kind: ToolKind) -> (Json, Json) {
    let n = rng.random_range(10_000..999_999);
    match kind {
        ToolKind::Search => (
            json!({"query": text::query(rng), "top_k": rng.random_range(3..10)}),
            json!({"hits": rng.random_range(0..25), "best": format!("kb/article-{n}"), "score": rng.random_range(0.3..0.99)}),
        ),
        ToolKind::Order => (
            json!({"order_id": format!("ORD-{n}")}),
            json!({"status": text::pick(rng, &["shipped", "pending", "refunded", "delivered"]),
                   "total_cents": rng.random_range(500..250_000), "items": rng.random_range(1..8)}),
        ),
        ToolKind::Customer => (
            json!({"email": format!("customer{n}@example.com")}),
            json!({"customer_id": format!("cus_{n}"), "plan": text::pick(rng, &["free", "pro", "enterprise"]),
                   "open_tickets": rng.random_range(0..4)}),
        ),
        ToolKind::Sql => (
            json!({"sql": format!("SELECT status, count(*) FROM jobs WHERE tenant_id = {n} GROUP BY status")}),
            json!({"rows": rng.random_range(0..40), "elapsed_ms": rng.random_range(1..900)}),
        ),
        ToolKind::Fetch => (
            json!({"url": format!("https://status.example.com/incidents/{n}")}),
            json!({"status": 200, "bytes": rng.random_range(800..90_000), "title": text::query(rng)}),
        ),
        ToolKind::Ticket => (
            json!({"title": text::sentence(rng), "priority": text::pick(rng, &["low", "normal", "high"])}),
            json!({"ticket_id": format!("TCK-{n}"), "created": true}),
        ),
        ToolKind::Diff => (
            json!({"repo": "platform/api", "pull": rng.random_range(100..9_000)}),
            json!({"files": rng.random_range(1..30), "additions": rng.random_range(1..900), "deletions": rng.random_range(0..400)}),
        ),
        ToolKind::Calc => (
            json!({"expression": format!("{} * {} / 100", rng.random_range(1..10_000), rng.random_range(1..100))}),
            json!({"value": rng.random_range(0.0..100_000.0)}),
        ),
    }
}

/// Marks `span` as failed: error status, `error.type`, and an `exception` event.
pub(super) fn fail(rng: &mut StdRng, span: &mut Span, failure: &Failure) {
    span.status = Some(Status {
        message: failure.message.to_string(),
        code: status::StatusCode::Error as i32,
    });
    span.attributes
        .push(kv_str("error.type", failure.error_type));
    let line = rng.random_range(40..400);
    let stacktrace = format!(
        "Traceback (most recent call last):\n  File \"/app/agent/loop.py\", line {line}, in run_step\n    \
         result = await step.execute(ctx)\n  File \"/app/agent/steps.py\", line {}, in execute\n    \
         return await self.client.call(**self.arguments)\n{}: {}",
        rng.random_range(20..300),
        failure.error_type,
        failure.message
    );
    span.events.push(span::Event {
        time_unix_nano: span.end_time_unix_nano,
        name: "exception".to_string(),
        attributes: vec![
            kv_str("exception.type", failure.error_type),
            kv_str("exception.message", failure.message),
            kv_str("exception.stacktrace", stacktrace),
        ],
        dropped_attributes_count: 0,
    });
}

/// A random non-zero id of `N` bytes.
pub(super) fn random_id<const N: usize>(rng: &mut StdRng) -> [u8; N] {
    let mut id = [0u8; N];
    rng.fill(&mut id[..]);
    id[0] |= 1; // never all zero, which OTLP treats as invalid
    id
}

/// A duration between `lo` and `hi` nanoseconds, log-uniformly distributed: many short, a few long.
pub(super) fn log_uniform(rng: &mut StdRng, lo: u64, hi: u64) -> u64 {
    let (lo_f, hi_f) = ((lo as f64).ln(), (hi as f64).ln());
    let v = rng.random_range(lo_f..hi_f).exp() as u64;
    v.clamp(lo, hi)
}
