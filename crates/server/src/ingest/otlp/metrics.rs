//! Conversion of decoded OTLP metric exports into the wire-neutral `RawMetrics`, checking each
//! data point on its own (core's `check_point`): a bad point is counted and explained with its
//! place in the request, the rest of the export is kept. A point flagged "no recorded value" is
//! skipped without complaint.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point, DataPointFlags,
    ExponentialHistogramDataPoint, HistogramDataPoint, Metric, NumberDataPoint, SummaryDataPoint,
};
use sightline_core::metrics::{check_point, MetricKind, Temporality};
use sightline_core::{ExpBuckets, RawMetric, RawMetrics, RawPoint, RawValue, Resource};

use super::convert::{attributes, time};
use super::{excerpt, ErrorLines};

/// Converts one OTLP metrics export (protobuf, JSON or gRPC) into `RawMetrics`.
pub fn metrics_to_raw(req: ExportMetricsServiceRequest) -> RawMetrics {
    let mut batch = RawMetrics::default();
    let mut errors = ErrorLines::default();
    for (i, rm) in req.resource_metrics.into_iter().enumerate() {
        let resource_index = batch.resources.len();
        let attributes = rm
            .resource
            .map(|r| attributes(r.attributes))
            .unwrap_or_default();
        batch.resources.push(Resource { attributes });
        for (j, sm) in rm.scope_metrics.into_iter().enumerate() {
            for (k, metric) in sm.metrics.into_iter().enumerate() {
                let at = format!("resourceMetrics[{i}].scopeMetrics[{j}].metrics[{k}]");
                if let Some(m) = convert(metric, resource_index, &at, &mut batch, &mut errors) {
                    batch.metrics.push(m);
                }
            }
        }
    }
    batch.errors = errors.finish();
    batch
}

/// A data point in the wire's shape, with what the conversion needs of it.
struct WirePoint {
    attributes: Vec<KeyValue>,
    start: u64,
    time: u64,
    flags: u32,
    value: Result<RawValue, String>,
}

fn temporality(n: i32, field: &str) -> Result<Temporality, String> {
    match n {
        1 => Ok(Temporality::Delta),
        2 => Ok(Temporality::Cumulative),
        other => Err(format!(
            "{field}.aggregationTemporality is {other}; send 1 (delta) or 2 (cumulative)"
        )),
    }
}

fn number(p: NumberDataPoint) -> WirePoint {
    WirePoint {
        attributes: p.attributes,
        start: p.start_time_unix_nano,
        time: p.time_unix_nano,
        flags: p.flags,
        value: match p.value {
            Some(number_data_point::Value::AsInt(i)) => Ok(RawValue::Int(i)),
            Some(number_data_point::Value::AsDouble(d)) => Ok(RawValue::Double(d)),
            None => Err("the value is missing; send asInt or asDouble".into()),
        },
    }
}

fn histogram(p: HistogramDataPoint) -> WirePoint {
    WirePoint {
        attributes: p.attributes,
        start: p.start_time_unix_nano,
        time: p.time_unix_nano,
        flags: p.flags,
        value: Ok(RawValue::Histogram {
            count: p.count,
            sum: p.sum,
            bounds: p.explicit_bounds,
            counts: p.bucket_counts,
        }),
    }
}

fn buckets(b: Option<Buckets>) -> ExpBuckets {
    b.map(|b| ExpBuckets {
        offset: b.offset,
        counts: b.bucket_counts,
    })
    .unwrap_or_default()
}

fn exponential(p: ExponentialHistogramDataPoint) -> WirePoint {
    WirePoint {
        attributes: p.attributes,
        start: p.start_time_unix_nano,
        time: p.time_unix_nano,
        flags: p.flags,
        value: Ok(RawValue::Exponential {
            count: p.count,
            sum: p.sum,
            scale: p.scale,
            zero_count: p.zero_count,
            positive: buckets(p.positive),
            negative: buckets(p.negative),
        }),
    }
}

fn summary(p: SummaryDataPoint) -> WirePoint {
    WirePoint {
        attributes: p.attributes,
        start: p.start_time_unix_nano,
        time: p.time_unix_nano,
        flags: p.flags,
        value: Ok(RawValue::Summary {
            count: p.count,
            sum: p.sum,
        }),
    }
}

/// One metric's checked points; `None` when it has no data. Refused points are counted and
/// explained in `errors`.
fn convert(
    metric: Metric,
    resource_index: usize,
    at: &str,
    batch: &mut RawMetrics,
    errors: &mut ErrorLines,
) -> Option<RawMetric> {
    let data = metric.data?;
    let (field, kind, temporality, monotonic, points): (_, _, _, _, Vec<WirePoint>) = match data {
        Data::Gauge(g) => (
            "gauge",
            MetricKind::Gauge,
            Ok(Temporality::Cumulative),
            false,
            g.data_points.into_iter().map(number).collect(),
        ),
        Data::Sum(s) => (
            "sum",
            MetricKind::Sum,
            temporality(s.aggregation_temporality, "sum"),
            s.is_monotonic,
            s.data_points.into_iter().map(number).collect(),
        ),
        Data::Histogram(h) => (
            "histogram",
            MetricKind::Histogram,
            temporality(h.aggregation_temporality, "histogram"),
            false,
            h.data_points.into_iter().map(histogram).collect(),
        ),
        Data::ExponentialHistogram(h) => (
            "exponentialHistogram",
            MetricKind::Histogram,
            temporality(h.aggregation_temporality, "exponentialHistogram"),
            false,
            h.data_points.into_iter().map(exponential).collect(),
        ),
        // Summaries are cumulative by definition; only their count and sum are kept.
        Data::Summary(s) => (
            "summary",
            MetricKind::Histogram,
            Ok(Temporality::Cumulative),
            false,
            s.data_points.into_iter().map(summary).collect(),
        ),
    };
    let name = excerpt(&metric.name);
    // A problem of the whole metric refuses each of its points.
    let whole = if metric.name.trim().is_empty() {
        Err("name is empty; name the metric".to_owned())
    } else {
        temporality.clone().map(|_| ())
    };
    let mut out = RawMetric {
        resource_index,
        name: metric.name,
        description: metric.description,
        unit: metric.unit,
        kind,
        temporality: temporality.unwrap_or(Temporality::Cumulative),
        monotonic,
        points: Vec::with_capacity(points.len()),
    };
    let no_value = DataPointFlags::NoRecordedValueMask as u32;
    for (n, p) in points.into_iter().enumerate() {
        if p.flags & no_value != 0 {
            continue;
        }
        let checked = whole.clone().and_then(|()| {
            let point = RawPoint {
                attributes: attributes(p.attributes),
                start_ns: time(p.start, "startTimeUnixNano")?,
                time_ns: time(p.time, "timeUnixNano")?,
                value: p.value?,
            };
            check_point(kind, monotonic, &point).map(|()| point)
        });
        match checked {
            Ok(point) => out.points.push(point),
            Err(problem) => {
                batch.rejected_points += 1;
                errors.push_with(|| {
                    format!("{at}.{field}.dataPoints[{n}] (metric {name}): {problem}")
                });
            }
        }
    }
    (!out.points.is_empty()).then_some(out)
}
