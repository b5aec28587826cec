//! OTLP/JSON decoding of metric exports into the prost request type, with the same rules and
//! helpers as traces and logs (`json.rs`): lowerCamelCase keys, 64-bit integers as decimal
//! strings or numbers, enums as integers, unknown fields (exemplars among them) ignored.

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile, ExponentialHistogram, ExponentialHistogramDataPoint,
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    Sum, Summary, SummaryDataPoint,
};
use serde_json::Value;

use super::json::{
    attributes, boolean, count, double, each, enumeration, field, get, int, key_value, nanos,
    object, opt, parse, resource, root, scope, string, Object, Path, Result,
};

pub(super) fn metrics(body: &[u8]) -> Result<ExportMetricsServiceRequest> {
    let Some(v) = parse(body)? else {
        return Ok(ExportMetricsServiceRequest::default());
    };
    let m = root(
        &v,
        "resourceMetrics",
        "resource_metrics",
        "an ExportMetricsServiceRequest object",
    )?;
    Ok(ExportMetricsServiceRequest {
        resource_metrics: each(m, "resourceMetrics", &Path::Root, resource_metrics)?,
    })
}

fn resource_metrics(v: &Value, path: &Path) -> Result<ResourceMetrics> {
    let m = object(v, path, "a resourceMetrics object")?;
    Ok(ResourceMetrics {
        resource: opt(m, "resource", path, resource)?,
        scope_metrics: each(m, "scopeMetrics", path, scope_metrics)?,
        schema_url: get(m, "schemaUrl", path, string)?,
    })
}

fn scope_metrics(v: &Value, path: &Path) -> Result<ScopeMetrics> {
    let m = object(v, path, "a scopeMetrics object")?;
    Ok(ScopeMetrics {
        scope: opt(m, "scope", path, scope)?,
        metrics: each(m, "metrics", path, metric)?,
        schema_url: get(m, "schemaUrl", path, string)?,
    })
}

const DATA_KEYS: [&str; 5] = [
    "gauge",
    "sum",
    "histogram",
    "exponentialHistogram",
    "summary",
];

fn metric(v: &Value, path: &Path) -> Result<Metric> {
    let m = object(v, path, "a metric object")?;
    let present: Vec<&str> = DATA_KEYS
        .into_iter()
        .filter(|k| field(m, k).is_some())
        .collect();
    if present.len() > 1 {
        return Err(path.error(format!(
            "a metric holds one of {}, but {} are set; send one",
            DATA_KEYS.join(", "),
            present.join(" and ")
        )));
    }
    let data = match present.first().copied() {
        Some("gauge") => opt(m, "gauge", path, gauge)?.map(Data::Gauge),
        Some("sum") => opt(m, "sum", path, sum)?.map(Data::Sum),
        Some("histogram") => opt(m, "histogram", path, histogram)?.map(Data::Histogram),
        Some("exponentialHistogram") => {
            opt(m, "exponentialHistogram", path, exponential_histogram)?
                .map(Data::ExponentialHistogram)
        }
        Some(_) => opt(m, "summary", path, summary)?.map(Data::Summary),
        None => None,
    };
    Ok(Metric {
        name: get(m, "name", path, string)?,
        description: get(m, "description", path, string)?,
        unit: get(m, "unit", path, string)?,
        metadata: each(m, "metadata", path, key_value)?,
        data,
    })
}

fn temporality_by_name(s: &str) -> Option<i32> {
    match s
        .strip_prefix("AGGREGATION_TEMPORALITY_")
        .unwrap_or(s)
        .to_ascii_uppercase()
        .as_str()
    {
        "UNSPECIFIED" => Some(0),
        "DELTA" => Some(1),
        "CUMULATIVE" => Some(2),
        _ => None,
    }
}

fn temporality(m: &Object, path: &Path) -> Result<i32> {
    let t = |v: &Value, p: &Path| enumeration(v, p, "2 for cumulative", temporality_by_name);
    get(m, "aggregationTemporality", path, t)
}

fn gauge(v: &Value, path: &Path) -> Result<Gauge> {
    let m = object(v, path, "a gauge object {\"dataPoints\": [...]}")?;
    Ok(Gauge {
        data_points: each(m, "dataPoints", path, number_point)?,
    })
}

fn sum(v: &Value, path: &Path) -> Result<Sum> {
    let m = object(v, path, "a sum object {\"dataPoints\": [...], ...}")?;
    Ok(Sum {
        data_points: each(m, "dataPoints", path, number_point)?,
        aggregation_temporality: temporality(m, path)?,
        is_monotonic: get(m, "isMonotonic", path, boolean)?,
    })
}

fn histogram(v: &Value, path: &Path) -> Result<Histogram> {
    let m = object(v, path, "a histogram object {\"dataPoints\": [...], ...}")?;
    Ok(Histogram {
        data_points: each(m, "dataPoints", path, histogram_point)?,
        aggregation_temporality: temporality(m, path)?,
    })
}

fn exponential_histogram(v: &Value, path: &Path) -> Result<ExponentialHistogram> {
    let m = object(v, path, "an exponentialHistogram object")?;
    Ok(ExponentialHistogram {
        data_points: each(m, "dataPoints", path, exponential_point)?,
        aggregation_temporality: temporality(m, path)?,
    })
}

fn summary(v: &Value, path: &Path) -> Result<Summary> {
    let m = object(v, path, "a summary object {\"dataPoints\": [...]}")?;
    Ok(Summary {
        data_points: each(m, "dataPoints", path, summary_point)?,
    })
}

fn uint64(v: &Value, path: &Path) -> Result<u64> {
    int(v, path, "a decimal string or integer (uint64)")
}

fn int32(v: &Value, path: &Path) -> Result<i32> {
    int(v, path, "an integer (int32)")
}

fn number_point(v: &Value, path: &Path) -> Result<NumberDataPoint> {
    let m = object(v, path, "a number data point object")?;
    let value = match (field(m, "asInt"), field(m, "asDouble")) {
        (Some(_), Some(_)) => {
            return Err(
                path.error("a number point holds asInt or asDouble, but both are set; send one")
            )
        }
        (Some(_), None) => opt(m, "asInt", path, |v, p| {
            int(v, p, "a decimal string or integer (int64)")
        })?
        .map(number_data_point::Value::AsInt),
        (None, Some(_)) => {
            opt(m, "asDouble", path, double)?.map(number_data_point::Value::AsDouble)
        }
        (None, None) => None,
    };
    Ok(NumberDataPoint {
        attributes: attributes(m, path)?,
        start_time_unix_nano: get(m, "startTimeUnixNano", path, nanos)?,
        time_unix_nano: get(m, "timeUnixNano", path, nanos)?,
        exemplars: Vec::new(),
        flags: get(m, "flags", path, count)?,
        value,
    })
}

/// A JSON array whose every element `item` reads (`what` names them in the error).
fn array<T>(
    v: &Value,
    path: &Path,
    what: &str,
    item: fn(&Value, &Path) -> Result<T>,
) -> Result<Vec<T>> {
    let items = v
        .as_array()
        .ok_or_else(|| path.error(format!("expected an array of {what}")))?;
    items
        .iter()
        .enumerate()
        .map(|(i, x)| item(x, &Path::Index(path, i)))
        .collect()
}

fn doubles(v: &Value, path: &Path) -> Result<Vec<f64>> {
    array(v, path, "numbers", double)
}

fn uint64s(v: &Value, path: &Path) -> Result<Vec<u64>> {
    array(v, path, "decimal strings or integers", uint64)
}

fn histogram_point(v: &Value, path: &Path) -> Result<HistogramDataPoint> {
    let m = object(v, path, "a histogram data point object")?;
    Ok(HistogramDataPoint {
        attributes: attributes(m, path)?,
        start_time_unix_nano: get(m, "startTimeUnixNano", path, nanos)?,
        time_unix_nano: get(m, "timeUnixNano", path, nanos)?,
        count: get(m, "count", path, uint64)?,
        sum: opt(m, "sum", path, double)?,
        bucket_counts: get(m, "bucketCounts", path, uint64s)?,
        explicit_bounds: get(m, "explicitBounds", path, doubles)?,
        exemplars: Vec::new(),
        flags: get(m, "flags", path, count)?,
        min: opt(m, "min", path, double)?,
        max: opt(m, "max", path, double)?,
    })
}

fn buckets(v: &Value, path: &Path) -> Result<Buckets> {
    let m = object(
        v,
        path,
        "a buckets object {\"offset\": 0, \"bucketCounts\": [...]}",
    )?;
    Ok(Buckets {
        offset: get(m, "offset", path, int32)?,
        bucket_counts: get(m, "bucketCounts", path, uint64s)?,
    })
}

fn exponential_point(v: &Value, path: &Path) -> Result<ExponentialHistogramDataPoint> {
    let m = object(v, path, "an exponential histogram data point object")?;
    Ok(ExponentialHistogramDataPoint {
        attributes: attributes(m, path)?,
        start_time_unix_nano: get(m, "startTimeUnixNano", path, nanos)?,
        time_unix_nano: get(m, "timeUnixNano", path, nanos)?,
        count: get(m, "count", path, uint64)?,
        sum: opt(m, "sum", path, double)?,
        scale: get(m, "scale", path, int32)?,
        zero_count: get(m, "zeroCount", path, uint64)?,
        positive: opt(m, "positive", path, buckets)?,
        negative: opt(m, "negative", path, buckets)?,
        flags: get(m, "flags", path, count)?,
        exemplars: Vec::new(),
        min: opt(m, "min", path, double)?,
        max: opt(m, "max", path, double)?,
        zero_threshold: get(m, "zeroThreshold", path, double)?,
    })
}

fn summary_point(v: &Value, path: &Path) -> Result<SummaryDataPoint> {
    let m = object(v, path, "a summary data point object")?;
    let quantile = |v: &Value, p: &Path| -> Result<ValueAtQuantile> {
        let q = object(v, p, "an object {\"quantile\": 0.5, \"value\": ...}")?;
        Ok(ValueAtQuantile {
            quantile: get(q, "quantile", p, double)?,
            value: get(q, "value", p, double)?,
        })
    };
    Ok(SummaryDataPoint {
        attributes: attributes(m, path)?,
        start_time_unix_nano: get(m, "startTimeUnixNano", path, nanos)?,
        time_unix_nano: get(m, "timeUnixNano", path, nanos)?,
        count: get(m, "count", path, uint64)?,
        sum: get(m, "sum", path, double)?,
        quantile_values: each(m, "quantileValues", path, quantile)?,
        flags: get(m, "flags", path, count)?,
    })
}
