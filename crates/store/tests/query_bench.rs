//! Quick sanity timings of the explore reads on the embedded engine (not a benchmark of
//! record; `bench/` holds those). Loads synthetic agent traces through `SpanWriter`, then times
//! a few queries and prints their query plans. Run with:
//! `cargo test -p sightline-store --release --test query_bench -- --ignored --nocapture`
//! (`QUERY_BENCH_SPANS` sets the number of spans, default 200000).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use sightline_core::{
    AttrValue, Message, Observation, ObservationKind, Payload, ProjectId, Resource, SpanId,
    StatusCode, TraceId, WriteBatch,
};
use sightline_store::sqlite::{SqliteConfig, SqliteStore};
use sightline_store::{
    ChangeFeed, FeedQuery, GroupBy, MetricsQuery, MetricsReader, ObservationFilter,
    ObservationQuery, SessionQuery, SessionReader, SpanWriter, StatusFilter, TraceQuery,
    TraceReader, TraceSort,
};

const P: ProjectId = ProjectId(1);
const DAY: i64 = 86_400_000_000_000;
const NOW: i64 = 1_760_000_000_000_000_000;

fn trace_spans(n: u64, traces: u64) -> Vec<Observation> {
    let mut rng = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    id[8..].copy_from_slice(&next().to_le_bytes());
    let trace = TraceId(id);
    let start = NOW - 30 * DAY + n as i64 * (30 * DAY / traces as i64);
    let service = format!("svc-{}", n % 5);
    let session = format!("session-{}", n / 4);
    let user = format!("user-{}", n % 500);
    let mut spans = Vec::new();
    let count = 5;
    for s in 0..count {
        let mut o = Observation::new(trace, SpanId([(s + 1) as u8; 8]), String::new());
        o.parent_span_id = (s > 0).then_some(SpanId([1; 8]));
        o.start_ns = start + s as i64 * 1_000_000;
        o.end_ns = o.start_ns + (next() % 2_000_000_000) as i64;
        o.service_name = Some(service.clone());
        o.agent_name = Some(format!("agent-{}", n % 7));
        o.session_id = Some(session.clone());
        o.user_id = Some(user.clone());
        match s {
            0 => {
                o.kind = ObservationKind::Agent;
                o.name = "invoke_agent".into();
                o.input = Some(Payload::Value(serde_json::json!(format!("task {n}"))));
            }
            1..=3 => {
                o.kind = ObservationKind::Llm;
                o.name = "chat".into();
                o.operation = Some("chat".into());
                o.request_model =
                    Some(["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet"][s % 3].into());
                o.provider = Some("openai".into());
                o.usage.input = Some(200 + (next() % 800) as i64);
                o.usage.output = Some(20 + (next() % 200) as i64);
                o.cost = Some(sightline_core::Cost {
                    nano_usd: Some((next() % 100_000) as i64),
                    source: sightline_core::CostSource::Computed,
                    reason: None,
                });
                o.input = Some(Payload::Messages(vec![Message {
                    role: "user".into(),
                    content: Some(format!(
                        "Please summarize document {} about topic {}",
                        next() % 10_000,
                        n % 97
                    )),
                    ..Default::default()
                }]));
                o.output = Some(Payload::Value(serde_json::json!(format!(
                    "The document {} says ...",
                    next() % 1000
                ))));
            }
            _ => {
                o.kind = ObservationKind::Tool;
                o.name = "search".into();
                o.operation = Some("execute_tool".into());
                o.attributes = vec![(
                    "tool.backend".into(),
                    AttrValue::Str(format!("b{}", n % 10)),
                )];
            }
        }
        if next() % 100 < 3 {
            o.status = StatusCode::Error;
        }
        spans.push(o);
    }
    spans
}

fn time<T>(label: &str, runs: u32, mut f: impl FnMut() -> T) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{label:<48} p50 {:>9.2?}  max {:>9.2?}",
        times[times.len() / 2],
        times[times.len() - 1]
    );
}

#[test]
#[ignore]
fn explore_reads_at_scale() {
    let spans: u64 = std::env::var("QUERY_BENCH_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = SqliteStore::open(&SqliteConfig {
        data_dir: dir.path().into(),
        max_queued: 1_000_000,
        limits: Default::default(),
    })
    .unwrap();
    let t = Instant::now();
    let traces = spans / 5;
    rt.block_on(async {
        for chunk in (0..traces).collect::<Vec<_>>().chunks(400) {
            let batch = WriteBatch {
                resources: vec![Resource {
                    attributes: vec![("service.name".into(), AttrValue::Str("svc".into()))],
                }],
                observations: chunk.iter().flat_map(|n| trace_spans(*n, traces)).collect(),
                logs: Vec::new(),
            };
            store.write(P, batch).await.unwrap();
        }
    });
    let load = t.elapsed();
    let size = std::fs::metadata(store.path()).unwrap().len();
    println!(
        "loaded {spans} spans in {load:.2?} ({:.0} spans/s), {} bytes/span",
        spans as f64 / load.as_secs_f64(),
        size / spans
    );

    let probe = trace_spans(traces / 2, traces)[0].trace_id;
    let q = |filter: ObservationFilter, sort: TraceSort| TraceQuery {
        filter,
        sort,
        descending: true,
        limit: 50,
        after: None,
    };
    let f = ObservationFilter::default;
    rt.block_on(async {
        let runs = 20;
        let mut cases: Vec<(&str, TraceQuery)> = vec![
            ("traces: newest 50", q(f(), TraceSort::Start)),
            (
                "traces: last day",
                q(
                    ObservationFilter {
                        from_ns: Some(NOW - DAY),
                        ..f()
                    },
                    TraceSort::Start,
                ),
            ),
            (
                "traces: service",
                q(
                    ObservationFilter {
                        service: Some("svc-3".into()),
                        ..f()
                    },
                    TraceSort::Start,
                ),
            ),
            (
                "traces: status error",
                q(
                    ObservationFilter {
                        status: StatusFilter::Error,
                        ..f()
                    },
                    TraceSort::Start,
                ),
            ),
            (
                "traces: model",
                q(
                    ObservationFilter {
                        model: Some("gpt-4o-mini".into()),
                        ..f()
                    },
                    TraceSort::Start,
                ),
            ),
            (
                "traces: rare user (1/500)",
                q(
                    ObservationFilter {
                        user_id: Some("user-7".into()),
                        ..f()
                    },
                    TraceSort::Start,
                ),
            ),
            (
                "traces: attribute (1/10)",
                q(
                    ObservationFilter {
                        attributes: vec![("tool.backend".into(), "b3".into())],
                        ..f()
                    },
                    TraceSort::Start,
                ),
            ),
            (
                "traces: text",
                q(
                    ObservationFilter {
                        text: Some("topic 42".into()),
                        ..f()
                    },
                    TraceSort::Start,
                ),
            ),
            ("traces: by duration", q(f(), TraceSort::Duration)),
            (
                "traces: by cost, last day",
                q(
                    ObservationFilter {
                        from_ns: Some(NOW - DAY),
                        ..f()
                    },
                    TraceSort::Cost,
                ),
            ),
        ];
        for (label, query) in cases.drain(..) {
            let mut times = Vec::new();
            for _ in 0..runs {
                let t = Instant::now();
                let page = store.list_traces(P, &query).await.unwrap();
                times.push(t.elapsed());
                assert!(!page.traces.is_empty(), "{label}");
            }
            times.sort();
            println!(
                "{label:<48} p50 {:>9.2?}  max {:>9.2?}",
                times[runs / 2],
                times[runs - 1]
            );
        }
        let mut times = Vec::new();
        for _ in 0..100 {
            let t = Instant::now();
            store.trace(P, probe, false).await.unwrap().unwrap();
            times.push(t.elapsed());
        }
        times.sort();
        println!(
            "{:<48} p50 {:>9.2?}  max {:>9.2?}",
            "trace by id (no payloads)", times[50], times[99]
        );
        for (label, filter) in [
            ("observations: newest 50", f()),
            (
                "observations: model + error",
                ObservationFilter {
                    model: Some("gpt-4o".into()),
                    status: StatusFilter::Error,
                    ..f()
                },
            ),
        ] {
            let t = Instant::now();
            let page = store
                .list_observations(
                    P,
                    &ObservationQuery {
                        filter,
                        descending: true,
                        limit: 50,
                        after: None,
                        payloads: false,
                    },
                )
                .await
                .unwrap();
            println!(
                "{label:<48} once {:>9.2?} ({} rows)",
                t.elapsed(),
                page.observations.len()
            );
        }
        for group_by in [None, Some(GroupBy::Model)] {
            let t = Instant::now();
            let m = store
                .metrics(
                    P,
                    &MetricsQuery {
                        filter: f(),
                        from_ns: NOW - 31 * DAY,
                        to_ns: NOW,
                        bucket_ns: DAY,
                        group_by,
                    },
                )
                .await
                .unwrap();
            println!(
                "{:<48} once {:>9.2?} ({} points)",
                format!("metrics 30 days by day, {group_by:?}"),
                t.elapsed(),
                m.points.len()
            );
        }
        let t = Instant::now();
        let s = store
            .list_sessions(
                P,
                &SessionQuery {
                    limit: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        println!(
            "{:<48} once {:>9.2?} ({} rows)",
            "sessions: newest 50",
            t.elapsed(),
            s.sessions.len()
        );
        for (label, q) in [
            (
                "sessions: last day",
                SessionQuery {
                    from_ns: Some(NOW - DAY),
                    limit: 50,
                    ..Default::default()
                },
            ),
            (
                "sessions: page 2",
                SessionQuery {
                    after: s.next.clone(),
                    limit: 50,
                    ..Default::default()
                },
            ),
            (
                "sessions: rare user (1/500)",
                SessionQuery {
                    user_id: Some("user-7".into()),
                    limit: 50,
                    ..Default::default()
                },
            ),
        ] {
            let t = Instant::now();
            let page = store.list_sessions(P, &q).await.unwrap();
            println!(
                "{label:<48} once {:>9.2?} ({} rows)",
                t.elapsed(),
                page.sessions.len()
            );
        }
        let t = Instant::now();
        store.session(P, "session-77", 1000).await.unwrap().unwrap();
        println!("{:<48} once {:>9.2?}", "session detail", t.elapsed());
        let head = store.feed_head(P).await.unwrap();
        let mut back = head;
        back.observations -= 5_000;
        let t = Instant::now();
        let b = store
            .feed(
                P,
                &FeedQuery {
                    after: back,
                    observations: Some(f()),
                    logs: None,
                    limit: 1000,
                },
            )
            .await
            .unwrap();
        println!(
            "{:<48} once {:>9.2?} ({} rows)",
            "feed: 1000 of the last 5000",
            t.elapsed(),
            b.observations.len()
        );
    });
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    for sql in [
        "SELECT trace_id FROM traces t WHERE t.project_id = 1 ORDER BY t.start_ns DESC, t.trace_id DESC LIMIT 51",
        "SELECT trace_id FROM traces t WHERE t.project_id = 1 AND EXISTS (SELECT 1 FROM spans s WHERE s.project_id = t.project_id AND s.trace_id = t.trace_id AND s.model = 'x') ORDER BY t.start_ns DESC, t.trace_id DESC LIMIT 51",
        "SELECT rowid FROM spans WHERE project_id = 1 AND start_ns <= 5 AND (start_ns, trace_id, span_id) < (5, x'00', x'00') ORDER BY start_ns DESC, trace_id DESC, span_id DESC LIMIT 51",
        "SELECT rowid FROM spans WHERE rowid > 5 AND rowid <= 100 AND +project_id = 1 ORDER BY rowid LIMIT 11",
        "SELECT session_id FROM sessions s WHERE s.project_id = 1 AND (s.last_seen_ns, s.session_id) < (5, 'x') ORDER BY s.last_seen_ns DESC, s.session_id DESC LIMIT 51",
        "SELECT id FROM logs WHERE project_id = 1 ORDER BY time_ns DESC, id DESC LIMIT 51",
        "SELECT payload FROM spans WHERE project_id = 1 AND trace_id = x'00' ORDER BY +start_ns, span_id",
        "SELECT id FROM logs WHERE project_id = 1 AND trace_id = x'00' ORDER BY +time_ns, id",
        "SELECT session_id, MIN(start_ns) FROM traces INDEXED BY traces_by_session WHERE project_id = 1 AND session_id IS NOT NULL AND session_id = 'x' GROUP BY session_id",
        "SELECT payload FROM spans WHERE project_id = 1 AND trace_id = x'00' AND payload IS NOT NULL ORDER BY parent_span_id IS NOT NULL, start_ns, span_id",
    ] {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let plan: Vec<String> = stmt.query_map([], |r| r.get::<_, String>(3)).unwrap().map(|r| r.unwrap()).collect();
        println!("{sql}\n    -> {}", plan.join(" | "));
    }
    time("noop", 1, || ());
}
