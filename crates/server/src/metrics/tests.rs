//! Tests of the exposition: rendering, escaping, the label-set cap, buckets, exact decimals.

use sightline_core::{
    AttrValue, Cost, CostSource, Observation, ObservationKind, ProjectId, Resource, SpanId,
    StatusCode, TraceId, Usage, WriteBatch,
};
use sightline_store::WriteOutcome;

use sightline_core::calls::ModelCall;

use super::llm::{Histogram, Key, Table, Values};
use super::text::{escape_label, nano_decimal, Text};
use super::*;

fn call(tenant: &str, model: &str, ms: i64, nano_usd: Option<i64>) -> Observation {
    let mut o = Observation::new(TraceId([1; 16]), SpanId([2; 8]), "chat".into());
    o.kind = ObservationKind::Llm;
    o.start_ns = 1_700_000_000_000_000_000;
    o.end_ns = o.start_ns + ms * 1_000_000;
    o.tenant_id = Some(tenant.into());
    o.request_model = Some(model.into());
    o.provider = Some("openai".into());
    o.agent_name = Some("planner".into());
    o.usage = Usage {
        input: Some(100),
        output: Some(20),
        cache_read: Some(5),
        reasoning: Some(3),
        ..Default::default()
    };
    o.cost = nano_usd.map(|n| Cost {
        nano_usd: Some(n),
        source: CostSource::Computed,
        reason: None,
    });
    o
}

fn batch(observations: Vec<Observation>) -> WriteBatch {
    WriteBatch {
        resources: vec![Resource::default()],
        observations,
        ..Default::default()
    }
}

fn stored(n: usize) -> WriteOutcome {
    WriteOutcome {
        observations: n,
        ..Default::default()
    }
}

/// What the ingest service tells its listeners after committing `b`.
fn commit(m: &Metrics, project: i64, b: &WriteBatch, written: &WriteOutcome, rejected: (u64, u64)) {
    let calls = ModelCall::all_of(b);
    m.committed(&Commit {
        project: ProjectId(project),
        written,
        calls: &calls,
        rejected_spans: rejected.0,
        rejected_logs: rejected.1,
    });
}

fn feed(m: &Metrics, project: i64, observations: Vec<Observation>) {
    let n = observations.len();
    commit(m, project, &batch(observations), &stored(n), (0, 0));
}

/// The sample lines of `body` whose name is `name` and that contain every one of `parts`.
fn samples<'a>(body: &'a str, name: &str, parts: &[&str]) -> Vec<&'a str> {
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| parts.iter().all(|p| l.contains(p)))
        .collect()
}

#[test]
fn nano_amounts_render_as_exact_decimals() {
    for (n, want) in [
        (0, "0"),
        (1, "0.000000001"),
        (10_000_000, "0.01"),
        (1_500_000_000, "1.5"),
        (81_920_000_000, "81.92"),
        (2_000_000_000, "2"),
        (123_456_789_012, "123.456789012"),
        (u128::from(u64::MAX), "18446744073.709551615"),
    ] {
        assert_eq!(nano_decimal(n), want, "{n}");
    }
}

#[test]
fn label_values_and_help_are_escaped() {
    let mut s = String::new();
    escape_label("a\\b\"c\nd", &mut s);
    assert_eq!(s, r#"a\\b\"c\nd"#);

    let mut t = Text::default();
    t.family("x_total", "counter", "line one\nback\\slash \"quoted\"");
    t.sample("x_total", &[("k", "v\"1"), ("z", "")], 3);
    assert_eq!(
        t.finish(),
        "# HELP x_total line one\\nback\\\\slash \"quoted\"\n\
         # TYPE x_total counter\n\
         x_total{k=\"v\\\"1\",z=\"\"} 3\n"
    );
}

#[test]
fn latency_buckets_are_the_genai_boundaries_and_inclusive() {
    let seconds: Vec<String> = LATENCY_BUCKETS_NS
        .iter()
        .map(|&b| nano_decimal(u128::from(b)))
        .collect();
    assert_eq!(
        seconds,
        [
            "0.01", "0.02", "0.04", "0.08", "0.16", "0.32", "0.64", "1.28", "2.56", "5.12",
            "10.24", "20.48", "40.96", "81.92"
        ]
    );
    let mut h = Histogram::default();
    h.observe(10_000_000); // exactly on the first bound: counted in le="0.01"
    h.observe(10_000_001);
    h.observe(0);
    h.observe(100_000_000_000); // above every bound: only +Inf
    assert_eq!(h.buckets[0], 2);
    assert_eq!(h.buckets[1], 1);
    assert_eq!(h.buckets[LATENCY_BUCKETS_NS.len()], 1);
    assert_eq!(h.count(), 4);
    assert_eq!(h.sum_ns, 100_020_000_001);
}

#[test]
fn histogram_renders_cumulative_buckets_sum_and_count() {
    let m = Metrics::default();
    feed(
        &m,
        1,
        vec![
            call("acme", "gpt-4o", 15, None),
            call("acme", "gpt-4o", 1_000, None),
            call("acme", "gpt-4o", 90_000, None),
        ],
    );
    let body = m.render();
    let bucket = |le: &str| {
        let lines = samples(
            &body,
            "llm_latency_seconds_bucket",
            &[&format!("le=\"{le}\"")],
        );
        assert_eq!(lines.len(), 1, "{le}: {body}");
        lines[0].rsplit(' ').next().unwrap().to_owned()
    };
    assert_eq!(bucket("0.01"), "0");
    assert_eq!(bucket("0.02"), "1");
    assert_eq!(bucket("0.64"), "1");
    assert_eq!(bucket("1.28"), "2");
    assert_eq!(bucket("81.92"), "2");
    assert_eq!(bucket("+Inf"), "3");
    assert!(body.contains("} 91.015\n"), "sum in seconds: {body}");
    assert_eq!(
        samples(&body, "llm_latency_seconds_count", &["} 3"]).len(),
        1
    );
}

#[test]
fn calls_are_counted_per_label_set_with_tokens_errors_and_cost() {
    let m = Metrics::default();
    let mut failed = call("globex", "claude-3-5-sonnet", 50, Some(7));
    failed.status = StatusCode::Error;
    failed.agent_id = Some("agent-7".into());
    failed
        .attributes
        .push(("workspace.id".into(), AttrValue::Str("ws-1".into())));
    failed.workspace_id = Some("ws-1".into());
    let mut tool = call("acme", "gpt-4o", 5, Some(1_000_000_000));
    tool.kind = ObservationKind::Tool;
    feed(
        &m,
        3,
        vec![
            call("acme", "gpt-4o", 5, Some(1_250_000_000)),
            call("acme", "gpt-4o", 5, Some(250_000_001)),
            call("acme", "gpt-4o", 5, None),
            failed,
            tool,
        ],
    );
    let body = m.render();
    let acme = r#"{project="3",tenant_id="acme",workspace_id="",agent_id="planner",model="gpt-4o",provider="openai""#;
    let globex = r#"{project="3",tenant_id="globex",workspace_id="ws-1",agent_id="agent-7",model="claude-3-5-sonnet",provider="openai""#;
    for line in [
        format!("llm_requests_total{acme}}} 3"),
        format!("llm_errors_total{acme}}} 0"),
        format!("llm_cost_usd_total{acme}}} 1.500000001"),
        format!("llm_tokens_total{acme},token_type=\"input\"}} 300"),
        format!("llm_tokens_total{acme},token_type=\"output\"}} 60"),
        format!("llm_tokens_total{acme},token_type=\"cache_read\"}} 15"),
        format!("llm_tokens_total{acme},token_type=\"cache_write\"}} 0"),
        format!("llm_tokens_total{acme},token_type=\"reasoning\"}} 9"),
        format!("llm_requests_total{globex}}} 1"),
        format!("llm_errors_total{globex}}} 1"),
        format!("llm_cost_usd_total{globex}}} 0.000000007"),
    ] {
        assert!(body.lines().any(|l| l == line), "missing {line}\n{body}");
    }
    assert_eq!(
        samples(&body, "llm_requests_total", &[]).len(),
        2,
        "the tool call is not counted"
    );
    assert!(body.contains("sightline_ingest_spans_total{outcome=\"accepted\"} 5\n"));
}

#[test]
fn every_family_has_help_and_type_before_its_samples() {
    let m = Metrics::default();
    feed(&m, 1, vec![call("acme", "gpt-4o", 5, Some(1))]);
    m.request("otlp_http_traces", 200);
    let body = m.render();
    let mut declared: Vec<String> = Vec::new();
    let mut helped: Vec<String> = Vec::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped.push(rest.split(' ').next().unwrap().into());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            declared.push(rest.split(' ').next().unwrap().into());
        } else {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = declared.last().expect("a sample before any TYPE line");
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|b| b == family))
                .unwrap_or(name);
            assert_eq!(base, family, "{line}");
        }
    }
    assert_eq!(helped, declared);
    for family in [
        "llm_requests_total",
        "llm_errors_total",
        "llm_tokens_total",
        "llm_cost_usd_total",
        "llm_latency_seconds",
        "sightline_ingest_spans_total",
        "sightline_ingest_logs_total",
        "sightline_ingest_requests_total",
    ] {
        assert!(declared.iter().any(|d| d == family), "{family}");
    }
    assert!(body.contains(
        "sightline_ingest_requests_total{receiver=\"otlp_http_traces\",code=\"200\"} 1\n"
    ));
}

#[test]
fn new_label_sets_beyond_the_cap_fold_into_one_overflow_set() {
    let m = Metrics::new(3);
    for i in 0..10 {
        feed(
            &m,
            1,
            vec![call(&format!("tenant-{i}"), "gpt-4o", 5, Some(10))],
        );
    }
    // A label set kept before the cap was reached keeps counting under its own labels.
    feed(&m, 1, vec![call("tenant-0", "gpt-4o", 5, Some(10))]);
    let body = m.render();
    assert_eq!(samples(&body, "llm_requests_total", &[]).len(), 4, "{body}");
    let other = samples(
        &body,
        "llm_requests_total",
        &[r#"project="__other__",tenant_id="__other__""#],
    );
    assert_eq!(
        other,
        [
            r#"llm_requests_total{project="__other__",tenant_id="__other__",workspace_id="__other__",agent_id="__other__",model="__other__",provider="__other__"} 7"#
        ]
    );
    assert_eq!(
        samples(&body, "llm_requests_total", &["tenant-0"]),
        [
            r#"llm_requests_total{project="1",tenant_id="tenant-0",workspace_id="",agent_id="planner",model="gpt-4o",provider="openai"} 2"#
        ]
    );
    assert!(body.contains("sightline_metrics_series 3\n"));
    assert!(body.contains("sightline_metrics_overflow_calls_total 7\n"));
    assert!(body.contains("llm_cost_usd_total{project=\"__other__\""));
}

#[test]
fn a_batch_stored_before_adds_no_calls() {
    let m = Metrics::default();
    let b = batch(vec![call("acme", "gpt-4o", 5, Some(10))]);
    let retry = WriteOutcome {
        observations: 0,
        duplicates: 1,
        logs: 0,
    };
    commit(&m, 1, &b, &retry, (2, 1));
    let body = m.render();
    assert!(samples(&body, "llm_requests_total", &[]).is_empty());
    assert!(body.contains("sightline_ingest_spans_total{outcome=\"duplicate\"} 1\n"));
    assert!(body.contains("sightline_ingest_spans_total{outcome=\"rejected\"} 2\n"));
    assert!(body.contains("sightline_ingest_logs_total{outcome=\"rejected\"} 1\n"));
}

#[test]
fn the_workspace_label_is_the_observations_and_long_labels_are_cut() {
    // Normalization puts the resource's workspace on the observation (core's tests check it).
    let mut o = call(&"é".repeat(100), "m", 5, None);
    o.kind = ObservationKind::Embedding;
    o.workspace_id = Some("ws-r".into());
    let call = ModelCall::of(&o).unwrap();
    let key = Key::of(ProjectId(9), &call);
    assert_eq!(key.workspace_id, "ws-r");
    assert_eq!(key.tenant_id.len(), 128);
    assert_eq!(key.tenant_id, "é".repeat(64));
    assert_eq!(Values::of(&call).requests, 1);
    let mut t = Table::new(1);
    t.add(Calls::of(ProjectId(9), &[call]));
    assert_eq!(t.distinct(), 1);
}

#[test]
fn grpc_answers_are_counted_by_their_status() {
    let m = Metrics::default();
    let ok = axum::http::Response::new(());
    m.grpc_answer(ok);
    let mut refused = axum::http::Response::new(());
    refused
        .headers_mut()
        .insert("grpc-status", axum::http::HeaderValue::from_static("8"));
    m.grpc_answer(refused);
    let body = m.render();
    assert!(body.contains("{receiver=\"otlp_grpc\",code=\"0\"} 1\n"));
    assert!(body.contains("{receiver=\"otlp_grpc\",code=\"8\"} 1\n"));
}
