//! The explore read contracts (trace and observation lists, sessions, logs, metrics, change
//! feed) checked against brute-force answers computed here from the data written. Uses only the
//! store traits, so every engine runs it.

use std::collections::BTreeSet;
use std::sync::Arc;

use sightline_core::{Observation, ObservationKind, ProjectId, TraceId};
use sightline_store::{
    Engine, FeedPosition, FeedQuery, LogFilter, LogQuery, MetricsQuery, ObservationFilter,
    ObservationQuery, SessionQuery, StatusFilter, TraceQuery, TraceSort,
};

use super::query_data::*;
use super::{batch, sid, tid};

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

/// Newest-first pages over traces spread across many hours (an engine may look at the most
/// recent hours first): every page, window and status filter matches the brute-force order.
pub async fn newest_first_pages_span_hours(store: Arc<dyn Engine>) {
    const HOUR: i64 = 3_600_000_000_000;
    let base = 40 * 24 * HOUR;
    let mut obs = Vec::new();
    for t in 1..=40u8 {
        // One trace every 20 minutes over 13 hours; a quarter fail; some last into the next hour.
        let start = base + i64::from(t) * HOUR / 3;
        let mut root = super::span(t, 1, None, ObservationKind::Agent);
        root.start_ns = start;
        root.end_ns = start + HOUR / 2;
        let mut child = super::span(t, 2, Some(1), ObservationKind::Tool);
        child.start_ns = start + HOUR / 4;
        child.end_ns = child.start_ns + 1000;
        if t % 4 == 1 {
            child.status = sightline_core::StatusCode::Error;
        }
        obs.extend([root, child]);
    }
    load(&store, P1, &obs).await;
    let window = ObservationFilter {
        from_ns: Some(base + 2 * HOUR + 1),
        to_ns: Some(base + 9 * HOUR),
        ..Default::default()
    };
    let errors = ObservationFilter {
        status: StatusFilter::Error,
        ..Default::default()
    };
    for (what, filter) in [
        ("all", ObservationFilter::default()),
        ("window", window),
        ("errors", errors),
    ] {
        let q = TraceQuery {
            filter,
            descending: true,
            ..Default::default()
        };
        let want = expected_traces(&obs, &q);
        assert!(want.len() > 7, "{what}: {} traces", want.len());
        for page in [1, 3, 7, 100] {
            assert_eq!(
                all_trace_pages(&store, P1, &q, page).await,
                want,
                "{what}, page={page}"
            );
        }
    }
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
