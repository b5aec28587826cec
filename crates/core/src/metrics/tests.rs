#![allow(clippy::unwrap_used, clippy::panic)]

use super::histogram::MAX_EXP_BUCKETS;
use super::*;
use crate::raw::{ExpBuckets, RawMetric, RawMetrics, RawPoint, RawValue, Resource};

fn h(bounds: &[f64], counts: &[u64], sum: f64) -> Histogram {
    Histogram {
        count: counts.iter().sum(),
        sum: Some(sum),
        bounds: bounds.to_vec(),
        counts: counts.to_vec(),
    }
}

#[test]
fn quantiles_interpolate_within_the_bucket_like_prometheus() {
    let x = h(&[1.0, 2.0, 4.0], &[0, 10, 10, 0], 40.0);
    for (q, want) in [
        (0.5, Some(2.0)),
        (0.95, Some(3.8)),
        (0.25, Some(1.5)),
        (1.0, Some(4.0)),
    ] {
        assert_eq!(x.quantile(q), want, "q={q}");
    }
    // The first bucket starts at 0; the open last bucket answers the last bound.
    assert_eq!(h(&[10.0], &[4, 0], 8.0).quantile(0.5), Some(5.0));
    assert_eq!(h(&[10.0], &[0, 4], 80.0).quantile(0.5), Some(10.0));
    assert_eq!(Histogram::default().quantile(0.5), None);
    assert_eq!(h(&[], &[], 0.0).quantile(0.5), None);
}

#[test]
fn merging_adds_buckets_and_unions_different_bounds() {
    let mut a = Histogram::default();
    a.merge(&h(&[1.0, 2.0], &[1, 2, 3], 10.0));
    a.merge(&h(&[1.0, 2.0], &[1, 0, 1], 5.0));
    assert_eq!(a, h(&[1.0, 2.0], &[2, 2, 4], 15.0));
    a.merge(&h(&[1.5, 2.0], &[5, 0, 0], 2.0));
    assert_eq!(a.bounds, vec![1.0, 1.5, 2.0]);
    assert_eq!(
        a.counts,
        vec![2, 5, 2, 4],
        "each count goes to its upper bound"
    );
    assert_eq!(a.count, 13);
    let mut no_sum = h(&[1.0], &[1, 0], 1.0);
    no_sum.merge(&Histogram {
        sum: None,
        ..h(&[1.0], &[1, 0], 0.0)
    });
    assert_eq!(no_sum.sum, None, "an unknown sum makes the total unknown");
}

#[test]
fn a_cumulative_histogram_minus_its_predecessor_or_a_reset() {
    let before = h(&[1.0], &[1, 1], 3.0);
    let now = h(&[1.0], &[3, 1], 4.0);
    assert_eq!(now.minus(&before), Some(h(&[1.0], &[2, 0], 1.0)));
    assert_eq!(before.minus(&now), None, "fewer values: a reset");
    assert_eq!(h(&[2.0], &[3, 1], 4.0).minus(&before), None, "other bounds");
}

#[test]
fn exponential_histograms_keep_their_boundaries() {
    let e = Histogram::from_exponential(
        6,
        Some(9.0),
        0,
        1,
        &ExpBuckets {
            offset: 0,
            counts: vec![0, 2, 3],
        },
        &ExpBuckets {
            offset: 0,
            counts: vec![0],
        },
    );
    // Base 2, leading empty bucket dropped: (2, 4] and (4, 8].
    assert_eq!(e.bounds, vec![2.0, 4.0, 8.0]);
    assert_eq!(e.counts, vec![1, 2, 3, 0]);
    assert_eq!((e.count, e.sum), (6, Some(9.0)));

    // Scale 1: base sqrt(2), offset -2 starts at 2^-1.
    let fine = Histogram::from_exponential(
        1,
        None,
        1,
        0,
        &ExpBuckets {
            offset: -2,
            counts: vec![1],
        },
        &ExpBuckets::default(),
    );
    assert_eq!(fine.bounds, vec![0.5, 0.5f64 * 2f64.sqrt()]);

    // Too many buckets: merged pairwise until they fit, counts kept.
    let wide = Histogram::from_exponential(
        400,
        None,
        3,
        0,
        &ExpBuckets {
            offset: 1,
            counts: vec![1; 400],
        },
        &ExpBuckets::default(),
    );
    assert!(
        wide.counts.len() <= MAX_EXP_BUCKETS + 2,
        "{}",
        wide.counts.len()
    );
    assert_eq!(wide.counts.iter().sum::<u64>(), 400);
    assert!(wide.bounds.windows(2).all(|w| w[0] < w[1]));

    // Only zeros: one bucket at or below 0.
    let zeros = Histogram::from_exponential(
        3,
        Some(0.0),
        0,
        3,
        &ExpBuckets::default(),
        &ExpBuckets::default(),
    );
    assert_eq!((zeros.bounds, zeros.counts), (vec![0.0], vec![3, 0]));
}

fn def(kind: MetricKind, temporality: Temporality, monotonic: bool) -> MetricDef {
    MetricDef {
        name: "m".into(),
        description: String::new(),
        unit: String::new(),
        kind,
        temporality,
        monotonic,
    }
}

fn point(start_ns: i64, time_ns: i64, value: PointValue) -> DataPoint {
    DataPoint {
        series: 0,
        start_ns,
        time_ns,
        value,
    }
}

/// Runs `points` (start, time, value, already stored) through [`advance`]; the stored
/// (value, level) of each, `None` when not stored.
fn run(d: &MetricDef, points: &[(i64, i64, f64, bool)]) -> Vec<Option<(f64, f64)>> {
    let mut state: Option<SeriesState> = None;
    points
        .iter()
        .map(|(start, time, v, stored)| {
            let step = advance(
                d,
                state.as_ref(),
                &point(*start, *time, PointValue::Number(*v)),
                *stored,
            );
            if let Some(s) = step.state {
                state = Some(s);
            }
            step.store.map(|s| (s.value, s.level))
        })
        .collect()
}

#[test]
fn cumulative_counters_become_increases_and_resets_count_whole() {
    let d = def(MetricKind::Sum, Temporality::Cumulative, true);
    let got = run(
        &d,
        &[
            (100, 200, 5.0, false),  // first point: everything since its start
            (100, 300, 8.0, false),  // +3
            (100, 300, 8.0, false),  // same time again: stale, not stored
            (100, 250, 7.0, false),  // older: not stored
            (100, 400, 2.0, false),  // went down: a reset, 2 since the restart
            (500, 600, 4.0, false),  // a new start time: a reset
            (500, 700, 10.0, true),  // already stored: not again, but the state moves on
            (500, 800, 11.0, false), // +1 over the already stored point
        ],
    );
    assert_eq!(
        got,
        vec![
            Some((5.0, 5.0)),
            Some((3.0, 8.0)),
            None,
            None,
            Some((2.0, 10.0)),
            Some((4.0, 14.0)),
            None,
            Some((1.0, 21.0)),
        ]
    );
}

#[test]
fn delta_sums_add_up_and_up_down_sums_keep_their_level() {
    let delta = def(MetricKind::Sum, Temporality::Delta, true);
    assert_eq!(
        run(
            &delta,
            &[
                (0, 10, 2.0, false),
                (10, 20, 3.0, false),
                (10, 20, 3.0, true)
            ]
        ),
        vec![Some((2.0, 2.0)), Some((3.0, 5.0)), None]
    );
    let level = def(MetricKind::Sum, Temporality::Cumulative, false);
    assert_eq!(
        run(&level, &[(1, 10, 5.0, false), (1, 20, 3.0, false)]),
        vec![Some((5.0, 5.0)), Some((-2.0, 3.0))],
        "an up-down counter may go down without a reset"
    );
    let gauge = def(MetricKind::Gauge, Temporality::Cumulative, false);
    assert_eq!(
        run(&gauge, &[(0, 20, 7.0, false), (0, 10, 1.0, false)]),
        vec![Some((7.0, 7.0)), Some((1.0, 1.0))],
        "gauge points are stored whatever their order"
    );
}

#[test]
fn cumulative_histograms_store_bucket_increases() {
    let d = def(MetricKind::Histogram, Temporality::Cumulative, false);
    let first = advance(
        &d,
        None,
        &point(1, 10, PointValue::Histogram(h(&[1.0], &[1, 1], 3.0))),
        false,
    );
    let second = advance(
        &d,
        first.state.as_ref(),
        &point(1, 20, PointValue::Histogram(h(&[1.0], &[3, 1], 4.0))),
        false,
    );
    let stored = second.store.unwrap();
    assert_eq!(stored.histogram, Some(h(&[1.0], &[2, 0], 1.0)));
    assert_eq!((stored.value, stored.level), (1.0, 4.0));
    assert_eq!(
        second.state.unwrap().total,
        PointValue::Histogram(h(&[1.0], &[3, 1], 4.0))
    );
}

fn raw_point(attrs: &[(&str, &str)], time_ns: i64, value: RawValue) -> RawPoint {
    RawPoint {
        attributes: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), AttrValue::Str(v.to_string())))
            .collect(),
        start_ns: 0,
        time_ns,
        value,
    }
}

#[test]
fn bad_points_are_named_with_the_fix() {
    let hist = |bounds: Vec<f64>, counts: Vec<u64>, count| RawValue::Histogram {
        count,
        sum: Some(1.0),
        bounds,
        counts,
    };
    let cases: Vec<(MetricKind, bool, RawPoint, &str)> = vec![
        (
            MetricKind::Gauge,
            false,
            raw_point(&[], 0, RawValue::Int(1)),
            "timeUnixNano is 0",
        ),
        (
            MetricKind::Gauge,
            false,
            RawPoint {
                start_ns: 20,
                ..raw_point(&[], 10, RawValue::Int(1))
            },
            "startTimeUnixNano (20) is after timeUnixNano (10)",
        ),
        (
            MetricKind::Gauge,
            false,
            raw_point(&[], 10, RawValue::Double(f64::NAN)),
            "asDouble is NaN; send a finite number",
        ),
        (
            MetricKind::Sum,
            true,
            raw_point(&[], 10, RawValue::Int(-1)),
            "a monotonic sum (a counter) never goes down",
        ),
        (
            MetricKind::Histogram,
            false,
            raw_point(&[], 10, hist(vec![1.0], vec![1, 1, 1], 3)),
            "bucketCounts has 3 entries for 1 explicitBounds",
        ),
        (
            MetricKind::Histogram,
            false,
            raw_point(&[], 10, hist(vec![2.0, 1.0], vec![1, 1, 1], 3)),
            "explicitBounds must be finite and strictly increasing",
        ),
        (
            MetricKind::Histogram,
            false,
            raw_point(&[], 10, hist(vec![1.0], vec![1, 1], 5)),
            "count (5) is not the sum of bucketCounts (2)",
        ),
        (
            MetricKind::Histogram,
            false,
            raw_point(
                &[],
                10,
                RawValue::Exponential {
                    count: 1,
                    sum: None,
                    scale: 21,
                    zero_count: 1,
                    positive: ExpBuckets::default(),
                    negative: ExpBuckets::default(),
                },
            ),
            "scale is 21",
        ),
    ];
    for (kind, monotonic, p, want) in cases {
        let err = check_point(kind, monotonic, &p).unwrap_err();
        assert!(err.contains(want), "{err} should contain {want}");
    }
    assert!(check_point(
        MetricKind::Sum,
        false,
        &raw_point(&[], 10, RawValue::Int(-1))
    )
    .is_ok());
}

#[test]
fn normalizing_makes_one_series_per_attribute_set_and_resource() {
    let resource = |svc: &str| Resource {
        attributes: vec![("service.name".into(), AttrValue::Str(svc.into()))],
    };
    let metric = |resource_index, points| RawMetric {
        resource_index,
        name: "gen_ai.client.token.usage".into(),
        description: "tokens".into(),
        unit: "{token}".into(),
        kind: MetricKind::Histogram,
        temporality: Temporality::Delta,
        monotonic: true,
        points,
    };
    let tokens = |n: u64| RawValue::Histogram {
        count: 1,
        sum: Some(n as f64),
        bounds: vec![100.0],
        counts: vec![u64::from(n <= 100), u64::from(n > 100)],
    };
    let raw = RawMetrics {
        resources: vec![resource("a"), resource("b")],
        metrics: vec![
            metric(
                0,
                vec![
                    raw_point(
                        &[("gen_ai.token.type", "input"), ("x", "1")],
                        10,
                        tokens(50),
                    ),
                    raw_point(
                        &[("x", "1"), ("gen_ai.token.type", "input")],
                        20,
                        tokens(500),
                    ),
                    raw_point(&[("gen_ai.token.type", "output")], 20, tokens(7)),
                ],
            ),
            metric(
                1,
                vec![raw_point(
                    &[("gen_ai.token.type", "input"), ("x", "1")],
                    10,
                    tokens(1),
                )],
            ),
        ],
        ..Default::default()
    };
    let batch = normalize_metrics(raw);
    assert_eq!(
        batch.series.len(),
        3,
        "attribute order does not matter; the resource does"
    );
    assert_eq!(
        batch.points.iter().map(|p| p.series).collect::<Vec<_>>(),
        vec![0, 0, 1, 2]
    );
    let s = &batch.series[0];
    assert_eq!(s.attributes[0].0, "gen_ai.token.type", "sorted by key");
    assert_eq!(s.attribute("gen_ai.token.type").as_deref(), Some("input"));
    assert_eq!(s.attribute("service.name").as_deref(), Some("a"));
    assert!(!s.def.monotonic, "only sums are monotonic");
    assert_eq!(
        s.id,
        series_id(&s.def.name, &s.attributes, &s.resource),
        "stable: the same input gives the same id"
    );
    assert_ne!(batch.series[0].id, batch.series[2].id);
}

#[test]
fn series_ids_never_change() {
    let attrs = vec![(
        "gen_ai.token.type".to_string(),
        AttrValue::Str("input".into()),
    )];
    let resource = vec![("service.name".to_string(), AttrValue::Str("svc".into()))];
    assert_eq!(
        series_id("gen_ai.client.token.usage", &attrs, &resource),
        8_850_651_313_220_323_533,
        "stored ids: the hash must stay the same"
    );
}
