//! One table over every provider: each case is a request, a response body and the same
//! response as a stream, with what admission and recording must read from them.

use bytes::Bytes;
use serde_json::{json, Value as Json};
use sightline_core::Usage;

use super::*;
use crate::gateway::sse;

struct Case {
    kind: ProviderKind,
    endpoint: Endpoint,
    request: Json,
    info: RequestInfo,
    body: Json,
    stream: &'static str,
    model: &'static str,
    usage: Usage,
    finish: &'static [&'static str],
    /// The output messages' text, as recording stores it.
    output_text: &'static str,
}

fn usage(
    input: i64,
    output: i64,
    read: Option<i64>,
    write: Option<i64>,
    reasoning: Option<i64>,
) -> Usage {
    Usage {
        input: Some(input),
        output: Some(output),
        total: Some(input + output),
        cache_read: read,
        cache_write: write,
        reasoning,
    }
}

const CHAT_STREAM: &str = concat!(
    "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi \"},\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"there\"},\"finish_reason\":null}],\"usage\":null}\n\n",
    "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n",
    "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":9,\"total_tokens\":39,\"prompt_tokens_details\":{\"cached_tokens\":10},\"completion_tokens_details\":{\"reasoning_tokens\":3}}}\n\n",
    "data: [DONE]\n\n",
);

const RESPONSES_STREAM: &str = concat!(
    "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"r1\",\"model\":\"o4-mini\",\"output\":[]}}\n\n",
    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi there\"}\n\n",
    "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r1\",\"model\":\"o4-mini\",\"status\":\"completed\",\"output\":[{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"Hi there\"}]}],\"usage\":{\"input_tokens\":30,\"output_tokens\":9,\"total_tokens\":39,\"input_tokens_details\":{\"cached_tokens\":10},\"output_tokens_details\":{\"reasoning_tokens\":3}}}}\n\n",
);

const MESSAGES_STREAM: &str = concat!(
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m1\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"usage\":{\"input_tokens\":20,\"cache_read_input_tokens\":7,\"cache_creation_input_tokens\":3,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: ping\ndata: {\"type\":\"ping\"}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi \"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"there\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":5}}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"output_tokens\":9}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
);

fn cases() -> Vec<Case> {
    vec![
        Case {
            kind: ProviderKind::OpenAi,
            endpoint: Endpoint::ChatCompletions,
            request: json!({"model": "gpt-4o", "stream": true, "max_tokens": 64, "user": "u-1",
                "messages": [{"role": "user", "content": "hi"}], "unknown_field": {"kept": true}}),
            info: RequestInfo {
                model: "gpt-4o".into(),
                stream: true,
                max_tokens: Some(64),
                include_usage: false,
                user: Some("u-1".into()),
            },
            body: json!({"id": "c1", "model": "gpt-4o-2024-08-06", "choices": [{"index": 0,
                "message": {"role": "assistant", "content": "Hi there"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39,
                "prompt_tokens_details": {"cached_tokens": 10},
                "completion_tokens_details": {"reasoning_tokens": 3}}}),
            stream: CHAT_STREAM,
            model: "gpt-4o-2024-08-06",
            usage: usage(30, 9, Some(10), None, Some(3)),
            finish: &["stop"],
            output_text: "Hi there",
        },
        Case {
            kind: ProviderKind::OpenAi,
            endpoint: Endpoint::Responses,
            request: json!({"model": "o4-mini", "input": "hi", "max_output_tokens": 100,
                "instructions": "be brief"}),
            info: RequestInfo {
                model: "o4-mini".into(),
                max_tokens: Some(100),
                ..Default::default()
            },
            body: json!({"id": "r1", "model": "o4-mini", "status": "completed", "output": [
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi there"}]}],
                "usage": {"input_tokens": 30, "output_tokens": 9, "total_tokens": 39,
                "input_tokens_details": {"cached_tokens": 10},
                "output_tokens_details": {"reasoning_tokens": 3}}}),
            stream: RESPONSES_STREAM,
            model: "o4-mini",
            usage: usage(30, 9, Some(10), None, Some(3)),
            finish: &["completed"],
            output_text: "Hi there",
        },
        Case {
            kind: ProviderKind::Anthropic,
            endpoint: Endpoint::Messages,
            request: json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": "be brief",
                "metadata": {"user_id": "u-2"}, "messages": [{"role": "user", "content": "hi"}]}),
            info: RequestInfo {
                model: "claude-sonnet-4-5".into(),
                max_tokens: Some(1024),
                user: Some("u-2".into()),
                ..Default::default()
            },
            body: json!({"id": "m1", "type": "message", "model": "claude-sonnet-4-5-20250929",
                "content": [{"type": "text", "text": "Hi there"}], "stop_reason": "end_turn",
                "usage": {"input_tokens": 20, "cache_read_input_tokens": 7,
                "cache_creation_input_tokens": 3, "output_tokens": 9}}),
            stream: MESSAGES_STREAM,
            model: "claude-sonnet-4-5-20250929",
            // Anthropic's 20 input tokens exclude the 7 read and 3 written: 30 as OpenTelemetry counts.
            usage: usage(30, 9, Some(7), Some(3), None),
            finish: &["end_turn"],
            output_text: "Hi there",
        },
    ]
}

/// The text of recorded output messages: OpenAI `content` or GenAI text parts.
fn output_text(output: &Json) -> String {
    let mut out = String::new();
    for m in output.as_array().into_iter().flatten() {
        if let Some(c) = m["content"].as_str() {
            out.push_str(c);
        }
        for p in m["parts"].as_array().into_iter().flatten() {
            if p["type"] == "text" {
                out.push_str(p["content"].as_str().unwrap_or(""));
            }
        }
    }
    out
}

#[test]
fn every_provider_reads_requests_responses_and_streams_alike() {
    for c in cases() {
        let p = c.kind.provider();
        let at = format!("{:?} {:?}", c.kind, c.endpoint);
        let body = serde_json::to_vec(&c.request).unwrap();
        assert_eq!(p.parse_request(c.endpoint, &body).unwrap(), c.info, "{at}");
        let summary = p.summarize(c.endpoint, &serde_json::to_vec(&c.body).unwrap());
        let datas: Vec<Vec<u8>> = sse::events(c.stream.as_bytes())
            .iter()
            .filter_map(|e| sse::data(e))
            .collect();
        let streamed = p.summarize_stream(c.endpoint, &datas);
        for (how, s) in [("body", &summary), ("stream", &streamed)] {
            assert_eq!(s.model.as_deref(), Some(c.model), "{at} {how}");
            assert_eq!(s.usage, c.usage, "{at} {how}");
            assert_eq!(s.finish_reasons, c.finish, "{at} {how}");
            assert_eq!(
                output_text(s.output.as_ref().unwrap()),
                c.output_text,
                "{at} {how}"
            );
        }
        let prompt = p.prompt(c.endpoint, &c.request);
        assert!(
            prompt.input.unwrap().as_array().is_some(),
            "{at}: input messages"
        );
        // Bad bodies are refused with a reason, in every provider.
        for (bad, says) in [
            (&b"{nope"[..], "not valid JSON"),
            (b"[1]", "JSON object"),
            (b"{\"messages\":[]}", "`model` is required"),
            (b"{\"model\":\"\"}", "non-empty"),
            (b"{\"model\":\"m\",\"stream\":\"yes\"}", "`stream`"),
        ] {
            let e = p.parse_request(c.endpoint, bad).unwrap_err();
            assert!(e.contains(says), "{at}: {e}");
        }
        // The error body has the provider's shape, with extra fields kept.
        let e = p.error_body(
            429,
            ErrorKind::BudgetExceeded,
            "over",
            Some(json!({"budget": {"id": "b"}})),
        );
        let inner = match c.kind {
            ProviderKind::OpenAi => &e["error"],
            ProviderKind::Anthropic => {
                assert_eq!(e["type"], "error");
                &e["error"]
            }
        };
        assert_eq!(inner["message"], "over", "{at}");
        assert_eq!(inner["budget"]["id"], "b", "{at}");
    }
}

#[test]
fn endpoints_are_matched_by_method_and_path() {
    let openai = ProviderKind::OpenAi.provider();
    let anthropic = ProviderKind::Anthropic.provider();
    assert_eq!(
        openai.endpoint("POST", "v1/chat/completions"),
        Some(Endpoint::ChatCompletions)
    );
    assert_eq!(
        openai.endpoint("GET", "v1/models/gpt-4o"),
        Some(Endpoint::Models)
    );
    assert_eq!(openai.endpoint("GET", "v1/chat/completions"), None);
    assert_eq!(openai.endpoint("POST", "v1/messages"), None);
    assert_eq!(
        anthropic.endpoint("POST", "v1/messages"),
        Some(Endpoint::Messages)
    );
    assert_eq!(anthropic.endpoint("POST", "v1/chat/completions"), None);
    assert_eq!(
        ProviderKind::parse("Anthropic"),
        Some(ProviderKind::Anthropic)
    );
    assert_eq!(ProviderKind::parse("gemini"), None);
}

#[test]
fn a_stream_is_asked_for_usage_with_the_fewest_edits_and_its_usage_event_is_found() {
    let p = ProviderKind::OpenAi.provider();
    let info = |stream, include_usage| RequestInfo {
        stream,
        include_usage,
        ..Default::default()
    };
    assert!(p.needs_usage_request(Endpoint::ChatCompletions, &info(true, false)));
    assert!(!p.needs_usage_request(Endpoint::ChatCompletions, &info(true, true)));
    assert!(!p.needs_usage_request(Endpoint::ChatCompletions, &info(false, false)));
    assert!(!p.needs_usage_request(Endpoint::Responses, &info(true, false)));
    assert!(!ProviderKind::Anthropic
        .provider()
        .needs_usage_request(Endpoint::Messages, &info(true, false)));

    let body = Bytes::from_static(b"{\"model\":\"m\",\"stream\":true, \"x\":{\"y\":[1, 2]}}");
    let edited = with_include_usage(&body);
    assert_eq!(
        &edited[..],
        b"{\"stream_options\":{\"include_usage\":true},\"model\":\"m\",\"stream\":true, \"x\":{\"y\":[1, 2]}}",
        "spliced, the rest byte for byte"
    );
    let with_options =
        Bytes::from_static(b"{\"model\":\"m\",\"stream_options\":{\"include_usage\":false}}");
    let v: Json = serde_json::from_slice(&with_include_usage(&with_options)).unwrap();
    assert_eq!(v["stream_options"]["include_usage"], true);
    assert_eq!(
        &with_include_usage(&Bytes::from_static(b"{}"))[..],
        b"{\"stream_options\":{\"include_usage\":true}}"
    );
    let v: Json = serde_json::from_slice(&with_model(&body, "m2")).unwrap();
    assert_eq!(
        (v["model"].as_str(), v["x"]["y"][1].as_i64()),
        (Some("m2"), Some(2))
    );

    let usage = br#"{"id":"c","choices":[],"usage":{"prompt_tokens":1}}"#;
    let content = br#"{"id":"c","choices":[{"index":0,"delta":{"content":"usage"}}],"usage":null}"#;
    assert!(p.is_usage_event(Endpoint::ChatCompletions, usage));
    assert!(!p.is_usage_event(Endpoint::ChatCompletions, content));
    assert!(!p.is_usage_event(Endpoint::ChatCompletions, b"[DONE]"));
}
