//! The explore contracts beyond traces and observations: sessions, logs, metrics and the change
//! feed, against brute-force answers. Uses only the store traits.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::json;
use sightline_core::{LogRecord, Observation, ObservationKind, Payload, WriteBatch};
use sightline_store::{
    Engine, FeedPosition, FeedQuery, GroupBy, LogFilter, LogQuery, MetricPoint, MetricsQuery,
    ObservationFilter, SessionQuery, SessionSummary, StatusFilter,
};

use super::query_data::{counts_usage, dataset, load, obs_match, total_of, BASE, P1};
use super::{batch, tid};

pub fn log(time_ns: i64, severity: i32, body: &str) -> LogRecord {
    LogRecord {
        time_ns,
        observed_ns: time_ns,
        trace_id: None,
        span_id: None,
        severity_number: severity,
        severity_text: None,
        body: Some(json!(body)),
        service_name: None,
        session_id: None,
        agent_name: None,
        event_name: None,
        scope_name: None,
        resource_index: 0,
        attributes: Vec::new(),
    }
}

fn expected_sessions(obs: &[Observation]) -> Vec<SessionSummary> {
    let mut by: BTreeMap<String, SessionSummary> = BTreeMap::new();
    let mut traces: BTreeMap<String, BTreeMap<_, (i64, i64)>> = BTreeMap::new();
    for o in obs {
        let Some(session) = &o.session_id else {
            continue;
        };
        let s = by.entry(session.clone()).or_insert_with(|| SessionSummary {
            session_id: session.clone(),
            ..Default::default()
        });
        s.span_count += 1;
        s.error_count += i64::from(o.is_error());
        if matches!(o.kind, ObservationKind::Llm | ObservationKind::Embedding) {
            s.input_tokens += o.usage.input.unwrap_or(0);
            s.output_tokens += o.usage.output.unwrap_or(0);
            s.total_tokens += o
                .usage
                .total
                .unwrap_or(o.usage.input.unwrap_or(0) + o.usage.output.unwrap_or(0));
            if let Some(c) = o.cost.as_ref().and_then(|c| c.nano_usd) {
                s.cost_nano_usd = Some(s.cost_nano_usd.unwrap_or(0) + c);
            }
        }
        if let Some(u) = &o.user_id {
            if !s.user_ids.contains(u) {
                s.user_ids.push(u.clone());
                s.user_ids.sort();
            }
        }
        let span = traces
            .entry(session.clone())
            .or_default()
            .entry(o.trace_id)
            .or_insert((o.start_ns, o.end_ns));
        span.0 = span.0.min(o.start_ns);
        span.1 = span.1.max(o.end_ns);
    }
    let mut out: Vec<SessionSummary> = by
        .into_values()
        .map(|mut s| {
            let t = &traces[&s.session_id];
            s.trace_count = t.len() as i64;
            s.first_seen_ns = t.values().map(|v| v.0).min().unwrap();
            s.last_seen_ns = t.values().map(|v| v.1).max().unwrap();
            s
        })
        .collect();
    out.sort_by(|a, b| (b.last_seen_ns, &b.session_id).cmp(&(a.last_seen_ns, &a.session_id)));
    out
}

async fn all_sessions(store: &Arc<dyn Engine>, q: SessionQuery) -> Vec<SessionSummary> {
    let mut q = SessionQuery { limit: 1, ..q };
    let mut out = Vec::new();
    for _ in 0..100 {
        let page = store.list_sessions(P1, &q).await.unwrap();
        out.extend(page.sessions);
        match page.next {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
    panic!("session pages did not end");
}

/// Session aggregates, filters, pages and turns.
pub async fn sessions_aggregate_their_traces(store: Arc<dyn Engine>) {
    let mut obs = dataset();
    let mut solo = Observation::new(tid(200), super::sid(1), "solo".into());
    solo.start_ns = BASE + 50_000_000;
    solo.end_ns = solo.start_ns + 5;
    solo.session_id = Some("s9".into());
    solo.user_id = Some("solo-user".into());
    solo.tenant_id = Some("t9".into());
    obs.push(solo);
    load(&store, P1, &obs).await;
    let want = expected_sessions(&obs);
    assert_eq!(want.len(), 4);
    assert!(want.iter().any(|s| s.user_ids.len() > 1));
    assert_eq!(all_sessions(&store, SessionQuery::default()).await, want);

    let pick = |f: &dyn Fn(&SessionSummary) -> bool| -> Vec<SessionSummary> {
        want.iter().filter(|s| f(s)).cloned().collect()
    };
    let cut = want[1].last_seen_ns;
    let cases: Vec<(SessionQuery, Vec<SessionSummary>)> = vec![
        (
            SessionQuery {
                from_ns: Some(cut),
                ..Default::default()
            },
            pick(&|s| s.last_seen_ns >= cut),
        ),
        (
            SessionQuery {
                to_ns: Some(BASE + 1),
                ..Default::default()
            },
            pick(&|s| s.first_seen_ns < BASE + 1),
        ),
        (
            SessionQuery {
                user_id: Some("solo-user".into()),
                ..Default::default()
            },
            pick(&|s| s.session_id == "s9"),
        ),
        (
            SessionQuery {
                tenant_id: Some("t2".into()),
                ..Default::default()
            },
            pick(&|s| s.session_id == "s3"),
        ),
    ];
    for (q, expected) in cases {
        assert!(!expected.is_empty() && expected.len() < want.len(), "{q:?}");
        assert_eq!(all_sessions(&store, q.clone()).await, expected, "{q:?}");
    }

    let detail = store.session(P1, "s1", 100).await.unwrap().unwrap();
    assert_eq!(
        detail.summary,
        want.iter().find(|s| s.session_id == "s1").unwrap().clone()
    );
    let mut ids: Vec<(i64, String)> = Vec::new();
    for t in (0..super::query_data::TRACES).filter(|t| t % 4 == 0) {
        let root = obs
            .iter()
            .find(|o| o.trace_id == tid(t + 1) && o.parent_span_id.is_none());
        ids.push((root.unwrap().start_ns, tid(t + 1).to_hex()));
    }
    ids.sort();
    let got: Vec<(i64, String)> = detail
        .turns
        .iter()
        .map(|t| (t.trace.start_ns, t.trace.trace_id.clone()))
        .collect();
    assert_eq!(got, ids, "turns in start order");
    for turn in &detail.turns {
        let spans: Vec<&Observation> = obs
            .iter()
            .filter(|o| o.trace_id.to_hex() == turn.trace.trace_id)
            .collect();
        let root = spans.iter().find(|o| o.parent_span_id.is_none()).unwrap();
        // Roots without a payload fall back to the earliest observation that has one (the llm).
        let source = if root.input.is_some() {
            root
        } else {
            spans
                .iter()
                .find(|o| o.kind == ObservationKind::Llm)
                .unwrap()
        };
        assert_eq!(turn.input, source.input);
        assert_eq!(turn.output, source.output);
        assert!(matches!(turn.input, Some(Payload::Messages(_))));
    }
    let two = store.session(P1, "s1", 2).await.unwrap().unwrap();
    assert_eq!(two.turns, detail.turns[..2].to_vec(), "the earliest turns");
    assert!(store.session(P1, "nope", 10).await.unwrap().is_none());
}

fn log_set() -> Vec<LogRecord> {
    (0..30i64)
        .map(|i| {
            let mut l = log(
                BASE + (i % 7) * 1000,
                [5, 9, 13, 17, 21][(i % 5) as usize],
                &format!(
                    "Connection {} to host {i}",
                    ["REFUSED", "ok"][(i % 2) as usize]
                ),
            );
            if i % 4 == 0 {
                l.body = Some(json!({"msg": format!("Retry {i}")}));
            }
            l.service_name = Some(["svc-a", "svc-b"][(i % 2) as usize].into());
            l.agent_name = Some(["planner", "coder", "critic"][(i % 3) as usize].into());
            l.trace_id = (i % 2 == 0).then(|| tid((i % 4 + 1) as u8));
            l.session_id = (i % 3 == 0).then(|| "s1".into());
            l
        })
        .collect()
}

fn log_matches(l: &LogRecord, f: &LogFilter) -> bool {
    let body = match &l.body {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    f.from_ns.is_none_or(|v| l.time_ns >= v)
        && f.to_ns.is_none_or(|v| l.time_ns < v)
        && f.min_severity.is_none_or(|v| l.severity_number >= v)
        && f.service
            .as_ref()
            .is_none_or(|v| Some(v) == l.service_name.as_ref())
        && f.agent
            .as_ref()
            .is_none_or(|v| Some(v) == l.agent_name.as_ref())
        && f.trace_id.is_none_or(|v| Some(v) == l.trace_id)
        && f.session_id
            .as_ref()
            .is_none_or(|v| Some(v) == l.session_id.as_ref())
        && f.text
            .as_ref()
            .is_none_or(|q| body.to_lowercase().contains(&q.to_lowercase()))
}

/// Every log filter, both orders, paged, against brute force.
pub async fn logs_filter_and_page(store: Arc<dyn Engine>) {
    let logs = log_set();
    store
        .write(
            P1,
            WriteBatch {
                logs: logs.clone(),
                ..batch(Vec::new())
            },
        )
        .await
        .unwrap();
    let f = LogFilter::default;
    let cases = vec![
        LogFilter {
            from_ns: Some(BASE + 3000),
            ..f()
        },
        LogFilter {
            to_ns: Some(BASE + 3000),
            ..f()
        },
        LogFilter {
            min_severity: Some(13),
            ..f()
        },
        LogFilter {
            service: Some("svc-b".into()),
            ..f()
        },
        LogFilter {
            agent: Some("critic".into()),
            ..f()
        },
        LogFilter {
            trace_id: Some(tid(3)),
            ..f()
        },
        LogFilter {
            session_id: Some("s1".into()),
            ..f()
        },
        LogFilter {
            text: Some("refused".into()),
            ..f()
        },
        LogFilter {
            text: Some("RETRY 1".into()),
            ..f()
        },
        LogFilter {
            min_severity: Some(9),
            service: Some("svc-a".into()),
            ..f()
        },
    ];
    for filter in cases {
        for descending in [false, true] {
            // Storage order breaks ties in time: these logs were written in index order.
            let mut want: Vec<(i64, usize, &LogRecord)> = logs
                .iter()
                .enumerate()
                .filter(|(_, l)| log_matches(l, &filter))
                .map(|(i, l)| (l.time_ns, i, l))
                .collect();
            want.sort_by_key(|w| (w.0, w.1));
            if descending {
                want.reverse();
            }
            assert!(!want.is_empty() && want.len() < logs.len(), "{filter:?}");
            let mut q = LogQuery {
                filter: filter.clone(),
                descending,
                limit: 4,
                after: None,
            };
            let mut got = Vec::new();
            loop {
                let page = store.list_logs(P1, &q).await.unwrap();
                assert_eq!(page.resources.len(), usize::from(!page.logs.is_empty()));
                got.extend(page.logs);
                match page.next {
                    Some(c) => q.after = Some(c),
                    None => break,
                }
            }
            let want: Vec<LogRecord> = want.into_iter().map(|w| w.2.clone()).collect();
            assert_eq!(got, want, "{filter:?} descending={descending}");
        }
    }
}

/// Buckets, groups, percentiles, errors, tokens and cost against brute force.
pub async fn metrics_match_brute_force(store: Arc<dyn Engine>) {
    let obs = dataset();
    load(&store, P1, &obs).await;
    let groups = [
        None,
        Some(GroupBy::Service),
        Some(GroupBy::Agent),
        Some(GroupBy::Model),
        Some(GroupBy::Provider),
        Some(GroupBy::Operation),
        Some(GroupBy::Kind),
    ];
    let filters = [
        ObservationFilter::default(),
        ObservationFilter {
            status: StatusFilter::Error,
            ..Default::default()
        },
        ObservationFilter {
            kind: Some(ObservationKind::Llm),
            ..Default::default()
        },
    ];
    // Window edges on exact start times: the start is inside, the end is outside.
    let windows = [
        (BASE + 1_000_000, BASE + 4_000_000),
        (BASE, BASE + 10_000_000),
    ];
    for group_by in groups {
        for filter in &filters {
            for (from_ns, to_ns) in windows {
                for bucket_ns in [1_000_000, 700_000, 1_000_000_000] {
                    let q = MetricsQuery {
                        filter: filter.clone(),
                        from_ns,
                        to_ns,
                        bucket_ns,
                        group_by,
                    };
                    let want = expected_metrics(&obs, &q);
                    assert!(!want.is_empty());
                    assert_eq!(store.metrics(P1, &q).await.unwrap().points, want, "{q:?}");
                }
            }
        }
    }
    // The checks above are not vacuous: one bucket with many durations, errors, cost.
    let q = MetricsQuery {
        filter: ObservationFilter::default(),
        from_ns: BASE,
        to_ns: BASE + 10_000_000,
        bucket_ns: 1_000_000_000,
        group_by: None,
    };
    let all = store.metrics(P1, &q).await.unwrap().points;
    assert_eq!(all.len(), 1);
    let p = &all[0];
    assert_eq!(p.requests, obs.len() as i64);
    assert!(p.errors > 0 && p.total_tokens > 0 && p.cost_nano_usd.is_some());
    assert!(p.latency_p50_ns < p.latency_p95_ns);
    let by_model = store
        .metrics(
            P1,
            &MetricsQuery {
                group_by: Some(GroupBy::Model),
                ..q.clone()
            },
        )
        .await
        .unwrap()
        .points;
    assert!(
        by_model.iter().any(|p| p.group.is_none()),
        "roots have no model"
    );
    assert!(by_model
        .iter()
        .any(|p| p.group.as_deref() == Some("gpt-4o-2024-08-06")));
}

/// The feed: positions grow, filters apply, resuming loses nothing, rewrites add nothing.
pub async fn feed_resumes_without_loss(store: Arc<dyn Engine>) {
    let head0 = store.feed_head(P1).await.unwrap();
    assert_eq!(
        head0,
        FeedPosition::default(),
        "an empty store's feed is at 0"
    );
    let obs = dataset();
    let (a, b) = obs.split_at(obs.len() / 2);
    let mut first = batch(a.to_vec());
    first.logs = vec![log(BASE, 9, "first"), log(BASE, 17, "first error")];
    store.write(P1, first.clone()).await.unwrap();

    let everything = |after| FeedQuery {
        after,
        observations: Some(ObservationFilter::default()),
        logs: Some(LogFilter::default()),
        limit: 1000,
    };
    let got = store.feed(P1, &everything(head0)).await.unwrap();
    assert_eq!(got.observations.len(), a.len());
    assert_eq!(got.logs.len(), 2);
    assert!(!got.more);
    assert!(
        got.observations.windows(2).all(|w| w[0].0 < w[1].0),
        "positions grow"
    );
    assert!(got.logs.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(
        got.observations.iter().all(|(_, o)| o.input.is_none()),
        "no payloads"
    );
    let names: std::collections::BTreeSet<_> = got
        .observations
        .iter()
        .map(|(_, o)| (o.trace_id, o.span_id))
        .collect();
    assert_eq!(names, a.iter().map(|o| (o.trace_id, o.span_id)).collect());
    let pos1 = got.position;
    assert_eq!(pos1.observations, got.observations.last().unwrap().0);
    assert_eq!(pos1, store.feed_head(P1).await.unwrap());
    let nothing = store.feed(P1, &everything(pos1)).await.unwrap();
    assert!(nothing.observations.is_empty() && nothing.logs.is_empty() && !nothing.more);

    // A client retry stores nothing new, so the feed has nothing new.
    store.write(P1, batch(a.to_vec())).await.unwrap();
    assert!(store
        .feed(P1, &everything(pos1))
        .await
        .unwrap()
        .observations
        .is_empty());

    let mut second = batch(b.to_vec());
    second.logs = vec![
        log(BASE, 5, "debug"),
        log(BASE, 21, "fatal"),
        log(BASE, 13, "warn"),
    ];
    store.write(P1, second).await.unwrap();
    // Small pages from pos1 deliver every new row exactly once.
    let mut pos = pos1;
    let mut seen = Vec::new();
    let mut seen_logs = Vec::new();
    for _ in 0..100 {
        let page = store
            .feed(
                P1,
                &FeedQuery {
                    limit: 2,
                    ..everything(pos)
                },
            )
            .await
            .unwrap();
        assert!(page.position.observations >= pos.observations && page.position.logs >= pos.logs);
        seen.extend(
            page.observations
                .iter()
                .map(|(p, o)| (*p, o.span_id, o.trace_id)),
        );
        seen_logs.extend(page.logs.iter().map(|(p, _)| *p));
        pos = page.position;
        if !page.more {
            break;
        }
    }
    assert_eq!(seen.len(), b.len());
    assert_eq!(seen_logs.len(), 3);
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
    // Resuming right after any delivered observation gets exactly the rest.
    let resume_at = seen[2].0;
    let rest = store
        .feed(
            P1,
            &everything(FeedPosition {
                observations: resume_at,
                logs: pos.logs,
            }),
        )
        .await
        .unwrap();
    let rest: Vec<_> = rest
        .observations
        .iter()
        .map(|(p, o)| (*p, o.span_id, o.trace_id))
        .collect();
    assert_eq!(rest, seen[3..].to_vec());

    // Filters skip rows but still move the position past them.
    let llm_only = FeedQuery {
        observations: Some(ObservationFilter {
            kind: Some(ObservationKind::Llm),
            ..Default::default()
        }),
        logs: Some(LogFilter {
            min_severity: Some(17),
            ..Default::default()
        }),
        ..everything(pos1)
    };
    let filtered = store.feed(P1, &llm_only).await.unwrap();
    let want_llm = b.iter().filter(|o| o.kind == ObservationKind::Llm).count();
    assert_eq!(filtered.observations.len(), want_llm);
    assert!(filtered
        .observations
        .iter()
        .all(|(_, o)| o.kind == ObservationKind::Llm));
    assert_eq!(filtered.logs.len(), 1);
    assert_eq!(filtered.logs[0].1.body, Some(json!("fatal")));
    assert_eq!(filtered.position, pos, "skipped rows are passed over too");
    assert_eq!(store.feed_head(P1).await.unwrap(), pos);

    // Leaving a type out still moves past it.
    let logs_only = store
        .feed(
            P1,
            &FeedQuery {
                observations: None,
                ..everything(pos1)
            },
        )
        .await
        .unwrap();
    assert!(logs_only.observations.is_empty());
    assert_eq!(logs_only.logs.len(), 3);
    assert_eq!(logs_only.position, pos);
}

/// Brute-force metric points for `q` (the contract: non-empty buckets, by group then bucket).
pub fn expected_metrics(obs: &[Observation], q: &MetricsQuery) -> Vec<MetricPoint> {
    use std::collections::BTreeMap;
    let mut groups: BTreeMap<(Option<String>, i64), Vec<&Observation>> = BTreeMap::new();
    for o in obs
        .iter()
        .filter(|o| o.start_ns >= q.from_ns && o.start_ns < q.to_ns && obs_match(o, &q.filter))
    {
        let group = match q.group_by {
            None => None,
            Some(GroupBy::Service) => o.service_name.clone(),
            Some(GroupBy::Agent) => o.agent_name.clone(),
            Some(GroupBy::Model) => o.model().map(str::to_owned),
            Some(GroupBy::Provider) => o.provider.clone(),
            Some(GroupBy::Operation) => o.operation.clone(),
            Some(GroupBy::Kind) => Some(o.kind.as_str().to_owned()),
        };
        let bucket = o.start_ns.div_euclid(q.bucket_ns) * q.bucket_ns;
        groups.entry((group, bucket)).or_default().push(o);
    }
    let rank = |sorted: &[i64], p: usize| sorted[(sorted.len() * p).div_ceil(100).max(1) - 1];
    groups
        .into_iter()
        .map(|((group, bucket), os)| {
            let mut d: Vec<i64> = os.iter().map(|o| o.end_ns - o.start_ns).collect();
            d.sort();
            let calls: Vec<&&Observation> = os.iter().filter(|o| counts_usage(o)).collect();
            let costs: Vec<i64> = calls
                .iter()
                .filter_map(|o| o.cost.as_ref().and_then(|c| c.nano_usd))
                .collect();
            MetricPoint {
                bucket_start_ns: bucket,
                group,
                requests: os.len() as i64,
                errors: os.iter().filter(|o| o.is_error()).count() as i64,
                input_tokens: calls.iter().map(|o| o.usage.input.unwrap_or(0)).sum(),
                output_tokens: calls.iter().map(|o| o.usage.output.unwrap_or(0)).sum(),
                total_tokens: calls.iter().map(|o| total_of(o)).sum(),
                latency_p50_ns: rank(&d, 50),
                latency_p95_ns: rank(&d, 95),
                latency_p99_ns: rank(&d, 99),
                cost_nano_usd: (!costs.is_empty()).then(|| costs.iter().sum()),
            }
        })
        .collect()
}

/// A session aggregates the traces whose summary names it: a session id that arrives on a later
/// span adds the whole trace, a root naming another session moves the trace, and retried spans
/// count once.
pub async fn sessions_follow_the_trace_summary(store: Arc<dyn Engine>) {
    let at = |trace: u8, span: u8, parent: Option<u8>| {
        let mut o = super::span(trace, span, parent, ObservationKind::Span);
        o.start_ns = BASE + i64::from(trace) * 1000 + i64::from(span);
        o.end_ns = o.start_ns + 100;
        o
    };
    // Trace 50: its llm child (user u1, tenant t1) arrives first without a session.
    let mut child = at(50, 2, Some(1));
    child.kind = ObservationKind::Llm;
    child.usage.input = Some(10);
    child.usage.output = Some(5);
    child.cost = Some(sightline_core::Cost {
        nano_usd: Some(7),
        source: sightline_core::CostSource::Computed,
        reason: None,
    });
    child.user_id = Some("u1".into());
    child.tenant_id = Some("t1".into());
    let mut root = at(50, 1, None);
    root.session_id = Some("late".into());
    root.end_ns = BASE + 90_000;
    // Trace 51: a child in session "old", then its root names session "new".
    let mut stray = at(51, 2, Some(1));
    stray.session_id = Some("old".into());
    stray.user_id = Some("u9".into());
    stray.status = sightline_core::StatusCode::Error;
    let mut moved = at(51, 1, None);
    moved.session_id = Some("new".into());

    store
        .write(P1, batch(vec![child.clone(), stray.clone()]))
        .await
        .unwrap();
    let first = all_sessions(&store, SessionQuery::default()).await;
    assert_eq!(
        first
            .iter()
            .map(|s| s.session_id.as_str())
            .collect::<Vec<_>>(),
        ["old"],
        "a trace without a session id yet is in no session"
    );
    store
        .write(P1, batch(vec![root.clone(), moved.clone()]))
        .await
        .unwrap();
    let late = SessionSummary {
        session_id: "late".into(),
        first_seen_ns: root.start_ns,
        last_seen_ns: root.end_ns,
        trace_count: 1,
        span_count: 2,
        error_count: 0,
        input_tokens: 10,
        output_tokens: 5,
        total_tokens: 15,
        cost_nano_usd: Some(7),
        user_ids: vec!["u1".into()],
    };
    let new = SessionSummary {
        session_id: "new".into(),
        first_seen_ns: moved.start_ns,
        last_seen_ns: stray.end_ns,
        trace_count: 1,
        span_count: 2,
        error_count: 1,
        user_ids: vec!["u9".into()],
        ..Default::default()
    };
    let want = vec![late.clone(), new.clone()];
    assert_eq!(all_sessions(&store, SessionQuery::default()).await, want);

    // Retries of everything, and a new trace in "late" among them, count once.
    let mut third = at(52, 1, None);
    third.session_id = Some("late".into());
    third.user_id = Some("u3".into());
    store
        .write(P1, batch(vec![child, stray, root, moved, third.clone()]))
        .await
        .unwrap();
    let late = SessionSummary {
        trace_count: 2,
        span_count: 3,
        user_ids: vec!["u1".into(), "u3".into()],
        ..late
    };
    let want = vec![late.clone(), new.clone()];
    assert_eq!(all_sessions(&store, SessionQuery::default()).await, want);
    for (q, expected) in [
        (
            SessionQuery {
                user_id: Some("u9".into()),
                ..Default::default()
            },
            vec![new.clone()],
        ),
        (
            SessionQuery {
                tenant_id: Some("t1".into()),
                ..Default::default()
            },
            vec![late.clone()],
        ),
        (
            SessionQuery {
                from_ns: Some(late.last_seen_ns),
                ..Default::default()
            },
            vec![late.clone()],
        ),
    ] {
        assert_eq!(all_sessions(&store, q.clone()).await, expected, "{q:?}");
    }
    assert_eq!(
        store
            .session(P1, "late", 10)
            .await
            .unwrap()
            .unwrap()
            .summary,
        late
    );
    assert!(store.session(P1, "old", 10).await.unwrap().is_none());
}
