//! Properties of the generated traffic: determinism, shape, links, error rate, sizes, re-stamping.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use super::wire::{mask_for, EncodedRequest};
use super::TrafficGen;

const T0: u64 = 1_750_000_000_000_000_000;

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn attr_str<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    match attr(span, key) {
        Some(Value::StringValue(s)) => Some(s),
        _ => None,
    }
}

fn op(span: &Span) -> &str {
    attr_str(span, "gen_ai.operation.name").unwrap_or_default()
}

fn is_error(span: &Span) -> bool {
    span.status.as_ref().is_some_and(|s| s.code == 2)
}

fn root(spans: &[Span]) -> &Span {
    let roots: Vec<&Span> = spans
        .iter()
        .filter(|s| s.parent_span_id.is_empty())
        .collect();
    assert_eq!(roots.len(), 1, "exactly one root");
    roots[0]
}

#[test]
fn same_seed_same_traffic_other_seed_other_traffic() {
    let (a, na) = TrafficGen::new(42, T0).request(300);
    let (b, nb) = TrafficGen::new(42, T0).request(300);
    let (c, _) = TrafficGen::new(43, T0).request(300);
    assert_eq!((a.clone(), na), (b, nb));
    assert_ne!(a, c);
    let mut g1 = TrafficGen::new(7, T0);
    let mut g2 = TrafficGen::new(7, T0);
    for _ in 0..50 {
        assert_eq!(g1.next_trace(), g2.next_trace());
    }
    // Moving the clock moves the next trace, and the resource says who emitted it.
    g1.set_now(T0 + 3_600_000_000_000);
    let (resource, spans) = g1.next_trace_with_resource();
    assert!(spans
        .iter()
        .all(|s| s.start_time_unix_nano >= T0 + 3_600_000_000_000));
    assert!(resource.attributes.iter().any(|kv| kv.key == "tenant.id"));
}

#[test]
fn traces_have_the_agent_shape() {
    let mut gen = TrafficGen::new(1, T0);
    for _ in 0..1000 {
        let spans = gen.next_trace();
        assert!((2..=7).contains(&spans.len()), "{} spans", spans.len());
        let root = root(&spans);
        assert_eq!(op(root), "invoke_agent");
        assert!(root.name.starts_with("invoke_agent "));
        assert!(
            attr_str(root, "gen_ai.agent.name").is_some() && attr_str(root, "user.id").is_some()
        );
        let llm = spans.iter().filter(|s| op(s) == "chat").count();
        let tool = spans.iter().filter(|s| op(s) == "execute_tool").count();
        assert_eq!(llm + tool + 1, spans.len());
        if !is_error(root) {
            assert!(
                (2..=4).contains(&llm) && (1..=2).contains(&tool),
                "{llm} llm, {tool} tool"
            );
        }
        for s in spans.iter().filter(|s| op(s) == "chat") {
            let provider = attr_str(s, "gen_ai.provider.name").unwrap_or_default();
            assert!(["openai", "anthropic", "gcp.vertex_ai", "aws.bedrock"].contains(&provider));
            assert!(s.name.starts_with("chat "));
            let ms = (s.end_time_unix_nano - s.start_time_unix_nano) / 1_000_000;
            assert!((200..=3000).contains(&ms), "llm {ms} ms");
            if !is_error(s) {
                assert!(
                    matches!(attr(s, "gen_ai.usage.input_tokens"), Some(Value::IntValue(n)) if *n > 0)
                );
                assert!(matches!(
                    attr(s, "gen_ai.response.finish_reasons"),
                    Some(Value::ArrayValue(_))
                ));
            }
        }
        for s in spans.iter().filter(|s| op(s) == "execute_tool") {
            let ms = (s.end_time_unix_nano - s.start_time_unix_nano) / 1_000_000;
            assert!((5..=500).contains(&ms), "tool {ms} ms");
            assert!(attr_str(s, "gen_ai.tool.call.id").is_some());
            let args = attr_str(s, "gen_ai.tool.call.arguments").unwrap_or_default();
            assert!(
                serde_json::from_str::<serde_json::Value>(args).is_ok(),
                "{args}"
            );
        }
    }
}

#[test]
fn parent_links_are_valid_and_children_nest_in_the_root() {
    let mut gen = TrafficGen::new(2, T0);
    let mut all_ids = HashSet::new();
    for _ in 0..500 {
        let spans = gen.next_trace();
        let root = root(&spans);
        for s in &spans {
            assert_eq!(s.trace_id, root.trace_id);
            assert_eq!((s.trace_id.len(), s.span_id.len()), (16, 8));
            assert!(all_ids.insert(s.span_id.clone()), "span ids are unique");
            if s.span_id != root.span_id {
                assert_eq!(s.parent_span_id, root.span_id);
                assert!(s.start_time_unix_nano >= root.start_time_unix_nano);
                assert!(s.end_time_unix_nano <= root.end_time_unix_nano);
            }
            assert!(s.start_time_unix_nano < s.end_time_unix_nano);
        }
    }
}

#[test]
fn about_three_percent_of_traces_fail_with_an_exception() {
    let mut gen = TrafficGen::new(3, T0);
    let mut failed = 0;
    for _ in 0..1000 {
        let spans = gen.next_trace();
        if is_error(root(&spans)) {
            failed += 1;
            let culprit = spans
                .iter()
                .find(|s| is_error(s) && !s.parent_span_id.is_empty());
            let event = culprit.and_then(|s| s.events.iter().find(|e| e.name == "exception"));
            let keys: Vec<&str> = event
                .map(|e| e.attributes.iter().map(|kv| kv.key.as_str()).collect())
                .unwrap_or_default();
            assert_eq!(
                keys,
                [
                    "exception.type",
                    "exception.message",
                    "exception.stacktrace"
                ]
            );
            assert!(culprit.and_then(|s| attr_str(s, "error.type")).is_some());
        }
    }
    // Binomial(1000, 0.03): mean 30, sd 5.4; the seed is fixed, the band is for seed changes.
    assert!((14..=50).contains(&failed), "{failed} failed traces");
}

#[test]
fn payloads_are_a_few_hundred_bytes() {
    let mut gen = TrafficGen::new(4, T0);
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    for _ in 0..300 {
        for s in gen.next_trace() {
            if let Some(i) = attr_str(&s, "gen_ai.input.messages") {
                assert!(serde_json::from_str::<serde_json::Value>(i).is_ok());
                inputs.push(i.len());
            }
            if let Some(o) = attr_str(&s, "gen_ai.output.messages") {
                assert!(serde_json::from_str::<serde_json::Value>(o).is_ok());
                outputs.push(o.len());
            }
        }
    }
    let range = |v: &[usize]| {
        (
            v.iter().min().copied(),
            v.iter().max().copied(),
            v.iter().sum::<usize>() / v.len(),
        )
    };
    let (imin, imax, iavg) = range(&inputs);
    let (omin, omax, oavg) = range(&outputs);
    assert!(
        imin >= Some(250) && imax <= Some(1500) && (350..900).contains(&iavg),
        "input {imin:?} {imax:?} {iavg}"
    );
    assert!(
        omin >= Some(100) && omax <= Some(1200) && (150..700).contains(&oavg),
        "output {omin:?} {omax:?} {oavg}"
    );

    let (req, n) = gen.request(1000);
    let per_span = req.encoded_len() / n;
    assert!(
        (300..1500).contains(&per_span),
        "{per_span} encoded bytes per span"
    );
}

#[test]
fn requests_pack_whole_traces_grouped_by_resource() {
    let mut gen = TrafficGen::new(5, T0);
    let (req, n) = gen.request(500);
    let spans: Vec<&Span> = req
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    assert_eq!(spans.len(), n);
    assert!((500..507).contains(&n), "{n}");
    let resources: HashSet<Vec<u8>> = req
        .resource_spans
        .iter()
        .map(|r| {
            r.resource
                .as_ref()
                .map(Message::encode_to_vec)
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        resources.len(),
        req.resource_spans.len(),
        "one ResourceSpans per resource"
    );
    for rs in &req.resource_spans {
        let keys: Vec<&str> = rs
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .map(|kv| kv.key.as_str())
            .collect();
        assert!(
            keys.contains(&"service.name")
                && keys.contains(&"tenant.id")
                && keys.contains(&"service.version")
        );
        assert_eq!(
            rs.scope_spans[0].scope.as_ref().map(|s| s.name.as_str()),
            Some("sightline.loadgen")
        );
    }
    // Whole traces: every trace has its root in the request.
    let roots: HashSet<&[u8]> = spans
        .iter()
        .filter(|s| s.parent_span_id.is_empty())
        .map(|s| s.trace_id.as_slice())
        .collect();
    assert!(spans.iter().all(|s| roots.contains(s.trace_id.as_slice())));
    assert!(
        gen.request(0).1 >= 2,
        "an empty target still yields one trace"
    );
}

#[test]
fn restamped_requests_keep_links_and_change_every_id() {
    let mut gen = TrafficGen::new(6, T0);
    let (req, n) = gen.request(200);
    let encoded = EncodedRequest::new(&req, n).unwrap();
    let mut seen = HashSet::new();
    for send in 0..3 {
        let mut body = Vec::new();
        encoded.render_into(mask_for(send), &mut body);
        assert_eq!(body.len(), encoded.bytes.len());
        let back = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
        let old: Vec<&Span> = req
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .collect();
        let new: Vec<&Span> = back
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
            .collect();
        let ids: HashSet<&[u8]> = new.iter().map(|s| s.span_id.as_slice()).collect();
        for (o, s) in old.iter().zip(&new) {
            assert_ne!(o.span_id, s.span_id);
            assert_ne!(o.trace_id, s.trace_id);
            assert_eq!(
                (&o.name, &o.attributes),
                (&s.name, &s.attributes),
                "only ids change"
            );
            assert!(
                s.parent_span_id.is_empty() || ids.contains(s.parent_span_id.as_slice()),
                "parent still present"
            );
            assert!(seen.insert(s.span_id.clone()), "ids differ between sends");
        }
    }
    assert!(EncodedRequest::new(&req, n).is_ok());
}

#[test]
fn malformed_bytes_are_an_error_not_a_panic() {
    // A resource_spans field that claims more bytes than there are, then a bad wire type.
    assert!(EncodedRequest::from_bytes(vec![0x0a, 0x05, 0x01], 0).is_err());
    assert!(EncodedRequest::from_bytes(vec![0x0f], 0).is_err());
    assert!(EncodedRequest::from_bytes(vec![0x0a, 0x80], 0).is_err());
    assert!(EncodedRequest::from_bytes(Vec::new(), 0).is_ok());
}
