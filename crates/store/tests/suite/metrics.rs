//! Behaviour of [`MetricWriter`] and [`MetricSeriesReader`]: OTLP metric points stored as
//! series, cumulative sums as increases (resets included), histograms merged per bucket,
//! grouped and filtered by attribute, bounded in series per project, idempotent on retries,
//! and gone with retention.

use std::sync::Arc;

use sightline_core::metrics::{
    normalize_metrics, MetricBatch, MetricKind, PointValue, Temporality,
};
use sightline_core::{AttrValue, ProjectId, RawMetric, RawMetrics, RawPoint, RawValue, Resource};
use sightline_store::retention::DAY_NS;
use sightline_store::{Engine, MetricSeriesQuery, RetentionScope};

const P1: ProjectId = ProjectId(1);
const P2: ProjectId = ProjectId(2);
const SEC: i64 = 1_000_000_000;
/// A UTC midnight, the start of every window here.
const T: i64 = 20_000 * DAY_NS;

fn point(attr: (&str, &str), start: i64, time: i64, value: RawValue) -> RawPoint {
    RawPoint {
        attributes: vec![(attr.0.into(), AttrValue::Str(attr.1.into()))],
        start_ns: start,
        time_ns: time,
        value,
    }
}

fn metric(
    name: &str,
    kind: MetricKind,
    temporality: Temporality,
    points: Vec<RawPoint>,
) -> RawMetric {
    RawMetric {
        resource_index: 0,
        name: name.into(),
        description: format!("about {name}"),
        unit: "1".into(),
        kind,
        temporality,
        monotonic: kind == MetricKind::Sum,
        points,
    }
}

fn batch(metrics: Vec<RawMetric>) -> MetricBatch {
    normalize_metrics(RawMetrics {
        resources: vec![Resource {
            attributes: vec![("service.name".into(), AttrValue::Str("svc".into()))],
        }],
        metrics,
        ..Default::default()
    })
}

fn counter(route: &str, start: i64, time: i64, v: i64) -> RawMetric {
    let p = point(("route", route), start, time, RawValue::Int(v));
    metric(
        "requests",
        MetricKind::Sum,
        Temporality::Cumulative,
        vec![p],
    )
}

fn tokens(kind: &str, time: i64, counts: [u64; 3], sum: f64) -> RawPoint {
    let value = RawValue::Histogram {
        count: counts.iter().sum(),
        sum: Some(sum),
        bounds: vec![100.0, 1000.0],
        counts: counts.to_vec(),
    };
    point(("gen_ai.token.type", kind), 0, time, value)
}

fn query(name: &str, group_by: Option<&str>) -> MetricSeriesQuery {
    MetricSeriesQuery {
        name: name.into(),
        from_ns: T,
        to_ns: T + 180 * SEC,
        bucket_ns: 60 * SEC,
        group_by: group_by.map(str::to_owned),
        attributes: Vec::new(),
    }
}

/// A group and its buckets as (start after T, sum, last).
type Grouped<'a> = (Option<&'a str>, Vec<(i64, f64, f64)>);

pub async fn metric_series_round_trip_and_bucket(store: Arc<dyn Engine>) {
    let delta = Temporality::Delta;
    let first = batch(vec![
        counter("a", T, T + 10 * SEC, 5),
        counter("b", T, T + 10 * SEC, 1),
        metric(
            "gen_ai.client.token.usage",
            MetricKind::Histogram,
            delta,
            vec![
                tokens("input", T + 10 * SEC, [1, 1, 0], 600.0),
                tokens("input", T + 20 * SEC, [0, 1, 0], 500.0),
                tokens("output", T + 10 * SEC, [2, 0, 0], 50.0),
            ],
        ),
        metric(
            "queue.depth",
            MetricKind::Gauge,
            Temporality::Cumulative,
            vec![
                point(("q", "x"), 0, T + 10 * SEC, RawValue::Double(3.0)),
                point(("q", "x"), 0, T + 20 * SEC, RawValue::Double(7.0)),
            ],
        ),
    ]);
    let o = store.write_metrics(P1, first, 100).await.unwrap();
    assert_eq!(
        (o.points, o.duplicates, o.refused_points, o.series),
        (7, 0, 0, 5)
    );
    // The counter goes on (+3), then its process restarts (a new start: 2 since).
    store
        .write_metrics(P1, batch(vec![counter("a", T, T + 70 * SEC, 8)]), 100)
        .await
        .unwrap();
    store
        .write_metrics(
            P1,
            batch(vec![counter("a", T + 100 * SEC, T + 130 * SEC, 2)]),
            100,
        )
        .await
        .unwrap();

    let names = store.metric_names(P1).await.unwrap();
    let listed: Vec<(&str, MetricKind, u64)> = names
        .iter()
        .map(|m| (m.name.as_str(), m.kind, m.series))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("gen_ai.client.token.usage", MetricKind::Histogram, 2),
            ("queue.depth", MetricKind::Gauge, 1),
            ("requests", MetricKind::Sum, 2),
        ]
    );
    let requests = &names[2];
    assert_eq!(requests.temporality, Temporality::Cumulative);
    assert!(requests.monotonic);
    assert_eq!(requests.description, "about requests");
    assert_eq!(requests.last_ns, T + 130 * SEC);
    assert!(
        store.metric_names(P2).await.unwrap().is_empty(),
        "projects are isolated"
    );

    let r = store
        .metric_series(P1, &query("requests", Some("route")))
        .await
        .unwrap();
    let groups: Vec<Grouped> = r
        .groups
        .iter()
        .map(|g| {
            let buckets = g
                .buckets
                .iter()
                .map(|b| (b.start_ns - T, b.sum, b.last))
                .collect();
            (g.group.as_deref(), buckets)
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            (
                Some("a"),
                vec![(0, 5.0, 5.0), (60 * SEC, 3.0, 8.0), (120 * SEC, 2.0, 10.0)]
            ),
            (Some("b"), vec![(0, 1.0, 1.0)]),
        ],
        "increases per bucket; last is the running total"
    );

    let r = store
        .metric_series(
            P1,
            &query("gen_ai.client.token.usage", Some("gen_ai.token.type")),
        )
        .await
        .unwrap();
    assert_eq!(r.info.as_ref().unwrap().kind, MetricKind::Histogram);
    let input = &r.groups[0];
    assert_eq!(input.group.as_deref(), Some("input"));
    let h = input.buckets[0].histogram.as_ref().unwrap();
    assert_eq!(
        (h.count, h.sum, &h.counts[..]),
        (3, Some(1100.0), &[1, 2, 0][..])
    );
    assert_eq!(input.buckets[0].samples, 2);
    let mut only_output = query("gen_ai.client.token.usage", None);
    only_output.attributes = vec![("gen_ai.token.type".into(), "output".into())];
    let r = store.metric_series(P1, &only_output).await.unwrap();
    assert_eq!(r.groups.len(), 1);
    assert_eq!(r.groups[0].group, None);
    assert_eq!(r.groups[0].buckets[0].histogram.as_ref().unwrap().count, 2);
    let mut by_resource = query("gen_ai.client.token.usage", Some("service.name"));
    by_resource.attributes = vec![("service.name".into(), "svc".into())];
    let r = store.metric_series(P1, &by_resource).await.unwrap();
    assert_eq!(
        r.groups[0].group.as_deref(),
        Some("svc"),
        "resource attributes group too"
    );
    assert_eq!(r.groups[0].series, 2);

    let r = store
        .metric_series(P1, &query("queue.depth", None))
        .await
        .unwrap();
    let b = &r.groups[0].buckets[0];
    assert_eq!(
        (b.samples, b.sum, b.min, b.max, b.last),
        (2, 10.0, 3.0, 7.0, 7.0)
    );

    let unknown = store.metric_series(P1, &query("nope", None)).await.unwrap();
    assert_eq!((unknown.info, unknown.groups.len()), (None, 0));

    let snapshot = store.metric_snapshot(100).await.unwrap();
    assert_eq!(snapshot.len(), 5);
    let a = snapshot
        .iter()
        .find(|s| {
            s.series.def.name == "requests" && s.series.attribute("route").as_deref() == Some("a")
        })
        .unwrap();
    assert_eq!(
        (a.project, &a.total, a.time_ns),
        (P1, &PointValue::Number(10.0), T + 130 * SEC)
    );
    assert_eq!(store.metric_snapshot(2).await.unwrap().len(), 2, "bounded");
}

pub async fn metric_series_are_bounded_per_project(store: Arc<dyn Engine>) {
    let gauge = |attr: &str, time: i64| {
        let p = point(("k", attr), 0, time, RawValue::Int(1));
        metric("m", MetricKind::Gauge, Temporality::Cumulative, vec![p])
    };
    let o = store
        .write_metrics(
            P1,
            batch(vec![gauge("a", T), gauge("b", T), gauge("c", T)]),
            2,
        )
        .await
        .unwrap();
    assert_eq!((o.points, o.refused_points, o.series), (2, 1, 2));
    assert_eq!(o.refused_series, vec![("m".to_string(), 1)]);
    // Known series keep taking points at the limit; new ones are refused.
    let o = store
        .write_metrics(P1, batch(vec![gauge("a", T + SEC), gauge("d", T + SEC)]), 2)
        .await
        .unwrap();
    assert_eq!((o.points, o.refused_points, o.series), (1, 1, 2));
    // Another project has its own count.
    let o = store
        .write_metrics(P2, batch(vec![gauge("x", T), gauge("y", T)]), 2)
        .await
        .unwrap();
    assert_eq!((o.points, o.refused_points), (2, 0));
    assert_eq!(store.metric_names(P1).await.unwrap()[0].series, 2);
}

pub async fn metric_writes_are_idempotent(store: Arc<dyn Engine>) {
    let export = || {
        let p = point(("k", "v"), T, T + 10 * SEC, RawValue::Int(4));
        batch(vec![metric(
            "calls",
            MetricKind::Sum,
            Temporality::Delta,
            vec![p],
        )])
    };
    let o = store.write_metrics(P1, export(), 10).await.unwrap();
    assert_eq!((o.points, o.duplicates), (1, 0));
    let o = store.write_metrics(P1, export(), 10).await.unwrap();
    assert_eq!(
        (o.points, o.duplicates),
        (0, 1),
        "a retried export stores nothing twice"
    );
    let r = store
        .metric_series(P1, &query("calls", None))
        .await
        .unwrap();
    let b = &r.groups[0].buckets[0];
    assert_eq!((b.samples, b.sum, b.last), (1, 4.0, 4.0));
}

pub async fn retention_deletes_old_metric_points_and_series(store: Arc<dyn Engine>) {
    let gauge = |attr: &str, time: i64| {
        let p = point(("k", attr), 0, time, RawValue::Int(1));
        metric("m", MetricKind::Gauge, Temporality::Cumulative, vec![p])
    };
    let hour = 3_600 * SEC;
    for m in [
        gauge("old", T - hour),
        gauge("both", T - hour),
        gauge("both", T + hour),
    ] {
        store.write_metrics(P1, batch(vec![m]), 10).await.unwrap();
    }
    store
        .write_metrics(P2, batch(vec![gauge("old", T - hour)]), 10)
        .await
        .unwrap();
    let o = store
        .delete_before(RetentionScope::Project(P1), T + 5 * hour)
        .await
        .unwrap();
    assert_eq!(o.metric_points, 2);
    let names = store.metric_names(P1).await.unwrap();
    assert_eq!(
        names[0].series, 1,
        "the series not seen since the cutoff is gone"
    );
    let mut all = query("m", Some("k"));
    (all.from_ns, all.to_ns, all.bucket_ns) = (0, T + DAY_NS, DAY_NS);
    let r = store.metric_series(P1, &all).await.unwrap();
    assert_eq!(r.groups.len(), 1);
    assert_eq!(r.groups[0].group.as_deref(), Some("both"));
    assert_eq!(r.groups[0].buckets.len(), 1);
    assert_eq!(r.groups[0].buckets[0].start_ns, T);
    assert_eq!(
        store.metric_names(P2).await.unwrap()[0].series,
        1,
        "other projects keep theirs"
    );
}
