//! Retention: a project's data from before the cutoff's midnight goes, everything else stays,
//! and the summaries (traces, sessions, costs) equal what the remaining rows say.

use std::sync::Arc;

use sightline_core::{
    AttrValue, Cost, CostSource, LogRecord, Observation, ObservationKind, ProjectId, Resource,
    Usage, WriteBatch,
};
use sightline_store::retention::DAY_NS;
use sightline_store::{
    CostQuery, Engine, LogQuery, ObservationQuery, RetentionOutcome, RetentionScope, SessionQuery,
    TraceQuery,
};

use super::{sid, tid};

const P1: ProjectId = ProjectId(1);
const P2: ProjectId = ProjectId(2);
const HOUR: i64 = 3_600_000_000_000;
/// A UTC midnight (2024-10-04): the effective cutoff.
const DAY0: i64 = 20_000 * DAY_NS;

fn obs(trace: u8, span: u8, parent: Option<u8>, start: i64, session: &str) -> Observation {
    let mut o = Observation::new(tid(trace), sid(span), format!("span-{trace}-{span}"));
    o.parent_span_id = parent.map(sid);
    o.kind = ObservationKind::Agent;
    o.start_ns = start;
    o.end_ns = start + HOUR / 2;
    o.session_id = Some(session.into());
    o
}

fn call(trace: u8, span: u8, parent: u8, start: i64, session: &str, cost: i64) -> Observation {
    let mut o = obs(trace, span, Some(parent), start, session);
    o.kind = ObservationKind::Llm;
    o.end_ns = start + 1_000_000;
    o.request_model = Some("m1".into());
    o.usage = Usage {
        input: Some(10),
        output: Some(5),
        ..Usage::default()
    };
    o.cost = Some(Cost {
        nano_usd: Some(cost),
        source: CostSource::Computed,
        reason: None,
    });
    o
}

fn log(time_ns: i64, trace: Option<u8>) -> LogRecord {
    LogRecord {
        time_ns,
        observed_ns: time_ns,
        trace_id: trace.map(tid),
        span_id: None,
        severity_number: 9,
        severity_text: Some("INFO".into()),
        body: Some(serde_json::json!(format!("log at {time_ns}"))),
        service_name: Some("svc".into()),
        session_id: None,
        agent_name: None,
        event_name: None,
        scope_name: None,
        resource_index: 0,
        attributes: Vec::new(),
    }
}

fn write_batch(observations: Vec<Observation>, logs: Vec<LogRecord>) -> WriteBatch {
    WriteBatch {
        resources: vec![Resource {
            attributes: vec![("service.name".into(), AttrValue::Str("svc".into()))],
        }],
        observations,
        logs,
    }
}

async fn span_starts(store: &dyn Engine, project: ProjectId) -> Vec<(String, i64)> {
    let page = store
        .list_observations(
            project,
            &ObservationQuery {
                limit: 1000,
                ..ObservationQuery::default()
            },
        )
        .await
        .unwrap();
    let mut out: Vec<_> = page
        .observations
        .iter()
        .map(|o| (o.name.clone(), o.start_ns))
        .collect();
    out.sort();
    out
}

async fn log_times(store: &dyn Engine, project: ProjectId) -> Vec<i64> {
    let page = store
        .list_logs(
            project,
            &LogQuery {
                limit: 1000,
                ..LogQuery::default()
            },
        )
        .await
        .unwrap();
    let mut out: Vec<_> = page.logs.iter().map(|l| l.time_ns).collect();
    out.sort();
    out
}

/// Deletes P1's old data, then every project's, then nothing; returns the three outcomes so an
/// engine's own test can check how it deleted (ClickHouse drops partitions).
pub async fn retention_deletes_old_data_and_keeps_summaries_true(
    store: Arc<dyn Engine>,
) -> [RetentionOutcome; 3] {
    let s = store.as_ref();
    // P1: trace 1 wholly three days old; trace 2 straddles the cutoff (its root and first call
    // before, a second call after); trace 3 recent; trace 4 two days old, on a day P2 shares.
    let p1_old = vec![
        obs(1, 1, None, DAY0 - 3 * DAY_NS, "s-old"),
        call(1, 2, 1, DAY0 - 3 * DAY_NS + 1000, "s-old", 1_000),
        obs(2, 1, None, DAY0 - HOUR, "s-mixed"),
        call(2, 2, 1, DAY0 - HOUR / 2, "s-mixed", 100),
        call(2, 3, 1, DAY0 + HOUR, "s-mixed", 200),
        obs(4, 1, None, DAY0 - 2 * DAY_NS, "s-old"),
    ];
    s.write(
        P1,
        write_batch(
            p1_old,
            vec![
                log(DAY0 - 3 * DAY_NS, Some(1)),
                log(DAY0 - 2 * DAY_NS, None),
                log(DAY0 + HOUR, Some(2)),
            ],
        ),
    )
    .await
    .unwrap();
    s.write(
        P1,
        write_batch(
            vec![
                obs(3, 1, None, DAY0 + 2 * HOUR, "s-mixed"),
                call(3, 2, 1, DAY0 + 2 * HOUR + 1000, "s-mixed", 50),
            ],
            Vec::new(),
        ),
    )
    .await
    .unwrap();
    // P2 reuses trace id 1, two days old; its recent trace is written last of all.
    s.write(
        P2,
        write_batch(
            vec![obs(1, 1, None, DAY0 - 2 * DAY_NS + HOUR, "p2-old")],
            vec![log(DAY0 - 2 * DAY_NS + HOUR, Some(1))],
        ),
    )
    .await
    .unwrap();
    s.write(
        P2,
        write_batch(
            vec![obs(5, 1, None, DAY0 + 3 * HOUR, "p2-new")],
            vec![log(DAY0 + 3 * HOUR, Some(5))],
        ),
    )
    .await
    .unwrap();

    // A cutoff in the afternoon deletes up to its midnight only.
    let first = s
        .delete_before(RetentionScope::Project(P1), DAY0 + 5 * HOUR)
        .await
        .unwrap();
    assert_eq!(first.cutoff_ns, DAY0);
    assert_eq!((first.spans, first.logs), (5, 2), "{first:?}");
    assert_eq!(
        span_starts(s, P1).await,
        vec![
            ("span-2-3".to_owned(), DAY0 + HOUR),
            ("span-3-1".to_owned(), DAY0 + 2 * HOUR),
            ("span-3-2".to_owned(), DAY0 + 2 * HOUR + 1000),
        ]
    );
    assert_eq!(log_times(s, P1).await, vec![DAY0 + HOUR]);
    for gone in [1, 4] {
        assert!(s.trace(P1, tid(gone), false).await.unwrap().is_none());
    }
    // The straddling trace keeps its late call, and its summary says so.
    let t2 = s.trace(P1, tid(2), false).await.unwrap().unwrap();
    assert_eq!(t2.observations.len(), 1);
    assert_eq!(t2.logs.len(), 1);
    assert_eq!(
        (
            t2.summary.span_count,
            t2.summary.cost_nano_usd,
            t2.summary.start_ns
        ),
        (1, Some(200), DAY0 + HOUR)
    );
    assert_eq!(t2.summary.input_tokens, 10);
    let traces = s
        .list_traces(
            P1,
            &TraceQuery {
                limit: 100,
                ..TraceQuery::default()
            },
        )
        .await
        .unwrap();
    let mut listed: Vec<_> = traces
        .traces
        .iter()
        .map(|t| (t.trace_id.clone(), t.span_count))
        .collect();
    listed.sort();
    let mut want = vec![(tid(2).to_hex(), 1), (tid(3).to_hex(), 2)];
    want.sort();
    assert_eq!(listed, want);
    // Sessions: the old one is gone; the mixed one counts what remains.
    let sessions = s
        .list_sessions(
            P1,
            &SessionQuery {
                limit: 100,
                ..SessionQuery::default()
            },
        )
        .await
        .unwrap();
    let got: Vec<_> = sessions
        .sessions
        .iter()
        .map(|x| {
            (
                x.session_id.as_str(),
                x.trace_count,
                x.span_count,
                x.cost_nano_usd,
            )
        })
        .collect();
    assert_eq!(got, vec![("s-mixed", 2, 3, Some(250))]);
    // Costs over all time equal the remaining calls.
    let costs = s
        .costs(
            P1,
            &CostQuery {
                from_ns: 0,
                to_ns: DAY0 + DAY_NS,
                ..CostQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(costs.rows.len(), 1);
    assert_eq!(
        (costs.rows[0].requests, costs.rows[0].cost_nano_usd),
        (2, 250)
    );
    // P2 is untouched, down to its trace with P1's old trace id.
    assert_eq!(span_starts(s, P2).await.len(), 2);
    assert_eq!(log_times(s, P2).await.len(), 2);
    assert!(s.trace(P2, tid(1), false).await.unwrap().is_some());

    // One policy for every project takes P2's old data too, and nothing more of P1.
    let second = s
        .delete_before(RetentionScope::AllProjects, DAY0)
        .await
        .unwrap();
    assert_eq!((second.spans, second.logs), (1, 1), "{second:?}");
    assert_eq!(
        span_starts(s, P2).await,
        vec![("span-5-1".to_owned(), DAY0 + 3 * HOUR)]
    );
    assert_eq!(log_times(s, P2).await, vec![DAY0 + 3 * HOUR]);
    assert_eq!(span_starts(s, P1).await.len(), 3);

    // Running it again finds nothing to do.
    let third = s
        .delete_before(RetentionScope::AllProjects, DAY0)
        .await
        .unwrap();
    assert_eq!((third.spans, third.logs), (0, 0), "{third:?}");
    [first, second, third]
}
