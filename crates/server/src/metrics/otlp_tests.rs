//! The `/metrics/otlp` exposition: names and labels as Prometheus wants them, counters as
//! running totals, histograms as cumulative buckets, same-label series added, type clashes
//! left out; and the metric counters on `/metrics`.

use sightline_core::metrics::{Histogram, MetricDef, MetricKind, PointValue, Series, Temporality};
use sightline_core::{AttrValue, ProjectId};
use sightline_store::{MetricWriteOutcome, SeriesSnapshot};

use super::otlp::{family_name, render, sanitize};
use super::Metrics;
use crate::ingest::{CommitListener, MetricsCommit};

#[test]
fn names_follow_the_opentelemetry_to_prometheus_rules() {
    use MetricKind::*;
    for (name, unit, kind, monotonic, want) in [
        (
            "gen_ai.client.token.usage",
            "{token}",
            Histogram,
            false,
            "gen_ai_client_token_usage",
        ),
        (
            "gen_ai.client.operation.duration",
            "s",
            Histogram,
            false,
            "gen_ai_client_operation_duration_seconds",
        ),
        ("app.requests", "{request}", Sum, true, "app_requests_total"),
        ("app.requests_total", "1", Sum, true, "app_requests_total"),
        ("queue.depth", "1", Gauge, false, "queue_depth_ratio"),
        ("net.io", "By/s", Sum, false, "net_io_bytes_per_second"),
        (
            "http.server.duration",
            "ms",
            Histogram,
            false,
            "http_server_duration_milliseconds",
        ),
        ("latency_seconds", "s", Gauge, false, "latency_seconds"),
        ("9lives--x", "", Gauge, false, "_9lives_x"),
    ] {
        assert_eq!(
            family_name(name, unit, kind, monotonic),
            want,
            "{name} [{unit}]"
        );
    }
    assert_eq!(sanitize("gen_ai.token.type", false), "gen_ai_token_type");
    assert_eq!(sanitize("a:b", false), "a_b");
}

fn snapshot(
    project: i64,
    name: &str,
    kind: MetricKind,
    attrs: &[(&str, &str)],
    total: PointValue,
    time_ns: i64,
) -> SeriesSnapshot {
    SeriesSnapshot {
        project: ProjectId(project),
        series: Series {
            id: 0,
            def: MetricDef {
                name: name.into(),
                description: String::new(),
                unit: String::new(),
                kind,
                temporality: Temporality::Cumulative,
                monotonic: kind == MetricKind::Sum,
            },
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), AttrValue::Str(v.to_string())))
                .collect(),
            resource: vec![("service.name".into(), AttrValue::Str("svc".into()))],
        },
        total,
        time_ns,
    }
}

#[test]
fn the_exposition_has_totals_buckets_and_merged_label_sets() {
    let hist = Histogram {
        count: 3,
        sum: Some(1100.0),
        bounds: vec![100.0, 1000.0],
        counts: vec![1, 2, 0],
    };
    let series = vec![
        snapshot(
            1,
            "calls",
            MetricKind::Sum,
            &[("route", "a")],
            PointValue::Number(5.0),
            1,
        ),
        // Same name and labels after sanitizing (another resource would do the same): added.
        snapshot(
            1,
            "calls",
            MetricKind::Sum,
            &[("route", "a")],
            PointValue::Number(2.0),
            2,
        ),
        snapshot(
            1,
            "depth",
            MetricKind::Gauge,
            &[("le", "x")],
            PointValue::Number(3.0),
            1,
        ),
        snapshot(
            1,
            "depth",
            MetricKind::Gauge,
            &[("le", "x")],
            PointValue::Number(4.0),
            5,
        ),
        snapshot(
            2,
            "gen_ai.client.token.usage",
            MetricKind::Histogram,
            &[("gen_ai.token.type", "input")],
            PointValue::Histogram(hist),
            1,
        ),
        // A name already taken by another type: left out.
        snapshot(
            2,
            "depth",
            MetricKind::Histogram,
            &[],
            PointValue::Histogram(Histogram::default()),
            1,
        ),
    ];
    let text = render(&series);
    for line in [
        "# TYPE calls_total counter",
        r#"calls_total{project="1",route="a",service_name="svc"} 7"#,
        "# TYPE depth gauge",
        r#"depth{attr_le="x",project="1",service_name="svc"} 4"#,
        "# TYPE gen_ai_client_token_usage histogram",
        r#"gen_ai_client_token_usage_bucket{gen_ai_token_type="input",project="2",service_name="svc",le="100"} 1"#,
        r#"gen_ai_client_token_usage_bucket{gen_ai_token_type="input",project="2",service_name="svc",le="1000"} 3"#,
        r#"gen_ai_client_token_usage_bucket{gen_ai_token_type="input",project="2",service_name="svc",le="+Inf"} 3"#,
        r#"gen_ai_client_token_usage_sum{gen_ai_token_type="input",project="2",service_name="svc"} 1100"#,
        r#"gen_ai_client_token_usage_count{gen_ai_token_type="input",project="2",service_name="svc"} 3"#,
        "sightline_otlp_series_exposed 6",
        "sightline_otlp_series_skipped 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}

#[test]
fn refused_series_are_counted_on_metrics() {
    let m = Metrics::default();
    let written = MetricWriteOutcome {
        points: 4,
        duplicates: 1,
        refused_points: 3,
        refused_series: vec![("a".into(), 2), ("b".into(), 1)],
        series: 10,
    };
    m.metrics_committed(&MetricsCommit {
        project: ProjectId(1),
        written: &written,
        rejected_points: 2,
    });
    let text = m.render();
    for line in [
        r#"sightline_ingest_metric_points_total{outcome="accepted"} 4"#,
        r#"sightline_ingest_metric_points_total{outcome="duplicate"} 1"#,
        r#"sightline_ingest_metric_points_total{outcome="rejected"} 2"#,
        r#"sightline_ingest_metric_points_total{outcome="refused"} 3"#,
        "sightline_metrics_series_refused_total 3",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}
