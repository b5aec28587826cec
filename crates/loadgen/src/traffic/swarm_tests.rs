//! Properties of the multi-agent demo traffic and of the benchmark logs: shape, retries,
//! failures, sessions, correlated logs, prices, determinism.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;

use super::agents::ALL_MODELS;
use super::swarm::{SwarmGen, SwarmTrace, BLOCK, RETRIES_PER_BLOCK};
use super::{logs, TrafficGen};

const END: u64 = 1_750_000_000_000_000_000;

fn get<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

fn op(span: &Span) -> &str {
    get(&span.attributes, "gen_ai.operation.name").unwrap_or_default()
}

fn is_error(span: &Span) -> bool {
    span.status.as_ref().is_some_and(|s| s.code == 2)
}

fn root(t: &SwarmTrace) -> &Span {
    let roots: Vec<&Span> = t
        .spans
        .iter()
        .filter(|s| s.parent_span_id.is_empty())
        .collect();
    assert_eq!(roots.len(), 1, "exactly one root");
    roots[0]
}

fn traces(seed: u64, n: usize) -> Vec<SwarmTrace> {
    let mut gen = SwarmGen::new(seed);
    (0..n)
        .map(|i| gen.next_trace(END + i as u64 * 1_000_000_000))
        .collect()
}

/// The retried llm calls of a trace: a failed chat with an exception event, followed under the
/// same parent by a successful chat of the same model.
fn retries(t: &SwarmTrace) -> usize {
    let chats: Vec<&Span> = t.spans.iter().filter(|s| op(s) == "chat").collect();
    chats
        .iter()
        .filter(|failed| {
            is_error(failed)
                && failed.events.iter().any(|e| e.name == "exception")
                && chats.iter().any(|ok| {
                    !is_error(ok)
                        && ok.parent_span_id == failed.parent_span_id
                        && ok.name == failed.name
                        && ok.start_time_unix_nano >= failed.end_time_unix_nano
                })
        })
        .count()
}

#[test]
fn same_seed_same_traffic_other_seed_other_traffic() {
    let (a, b, c) = (traces(5, 30), traces(5, 30), traces(6, 30));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (&x.resource, &x.spans, &x.logs),
            (&y.resource, &y.spans, &y.logs)
        );
    }
    assert!(a.iter().zip(&c).any(|(x, y)| x.spans != y.spans));
}

#[test]
fn an_orchestrator_delegates_to_worker_agents_that_call_llms_and_tools() {
    for (i, t) in traces(1, 200).iter().enumerate() {
        let end = END + i as u64 * 1_000_000_000;
        let root = root(t);
        assert_eq!(root.name, "invoke_agent orchestrator");
        assert_eq!(
            root.end_time_unix_nano, end,
            "the trace ends at the time asked"
        );
        let ids: HashSet<&[u8]> = t.spans.iter().map(|s| s.span_id.as_slice()).collect();
        assert_eq!(ids.len(), t.spans.len(), "span ids are unique");
        let by_id: HashMap<&[u8], &Span> =
            t.spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
        for s in &t.spans {
            assert_eq!(s.trace_id, root.trace_id);
            assert!(s.start_time_unix_nano >= root.start_time_unix_nano);
            assert!(s.end_time_unix_nano <= root.end_time_unix_nano);
            assert!(s.start_time_unix_nano <= s.end_time_unix_nano);
            if s.parent_span_id.is_empty() {
                continue;
            }
            let parent = by_id[s.parent_span_id.as_slice()];
            match op(s) {
                "invoke_agent" => assert!(std::ptr::eq(parent, root), "workers hang off the root"),
                "execute_tool" => {
                    assert_eq!(op(parent), "invoke_agent", "tools run inside a worker")
                }
                "chat" => assert_eq!(op(parent), "invoke_agent"),
                other => panic!("unexpected operation {other}"),
            }
        }
        let workers: Vec<&Span> = t
            .spans
            .iter()
            .filter(|s| op(s) == "invoke_agent" && !s.parent_span_id.is_empty())
            .collect();
        assert!(
            (1..=3).contains(&workers.len()),
            "{} workers",
            workers.len()
        );
        for w in &workers {
            let agent = get(&w.attributes, "gen_ai.agent.name").unwrap();
            assert_ne!(agent, "orchestrator");
            assert_eq!(w.name, format!("invoke_agent {agent}"));
        }
        // The orchestrator plans with an llm call of its own.
        assert!(t
            .spans
            .iter()
            .any(|s| op(s) == "chat" && s.parent_span_id == root.span_id));
    }
}

#[test]
fn llm_calls_span_providers_and_carry_usage_and_messages() {
    let all = traces(2, 100);
    let chats: Vec<&Span> = all
        .iter()
        .flat_map(|t| &t.spans)
        .filter(|s| op(s) == "chat")
        .collect();
    let providers: HashSet<&str> = chats
        .iter()
        .filter_map(|s| get(&s.attributes, "gen_ai.provider.name"))
        .collect();
    for p in ["openai", "anthropic", "gcp.gemini", "mistral_ai"] {
        assert!(providers.contains(p), "{p} missing from {providers:?}");
    }
    for s in chats.iter().filter(|s| !is_error(s)) {
        for key in [
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.cache_read.input_tokens",
        ] {
            assert!(
                s.attributes.iter().any(|kv| kv.key == key),
                "{key} on {}",
                s.name
            );
        }
        assert!(get(&s.attributes, "gen_ai.input.messages").is_some());
        assert!(get(&s.attributes, "gen_ai.output.messages").is_some());
    }
    let tools: Vec<&Span> = all
        .iter()
        .flat_map(|t| &t.spans)
        .filter(|s| op(s) == "execute_tool")
        .collect();
    assert!(tools.len() > 50);
    assert!(tools
        .iter()
        .all(|s| get(&s.attributes, "gen_ai.tool.call.arguments").is_some()));
    assert!(tools.iter().filter(|s| !is_error(s)).all(|s| get(
        &s.attributes,
        "gen_ai.tool.call.result"
    )
    .is_some()));
}

#[test]
fn every_model_has_a_bundled_price() {
    let registry = sightline_core::cost::PriceRegistry::bundled().unwrap();
    for m in ALL_MODELS {
        assert!(
            registry
                .lookup(Some(m.provider), m.response, END as i64)
                .is_some(),
            "no price for {} at {}",
            m.response,
            m.provider
        );
    }
}

#[test]
fn each_block_of_ten_has_one_failed_trace_and_three_with_retries() {
    let all = traces(3, 40);
    for block in all.chunks(BLOCK as usize) {
        let failed: Vec<&SwarmTrace> = block.iter().filter(|t| is_error(root(t))).collect();
        assert_eq!(failed.len(), 1);
        // The failure is recorded where it happened and on the worker that gave up.
        let t = failed[0];
        assert!(t.spans.iter().any(|s| op(s) != "invoke_agent"
            && is_error(s)
            && s.events.iter().any(|e| e.name == "exception")));
        assert!(t
            .spans
            .iter()
            .any(|s| op(s) == "invoke_agent" && !s.parent_span_id.is_empty() && is_error(s)));
        let retried: Vec<&SwarmTrace> = block.iter().filter(|t| retries(t) > 0).collect();
        assert_eq!(retried.len(), RETRIES_PER_BLOCK);
        // A retried trace succeeds.
        assert!(retried.iter().all(|t| !is_error(root(t))));
    }
}

#[test]
fn sessions_span_several_traces_of_one_user() {
    let all = traces(4, 20);
    let mut sessions: HashMap<&str, Vec<&str>> = HashMap::new();
    for t in &all {
        let root = root(t);
        let session = get(&root.attributes, "gen_ai.conversation.id").unwrap();
        sessions
            .entry(session)
            .or_default()
            .push(get(&root.attributes, "user.id").unwrap());
        assert!(get(&t.resource.attributes, "tenant.id").is_some());
    }
    assert!(
        sessions.values().filter(|users| users.len() >= 2).count() >= 2,
        "{sessions:?}"
    );
    for users in sessions.values() {
        assert!(users.iter().all(|u| *u == users[0]), "one user per session");
    }
}

#[test]
fn logs_are_correlated_with_their_trace_span_and_session() {
    let all = traces(5, 20);
    let mut severities = HashSet::new();
    for t in &all {
        let root = root(t);
        let session = get(&root.attributes, "gen_ai.conversation.id").unwrap();
        let ids: HashSet<&[u8]> = t.spans.iter().map(|s| s.span_id.as_slice()).collect();
        assert!(t.logs.len() >= 3);
        for l in &t.logs {
            assert_eq!(l.trace_id, root.trace_id);
            assert!(
                ids.contains(l.span_id.as_slice()),
                "log on a span of the trace"
            );
            assert_eq!(get(&l.attributes, "session.id"), Some(session));
            assert!(get(&l.attributes, "gen_ai.agent.name").is_some());
            assert!(
                l.time_unix_nano >= root.start_time_unix_nano
                    && l.time_unix_nano <= root.end_time_unix_nano
            );
            severities.insert(l.severity_text.as_str());
        }
    }
    assert_eq!(
        severities,
        HashSet::from(["DEBUG", "INFO", "WARN", "ERROR"])
    );
}

#[test]
fn benchmark_logs_follow_their_trace() {
    let mut gen = TrafficGen::new(9, END);
    let mut errors = 0;
    for _ in 0..300 {
        let spans = gen.next_trace();
        let root = spans.iter().find(|s| s.parent_span_id.is_empty()).unwrap();
        let records = logs::for_trace(&spans);
        let last = records.last().unwrap();
        assert_eq!(
            last.span_id, root.span_id,
            "the run's outcome is logged last, on the root"
        );
        assert!(records.iter().all(|l| l.trace_id == root.trace_id));
        assert!(records
            .windows(2)
            .all(|w| w[0].time_unix_nano <= w[1].time_unix_nano));
        if is_error(root) {
            errors += 1;
            assert_eq!(last.severity_text, "ERROR");
            assert!(
                records
                    .iter()
                    .filter(|l| l.severity_text == "ERROR")
                    .count()
                    >= 2
            );
        }
    }
    assert!(errors > 0);
}
