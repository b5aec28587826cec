//! What real SDKs send, normalized and priced: OTLP/JSON payloads captured from the pinned
//! Langfuse and OpenLLMetry (traceloop-sdk) Python SDKs by `tests/fixtures/sdk/capture.py`,
//! decoded, converted and normalized as ingest does, each span compared as a compact view
//! (remaining attributes by key only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{json, Map, Value as Json};
use sightline_core::cost::{cost_with_estimate, PriceRegistry};
use sightline_core::normalize::normalize_span;
use sightline_core::Resource;

use super::otlp::{decode_traces, traces_to_raw, Format};
use crate::pricing::TiktokenCounter;

/// Every span of `fixture` as a view, keyed by span name.
fn views(fixture: &str) -> Map<String, Json> {
    let req = decode_traces(fixture.as_bytes(), Format::Json).unwrap();
    let raw = traces_to_raw(req);
    assert!(raw.errors.is_empty(), "{:?}", raw.errors);
    let prices = PriceRegistry::bundled().unwrap();
    let empty = Resource::default();
    let mut out = Map::new();
    for (idx, span) in raw.spans {
        let resource = raw.resources.get(idx).unwrap_or(&empty);
        let n = normalize_span(span, resource, idx);
        assert!(n.warnings.is_empty(), "{:?}", n.warnings);
        let mut o = n.value;
        o.cost = cost_with_estimate(&o, &prices, &TiktokenCounter).map(|c| c.to_cost());
        let mut v = Map::new();
        let mut put = |key: &str, value: Json| {
            if !(value.is_null() || value == json!([]) || value == json!({})) {
                v.insert(key.to_string(), value);
            }
        };
        put("kind", json!(o.kind.as_str()));
        put("request_model", json!(o.request_model));
        put("response_model", json!(o.response_model));
        put("usage", serde_json::to_value(o.usage).unwrap());
        put("request_params", Json::Object(o.request_params.clone()));
        put("cost", serde_json::to_value(&o.cost).unwrap());
        put("agent_name", json!(o.agent_name));
        put("tool_name", json!(o.tool_name));
        put("user_id", json!(o.user_id));
        put("session_id", json!(o.session_id));
        put("tenant_id", json!(o.tenant_id));
        put("input", serde_json::to_value(&o.input).unwrap());
        put("output", serde_json::to_value(&o.output).unwrap());
        let keys: Vec<&str> = o.attributes.iter().map(|(k, _)| k.as_str()).collect();
        put("attributes", json!(keys));
        out.insert(o.name.clone(), Json::Object(v));
    }
    out
}

fn check(fixture: &str, expected: Json) {
    let got = Json::Object(views(fixture));
    assert_eq!(
        got,
        expected,
        "\n got: {}\nwant: {}",
        serde_json::to_string_pretty(&got).unwrap(),
        serde_json::to_string_pretty(&expected).unwrap()
    );
}

#[test]
fn langfuse_openai_drop_in_chat_completions() {
    // OpenAI's own usage keys in `usage_details` (inclusive counts, nested details, zero counts
    // of kinds not kept): 200 uncached + 1000 cached input and 300 output tokens of gpt-4o cost
    // 4.75 m nano-USD. The model name the drop-in sends is the dated answer.
    check(
        include_str!("../../../../tests/fixtures/sdk/langfuse_openai_chat.json"),
        json!({
            "OpenAI-generation": {
                "attributes": [
                    "langfuse.version",
                    "langfuse.trace.name",
                    "langfuse.internal.is_app_root",
                    "langfuse.environment",
                    "langfuse.release"
                ],
                "cost": {
                    "nano_usd": 4750000,
                    "source": "computed"
                },
                "input": {
                    "messages": [
                        {
                            "content": "Answer in one word.",
                            "role": "system"
                        },
                        {
                            "content": "What is the capital of France?",
                            "role": "user"
                        }
                    ]
                },
                "kind": "llm",
                "output": {
                    "messages": [
                        {
                            "content": "Paris.",
                            "role": "assistant"
                        }
                    ]
                },
                "request_model": "gpt-4o-2024-08-06",
                "request_params": {
                    "frequency_penalty": 0,
                    "max_tokens": "Infinity",
                    "presence_penalty": 0,
                    "temperature": 0.2,
                    "top_p": 1
                },
                "session_id": "s-7",
                "usage": {
                    "cache_read": 1000,
                    "input": 1200,
                    "output": 300,
                    "reasoning": 100,
                    "total": 1500
                },
                "user_id": "u-42"
            }
        }),
    );
}

#[test]
fn langfuse_openai_drop_in_responses_api() {
    // OpenAI Responses usage: input_tokens_details.cached_tokens, output_tokens_details.
    check(
        include_str!("../../../../tests/fixtures/sdk/langfuse_openai_responses.json"),
        json!({
            "OpenAI-generation": {
                "attributes": [
                    "langfuse.internal.is_app_root"
                ],
                "cost": {
                    "nano_usd": 202500,
                    "source": "computed"
                },
                "input": {
                    "value": "What is the capital of France?"
                },
                "kind": "llm",
                "output": {
                    "value": {
                        "content": [
                            {
                                "annotations": [],
                                "logprobs": null,
                                "text": "Paris.",
                                "type": "output_text"
                            }
                        ],
                        "id": "msg_mock_1",
                        "phase": null,
                        "role": "assistant",
                        "status": "completed",
                        "type": "message"
                    }
                },
                "request_model": "gpt-4o-mini-2024-07-18",
                "request_params": {
                    "frequency_penalty": 0,
                    "max_tokens": "Infinity",
                    "presence_penalty": 0,
                    "temperature": 1,
                    "top_p": 1
                },
                "usage": {
                    "cache_read": 500,
                    "input": 800,
                    "output": 200,
                    "reasoning": 50,
                    "total": 1000
                }
            }
        }),
    );
}

#[test]
fn langfuse_own_usage_and_cost_keys_and_trace_io() {
    // Langfuse's disjoint buckets add back (20 + 80 cached input, 10 + 5 reasoning output); the
    // cost details without a total are summed. The root has an observation input, so the
    // trace's input and output (set with `set_current_trace_io`) stay as attributes.
    check(
        include_str!("../../../../tests/fixtures/sdk/langfuse_trace_io.json"),
        json!({
            "answer": {
                "attributes": [
                    "langfuse.environment",
                    "langfuse.release"
                ],
                "cost": {
                    "nano_usd": 234000,
                    "source": "provided"
                },
                "kind": "llm",
                "output": {
                    "value": "Paris"
                },
                "request_model": "claude-3-5-sonnet-20241022",
                "usage": {
                    "cache_read": 80,
                    "input": 100,
                    "output": 15,
                    "reasoning": 5,
                    "total": 115
                }
            },
            "handle-request": {
                "attributes": [
                    "langfuse.internal.is_app_root",
                    "langfuse.environment",
                    "langfuse.release",
                    "langfuse.trace.input",
                    "langfuse.trace.output"
                ],
                "input": {
                    "value": {
                        "q": "capital of France?"
                    }
                },
                "kind": "span",
                "output": {
                    "value": {
                        "answer": "Paris"
                    }
                }
            }
        }),
    );
}

#[test]
fn openllmetry_decorators_association_properties_and_openai() {
    // Workflow and task spans are chains; `@agent` and `@tool` name the agent and the tool;
    // association properties give user, session and tenant (`plan` stays); the entity input
    // and output are the decorated function's arguments and result.
    check(
        include_str!("../../../../tests/fixtures/sdk/traceloop_workflow.json"),
        json!({
            "capital_question.workflow": {
                "attributes": [
                    "traceloop.workflow.name",
                    "traceloop.association.properties.plan",
                    "traceloop.span.kind",
                    "traceloop.entity.name"
                ],
                "input": {
                    "value": {
                        "args": [
                            "  What is the capital of France?  "
                        ],
                        "kwargs": {}
                    }
                },
                "kind": "chain",
                "output": {
                    "value": "Paris."
                },
                "session_id": "s-tl",
                "tenant_id": "acme",
                "user_id": "u-tl"
            },
            "geo_agent.agent": {
                "agent_name": "geo_agent",
                "attributes": [
                    "traceloop.workflow.name",
                    "traceloop.association.properties.plan",
                    "traceloop.entity.name"
                ],
                "input": {
                    "value": {
                        "args": [
                            "What is the capital of France?"
                        ],
                        "kwargs": {}
                    }
                },
                "kind": "agent",
                "output": {
                    "value": "Paris."
                },
                "session_id": "s-tl",
                "tenant_id": "acme",
                "user_id": "u-tl"
            },
            "lookup_capital.tool": {
                "agent_name": "geo_agent",
                "attributes": [
                    "traceloop.workflow.name",
                    "traceloop.association.properties.plan",
                    "traceloop.entity.name"
                ],
                "input": {
                    "value": {
                        "args": [
                            "France"
                        ],
                        "kwargs": {}
                    }
                },
                "kind": "tool",
                "output": {
                    "value": {
                        "capital": "Paris",
                        "country": "France"
                    }
                },
                "session_id": "s-tl",
                "tenant_id": "acme",
                "tool_name": "lookup_capital",
                "user_id": "u-tl"
            },
            "openai.chat": {
                "agent_name": "geo_agent",
                "attributes": [
                    "traceloop.workflow.name",
                    "traceloop.association.properties.plan",
                    "gen_ai.is_streaming",
                    "gen_ai.openai.api_base",
                    "gen_ai.response.id",
                    "gen_ai.openai.response.system_fingerprint"
                ],
                "cost": {
                    "nano_usd": 4750000,
                    "source": "computed"
                },
                "input": {
                    "messages": [
                        {
                            "content": "Answer in one word.",
                            "role": "system"
                        },
                        {
                            "content": "What is the capital of France?",
                            "role": "user"
                        }
                    ]
                },
                "kind": "llm",
                "output": {
                    "messages": [
                        {
                            "content": "Paris.",
                            "finish_reason": "stop",
                            "role": "assistant"
                        }
                    ]
                },
                "request_model": "gpt-4o",
                "response_model": "gpt-4o-2024-08-06",
                "session_id": "s-tl",
                "tenant_id": "acme",
                "usage": {
                    "cache_read": 1000,
                    "input": 1200,
                    "output": 300,
                    "reasoning": 100,
                    "total": 1500
                },
                "user_id": "u-tl"
            },
            "prepare.task": {
                "attributes": [
                    "traceloop.workflow.name",
                    "traceloop.association.properties.plan",
                    "traceloop.span.kind",
                    "traceloop.entity.name"
                ],
                "input": {
                    "value": {
                        "args": [
                            "  What is the capital of France?  "
                        ],
                        "kwargs": {}
                    }
                },
                "kind": "chain",
                "output": {
                    "value": "What is the capital of France?"
                },
                "session_id": "s-tl",
                "tenant_id": "acme",
                "user_id": "u-tl"
            }
        }),
    );
}
