//! One case per OpenInference span kind and per Langfuse SDK feature.

use serde_json::json;

use super::*;

#[test]
fn openinference_llm_with_flattened_messages() {
    let oi = |k: &str| format!("llm.{k}");
    let keys: Vec<String> = [
        "input_messages.0.message.role",
        "input_messages.0.message.content",
        "input_messages.1.message.role",
        "input_messages.1.message.contents.0.message_content.type",
        "input_messages.1.message.contents.0.message_content.text",
        "input_messages.1.message.contents.1.message_content.type",
        "input_messages.1.message.contents.1.message_content.image.image.url",
        "output_messages.0.message.role",
        "output_messages.0.message.tool_calls.0.tool_call.id",
        "output_messages.0.message.tool_calls.0.tool_call.function.name",
        "output_messages.0.message.tool_calls.0.tool_call.function.arguments",
    ]
    .iter()
    .map(|k| oi(k))
    .collect();
    let values = [
        s("system"),
        s("Be nice."),
        s("user"),
        s("text"),
        s("What is in this image?"),
        s("image"),
        s("https://x/cat.png"),
        s("assistant"),
        s("call_1"),
        s("lookup"),
        s(r#"{"q":"cat"}"#),
    ];
    let mut attrs = vec![
        ("openinference.span.kind", s("LLM")),
        ("llm.provider", s("openai")),
        ("llm.system", s("openai")),
        ("llm.model_name", s("gpt-4o-mini")),
        (
            "llm.invocation_parameters",
            s(r#"{"temperature":0.1,"max_tokens":256}"#),
        ),
        (
            "input.value",
            s(r#"{"messages":[{"role":"user","content":"Hi"}]}"#),
        ),
        ("input.mime_type", s("application/json")),
    ];
    attrs.extend(keys.iter().map(String::as_str).zip(values));
    attrs.extend([
        ("llm.token_count.prompt", i(40)),
        ("llm.token_count.completion", i(10)),
        ("llm.token_count.total", i(50)),
        ("llm.token_count.prompt_details.cache_read", i(32)),
        ("llm.cost.total", d(0.000123)),
        ("session.id", s("sess-1")),
        ("user.id", s("u-1")),
        ("metadata", s(r#"{"k":1}"#)),
    ]);
    check(
        span(attrs),
        json!({
            "kind": "llm", "provider": "openai", "request_model": "gpt-4o-mini",
            "usage": {"input": 40, "output": 10, "total": 50, "cache_read": 32},
            "request_params": {"temperature": 0.1, "max_tokens": 256}, "cost_nano_usd": 123_000,
            "session_id": "sess-1", "user_id": "u-1",
            "input": {"messages": [
                text("system", "Be nice."),
                {"role": "user", "content": "What is in this image?",
                    "parts": [{"type": "image", "image": {"image": {"url": "https://x/cat.png"}}}]},
            ]},
            "output": {"messages": [{"role": "assistant",
                "tool_calls": [{"id": "call_1", "name": "lookup", "arguments": {"q": "cat"}}]}]},
            "attributes": [
                ["llm.system", "openai"],
                ["input.value", r#"{"messages":[{"role":"user","content":"Hi"}]}"#],
                ["input.mime_type", "application/json"],
                ["metadata", r#"{"k":1}"#],
            ],
        }),
    );
}

#[test]
fn openinference_request_and_response_model_names() {
    let raw = span(vec![
        ("openinference.span.kind", s("LLM")),
        ("llm.provider", s("azure")),
        ("llm.request.model_name", s("gpt-4o")),
        ("llm.model_name", s("gpt-4o-2024-08-06")),
    ]);
    check(
        raw,
        json!({
            "kind": "llm", "provider": "azure.ai.openai",
            "request_model": "gpt-4o", "response_model": "gpt-4o-2024-08-06",
        }),
    );
}

/// Fixed bug: `request_model` held the answered model and the requested one was only in
/// `request_params.model`. OpenInference's `llm.invocation_parameters` names the request.
#[test]
fn openinference_invocation_parameters_model_is_the_request_model() {
    let raw = span(vec![
        ("openinference.span.kind", s("LLM")),
        ("llm.model_name", s("gpt-4o-2024-08-06")),
        (
            "llm.invocation_parameters",
            s(r#"{"model":"gpt-4o","temperature":0.3}"#),
        ),
    ]);
    check(
        raw,
        json!({
            "kind": "llm", "request_model": "gpt-4o", "response_model": "gpt-4o-2024-08-06",
            "request_params": {"temperature": 0.3},
        }),
    );
    // The same name twice: no separate answer.
    let same = span(vec![
        ("llm.model_name", s("gpt-4o")),
        ("llm.invocation_parameters", s(r#"{"model":"gpt-4o"}"#)),
    ]);
    check(same, json!({"kind": "llm", "request_model": "gpt-4o"}));
    // A request model from GenAI wins; a different invocation `model` keeps the parameters
    // whole, and `llm.model_name` stays.
    let params = r#"{"model":"gpt-4o-mini","seed":1}"#;
    let genai = span(vec![
        ("gen_ai.request.model", s("gpt-4o")),
        ("llm.model_name", s("gpt-4o-2024-08-06")),
        ("llm.invocation_parameters", s(params)),
    ]);
    check(
        genai,
        json!({
            "kind": "llm", "request_model": "gpt-4o", "request_params": {"seed": 1},
            "attributes": [["llm.model_name", "gpt-4o-2024-08-06"], ["llm.invocation_parameters", params]],
        }),
    );
}

#[test]
fn openinference_tool() {
    let raw = span(vec![
        ("openinference.span.kind", s("TOOL")),
        ("tool.name", s("get_weather")),
        ("tool.description", s("Current weather")),
        ("tool.parameters", s(r#"{"city":"Paris"}"#)),
        ("input.value", s(r#"{"city": "Paris"}"#)),
        ("input.mime_type", s("application/json")),
        ("output.value", s("rainy")),
    ]);
    check(
        raw,
        json!({
            "kind": "tool", "tool_name": "get_weather", "tool_arguments": {"city": "Paris"},
            "input": {"value": {"city": "Paris"}}, "output": {"value": "rainy"},
            "attributes": [["tool.description", "Current weather"]],
        }),
    );
}

#[test]
fn openinference_agent() {
    let raw = span(vec![
        ("openinference.span.kind", s("AGENT")),
        ("agent.name", s("researcher")),
        ("graph.node.id", s("n1")),
        ("session.id", s("s1")),
        ("user.id", s("u1")),
        ("tag.tags", arr(vec![s("prod"), s("beta")])),
        ("input.value", s("Find papers on RAG")),
        ("output.value", s("[1, 2]")),
    ]);
    check(
        raw,
        json!({
            "kind": "agent", "agent_name": "researcher", "session_id": "s1", "user_id": "u1",
            "tags": ["prod", "beta"],
            "input": {"value": "Find papers on RAG"}, "output": {"value": [1, 2]},
            "attributes": [["graph.node.id", "n1"]],
        }),
    );
}

#[test]
fn openinference_retriever() {
    let raw = span(vec![
        ("openinference.span.kind", s("RETRIEVER")),
        ("input.value", s("what is rust?")),
        ("retrieval.documents.0.document.id", s("d1")),
        ("retrieval.documents.0.document.score", d(0.9)),
    ]);
    check(
        raw,
        json!({
            "kind": "retriever", "input": {"value": "what is rust?"},
            "attributes": [["retrieval.documents.0.document.id", "d1"], ["retrieval.documents.0.document.score", 0.9]],
        }),
    );
}

#[test]
fn openinference_embedding() {
    let raw = span(vec![
        ("openinference.span.kind", s("EMBEDDING")),
        ("embedding.model_name", s("text-embedding-3-small")),
        ("embedding.embeddings.0.embedding.text", s("hello")),
        ("llm.token_count.prompt", i(2)),
    ]);
    check(
        raw,
        json!({
            "kind": "embedding", "request_model": "text-embedding-3-small", "usage": {"input": 2},
            "attributes": [["embedding.embeddings.0.embedding.text", "hello"]],
        }),
    );
}

#[test]
fn langfuse_sdk_generation() {
    let usage = r#"{"input":20,"input_cached_tokens":80,"output":10,"output_reasoning_tokens":5,"total":115}"#;
    let raw = span(vec![
        ("langfuse.observation.type", s("generation")),
        ("langfuse.observation.model.name", s("gpt-4o")),
        (
            "langfuse.observation.model.parameters",
            s(r#"{"temperature":0.7,"max_tokens":"512"}"#),
        ),
        ("langfuse.observation.usage_details", s(usage)),
        (
            "langfuse.observation.cost_details",
            s(r#"{"input":0.0001,"output":0.0002,"total":0.0003}"#),
        ),
        (
            "langfuse.observation.completion_start_time",
            s(r#""2024-05-01T10:00:00.350Z""#),
        ),
        (
            "langfuse.observation.input",
            s(r#"[{"role":"user","content":"Hi"}]"#),
        ),
        (
            "langfuse.observation.output",
            s(r#"{"role":"assistant","content":"Hello"}"#),
        ),
        ("langfuse.session.id", s("s-1")),
        ("langfuse.user.id", s("u-1")),
        ("langfuse.environment", s("production")),
        ("tag.tags", s(r#"["beta","eu"]"#)),
        ("langfuse.trace.tags", s("prod, beta")),
        ("langfuse.observation.metadata.foo", s("bar")),
    ]);
    check(
        raw,
        json!({
            "kind": "llm", "request_model": "gpt-4o",
            "usage": {"input": 100, "output": 15, "total": 115, "cache_read": 80, "reasoning": 5},
            "request_params": {"temperature": 0.7, "max_tokens": "512"},
            "ttft_ns": 350_000_000, "cost_nano_usd": 300_000,
            "session_id": "s-1", "user_id": "u-1", "tags": ["beta", "eu", "prod"],
            "input": {"messages": [text("user", "Hi")]},
            "output": {"messages": [{"role": "assistant", "content": "Hello"}]},
            "attributes": [["langfuse.environment", "production"], ["langfuse.observation.metadata.foo", "bar"]],
        }),
    );
}

#[test]
fn langfuse_usage_details_win_and_unknown_keys_keep_the_attribute() {
    let usage = r#"{"input":10,"output":3,"output_audio_tokens":2}"#;
    let raw = span(vec![
        ("langfuse.observation.type", s("GENERATION")),
        ("langfuse.observation.usage_details", s(usage)),
        ("gen_ai.usage.input_tokens", i(13)),
        (
            "langfuse.observation.cost_details",
            s(r#"{"input":0.5,"output":0.25}"#),
        ),
    ]);
    check(
        raw,
        json!({
            "kind": "llm", "usage": {"input": 10, "output": 3, "total": 13}, "cost_nano_usd": 750_000_000,
            "attributes": [["langfuse.observation.usage_details", usage], ["gen_ai.usage.input_tokens", 13]],
        }),
    );
}

#[test]
fn langfuse_plain_text_input_and_quoted_output() {
    let raw = span(vec![
        ("langfuse.observation.type", s("span")),
        ("langfuse.observation.input", s("just text")),
        ("langfuse.observation.output", s(r#""quoted""#)),
    ]);
    check(
        raw,
        json!({"kind": "span", "input": {"value": "just text"}, "output": {"value": "quoted"}}),
    );
}

#[test]
fn langfuse_usage_details_in_openai_chat_shape_with_nulls() {
    let usage = r#"{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,
        "prompt_tokens_details":{"cached_tokens":1000,"audio_tokens":0},
        "completion_tokens_details":{"reasoning_tokens":100,"audio_tokens":null,
            "accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}"#;
    let raw = span(vec![
        ("langfuse.observation.type", s("generation")),
        ("langfuse.observation.usage_details", s(usage)),
    ]);
    check(
        raw,
        json!({"kind": "llm",
            "usage": {"input": 1200, "output": 300, "total": 1500, "cache_read": 1000, "reasoning": 100}}),
    );
    // Nulls at the top (a chat completion that reported no total, no details).
    let nulls = r#"{"prompt_tokens":12,"completion_tokens":3,"total_tokens":null,"prompt_tokens_details":null}"#;
    check(
        span(vec![("langfuse.observation.usage_details", s(nulls))]),
        json!({"kind": "span", "usage": {"input": 12, "output": 3, "total": 15}}),
    );
}

#[test]
fn langfuse_usage_details_in_openai_responses_shape() {
    let usage = r#"{"input_tokens":800,"output_tokens":200,"total_tokens":1000,
        "input_tokens_details":{"cached_tokens":500},"output_tokens_details":{"reasoning_tokens":50}}"#;
    check(
        span(vec![("langfuse.observation.usage_details", s(usage))]),
        json!({"kind": "span",
            "usage": {"input": 800, "output": 200, "total": 1000, "cache_read": 500, "reasoning": 50}}),
    );
}

#[test]
fn langfuse_usage_details_in_anthropic_shape_add_the_cache_back() {
    // Anthropic's input_tokens leaves out the cache reads and writes listed beside it.
    let usage = r#"{"input_tokens":20,"output_tokens":10,"cache_read_input_tokens":80,"cache_creation_input_tokens":5}"#;
    check(
        span(vec![("langfuse.observation.usage_details", s(usage))]),
        json!({"kind": "span",
            "usage": {"input": 105, "output": 10, "total": 115, "cache_read": 80, "cache_write": 5}}),
    );
}

#[test]
fn langfuse_usage_details_langchain_keys_and_non_zero_unknown_details_keep_it() {
    // The LangChain callback's flattened details (`input_cache_read`, `output_reasoning`).
    let usage =
        r#"{"input":20,"input_cache_read":80,"output":10,"output_reasoning":5,"total":115}"#;
    check(
        span(vec![("langfuse.observation.usage_details", s(usage))]),
        json!({"kind": "span",
            "usage": {"input": 100, "output": 15, "total": 115, "cache_read": 80, "reasoning": 5}}),
    );
    // An audio count in the details is not kept in a field: the attribute stays whole.
    let audio = r#"{"prompt_tokens":10,"completion_tokens":4,"completion_tokens_details":{"audio_tokens":3}}"#;
    check(
        span(vec![("langfuse.observation.usage_details", s(audio))]),
        json!({"kind": "span", "usage": {"input": 10, "output": 4, "total": 14},
            "attributes": [["langfuse.observation.usage_details", audio]]}),
    );
}

#[test]
fn langfuse_cost_details_nulls_are_skipped() {
    let cost = r#"{"input":0.001,"output":0.002,"input_cached_tokens":null}"#;
    check(
        span(vec![("langfuse.observation.cost_details", s(cost))]),
        json!({"kind": "span", "cost_nano_usd": 3_000_000}),
    );
}

#[test]
fn langfuse_trace_input_and_output_fill_a_span_without_its_own() {
    let raw = span(vec![
        ("langfuse.trace.name", s("support-answer")),
        ("langfuse.trace.input", s(r#"{"question":"2+2?"}"#)),
        ("langfuse.trace.output", s("4")),
        ("langfuse.observation.output", s("four")),
        ("langfuse.release", s("v1")),
        ("langfuse.version", s("2.0")),
        ("langfuse.environment", s("staging")),
    ]);
    check(
        raw,
        json!({
            "kind": "span",
            "input": {"value": {"question": "2+2?"}}, "output": {"value": "four"},
            "attributes": [
                ["langfuse.trace.name", "support-answer"], ["langfuse.trace.output", "4"],
                ["langfuse.release", "v1"], ["langfuse.version", "2.0"],
                ["langfuse.environment", "staging"],
            ],
        }),
    );
}

#[test]
fn openllmetry_span_kinds_and_association_properties() {
    let props = |kind: &str, name: &str| {
        span(vec![
            ("traceloop.span.kind", s(kind)),
            ("traceloop.entity.name", s(name)),
            ("traceloop.entity.input", s(r#"{"args":["x"],"kwargs":{}}"#)),
            ("traceloop.entity.output", s(r#""y""#)),
            ("traceloop.association.properties.user_id", s("u1")),
            ("traceloop.association.properties.chat_id", s("c1")),
            ("traceloop.association.properties.tenant_id", s("acme")),
            ("traceloop.association.properties.plan", s("pro")),
        ])
    };
    let io = json!({"input": {"value": {"args": ["x"], "kwargs": {}}}, "output": {"value": "y"}});
    let with = |mut v: Json, extra: Json| {
        for (k, x) in extra
            .as_object()
            .unwrap()
            .iter()
            .chain(io.as_object().unwrap())
        {
            v[k] = x.clone();
        }
        v
    };
    let ids = json!({"user_id": "u1", "session_id": "c1", "tenant_id": "acme"});
    for kind in ["workflow", "task"] {
        check(
            props(kind, "pipeline"),
            with(
                with(json!({"kind": "chain"}), ids.clone()),
                json!({"attributes": [
                    ["traceloop.span.kind", kind], ["traceloop.entity.name", "pipeline"],
                    ["traceloop.association.properties.plan", "pro"]]}),
            ),
        );
    }
    check(
        props("agent", "planner"),
        with(
            with(
                json!({"kind": "agent", "agent_name": "planner"}),
                ids.clone(),
            ),
            json!({"attributes": [["traceloop.association.properties.plan", "pro"]]}),
        ),
    );
    check(
        props("tool", "search"),
        with(
            with(json!({"kind": "tool", "tool_name": "search"}), ids),
            json!({"attributes": [["traceloop.association.properties.plan", "pro"]]}),
        ),
    );
}
