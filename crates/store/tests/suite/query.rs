//! The explore read contracts (trace and observation lists, sessions, logs, metrics, change
//! feed) checked against brute-force answers computed here from the data written. Uses only the
//! store traits, so every engine runs it.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;
use sightline_core::{
    AttrValue, ErrorInfo, Message, Observation, ObservationKind, Payload, ProjectId, StatusCode,
    TraceId,
};
use sightline_store::{
    FeedPosition, FeedQuery, LogFilter, LogQuery, MetricsQuery, ObservationFilter,
    ObservationQuery, SessionQuery, StatusFilter, TraceQuery, TraceSort,
};

use super::{batch, sid, tid, Engine};

pub const P1: ProjectId = ProjectId(1);
pub const BASE: i64 = 1_700_000_000_000_000_000;
pub const TRACES: u8 = 24;

fn str_attr(k: &str, v: &str) -> (String, AttrValue) {
    (k.into(), AttrValue::Str(v.into()))
}

fn user_says(text: String) -> Payload {
    Payload::Messages(vec![Message {
        role: "user".into(),
        content: Some(text),
        ..Default::default()
    }])
}

/// The trace dimensions of trace `t`: (service, agent, user, session, tenant).
fn dims(
    t: u8,
) -> (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
) {
    let session = match t % 4 {
        0 => Some("s1"),
        1 => Some("s2"),
        2 => Some("s3"),
        _ => None,
    };
    (
        ["svc-a", "svc-b", "svc-c"][usize::from(t % 3)],
        ["planner", "coder"][usize::from(t % 2)],
        ["u1", "u2", "u3"][usize::from(t % 3)],
        session,
        ["t1", "t2"][usize::from((t / 2) % 2)],
    )
}

/// A deterministic data set: `TRACES` traces of an agent root, an llm call and (every other
/// trace) a tool call, with ties in start times, errors, attributes, tags and payloads.
pub fn dataset() -> Vec<Observation> {
    let mut out = Vec::new();
    for t in 0..TRACES {
        let ti = i64::from(t);
        let start = BASE + (ti % 6) * 1_000_000;
        let (service, agent, user, session, tenant) = dims(t);
        let mut spans = Vec::new();

        let mut root = Observation::new(tid(t + 1), sid(1), format!("run-{}", t % 3));
        root.kind = ObservationKind::Agent;
        root.start_ns = start;
        root.end_ns = start + 10_000 + (ti * 7919 % 13) * 1000;
        root.operation = Some("invoke_agent".into());
        if t % 5 != 0 {
            let city = ["Paris", "Tokyo", "Lima"][usize::from(t % 3)];
            root.input = Some(user_says(format!("Question {t}: weather in {city}")));
            root.output = Some(Payload::Value(json!({"answer": format!("Sunny {t}")})));
        }
        spans.push(root);

        let mut llm = Observation::new(tid(t + 1), sid(2), "chat".into());
        llm.parent_span_id = Some(sid(1));
        llm.kind = ObservationKind::Llm;
        llm.start_ns = start + 100;
        llm.end_ns = llm.start_ns + (ti * 31 % 7 + 1) * 500;
        llm.operation = Some("chat".into());
        llm.request_model = Some(["gpt-4o", "claude-3"][usize::from(t % 2)].into());
        llm.provider = Some(["openai", "anthropic"][usize::from(t % 2)].into());
        llm.usage.input = Some(10 * ti);
        llm.usage.output = Some(ti);
        llm.usage.total = (t % 2 == 0).then_some(11 * ti);
        if t % 3 != 0 {
            llm.cost = Some(sightline_core::Cost {
                nano_usd: Some(ti * 100),
                source: sightline_core::CostSource::Computed,
                reason: None,
            });
        }
        if t % 4 == 1 {
            llm.status = StatusCode::Error;
        }
        llm.attributes = vec![
            str_attr("env", ["prod", "dev"][usize::from(t % 2)]),
            ("retries".into(), AttrValue::Int(ti % 3)),
        ];
        if t % 2 == 0 {
            llm.tags.push("beta".into());
        }
        if t % 3 == 0 {
            llm.tags.push("gold".into());
        }
        llm.input = Some(user_says(format!("Translate HELLO world {t}")));
        llm.output = Some(Payload::Messages(vec![Message {
            role: "assistant".into(),
            content: Some(format!("Bonjour {t}")),
            ..Default::default()
        }]));
        spans.push(llm);

        if t % 2 == 0 {
            let mut tool = Observation::new(tid(t + 1), sid(3), "search".into());
            tool.parent_span_id = Some(sid(1));
            tool.kind = ObservationKind::Tool;
            tool.start_ns = start + 2000;
            tool.end_ns = tool.start_ns + 300 * (ti % 4 + 1);
            tool.operation = Some("execute_tool".into());
            if t % 6 == 0 {
                tool.error = Some(ErrorInfo {
                    error_type: Some("Timeout".into()),
                    ..Default::default()
                });
            }
            tool.attributes = vec![
                str_attr("env", "prod"),
                ("flag".into(), AttrValue::Bool(true)),
            ];
            let args = json!({"query": format!("Lookup MARKET {t}")});
            tool.tool_arguments = Some(args.clone());
            tool.input = Some(Payload::Value(args));
            spans.push(tool);
        }
        for s in &mut spans {
            s.service_name = Some(service.into());
            s.agent_name = Some(agent.into());
            s.user_id = Some(user.into());
            s.session_id = session.map(str::to_owned);
            s.tenant_id = Some(tenant.into());
        }
        out.extend(spans);
    }
    out
}

pub async fn load(store: &Arc<dyn Engine>, project: ProjectId, obs: &[Observation]) {
    // Two batches: the summary must be right whichever batch a trace's spans arrive in.
    let (a, b) = obs.split_at(obs.len() / 2);
    store.write(project, batch(a.to_vec())).await.unwrap();
    store.write(project, batch(b.to_vec())).await.unwrap();
}

// ---- brute force ----

fn payload_has(p: &Option<Payload>, q: &str) -> bool {
    fn json_has(v: &serde_json::Value, q: &str) -> bool {
        match v {
            serde_json::Value::String(s) => s.to_lowercase().contains(q),
            serde_json::Value::Array(a) => a.iter().any(|x| json_has(x, q)),
            serde_json::Value::Object(o) => o.values().any(|x| json_has(x, q)),
            _ => false,
        }
    }
    match p {
        None => false,
        Some(Payload::Value(v)) => json_has(v, q),
        Some(Payload::Messages(m)) => m.iter().any(|m| {
            m.content
                .as_deref()
                .unwrap_or("")
                .to_lowercase()
                .contains(q)
        }),
    }
}

fn attr_text(v: &AttrValue) -> String {
    match v {
        AttrValue::Str(s) => s.clone(),
        other => other.to_json().to_string(),
    }
}

/// The fields a trace list tests on single observations.
fn per_observation_match(o: &Observation, f: &ObservationFilter) -> bool {
    let eq = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
    f.kind.is_none_or(|k| o.kind == k)
        && f.name.as_ref().is_none_or(|n| *n == o.name)
        && eq(&f.service, &o.service_name)
        && eq(&f.agent, &o.agent_name)
        && eq(&f.model, &o.model().map(str::to_owned))
        && eq(&f.provider, &o.provider)
        && eq(&f.user_id, &o.user_id)
        && eq(&f.session_id, &o.session_id)
        && eq(&f.tenant_id, &o.tenant_id)
        && f.attributes.iter().all(|(k, v)| {
            o.attributes
                .iter()
                .any(|(ok, ov)| ok == k && attr_text(ov) == *v)
        })
        && f.tags.iter().all(|t| o.tags.contains(t))
        && f.text.as_ref().is_none_or(|q| {
            let q = q.to_lowercase();
            o.name.to_lowercase().contains(&q)
                || payload_has(&o.input, &q)
                || payload_has(&o.output, &q)
        })
}

pub fn obs_match(o: &Observation, f: &ObservationFilter) -> bool {
    f.from_ns.is_none_or(|from| o.start_ns >= from)
        && f.to_ns.is_none_or(|to| o.start_ns < to)
        && f.trace_id.is_none_or(|t| o.trace_id == t)
        && match f.status {
            StatusFilter::Any => true,
            StatusFilter::Error => o.is_error(),
            StatusFilter::Ok => !o.is_error(),
        }
        && f.min_duration_ns.is_none_or(|d| o.end_ns - o.start_ns >= d)
        && per_observation_match(o, f)
}

pub fn counts_usage(o: &Observation) -> bool {
    matches!(o.kind, ObservationKind::Llm | ObservationKind::Embedding)
}

pub fn total_of(o: &Observation) -> i64 {
    o.usage
        .total
        .unwrap_or(o.usage.input.unwrap_or(0) + o.usage.output.unwrap_or(0))
}

/// (trace id, start, end, total tokens, cost, errors) per trace.
struct Brute {
    id: TraceId,
    start: i64,
    end: i64,
    tokens: i64,
    cost: Option<i64>,
    errors: i64,
}

fn brute_traces(obs: &[Observation]) -> Vec<Brute> {
    let ids: BTreeSet<TraceId> = obs.iter().map(|o| o.trace_id).collect();
    ids.into_iter()
        .map(|id| {
            let spans: Vec<&Observation> = obs.iter().filter(|o| o.trace_id == id).collect();
            let model_calls = spans.iter().filter(|o| counts_usage(o));
            let costs: Vec<i64> = model_calls
                .clone()
                .filter_map(|o| o.cost.as_ref().and_then(|c| c.nano_usd))
                .collect();
            Brute {
                id,
                start: spans.iter().map(|o| o.start_ns).min().unwrap(),
                end: spans.iter().map(|o| o.end_ns).max().unwrap(),
                tokens: model_calls.map(|o| total_of(o)).sum(),
                cost: (!costs.is_empty()).then(|| costs.iter().sum()),
                errors: spans.iter().filter(|o| o.is_error()).count() as i64,
            }
        })
        .collect()
}

fn sort_key(b: &Brute, sort: TraceSort) -> i64 {
    match sort {
        TraceSort::Start => b.start,
        TraceSort::Duration => b.end - b.start,
        TraceSort::Tokens => b.tokens,
        TraceSort::Cost => b.cost.unwrap_or(-1),
    }
}

fn expected_traces(obs: &[Observation], q: &TraceQuery) -> Vec<String> {
    let f = &q.filter;
    let mut rows: Vec<Brute> = brute_traces(obs)
        .into_iter()
        .filter(|b| {
            f.from_ns.is_none_or(|from| b.start >= from)
                && f.to_ns.is_none_or(|to| b.start < to)
                && f.trace_id.is_none_or(|t| t == b.id)
                && f.min_duration_ns.is_none_or(|d| b.end - b.start >= d)
                && match f.status {
                    StatusFilter::Any => true,
                    StatusFilter::Error => b.errors > 0,
                    StatusFilter::Ok => b.errors == 0,
                }
                && obs
                    .iter()
                    .any(|o| o.trace_id == b.id && per_observation_match(o, f))
        })
        .collect();
    rows.sort_by_key(|b| (sort_key(b, q.sort), b.id));
    if q.descending {
        rows.reverse();
    }
    rows.into_iter().map(|b| b.id.to_hex()).collect()
}

/// Every trace id of the query, paging `page` at a time; no page may repeat a row.
pub async fn all_trace_pages(
    store: &Arc<dyn Engine>,
    project: ProjectId,
    q: &TraceQuery,
    page: usize,
) -> Vec<String> {
    let mut q = TraceQuery {
        limit: page,
        ..q.clone()
    };
    let mut out = Vec::new();
    for _ in 0..1000 {
        let p = store.list_traces(project, &q).await.unwrap();
        assert!(p.traces.len() <= page);
        out.extend(p.traces.iter().map(|t| t.trace_id.clone()));
        match p.next {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
    panic!("pagination did not end");
}

/// The filters every list is checked with; each narrows the data set (checked below).
pub fn filters() -> Vec<(&'static str, ObservationFilter)> {
    let f = ObservationFilter::default;
    vec![
        (
            "from",
            ObservationFilter {
                from_ns: Some(BASE + 3_000_000),
                ..f()
            },
        ),
        (
            "to",
            ObservationFilter {
                to_ns: Some(BASE + 2_000_000),
                ..f()
            },
        ),
        (
            "window",
            ObservationFilter {
                from_ns: Some(BASE + 1_000_000),
                to_ns: Some(BASE + 3_000_000),
                ..f()
            },
        ),
        (
            "trace_id",
            ObservationFilter {
                trace_id: Some(tid(5)),
                ..f()
            },
        ),
        (
            "kind",
            ObservationFilter {
                kind: Some(ObservationKind::Tool),
                ..f()
            },
        ),
        (
            "name",
            ObservationFilter {
                name: Some("run-1".into()),
                ..f()
            },
        ),
        (
            "service",
            ObservationFilter {
                service: Some("svc-b".into()),
                ..f()
            },
        ),
        (
            "agent",
            ObservationFilter {
                agent: Some("coder".into()),
                ..f()
            },
        ),
        (
            "model",
            ObservationFilter {
                model: Some("claude-3".into()),
                ..f()
            },
        ),
        (
            "provider",
            ObservationFilter {
                provider: Some("openai".into()),
                ..f()
            },
        ),
        (
            "user_id",
            ObservationFilter {
                user_id: Some("u3".into()),
                ..f()
            },
        ),
        (
            "session_id",
            ObservationFilter {
                session_id: Some("s2".into()),
                ..f()
            },
        ),
        (
            "tenant_id",
            ObservationFilter {
                tenant_id: Some("t2".into()),
                ..f()
            },
        ),
        (
            "status error",
            ObservationFilter {
                status: StatusFilter::Error,
                ..f()
            },
        ),
        (
            "status ok",
            ObservationFilter {
                status: StatusFilter::Ok,
                ..f()
            },
        ),
        (
            "min duration",
            ObservationFilter {
                min_duration_ns: Some(15_000),
                ..f()
            },
        ),
        (
            "attribute",
            ObservationFilter {
                attributes: vec![("env".into(), "dev".into())],
                ..f()
            },
        ),
        (
            "int and bool attributes",
            ObservationFilter {
                attributes: vec![("retries".into(), "2".into())],
                ..f()
            },
        ),
        (
            "bool attribute",
            ObservationFilter {
                attributes: vec![("flag".into(), "true".into())],
                ..f()
            },
        ),
        (
            "tag",
            ObservationFilter {
                tags: vec!["gold".into()],
                ..f()
            },
        ),
        (
            "two tags",
            ObservationFilter {
                tags: vec!["gold".into(), "beta".into()],
                ..f()
            },
        ),
        (
            "text in input",
            ObservationFilter {
                text: Some("PARIS".into()),
                ..f()
            },
        ),
        (
            "text in output",
            ObservationFilter {
                text: Some("sunny 1".into()),
                ..f()
            },
        ),
        (
            "text in name",
            ObservationFilter {
                text: Some("Run-2".into()),
                ..f()
            },
        ),
        (
            "text in a value",
            ObservationFilter {
                text: Some("market 1".into()),
                ..f()
            },
        ),
        (
            "kind and tag",
            ObservationFilter {
                kind: Some(ObservationKind::Llm),
                tags: vec!["beta".into()],
                status: StatusFilter::Ok,
                ..f()
            },
        ),
    ]
}

/// Every trace filter selects exactly what the contract says, in every sort.
pub async fn trace_list_filters_and_sorts(store: Arc<dyn Engine>) {
    let obs = dataset();
    load(&store, P1, &obs).await;
    let total = usize::from(TRACES);
    for (what, filter) in filters() {
        let q = TraceQuery {
            filter,
            descending: true,
            ..Default::default()
        };
        let want = expected_traces(&obs, &q);
        assert!(
            !want.is_empty() && want.len() < total,
            "{what}: the case must narrow the list ({} of {total})",
            want.len()
        );
        assert_eq!(all_trace_pages(&store, P1, &q, 5).await, want, "{what}");
    }
    // One observation must match every per-observation field: tools have no `retries`.
    let split = TraceQuery {
        filter: ObservationFilter {
            kind: Some(ObservationKind::Tool),
            attributes: vec![("retries".into(), "1".into())],
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(expected_traces(&obs, &split).is_empty());
    assert!(all_trace_pages(&store, P1, &split, 5).await.is_empty());

    for sort in [
        TraceSort::Start,
        TraceSort::Duration,
        TraceSort::Tokens,
        TraceSort::Cost,
    ] {
        for descending in [true, false] {
            let q = TraceQuery {
                sort,
                descending,
                ..Default::default()
            };
            let want = expected_traces(&obs, &q);
            assert_eq!(want.len(), total);
            for page in [1, 4, 7, 100] {
                assert_eq!(
                    all_trace_pages(&store, P1, &q, page).await,
                    want,
                    "{sort:?} descending={descending} page={page}"
                );
            }
        }
    }
    // The last full page says nothing follows only when nothing does.
    let exact = store
        .list_traces(
            P1,
            &TraceQuery {
                limit: total,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(exact.traces.len(), total);
    assert!(exact.next.is_none());
    let short = store
        .list_traces(
            P1,
            &TraceQuery {
                limit: total - 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(short.next.is_some());
}

fn obs_key(o: &Observation) -> (i64, TraceId, sightline_core::SpanId) {
    (o.start_ns, o.trace_id, o.span_id)
}

/// Every observation filter and both orders, paged, against brute force; payloads on demand.
pub async fn observation_list_filters_and_pages(store: Arc<dyn Engine>) {
    let obs = dataset();
    load(&store, P1, &obs).await;
    for (what, filter) in filters() {
        for descending in [true, false] {
            let mut want: Vec<&Observation> =
                obs.iter().filter(|o| obs_match(o, &filter)).collect();
            want.sort_by_key(|o| obs_key(o));
            if descending {
                want.reverse();
            }
            assert!(
                !want.is_empty() && want.len() < obs.len(),
                "{what}: the case must narrow the list"
            );
            let mut q = ObservationQuery {
                filter: filter.clone(),
                descending,
                limit: 3,
                after: None,
                payloads: true,
            };
            let mut got = Vec::new();
            loop {
                let page = store.list_observations(P1, &q).await.unwrap();
                for o in page.observations {
                    let res = &page.resources[o.resource_index];
                    assert_eq!(res.attributes[0].0, "service.name");
                    got.push(o);
                }
                match page.next {
                    Some(c) => q.after = Some(c),
                    None => break,
                }
            }
            let got_keys: Vec<_> = got.iter().map(obs_key).collect();
            let want_keys: Vec<_> = want.iter().map(|o| obs_key(o)).collect();
            assert_eq!(got_keys, want_keys, "{what} descending={descending}");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g.input, w.input, "{what}: payloads were asked for");
                assert_eq!(g.attributes, w.attributes);
            }
        }
    }
    let lean = store
        .list_observations(
            P1,
            &ObservationQuery {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(lean.observations.len(), obs.len());
    assert!(lean.next.is_none());
    assert!(lean
        .observations
        .iter()
        .all(|o| o.input.is_none() && o.output.is_none()));

    let one = &obs[4];
    let (resource, got) = store
        .observation(P1, one.trace_id, one.span_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.resource_index, 0);
    assert_eq!(resource.attributes[0].0, "service.name");
    let mut want = one.clone();
    want.resource_index = 0;
    assert_eq!(
        got, want,
        "one observation comes back whole, payload included"
    );
    assert!(store
        .observation(P1, one.trace_id, sid(99))
        .await
        .unwrap()
        .is_none());
}

/// The same trace id in two projects: every read in one project sees only its own rows.
pub async fn explore_reads_are_isolated_by_project(store: Arc<dyn Engine>) {
    let other = store.ensure_project("other", 0).await.unwrap();
    let obs = dataset();
    load(&store, P1, &obs).await;
    let mut theirs = Observation::new(tid(1), sid(1), "theirs".into());
    theirs.start_ns = BASE;
    theirs.end_ns = BASE + 1;
    theirs.session_id = Some("s1".into());
    theirs.kind = ObservationKind::Llm;
    let mut b = batch(vec![theirs]);
    b.logs = vec![super::query_more::log(BASE, 17, "theirs")];
    store.write(other, b).await.unwrap();

    let all = TraceQuery {
        limit: 1000,
        ..Default::default()
    };
    let mine = store.list_traces(P1, &all).await.unwrap().traces;
    assert_eq!(mine.len(), usize::from(TRACES));
    assert!(mine
        .iter()
        .all(|t| t.root_name.as_deref() != Some("theirs")));
    let t1 = mine.iter().find(|t| t.trace_id == tid(1).to_hex()).unwrap();
    assert_eq!(t1.span_count, 3, "the other project's span is not counted");
    let theirs_list = store.list_traces(other, &all).await.unwrap().traces;
    assert_eq!(theirs_list.len(), 1);
    assert_eq!(theirs_list[0].root_name.as_deref(), Some("theirs"));
    let named = ObservationQuery {
        filter: ObservationFilter {
            name: Some("theirs".into()),
            ..Default::default()
        },
        limit: 10,
        ..Default::default()
    };
    assert!(store
        .list_observations(P1, &named)
        .await
        .unwrap()
        .observations
        .is_empty());
    assert_eq!(
        store
            .list_observations(other, &named)
            .await
            .unwrap()
            .observations
            .len(),
        1
    );
    assert!(store
        .observation(other, tid(2), sid(1))
        .await
        .unwrap()
        .is_none());
    let (_, o) = store
        .observation(other, tid(1), sid(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.name, "theirs");

    let s1 = store.session(other, "s1", 100).await.unwrap().unwrap();
    assert_eq!(s1.summary.trace_count, 1);
    let sessions = store
        .list_sessions(
            other,
            &SessionQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(sessions.sessions.len(), 1);
    assert!(store.session(other, "s2", 100).await.unwrap().is_none());

    let logs = LogQuery {
        limit: 100,
        ..Default::default()
    };
    assert!(store.list_logs(P1, &logs).await.unwrap().logs.is_empty());
    assert_eq!(store.list_logs(other, &logs).await.unwrap().logs.len(), 1);

    let m = MetricsQuery {
        filter: ObservationFilter::default(),
        from_ns: BASE,
        to_ns: BASE + 100_000_000,
        bucket_ns: 1_000_000_000,
        group_by: None,
    };
    assert_eq!(
        store.metrics(other, &m).await.unwrap().points[0].requests,
        1
    );
    assert_eq!(
        store.metrics(P1, &m).await.unwrap().points[0].requests,
        obs.len() as i64
    );

    let feed = FeedQuery {
        after: FeedPosition::default(),
        observations: Some(ObservationFilter::default()),
        logs: Some(LogFilter::default()),
        limit: 1000,
    };
    let f = store.feed(other, &feed).await.unwrap();
    assert_eq!(f.observations.len(), 1);
    assert_eq!(f.observations[0].1.name, "theirs");
    assert_eq!(f.logs.len(), 1);
    let f = store.feed(P1, &feed).await.unwrap();
    assert_eq!(f.observations.len(), obs.len());
    assert!(f.logs.is_empty());
}
