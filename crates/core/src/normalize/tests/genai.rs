//! One case per version of the OpenTelemetry GenAI conventions (v1.27 to the post-v1.41 repo),
//! and OpenLLMetry's flattened `gen_ai.prompt.*` / `gen_ai.completion.*`.

use serde_json::json;

use super::*;

#[test]
fn genai_v1_27_prompt_tokens_system_and_content_events() {
    let raw = with_events(
        span(vec![
            ("gen_ai.system", s("openai")),
            ("gen_ai.request.model", s("gpt-4o")),
            ("gen_ai.request.temperature", d(0.2)),
            ("gen_ai.response.model", s("gpt-4o-2024-08-06")),
            ("gen_ai.usage.prompt_tokens", i(12)),
            ("gen_ai.usage.completion_tokens", i(5)),
            ("gen_ai.response.finish_reasons", arr(vec![s("stop")])),
            ("server.address", s("api.openai.com")),
        ]),
        vec![
            ev(
                "gen_ai.content.prompt",
                vec![("gen_ai.prompt", s(r#"[{"role":"user","content":"Hi"}]"#))],
            ),
            ev(
                "gen_ai.content.completion",
                vec![("gen_ai.completion", s("Hello!"))],
            ),
        ],
    );
    check(
        raw,
        json!({
            "kind": "llm", "provider": "openai",
            "request_model": "gpt-4o", "response_model": "gpt-4o-2024-08-06",
            "usage": {"input": 12, "output": 5, "total": 17},
            "finish_reasons": ["stop"], "request_params": {"temperature": 0.2},
            "input": {"messages": [text("user", "Hi")]},
            "output": {"value": "Hello!"},
            "attributes": [["server.address", "api.openai.com"]],
        }),
    );
}

#[test]
fn genai_v1_28_message_events() {
    let call = map(vec![
        ("id", s("call_1")),
        ("type", s("function")),
        (
            "function",
            map(vec![
                ("name", s("get_weather")),
                ("arguments", s(r#"{"city":"Paris"}"#)),
            ]),
        ),
    ]);
    let raw = with_events(
        span(vec![
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.system", s("anthropic")),
            ("gen_ai.request.model", s("claude-3-5-sonnet")),
            ("gen_ai.usage.input_tokens", i(100)),
            ("gen_ai.usage.output_tokens", i(20)),
        ]),
        vec![
            ev(
                "gen_ai.system.message",
                vec![
                    ("gen_ai.system", s("anthropic")),
                    ("content", s("Be brief.")),
                ],
            ),
            ev(
                "gen_ai.user.message",
                vec![
                    ("gen_ai.system", s("anthropic")),
                    ("content", s("Weather in Paris?")),
                ],
            ),
            ev(
                "gen_ai.assistant.message",
                vec![("tool_calls", arr(vec![call]))],
            ),
            ev(
                "gen_ai.tool.message",
                vec![("id", s("call_1")), ("content", s("rainy, 57°F"))],
            ),
            ev("my.custom", vec![("k", s("v"))]),
            ev(
                "gen_ai.choice",
                vec![
                    ("index", i(0)),
                    ("finish_reason", s("stop")),
                    ("message", map(vec![("content", s("Rainy."))])),
                ],
            ),
        ],
    );
    check(
        raw,
        json!({
            "kind": "llm", "operation": "chat", "provider": "anthropic", "request_model": "claude-3-5-sonnet",
            "usage": {"input": 100, "output": 20, "total": 120},
            "finish_reasons": ["stop"],
            "input": {"messages": [
                text("system", "Be brief."),
                text("user", "Weather in Paris?"),
                {"role": "assistant", "tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
                {"role": "tool", "content": "rainy, 57°F", "tool_call_id": "call_1"},
            ]},
            "output": {"messages": [{"role": "assistant", "content": "Rainy.", "finish_reason": "stop"}]},
            "events": [{"name": "my.custom", "time_ns": START + 1, "attributes": {"k": "v"}}],
        }),
    );
}

#[test]
fn genai_v1_28_events_with_json_body() {
    let choice = r#"{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","tool_calls":[
        {"id":"c1","type":"function","function":{"name":"search","arguments":"{\"q\":\"rust\"}"}}]}}"#;
    let raw = with_events(
        span(vec![("gen_ai.operation.name", s("chat"))]),
        vec![
            ev(
                "gen_ai.user.message",
                vec![("body", s(r#"{"role":"user","content":"Hi there"}"#))],
            ),
            ev("gen_ai.choice", vec![("body", s(choice))]),
        ],
    );
    check(
        raw,
        json!({
            "kind": "llm", "operation": "chat", "finish_reasons": ["tool_calls"],
            "input": {"messages": [text("user", "Hi there")]},
            "output": {"messages": [{"role": "assistant", "finish_reason": "tool_calls",
                "tool_calls": [{"id": "c1", "name": "search", "arguments": {"q": "rust"}}]}]},
        }),
    );
}

#[test]
fn genai_v1_37_messages_as_json_strings() {
    let input = r#"[
        {"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]},
        {"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"get_weather","arguments":{"city":"Paris"}}]},
        {"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"rainy, 57°F"}]}]"#;
    let output = r#"[{"role":"assistant","parts":[{"type":"text","content":"It is rainy."}],"finish_reason":"stop"}]"#;
    let raw = span(vec![
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.provider.name", s("openai")),
        ("gen_ai.request.model", s("gpt-4o")),
        ("gen_ai.response.model", s("gpt-4o-2024-08-06")),
        ("gen_ai.response.id", s("chatcmpl-1")),
        (
            "gen_ai.system_instructions",
            s(r#"[{"type":"text","content":"You are a helpful bot."}]"#),
        ),
        ("gen_ai.input.messages", s(input)),
        ("gen_ai.output.messages", s(output)),
        ("gen_ai.response.finish_reasons", arr(vec![s("stop")])),
    ]);
    check(
        raw,
        json!({
            "kind": "llm", "operation": "chat", "provider": "openai",
            "request_model": "gpt-4o", "response_model": "gpt-4o-2024-08-06", "finish_reasons": ["stop"],
            "input": {"messages": [
                text("system", "You are a helpful bot."),
                text("user", "Weather in Paris?"),
                {"role": "assistant", "tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
                {"role": "tool", "content": "rainy, 57°F", "tool_call_id": "call_1"},
            ]},
            "output": {"messages": [{"role": "assistant", "content": "It is rainy.", "finish_reason": "stop"}]},
            "attributes": [["gen_ai.response.id", "chatcmpl-1"]],
        }),
    );
}

#[test]
fn genai_v1_37_messages_as_structured_values() {
    let text_part = |t: &str| map(vec![("type", s("text")), ("content", s(t))]);
    let blob = map(vec![
        ("type", s("blob")),
        ("modality", s("image")),
        ("mime_type", s("image/png")),
        ("content", s("iVBORw0")),
    ]);
    let reasoning = map(vec![
        ("type", s("reasoning")),
        ("content", s("Looks like a cat.")),
    ]);
    let raw = span(vec![
        ("gen_ai.operation.name", s("generate_content")),
        ("gen_ai.provider.name", s("gcp.gemini")),
        ("gen_ai.request.model", s("gemini-2.0-flash")),
        ("gen_ai.system_instructions", s("Answer in French.")),
        (
            "gen_ai.input.messages",
            arr(vec![map(vec![
                ("role", s("user")),
                ("parts", arr(vec![text_part("Describe this"), blob])),
            ])]),
        ),
        (
            "gen_ai.output.messages",
            arr(vec![map(vec![
                ("role", s("assistant")),
                ("parts", arr(vec![reasoning, text_part("Un chat.")])),
                ("finish_reason", s("stop")),
            ])]),
        ),
    ]);
    check(
        raw,
        json!({
            "kind": "llm", "operation": "generate_content", "provider": "gcp.gemini",
            "request_model": "gemini-2.0-flash", "finish_reasons": ["stop"],
            "input": {"messages": [
                text("system", "Answer in French."),
                {"role": "user", "content": "Describe this", "parts": [
                    {"type": "blob", "modality": "image", "mime_type": "image/png", "content": "iVBORw0"}]},
            ]},
            "output": {"messages": [{"role": "assistant", "content": "Un chat.", "finish_reason": "stop",
                "parts": [{"type": "reasoning", "content": "Looks like a cat."}]}]},
        }),
    );
}

#[test]
fn genai_v1_37_operation_details_event() {
    let raw = with_events(
        span(vec![
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.request.model", s("gpt-4o")),
        ]),
        vec![ev(
            "gen_ai.client.inference.operation.details",
            vec![
                ("gen_ai.operation.name", s("chat")),
                (
                    "gen_ai.input.messages",
                    s(r#"[{"role":"user","parts":[{"type":"text","content":"Hi"}]}]"#),
                ),
                (
                    "gen_ai.output.messages",
                    s(r#"[{"role":"assistant","parts":[{"type":"text","content":"Hello"}]}]"#),
                ),
            ],
        )],
    );
    check(
        raw,
        json!({
            "kind": "llm", "operation": "chat", "request_model": "gpt-4o",
            "input": {"messages": [text("user", "Hi")]},
            "output": {"messages": [text("assistant", "Hello")]},
            "events": [{"name": "gen_ai.client.inference.operation.details", "time_ns": START + 1,
                "attributes": {"gen_ai.operation.name": "chat"}}],
        }),
    );
}

#[test]
fn genai_v1_40_cache_tokens() {
    let raw = span(vec![
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.provider.name", s("anthropic")),
        ("gen_ai.request.model", s("claude-sonnet-4")),
        ("gen_ai.usage.input_tokens", i(1200)),
        ("gen_ai.usage.output_tokens", i(80)),
        ("gen_ai.usage.cache_read.input_tokens", i(1000)),
        ("gen_ai.usage.cache_creation.input_tokens", i(150)),
    ]);
    check(
        raw,
        json!({
            "kind": "llm", "operation": "chat", "provider": "anthropic", "request_model": "claude-sonnet-4",
            "usage": {"input": 1200, "output": 80, "total": 1280, "cache_read": 1000, "cache_write": 150},
        }),
    );
}

#[test]
fn genai_v1_41_reasoning_and_time_to_first_chunk() {
    let raw = span(vec![
        ("gen_ai.operation.name", s("chat")),
        ("gen_ai.provider.name", s("openai")),
        ("gen_ai.request.model", s("o3-mini")),
        ("gen_ai.request.stream", AttrValue::Bool(true)),
        ("gen_ai.usage.input_tokens", i(50)),
        ("gen_ai.usage.output_tokens", i(400)),
        ("gen_ai.usage.reasoning.output_tokens", i(320)),
        ("gen_ai.response.time_to_first_chunk", d(0.25)),
    ]);
    check(
        raw,
        json!({
            "kind": "llm", "operation": "chat", "provider": "openai", "request_model": "o3-mini",
            "usage": {"input": 50, "output": 400, "total": 450, "reasoning": 320},
            "request_params": {"stream": true}, "ttft_ns": 250_000_000,
        }),
    );
}

#[test]
fn genai_new_repo_cache_write_wins_over_cache_creation() {
    let raw = span(vec![
        ("gen_ai.usage.cache_creation.input_tokens", i(150)),
        ("gen_ai.usage.cache_write.input_tokens", i(150)),
    ]);
    check(
        raw,
        json!({
            "kind": "span", "usage": {"cache_write": 150},
            "attributes": [["gen_ai.usage.cache_creation.input_tokens", 150]],
        }),
    );
}

#[test]
fn genai_execute_tool_arguments_and_result_become_input_and_output() {
    let raw = span(vec![
        ("gen_ai.operation.name", s("execute_tool")),
        ("gen_ai.tool.name", s("get_weather")),
        ("gen_ai.tool.call.id", s("call_1")),
        ("gen_ai.tool.type", s("function")),
        ("gen_ai.tool.call.arguments", s(r#"{"city":"Paris"}"#)),
        ("gen_ai.tool.call.result", s("rainy, 57°F")),
    ]);
    check(
        raw,
        json!({
            "kind": "tool", "operation": "execute_tool", "tool_name": "get_weather", "tool_call_id": "call_1",
            "tool_arguments": {"city": "Paris"}, "tool_result": "rainy, 57°F",
            "input": {"value": {"city": "Paris"}}, "output": {"value": "rainy, 57°F"},
            "attributes": [["gen_ai.tool.type", "function"]],
        }),
    );
}

#[test]
fn genai_invoke_agent() {
    let raw = span(vec![
        ("gen_ai.operation.name", s("invoke_agent")),
        ("gen_ai.provider.name", s("openai")),
        ("gen_ai.agent.name", s("travel-planner")),
        ("gen_ai.agent.id", s("agt_1")),
        ("gen_ai.agent.description", s("Plans trips")),
        ("gen_ai.conversation.id", s("conv_9")),
    ]);
    check(
        raw,
        json!({
            "kind": "agent", "operation": "invoke_agent", "provider": "openai",
            "agent_name": "travel-planner", "agent_id": "agt_1", "session_id": "conv_9",
            "attributes": [["gen_ai.agent.description", "Plans trips"]],
        }),
    );
}

#[test]
fn genai_embeddings() {
    let raw = span(vec![
        ("gen_ai.operation.name", s("embeddings")),
        ("gen_ai.request.model", s("text-embedding-3-small")),
        ("gen_ai.request.encoding_formats", arr(vec![s("float")])),
        ("gen_ai.embeddings.dimension.count", i(1536)),
        ("gen_ai.usage.input_tokens", i(8)),
    ]);
    check(
        raw,
        json!({
            "kind": "embedding", "operation": "embeddings", "request_model": "text-embedding-3-small",
            "usage": {"input": 8}, "request_params": {"encoding_formats": ["float"]},
            "attributes": [["gen_ai.embeddings.dimension.count", 1536]],
        }),
    );
}

#[test]
fn openllmetry_flattened_prompt_and_completion() {
    let raw = span(vec![
        ("gen_ai.system", s("Anthropic")),
        ("llm.request.type", s("chat")),
        ("gen_ai.request.model", s("claude-3-5-sonnet")),
        ("gen_ai.prompt.0.role", s("system")),
        ("gen_ai.prompt.0.content", s("Be brief.")),
        ("gen_ai.prompt.1.role", s("user")),
        ("gen_ai.prompt.1.content", s("Weather?")),
        ("gen_ai.prompt.2.role", s("assistant")),
        ("gen_ai.prompt.2.tool_calls.0.id", s("call_1")),
        ("gen_ai.prompt.2.tool_calls.0.name", s("get_weather")),
        (
            "gen_ai.prompt.2.tool_calls.0.arguments",
            s(r#"{"city":"Paris"}"#),
        ),
        ("gen_ai.prompt.3.role", s("tool")),
        ("gen_ai.prompt.3.content", s("rainy")),
        ("gen_ai.prompt.3.tool_call_id", s("call_1")),
        ("gen_ai.prompt.3.custom_field", s("x")),
        ("gen_ai.completion.0.role", s("assistant")),
        ("gen_ai.completion.0.content", s("Rainy.")),
        ("gen_ai.completion.0.finish_reason", s("stop")),
        ("gen_ai.usage.prompt_tokens", i(30)),
        ("gen_ai.usage.completion_tokens", i(4)),
        ("llm.usage.total_tokens", i(34)),
    ]);
    check(
        raw,
        json!({
            "kind": "llm", "provider": "anthropic", "request_model": "claude-3-5-sonnet",
            "usage": {"input": 30, "output": 4, "total": 34}, "finish_reasons": ["stop"],
            "input": {"messages": [
                text("system", "Be brief."),
                text("user", "Weather?"),
                {"role": "assistant", "tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
                {"role": "tool", "content": "rainy", "tool_call_id": "call_1"},
            ]},
            "output": {"messages": [{"role": "assistant", "content": "Rainy.", "finish_reason": "stop"}]},
            "attributes": [["llm.request.type", "chat"], ["gen_ai.prompt.3.custom_field", "x"]],
        }),
    );
}

#[test]
fn openllmetry_multimodal_content_list() {
    let content = r#"[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://x/cat.png"}}]"#;
    let raw = span(vec![
        ("gen_ai.prompt.0.role", s("user")),
        ("gen_ai.prompt.0.content", s(content)),
    ]);
    check(
        raw,
        json!({
            "kind": "span",
            "input": {"messages": [{"role": "user", "content": "What is this?",
                "parts": [{"type": "image_url", "image_url": {"url": "https://x/cat.png"}}]}]},
        }),
    );
}
