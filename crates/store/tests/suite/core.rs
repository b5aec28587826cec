//! The core behaviours: writes, whole-trace reads, project isolation, logs with their traces,
//! keys, and payloads round-tripping.

use std::sync::Arc;

use sightline_core::{
    AttrValue, LogRecord, Message, ObservationKind, Payload, ProjectId, StatusCode, Usage,
    WriteBatch,
};
use sightline_store::Engine;

use super::{batch, sid, span, tid};

const P1: ProjectId = ProjectId(1);

/// Every field written comes back as written.
pub async fn round_trips_every_field(store: Arc<dyn Engine>) {
    let mut o = span(1, 1, None, ObservationKind::Llm);
    o.status = StatusCode::Error;
    o.status_message = Some("boom".into());
    o.error = Some(sightline_core::ErrorInfo {
        error_type: Some("RateLimit".into()),
        message: Some("slow down".into()),
        stacktrace: Some("at x".into()),
    });
    o.service_name = Some("svc".into());
    o.operation = Some("chat".into());
    o.provider = Some("openai".into());
    o.request_model = Some("gpt-4o".into());
    o.response_model = Some("gpt-4o-2024-08-06".into());
    o.usage = Usage {
        input: Some(10),
        output: Some(5),
        total: Some(15),
        cache_read: Some(2),
        cache_write: None,
        reasoning: Some(1),
    };
    o.finish_reasons = vec!["stop".into()];
    o.request_params
        .insert("temperature".into(), serde_json::json!(0.2));
    o.ttft_ns = Some(120);
    o.provided_cost_nano_usd = Some(1234);
    o.cost = Some(sightline_core::Cost {
        nano_usd: Some(1234),
        source: sightline_core::CostSource::Provided,
        reason: None,
    });
    o.agent_name = Some("planner".into());
    o.agent_id = Some("a-1".into());
    o.session_id = Some("s-1".into());
    o.user_id = Some("u-1".into());
    o.tenant_id = Some("t-1".into());
    o.workspace_id = Some("w-from-resource".into());
    o.tool_call_id = Some("call-1".into());
    o.tags = vec!["x".into()];
    o.input = Some(Payload::Messages(vec![Message {
        role: "user".into(),
        content: Some("hi".into()),
        ..Default::default()
    }]));
    o.output = Some(Payload::Value(serde_json::json!({"answer": 42})));
    o.attributes = vec![("custom.key".into(), AttrValue::Int(7))];
    o.links = vec![(tid(9), sid(9))];
    store.write(P1, batch(vec![o.clone()])).await.unwrap();
    let t = store.trace(P1, tid(1), true).await.unwrap().unwrap();
    assert_eq!(t.observations.len(), 1);
    let mut back = t.observations[0].clone();
    back.resource_index = o.resource_index;
    assert_eq!(back, o);
    assert_eq!(
        t.resources[0].attributes,
        vec![("service.name".to_string(), AttrValue::Str("svc".into()))]
    );
    // A workspace the span's own attributes give, and none although they name one.
    let mut named = span(1, 2, Some(1), ObservationKind::Llm);
    named.attributes = vec![("workspace.id".into(), AttrValue::Str("w-2".into()))];
    named.workspace_id = Some("w-2".into());
    let mut unnamed = span(1, 3, Some(1), ObservationKind::Llm);
    unnamed.attributes = named.attributes.clone();
    store
        .write(P1, batch(vec![named.clone(), unnamed.clone()]))
        .await
        .unwrap();
    let t = store.trace(P1, tid(1), true).await.unwrap().unwrap();
    let by_span = |s: u8| t.observations.iter().find(|o| o.span_id == sid(s)).unwrap();
    assert_eq!(by_span(2).workspace_id, named.workspace_id);
    assert_eq!(by_span(3).workspace_id, None);
}

/// Rewriting a stored span (a client retry) stores nothing twice and leaves the summary alone.
pub async fn writes_are_idempotent(store: Arc<dyn Engine>) {
    let mut llm = span(2, 2, Some(1), ObservationKind::Llm);
    llm.usage.input = Some(100);
    llm.cost = Some(sightline_core::Cost {
        nano_usd: Some(250),
        source: sightline_core::CostSource::Computed,
        reason: None,
    });
    let spans = vec![span(2, 1, None, ObservationKind::Agent), llm];
    let first = store.write(P1, batch(spans.clone())).await.unwrap();
    assert_eq!((first.observations, first.duplicates), (2, 0));
    let again = store.write(P1, batch(spans)).await.unwrap();
    assert_eq!((again.observations, again.duplicates), (0, 2));
    let t = store.trace(P1, tid(2), true).await.unwrap().unwrap();
    assert_eq!(t.observations.len(), 2);
    assert_eq!(t.summary.span_count, 2);
    assert_eq!(t.summary.input_tokens, 100);
    assert_eq!(
        t.summary.cost_nano_usd,
        Some(250),
        "retries do not count cost twice"
    );
}

/// The summary is kept current across batches, whatever order spans arrive in.
pub async fn summary_tracks_the_trace(store: Arc<dyn Engine>) {
    let mut child = span(3, 2, Some(1), ObservationKind::Llm);
    child.usage = Usage {
        input: Some(10),
        output: Some(4),
        ..Default::default()
    };
    child.status = StatusCode::Error;
    child.session_id = Some("from-child".into());
    child.end_ns = 9_000_000_000;
    store.write(P1, batch(vec![child])).await.unwrap();
    let partial = store.trace(P1, tid(3), true).await.unwrap().unwrap();
    assert_eq!(partial.summary.root_name, None, "no root yet");
    assert_eq!(partial.summary.session_id.as_deref(), Some("from-child"));

    let mut root = span(3, 1, None, ObservationKind::Agent);
    root.name = "invoke_agent planner".into();
    root.agent_name = Some("planner".into());
    root.session_id = Some("from-root".into());
    root.usage.input = Some(999); // agent spans repeat children's usage: not counted
    store.write(P1, batch(vec![root])).await.unwrap();
    let s = store
        .trace(P1, tid(3), true)
        .await
        .unwrap()
        .unwrap()
        .summary;
    assert_eq!(s.root_name.as_deref(), Some("invoke_agent planner"));
    assert_eq!(s.span_count, 2);
    assert_eq!(s.error_count, 1);
    assert_eq!(
        (s.input_tokens, s.output_tokens, s.total_tokens),
        (10, 4, 14)
    );
    assert_eq!(
        s.session_id.as_deref(),
        Some("from-root"),
        "the root's dimensions win"
    );
    assert_eq!(s.agent_name.as_deref(), Some("planner"));
    assert_eq!(s.start_ns, 1_000_001_000);
    assert_eq!(s.end_ns, 9_000_000_000);
}

/// The same trace id in two projects stays two traces.
pub async fn projects_are_isolated(store: Arc<dyn Engine>) {
    let other = store.ensure_project("other", 0).await.unwrap();
    assert_ne!(other, P1);
    store
        .write(P1, batch(vec![span(4, 1, None, ObservationKind::Span)]))
        .await
        .unwrap();
    let mut b = span(4, 2, None, ObservationKind::Span);
    b.name = "other's".into();
    store.write(other, batch(vec![b])).await.unwrap();
    let a = store.trace(P1, tid(4), true).await.unwrap().unwrap();
    let o = store.trace(other, tid(4), true).await.unwrap().unwrap();
    assert_eq!(
        a.observations
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>(),
        ["span-1"]
    );
    assert_eq!(
        o.observations
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>(),
        ["other's"]
    );
    assert!(store.trace(other, tid(1), true).await.unwrap().is_none());
}

/// Logs with a trace id come back with their trace.
pub async fn logs_correlate_with_traces(store: Arc<dyn Engine>) {
    let log = LogRecord {
        time_ns: 5,
        observed_ns: 6,
        trace_id: Some(tid(5)),
        span_id: Some(sid(1)),
        severity_number: 17,
        severity_text: Some("ERROR".into()),
        body: Some(serde_json::json!("tool failed")),
        service_name: Some("svc".into()),
        session_id: Some("s".into()),
        agent_name: Some("a".into()),
        event_name: None,
        scope_name: None,
        resource_index: 0,
        attributes: vec![("task.id".into(), AttrValue::Str("t1".into()))],
    };
    // A structured body comes back structured; a string that looks like JSON stays a string.
    let structured = LogRecord {
        time_ns: 7,
        body: Some(serde_json::json!({"event": "retry", "n": 2})),
        ..log.clone()
    };
    let json_text = LogRecord {
        time_ns: 8,
        body: Some(serde_json::json!("{\"a\":1}")),
        ..log.clone()
    };
    let mut b = batch(vec![span(5, 1, None, ObservationKind::Span)]);
    b.logs = vec![log.clone(), structured.clone(), json_text.clone()];
    let out = store.write(P1, b).await.unwrap();
    assert_eq!(out.logs, 3);
    let t = store.trace(P1, tid(5), true).await.unwrap().unwrap();
    assert_eq!(t.logs, vec![log.clone(), structured, json_text]);

    // Logs whose spans never arrived still read back as a trace with no observations.
    let orphan = LogRecord {
        trace_id: Some(tid(6)),
        ..log
    };
    store
        .write(
            P1,
            WriteBatch {
                logs: vec![orphan.clone()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let t = store.trace(P1, tid(6), true).await.unwrap().unwrap();
    assert!(t.observations.is_empty());
    assert_eq!(t.summary.span_count, 0);
    assert_eq!(t.logs.len(), 1);
}

/// Keys: stored by hash, found by hash or public key, scoped to their project.
pub async fn keys_resolve_to_their_project(store: Arc<dyn Engine>) {
    assert!(!store.has_keys().await.unwrap());
    let k = store
        .insert_key("team-a", "pk-1", "hash-1", "admin", 0)
        .await
        .unwrap();
    assert!(store.has_keys().await.unwrap());
    assert_eq!(
        store
            .key_by_secret_hash("hash-1")
            .await
            .unwrap()
            .unwrap()
            .project,
        k.project
    );
    assert_eq!(
        store
            .key_by_public("pk-1")
            .await
            .unwrap()
            .unwrap()
            .secret_hash,
        "hash-1"
    );
    assert!(store.key_by_secret_hash("nope").await.unwrap().is_none());
    let k2 = store
        .insert_key("team-a", "pk-2", "hash-2", "admin", 0)
        .await
        .unwrap();
    assert_eq!(k2.project, k.project, "a second key for the same project");
    assert_eq!(store.find_project("team-a").await.unwrap(), Some(k.project));
    assert_eq!(store.find_project("team-z").await.unwrap(), None);
    assert!(
        store
            .insert_key("team-b", "pk-1", "hash-3", "admin", 0)
            .await
            .is_err(),
        "public keys are unique"
    );
}

/// Tool arguments and results round-trip whether or not they are also the input and output.
pub async fn tool_payloads_round_trip(store: Arc<dyn Engine>) {
    let args = serde_json::json!({"city": "Paris"});
    let result = serde_json::json!({"temp_c": 21});
    let mut same = span(7, 1, None, ObservationKind::Tool);
    same.tool_arguments = Some(args.clone());
    same.tool_result = Some(result.clone());
    same.input = Some(Payload::Value(args.clone()));
    same.output = Some(Payload::Value(result.clone()));
    let mut different = span(7, 2, Some(1), ObservationKind::Tool);
    different.tool_arguments = Some(args.clone());
    different.input = Some(Payload::Value(serde_json::json!("something else")));
    different.tool_result = Some(result);
    store
        .write(P1, batch(vec![same.clone(), different.clone()]))
        .await
        .unwrap();
    let t = store.trace(P1, tid(7), true).await.unwrap().unwrap();
    assert_eq!(t.observations, vec![same, different]);
}
