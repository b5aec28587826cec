//! Tests of the OTLP metrics decoders (JSON and protobuf), the conversion to `RawMetrics` with
//! its per-point refusals, and the metrics export responses.

use super::*;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric::Data, number_data_point, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum,
};
use serde_json::{json, Value};
use sightline_core::metrics::{MetricKind, Temporality};
use sightline_core::{AttrValue, ExpBuckets, RawMetrics, RawValue};

const T: u64 = 1_714_564_800_000_000_000;

fn attr(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

/// One export with every metric type, as the OTel SDKs send it in OTLP/JSON.
fn every_type() -> Value {
    json!({"resourceMetrics": [{
        "resource": {"attributes": [attr("service.name", "travel-agent")]},
        "scopeMetrics": [{
            "scope": {"name": "opentelemetry.instrumentation.openai", "version": "0.40"},
            "metrics": [
                {"name": "queue.depth", "unit": "1", "gauge": {"dataPoints": [
                    {"attributes": [attr("q", "a")], "timeUnixNano": T.to_string(), "asDouble": 2.5}
                ]}},
                {"name": "app.requests", "description": "requests", "unit": "{request}",
                 "sum": {"aggregationTemporality": 2, "isMonotonic": true, "dataPoints": [
                    {"startTimeUnixNano": (T - 1).to_string(), "timeUnixNano": T.to_string(),
                     "asInt": "7", "exemplars": [{"asDouble": 1.0}]}
                ]}},
                {"name": "gen_ai.client.token.usage", "unit": "{token}",
                 "histogram": {"aggregationTemporality": 1, "dataPoints": [
                    {"attributes": [attr("gen_ai.token.type", "input")],
                     "timeUnixNano": T, "count": "3", "sum": 1100,
                     "bucketCounts": ["1", 2, "0"], "explicitBounds": [100, 1000.5],
                     "min": 50, "max": 600}
                ]}},
                {"name": "latency", "unit": "s",
                 "exponentialHistogram": {"aggregationTemporality": 2, "dataPoints": [
                    {"timeUnixNano": T.to_string(), "count": "4", "sum": 7.5, "scale": 0,
                     "zeroCount": "1", "positive": {"offset": 1, "bucketCounts": ["2", "1"]},
                     "negative": {}}
                ]}},
                {"name": "legacy", "summary": {"dataPoints": [
                    {"timeUnixNano": T.to_string(), "count": "2", "sum": 3.0,
                     "quantileValues": [{"quantile": 0.5, "value": 1.0}]}
                ]}}
            ]
        }]
    }]})
}

fn raw_of(v: &Value) -> RawMetrics {
    let bytes = serde_json::to_vec(v).unwrap();
    metrics_to_raw(decode_metrics(&bytes, Format::Json).unwrap())
}

#[test]
fn json_export_with_every_metric_type_converts() {
    let raw = raw_of(&every_type());
    assert_eq!(
        (raw.rejected_points, raw.errors.len()),
        (0, 0),
        "{:?}",
        raw.errors
    );
    assert_eq!(
        raw.resources[0].attributes,
        vec![("service.name".into(), AttrValue::Str("travel-agent".into()))]
    );
    let kinds: Vec<(&str, MetricKind, Temporality, bool)> = raw
        .metrics
        .iter()
        .map(|m| (m.name.as_str(), m.kind, m.temporality, m.monotonic))
        .collect();
    use MetricKind::*;
    use Temporality::*;
    assert_eq!(
        kinds,
        vec![
            ("queue.depth", Gauge, Cumulative, false),
            ("app.requests", Sum, Cumulative, true),
            ("gen_ai.client.token.usage", Histogram, Delta, false),
            ("latency", Histogram, Cumulative, false),
            ("legacy", Histogram, Cumulative, false),
        ]
    );
    let value = |i: usize| raw.metrics[i].points[0].value.clone();
    assert_eq!(value(0), RawValue::Double(2.5));
    assert_eq!(value(1), RawValue::Int(7));
    assert_eq!(raw.metrics[1].points[0].start_ns, (T - 1) as i64);
    assert_eq!(raw.metrics[1].description, "requests");
    assert_eq!(
        value(2),
        RawValue::Histogram {
            count: 3,
            sum: Some(1100.0),
            bounds: vec![100.0, 1000.5],
            counts: vec![1, 2, 0],
        }
    );
    assert_eq!(
        raw.metrics[2].points[0].attributes,
        vec![("gen_ai.token.type".into(), AttrValue::Str("input".into()))]
    );
    assert_eq!(
        value(3),
        RawValue::Exponential {
            count: 4,
            sum: Some(7.5),
            scale: 0,
            zero_count: 1,
            positive: ExpBuckets {
                offset: 1,
                counts: vec![2, 1]
            },
            negative: ExpBuckets::default(),
        }
    );
    assert_eq!(value(4), RawValue::Summary { count: 2, sum: 3.0 });
}

fn number(time: u64, value: Option<number_data_point::Value>, flags: u32) -> NumberDataPoint {
    NumberDataPoint {
        attributes: vec![KeyValue {
            key: "k".into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue("v".into())),
            }),
            key_strindex: 0,
        }],
        time_unix_nano: time,
        flags,
        value,
        ..Default::default()
    }
}

fn export(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn sum(name: &str, temporality: i32, points: Vec<NumberDataPoint>) -> Metric {
    Metric {
        name: name.into(),
        data: Some(Data::Sum(Sum {
            data_points: points,
            aggregation_temporality: temporality,
            is_monotonic: true,
        })),
        ..Default::default()
    }
}

#[test]
fn protobuf_decodes_and_bad_points_are_refused_alone() {
    use number_data_point::Value::{AsDouble, AsInt};
    let req = export(vec![
        sum(
            "calls",
            1,
            vec![
                number(T, Some(AsInt(3)), 0),
                number(0, Some(AsInt(1)), 0),
                number(T, None, 0),
                number(T, Some(AsDouble(-1.0)), 0),
                // "No recorded value": skipped, not refused.
                number(T, None, 1),
            ],
        ),
        sum("unspecified", 0, vec![number(T, Some(AsInt(1)), 0)]),
        sum("", 1, vec![number(T, Some(AsInt(1)), 0)]),
        Metric {
            name: "g".into(),
            data: Some(Data::Gauge(Gauge {
                data_points: vec![number(T, Some(AsDouble(f64::INFINITY)), 0)],
            })),
            ..Default::default()
        },
    ]);
    let bytes = prost::Message::encode_to_vec(&req);
    let decoded = decode_metrics(&bytes, Format::Protobuf).unwrap();
    assert_eq!(decoded, req);
    let raw = metrics_to_raw(decoded);
    assert_eq!(raw.metrics.len(), 1);
    assert_eq!(raw.metrics[0].points.len(), 1, "the good point is kept");
    assert_eq!(raw.rejected_points, 6);
    let at = "resourceMetrics[0].scopeMetrics[0].metrics";
    let expected = [
        format!("{at}[0].sum.dataPoints[1] (metric \"calls\"): timeUnixNano is 0"),
        format!("{at}[0].sum.dataPoints[2] (metric \"calls\"): the value is missing; send asInt or asDouble"),
        format!("{at}[0].sum.dataPoints[3] (metric \"calls\"): asDouble is -1, but a monotonic sum"),
        format!("{at}[1].sum.dataPoints[0] (metric \"unspecified\"): sum.aggregationTemporality is 0; send 1 (delta) or 2 (cumulative)"),
        format!("{at}[2].sum.dataPoints[0] (metric \"\"): name is empty; name the metric"),
        format!("{at}[3].gauge.dataPoints[0] (metric \"g\"): asDouble is inf; send a finite number"),
    ];
    assert_eq!(raw.errors.len(), expected.len(), "{:#?}", raw.errors);
    for (line, want) in raw.errors.iter().zip(&expected) {
        assert!(
            line.starts_with(want.as_str()),
            "{line}\n  should start with\n{want}"
        );
    }
    assert!(decode_metrics(b"\xff\xff", Format::Protobuf)
        .unwrap_err()
        .to_string()
        .contains("ExportMetricsServiceRequest"));
}

#[test]
fn json_shape_errors_name_the_field() {
    let err = |v: Value| {
        decode_metrics(&serde_json::to_vec(&v).unwrap(), Format::Json)
            .unwrap_err()
            .to_string()
    };
    let one =
        |metric: Value| json!({"resourceMetrics": [{"scopeMetrics": [{"metrics": [metric]}]}]});
    let e = err(one(
        json!({"name": "x", "sum": {"aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA"}}),
    ));
    assert!(
        e.contains("resourceMetrics[0].scopeMetrics[0].metrics[0].sum.aggregationTemporality")
            && e.contains("send 1 instead"),
        "{e}"
    );
    let e = err(one(json!({"name": "x", "gauge": {}, "sum": {}})));
    assert!(e.contains("but gauge and sum are set; send one"), "{e}");
    let e = err(one(
        json!({"name": "x", "histogram": {"dataPoints": [{"bucketCounts": "3"}]}}),
    ));
    assert!(
        e.contains("dataPoints[0].bucketCounts: expected an array"),
        "{e}"
    );
    let e = err(json!({"resource_metrics": []}));
    assert!(
        e.contains("rename resource_metrics to resourceMetrics"),
        "{e}"
    );
    assert_eq!(
        decode_metrics(b"", Format::Json).unwrap(),
        ExportMetricsServiceRequest::default()
    );
}

#[test]
fn metrics_responses_have_the_exact_shapes() {
    assert_eq!(encode_metrics_response(0, "", Format::Json), b"{}");
    let body = encode_metrics_response(2, "two bad", Format::Json);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v,
        json!({"partialSuccess": {"rejectedDataPoints": "2", "errorMessage": "two bad"}})
    );
    let body = encode_metrics_response(1, "x", Format::Protobuf);
    let decoded = <ExportMetricsServiceResponse as prost::Message>::decode(&body[..]).unwrap();
    let partial = decoded.partial_success.unwrap();
    assert_eq!(
        (partial.rejected_data_points, partial.error_message.as_str()),
        (1, "x")
    );
}
