//! Precedence tables, conflicts between sources, junk values, errors, identities and logs.

use serde_json::json;

use super::*;
use crate::normalize::attrs::{parse_timestamp, shown as show};

fn kind_of(attrs: Vec<(&str, AttrValue)>) -> &'static str {
    normalize_span(span(attrs), &Resource::default(), 0)
        .value
        .kind
        .as_str()
}

#[test]
fn kind_precedence_and_aliases() {
    let cases: Vec<(Vec<(&str, AttrValue)>, &str)> = vec![
        (vec![("langfuse.observation.type", s("generation"))], "llm"),
        (
            vec![("langfuse.observation.type", s("Guardrail"))],
            "guardrail",
        ),
        (vec![("langfuse.observation.type", s("event"))], "event"),
        (
            vec![
                ("langfuse.observation.type", s("tool")),
                ("openinference.span.kind", s("LLM")),
            ],
            "tool",
        ),
        (
            vec![
                ("langfuse.observation.type", s("nonsense")),
                ("openinference.span.kind", s("CHAIN")),
            ],
            "chain",
        ),
        (vec![("openinference.span.kind", s("RERANKER"))], "reranker"),
        (
            vec![("openinference.span.kind", s("EVALUATOR"))],
            "evaluator",
        ),
        (vec![("openinference.span.kind", s("PROMPT"))], "chain"),
        (
            vec![
                ("openinference.span.kind", s("UNKNOWN")),
                ("gen_ai.operation.name", s("chat")),
            ],
            "llm",
        ),
        (
            vec![
                ("openinference.span.kind", s("AGENT")),
                ("gen_ai.operation.name", s("chat")),
            ],
            "agent",
        ),
        (vec![("gen_ai.operation.name", s("text_completion"))], "llm"),
        (
            vec![("gen_ai.operation.name", s("Generate_Content"))],
            "llm",
        ),
        (vec![("gen_ai.operation.name", s("create_agent"))], "agent"),
        (
            vec![("gen_ai.operation.name", s("invoke_workflow"))],
            "chain",
        ),
        (vec![("gen_ai.operation.name", s("retrieval"))], "retriever"),
        (
            vec![
                ("gen_ai.operation.name", s("search_memory")),
                ("gen_ai.tool.name", s("t")),
            ],
            "tool",
        ),
        (
            vec![("tool.name", s("t")), ("gen_ai.request.model", s("m"))],
            "tool",
        ),
        (vec![("gen_ai.tool.call.id", s("c1"))], "tool"),
        (
            vec![("llm.model_name", s("m")), ("gen_ai.agent.name", s("a"))],
            "llm",
        ),
        (vec![("langfuse.observation.model.name", s("m"))], "llm"),
        (vec![("gen_ai.agent.name", s("a"))], "agent"),
        (vec![("embedding.model_name", s("m"))], "span"),
        (vec![], "span"),
    ];
    for (attrs, want) in cases {
        let shown = format!("{attrs:?}");
        assert_eq!(kind_of(attrs), want, "{shown}");
    }
}

#[test]
fn kind_attributes_are_promoted_except_prompt() {
    let raw = span(vec![
        ("openinference.span.kind", s("PROMPT")),
        ("langfuse.observation.type", s("whatever")),
    ]);
    check(
        raw,
        json!({"kind": "chain", "attributes": [["openinference.span.kind", "PROMPT"], ["langfuse.observation.type", "whatever"]]}),
    );
}

#[test]
fn provider_aliases() {
    let cases = [
        ("gen_ai.system", "az.ai.inference", "azure.ai.inference"),
        ("gen_ai.system", "az.ai.openai", "azure.ai.openai"),
        ("gen_ai.system", "gemini", "gcp.gemini"),
        ("gen_ai.system", "vertex_ai", "gcp.vertex_ai"),
        ("gen_ai.system", "xai", "x_ai"),
        ("gen_ai.provider.name", "aws.bedrock", "aws.bedrock"),
        ("llm.provider", "azure", "azure.ai.openai"),
        ("llm.provider", "google", "gcp.vertex_ai"),
        ("llm.system", "vertexai", "gcp.vertex_ai"),
        ("llm.provider", "aws", "aws.bedrock"),
        ("llm.system", "amazon", "aws.bedrock"),
        ("llm.provider", "mistralai", "mistral_ai"),
        ("llm.provider", "Groq", "groq"),
        ("llm.provider", "ollama", "ollama"),
    ];
    for (key, value, want) in cases {
        let obs = normalize_span(span(vec![(key, s(value))]), &Resource::default(), 0).value;
        assert_eq!(obs.provider.as_deref(), Some(want), "{key}={value}");
        assert!(obs.attributes.is_empty());
    }
}

#[test]
fn conflicting_sources_keep_the_loser() {
    let raw = span(vec![
        ("llm.token_count.prompt", i(12)),
        ("gen_ai.usage.input_tokens", i(10)),
        ("gen_ai.system", s("az.ai.openai")),
        ("gen_ai.provider.name", s("openai")),
        ("gen_ai.request.temperature", d(0.2)),
        (
            "llm.invocation_parameters",
            s(r#"{"temperature":0.5,"top_p":1}"#),
        ),
        ("llm.model_name", s("gpt-4o")),
        ("gen_ai.request.model", s("gpt-4o-mini")),
    ]);
    check(
        raw,
        json!({
            "kind": "llm", "provider": "openai", "request_model": "gpt-4o-mini", "usage": {"input": 10},
            "request_params": {"temperature": 0.2, "top_p": 1},
            "attributes": [
                ["llm.token_count.prompt", 12],
                ["gen_ai.system", "az.ai.openai"],
                ["llm.invocation_parameters", r#"{"temperature":0.5,"top_p":1}"#],
                ["llm.model_name", "gpt-4o"],
            ],
        }),
    );
}

#[test]
fn identity_precedence() {
    let raw = span(vec![
        ("session.id", s("s1")),
        ("gen_ai.conversation.id", s("c1")),
        ("langfuse.session.id", s("l1")),
        ("enduser.id", s("eu")),
        ("langfuse.user.id", s("lu")),
        ("agent.name", s("oi-agent")),
        ("tool.id", s("t1")),
        ("tool_call.id", s("t2")),
    ]);
    check(
        raw,
        json!({
            "kind": "span", "session_id": "c1", "user_id": "lu", "agent_name": "oi-agent", "tool_call_id": "t1",
            "attributes": [["session.id", "s1"], ["langfuse.session.id", "l1"], ["enduser.id", "eu"], ["tool_call.id", "t2"]],
        }),
    );
}

#[test]
fn tenant_and_service_come_from_the_resource_unless_the_span_says() {
    let resource = Resource {
        attributes: kv(vec![
            ("service.name", s("checkout")),
            ("tenant.id", s("acme")),
        ]),
    };
    check_in(
        span(vec![]),
        &resource,
        json!({"kind": "span", "service_name": "checkout", "tenant_id": "acme"}),
    );
    check_in(
        span(vec![("tenant.id", s("globex"))]),
        &resource,
        json!({"kind": "span", "service_name": "checkout", "tenant_id": "globex"}),
    );
}

#[test]
fn workspace_comes_from_the_span_then_the_resource_and_its_attributes_stay() {
    let resource = Resource {
        attributes: kv(vec![("sightline.workspace_id", AttrValue::Int(7))]),
    };
    check_in(
        span(vec![]),
        &resource,
        json!({"kind": "span", "workspace_id": "7"}),
    );
    check_in(
        span(vec![("workspace_id", s("")), ("workspace.id", s("w1"))]),
        &resource,
        json!({"kind": "span", "workspace_id": "w1",
               "attributes": [["workspace_id", ""], ["workspace.id", "w1"]]}),
    );
}

#[test]
fn status_error_with_error_type_and_exception_event() {
    let raw = with_events(
        with_status(
            span(vec![("error.type", s("RateLimitError"))]),
            StatusCode::Error,
            "429 Too Many Requests",
        ),
        vec![ev(
            "exception",
            vec![
                ("exception.type", s("openai.RateLimitError")),
                ("exception.message", s("Rate limit reached")),
                ("exception.stacktrace", s("Traceback ...")),
            ],
        )],
    );
    check(
        raw,
        json!({
            "kind": "span", "status": "error", "status_message": "429 Too Many Requests",
            "error": {"type": "RateLimitError", "message": "Rate limit reached", "stacktrace": "Traceback ..."},
        }),
    );
}

#[test]
fn exception_event_alone_is_an_error() {
    let raw = with_events(
        span(vec![]),
        vec![ev(
            "exception",
            vec![
                ("exception.type", s("ValueError")),
                ("exception.message", s("bad input")),
            ],
        )],
    );
    let obs = normalize_span(raw.clone(), &Resource::default(), 0).value;
    assert!(obs.is_error());
    check(
        raw,
        json!({"kind": "span", "error": {"type": "ValueError", "message": "bad input"}}),
    );
}

#[test]
fn status_error_alone_takes_the_status_message() {
    check(
        with_status(span(vec![]), StatusCode::Error, "boom"),
        json!({"kind": "span", "status": "error", "status_message": "boom", "error": {"message": "boom"}}),
    );
    check(
        with_status(span(vec![]), StatusCode::Error, ""),
        json!({"kind": "span", "status": "error", "error": {}}),
    );
    check(
        with_status(span(vec![]), StatusCode::Ok, "fine"),
        json!({"kind": "span", "status": "ok", "status_message": "fine"}),
    );
}

#[test]
fn error_type_alone_is_an_error() {
    check(
        span(vec![("error.type", s("_OTHER"))]),
        json!({"kind": "span", "error": {"type": "_OTHER"}}),
    );
}

#[test]
fn last_exception_wins_earlier_ones_stay_as_events() {
    let raw = with_events(
        span(vec![]),
        vec![
            ev("exception", vec![("exception.type", s("Timeout"))]),
            ev("exception", vec![("exception.type", s("ConnectionError"))]),
        ],
    );
    check(
        raw,
        json!({
            "kind": "span", "error": {"type": "ConnectionError"},
            "events": [{"name": "exception", "time_ns": START + 1, "attributes": {"exception.type": "Timeout"}}],
        }),
    );
}

#[test]
fn token_counts_accept_clean_values_and_refuse_junk() {
    let not_int = "is not a non-negative integer";
    let too_big = "is too large to be a token count (over 10000000000)";
    let cases: Vec<(AttrValue, Option<i64>, Option<&str>)> = vec![
        (i(42), Some(42), None),
        (s("42"), Some(42), None),
        (s(" 7 "), Some(7), None),
        (d(12.0), Some(12), None),
        (i(0), Some(0), None),
        (s("abc"), None, Some(not_int)),
        (i(-5), None, Some(not_int)),
        (s("-5"), None, Some(not_int)),
        (d(12.5), None, Some(not_int)),
        (AttrValue::Bool(true), None, Some(not_int)),
        (arr(vec![i(1)]), None, Some(not_int)),
        (d(1e15), None, Some(too_big)),
        (i(10_000_000_001), None, Some(too_big)),
    ];
    for (value, want, problem) in cases {
        let shown = show(&value);
        let n = normalize_span(
            span(vec![("gen_ai.usage.input_tokens", value.clone())]),
            &Resource::default(),
            0,
        );
        assert_eq!(n.value.usage.input, want, "{shown}");
        match problem {
            None => assert!(
                n.value.attributes.is_empty() && n.warnings.is_empty(),
                "{shown}"
            ),
            Some(problem) => {
                assert_eq!(
                    n.value.attributes,
                    kv(vec![("gen_ai.usage.input_tokens", value)])
                );
                assert_eq!(
                    n.warnings,
                    vec![format!(
                        "{SPAN}: attribute gen_ai.usage.input_tokens = {shown} {problem}; it was kept as a plain \
                         attribute and not counted as tokens (fix: send a whole number of tokens, e.g. 1234)"
                    )]
                );
            }
        }
    }
}

#[test]
fn junk_token_count_falls_through_to_the_next_alias() {
    let raw = span(vec![
        ("gen_ai.usage.input_tokens", s("abc")),
        ("gen_ai.usage.prompt_tokens", i(7)),
    ]);
    check(
        raw,
        json!({
            "kind": "span", "usage": {"input": 7},
            "attributes": [["gen_ai.usage.input_tokens", "abc"]],
            "warnings": [format!("{SPAN}: attribute gen_ai.usage.input_tokens = \"abc\" is not a non-negative integer; \
                it was kept as a plain attribute and not counted as tokens (fix: send a whole number of tokens, e.g. 1234)")],
        }),
    );
}

#[test]
fn junk_cost_time_and_json_are_kept_with_warnings() {
    let raw = span(vec![
        ("gen_ai.usage.cost", d(-0.5)),
        ("llm.cost.total", s("0.002")),
        ("gen_ai.response.time_to_first_chunk", d(-1.0)),
        ("langfuse.observation.completion_start_time", s("yesterday")),
        ("gen_ai.server.time_to_first_token", i(2)),
        ("langfuse.observation.usage_details", s("not json")),
        ("llm.invocation_parameters", s("temperature=0.2")),
    ]);
    let n = normalize_span(raw, &Resource::default(), 0);
    assert_eq!(n.value.provided_cost_nano_usd, Some(2_000_000));
    assert_eq!(n.value.ttft_ns, Some(2_000_000_000));
    let kept: Vec<&str> = n.value.attributes.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kept,
        [
            "gen_ai.usage.cost",
            "gen_ai.response.time_to_first_chunk",
            "langfuse.observation.completion_start_time",
            "langfuse.observation.usage_details",
            "llm.invocation_parameters",
        ]
    );
    assert_eq!(n.warnings.len(), 5, "{:#?}", n.warnings);
    for (warning, key) in n.warnings.iter().zip([
        "llm.invocation_parameters",
        "gen_ai.response.time_to_first_chunk",
        "langfuse.observation.completion_start_time",
        "langfuse.observation.usage_details",
        "gen_ai.usage.cost",
    ]) {
        assert!(
            warning.starts_with(&format!("{SPAN}: attribute {key} = ")),
            "{warning}"
        );
        assert!(warning.contains("(fix: "), "{warning}");
    }
}

#[test]
fn cost_is_rounded_to_nano_usd_and_nan_is_refused() {
    let cost = |v: AttrValue| {
        normalize_span(
            span(vec![("gen_ai.usage.cost", v)]),
            &Resource::default(),
            0,
        )
    };
    assert_eq!(cost(d(0.0000000015)).value.provided_cost_nano_usd, Some(2));
    assert_eq!(cost(d(0.0000000025)).value.provided_cost_nano_usd, Some(3));
    assert_eq!(
        cost(d(1.25)).value.provided_cost_nano_usd,
        Some(1_250_000_000)
    );
    assert_eq!(cost(i(3)).value.provided_cost_nano_usd, Some(3_000_000_000));
    let nan = cost(d(f64::NAN));
    assert_eq!(nan.value.provided_cost_nano_usd, None);
    assert_eq!(nan.warnings.len(), 1);
}

#[test]
fn usage_details_with_junk_value_is_kept_whole() {
    let usage = r#"{"input":"lots","output":3}"#;
    let n = normalize_span(
        span(vec![("langfuse.observation.usage_details", s(usage))]),
        &Resource::default(),
        0,
    );
    assert_eq!(n.value.usage.output, Some(3));
    assert_eq!(n.value.usage.input, None);
    assert_eq!(n.value.attributes.len(), 1);
    assert!(
        n.warnings[0].contains("langfuse.observation.usage_details.input = \"lots\""),
        "{:?}",
        n.warnings
    );
}

#[test]
fn finish_reason_shapes() {
    let reasons = |attrs| {
        normalize_span(span(attrs), &Resource::default(), 0)
            .value
            .finish_reasons
    };
    assert_eq!(
        reasons(vec![("gen_ai.response.finish_reasons", s("stop"))]),
        ["stop"]
    );
    assert_eq!(
        reasons(vec![(
            "gen_ai.response.finish_reasons",
            s(r#"["stop","length"]"#)
        )]),
        ["stop", "length"]
    );
    assert_eq!(
        reasons(vec![("llm.finish_reason", s("length"))]),
        ["length"]
    );
}

#[test]
fn tags_from_every_source_are_merged_without_repeats() {
    let raw = span(vec![
        ("langfuse.tags", arr(vec![s("a"), s("b")])),
        ("tag.tags", s("c")),
        ("langfuse.trace.tags", s(r#"["b","d"]"#)),
    ]);
    check(raw, json!({"kind": "span", "tags": ["c", "b", "d", "a"]}));
}

#[test]
fn system_instructions_alone_are_the_input() {
    let raw = span(vec![(
        "gen_ai.system_instructions",
        arr(vec![map(vec![
            ("type", s("text")),
            ("content", s("Be terse.")),
        ])]),
    )]);
    check(
        raw,
        json!({"kind": "span", "input": {"messages": [text("system", "Be terse.")]}}),
    );
}

#[test]
fn plain_span_keeps_everything_and_its_shape() {
    let mut raw = span(vec![
        ("http.method", s("POST")),
        ("custom.b", arr(vec![s("x")])),
        ("custom.a", i(1)),
    ]);
    raw.scope_name = "my.scope".to_string();
    raw.scope_version = "1.2".to_string();
    raw.links = vec![RawLink {
        trace_id: TraceId([2; 16]),
        span_id: SpanId([3; 8]),
        attributes: Vec::new(),
    }];
    raw.events = vec![ev("retry", vec![("attempt", i(2))])];
    check(
        raw,
        json!({
            "kind": "span", "scope_name": "my.scope", "scope_version": "1.2",
            "attributes": [["http.method", "POST"], ["custom.b", ["x"]], ["custom.a", 1]],
            "events": [{"name": "retry", "time_ns": START + 1, "attributes": {"attempt": 2}}],
            "links": [["02020202020202020202020202020202", "0303030303030303"]],
        }),
    );
}

#[test]
fn logs_promote_session_agent_and_service() {
    let raw = RawLog {
        time_ns: START,
        body: s("tool failed"),
        attributes: kv(vec![
            ("gen_ai.conversation.id", s("c1")),
            ("session.id", s("s1")),
            ("agent.name", s("planner")),
            ("level", s("warn")),
        ]),
        event_name: "agent.step".to_string(),
        ..RawLog::default()
    };
    let resource = Resource {
        attributes: kv(vec![("service.name", s("agents"))]),
    };
    let log = normalize_log(raw, &resource, 3).value;
    assert_eq!(log.session_id.as_deref(), Some("s1"));
    assert_eq!(log.agent_name.as_deref(), Some("planner"));
    assert_eq!(log.service_name.as_deref(), Some("agents"));
    assert_eq!(log.event_name.as_deref(), Some("agent.step"));
    assert_eq!(log.body, Some(json!("tool failed")));
    assert_eq!(log.resource_index, 3);
    assert_eq!(
        log.attributes,
        kv(vec![
            ("gen_ai.conversation.id", s("c1")),
            ("level", s("warn"))
        ])
    );
}

#[test]
fn timestamps() {
    assert_eq!(parse_timestamp("2024-05-01T10:00:00Z"), Some(START));
    assert_eq!(
        parse_timestamp("2024-05-01T12:00:00.5+02:00"),
        Some(START + 500_000_000)
    );
    assert_eq!(parse_timestamp("2024-05-01T09:30:00-0030"), Some(START));
    assert_eq!(
        parse_timestamp(r#""2024-05-01T10:00:00.000000001Z""#),
        Some(START + 1)
    );
    assert_eq!(parse_timestamp("2024-05-01 10:00:00"), Some(START));
    assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(
        parse_timestamp("2000-02-29T00:00:00Z"),
        Some(951_782_400_000_000_000)
    );
    for bad in [
        "yesterday",
        "2024-13-01T00:00:00Z",
        "2024-05-01T10:00:00.Z",
        "2024-05-01T10:00:00+2",
        "",
    ] {
        assert_eq!(parse_timestamp(bad), None, "{bad}");
    }
}
