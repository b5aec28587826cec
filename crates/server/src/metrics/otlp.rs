//! `GET /metrics/otlp`: the OTLP metric series stored by every project, in the Prometheus text
//! format, read from the store at each scrape (their totals since first stored, so counters
//! never reset). Names follow the OpenTelemetry-to-Prometheus rules: characters outside
//! `[a-zA-Z0-9_:]` become `_`, the unit is appended as a word (`_seconds`, `_bytes`; `{token}`
//! annotations dropped), counters end in `_total`. Labels: `project`, the point attributes
//! (sanitized; keys that collide are joined with `;`) and the resource's `service.name` as
//! `service_name`. Series that end up with the same name and labels are added together (the
//! newest value wins for gauges); a name already taken by another type is skipped.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sightline_core::metrics::{Histogram, MetricKind, PointValue};
use sightline_store::{MetricSeriesReader, SeriesSnapshot};

use super::llm::label;
use super::text::{Text, CONTENT_TYPE};
use crate::auth::ScrapeAccess;
use crate::error::ApiError;

/// Most series one scrape reads; the rest are left out (`sightline_otlp_series_exposed` says
/// how many were read).
pub const MAX_EXPOSED_SERIES: usize = 50_000;

/// Where `/metrics/otlp` reads the stored series.
#[derive(Clone)]
pub struct OtlpSource(pub Arc<dyn MetricSeriesReader>);

/// `GET /metrics/otlp`, with the access rules of `/metrics`.
pub async fn serve(
    _: ScrapeAccess,
    State(source): State<OtlpSource>,
) -> Result<Response, ApiError> {
    let series = source.0.metric_snapshot(MAX_EXPOSED_SERIES).await?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&series)).into_response())
}

/// A Prometheus metric name or label name: `[a-zA-Z_:][a-zA-Z0-9_:]*` (no `:` in labels), runs
/// of `_` collapsed.
pub fn sanitize(name: &str, colons: bool) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let keep = c.is_ascii_alphanumeric() || (colons && c == ':');
        let c = if keep { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A unit word for the name: UCUM as OpenTelemetry uses it, `{...}` annotations dropped.
fn unit_word(unit: &str) -> Option<String> {
    let mut plain = String::new();
    let mut depth = 0;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            c if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let word = |u: &str| -> String {
        match u {
            "d" => "days",
            "h" => "hours",
            "min" => "minutes",
            "s" => "seconds",
            "ms" => "milliseconds",
            "us" => "microseconds",
            "ns" => "nanoseconds",
            "By" => "bytes",
            "KiBy" => "kibibytes",
            "MiBy" => "mebibytes",
            "GiBy" => "gibibytes",
            "KBy" => "kilobytes",
            "MBy" => "megabytes",
            "GBy" => "gigabytes",
            "%" => "percent",
            "Hz" => "hertz",
            "V" => "volts",
            "W" => "watts",
            "A" => "amperes",
            "J" => "joules",
            "Cel" => "celsius",
            other => return sanitize(other, false).trim_matches('_').to_owned(),
        }
        .to_owned()
    };
    let plain = plain.trim();
    let out = match plain.split_once('/') {
        Some((a, b)) => {
            // "per" units are singular: `By/s` is bytes_per_second.
            let per = match b.trim() {
                "s" => "second".to_owned(),
                "min" | "m" => "minute".to_owned(),
                "h" => "hour".to_owned(),
                "d" => "day".to_owned(),
                other => word(other),
            };
            let (a, b) = (word(a.trim()), per);
            match (a.is_empty(), b.is_empty()) {
                (_, true) => a,
                (true, false) => format!("per_{b}"),
                (false, false) => format!("{a}_per_{b}"),
            }
        }
        None if plain == "1" => String::new(),
        None => word(plain),
    };
    (!out.is_empty()).then_some(out)
}

/// The family name of a metric: sanitized, with its unit, `_ratio` for a gauge of unit `1`,
/// `_total` for a counter.
pub fn family_name(name: &str, unit: &str, kind: MetricKind, monotonic: bool) -> String {
    let counter = kind == MetricKind::Sum && monotonic;
    let mut out = sanitize(name, true);
    if counter {
        if let Some(stem) = out.strip_suffix("_total") {
            out = stem.to_owned();
        }
    }
    let unit = match unit_word(unit) {
        None if unit.trim() == "1" && kind == MetricKind::Gauge => Some("ratio".to_owned()),
        u => u,
    };
    if let Some(u) = unit {
        if !out.ends_with(&format!("_{u}")) {
            out = sanitize(&format!("{out}_{u}"), true);
        }
    }
    if counter {
        out.push_str("_total");
    }
    out
}

/// Labels reserved for Sightline or the format: an attribute sanitized to one gets `attr_`.
const RESERVED: &[&str] = &["le", "project", "service_name", "quantile"];

/// The labels of a series, sorted by name.
fn labels(s: &SeriesSnapshot) -> Vec<(String, String)> {
    let mut by_label: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (key, value) in &s.series.attributes {
        let mut l = sanitize(key, false);
        if RESERVED.contains(&l.as_str()) || l.starts_with("__") {
            l = format!("attr_{}", l.trim_start_matches('_'));
        }
        let value = value
            .to_text()
            .unwrap_or_else(|| value.to_json().to_string());
        by_label.entry(l).or_default().push((key.clone(), value));
    }
    let mut out: Vec<(String, String)> = vec![("project".into(), s.project.0.to_string())];
    if let Some(service) = s
        .series
        .resource
        .iter()
        .find(|(k, _)| k == "service.name")
        .and_then(|(_, v)| v.to_text())
    {
        out.push(("service_name".into(), label(Some(&service))));
    }
    for (l, mut values) in by_label {
        values.sort();
        let joined: Vec<String> = values.into_iter().map(|(_, v)| v).collect();
        out.push((l, label(Some(&joined.join(";")))));
    }
    out.sort();
    out
}

/// One family: its type, help text and samples by label set.
struct Family {
    kind: &'static str,
    help: String,
    samples: BTreeMap<Vec<(String, String)>, Sample>,
}

enum Sample {
    Number { value: f64, time_ns: i64 },
    Histogram(Histogram),
}

/// A float as the text format writes it.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        v.to_string()
    }
}

/// The exposition of `series` (what `metric_snapshot` read).
pub fn render(series: &[SeriesSnapshot]) -> String {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut skipped = 0u64;
    for s in series {
        let d = &s.series.def;
        let counter = d.kind == MetricKind::Sum && d.monotonic;
        let kind = match d.kind {
            MetricKind::Histogram => "histogram",
            _ if counter => "counter",
            _ => "gauge",
        };
        let name = family_name(&d.name, &d.unit, d.kind, d.monotonic);
        let family = families.entry(name).or_insert_with(|| Family {
            kind,
            help: if d.description.is_empty() {
                format!("OTLP metric {}", d.name)
            } else {
                d.description.clone()
            },
            samples: BTreeMap::new(),
        });
        let sample = match (&s.total, family.kind == kind) {
            (PointValue::Number(v), true) if kind != "histogram" => Sample::Number {
                value: *v,
                time_ns: s.time_ns,
            },
            (PointValue::Histogram(h), true) if kind == "histogram" => Sample::Histogram(h.clone()),
            _ => {
                skipped += 1;
                continue;
            }
        };
        match (family.samples.get_mut(&labels(s)), sample) {
            (None, sample) => {
                family.samples.insert(labels(s), sample);
            }
            (Some(Sample::Histogram(have)), Sample::Histogram(h)) => have.merge(&h),
            (
                Some(Sample::Number { value, time_ns }),
                Sample::Number {
                    value: v,
                    time_ns: t,
                },
            ) => {
                if counter {
                    *value += v;
                } else if t >= *time_ns {
                    (*value, *time_ns) = (v, t);
                }
            }
            _ => skipped += 1,
        }
    }
    let mut out = Text::default();
    for (name, family) in &families {
        out.family(name, family.kind, &family.help);
        for (labels, sample) in &family.samples {
            let mut refs: Vec<(&str, &str)> = labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            match sample {
                Sample::Number { value, .. } => out.sample(name, &refs, number(*value)),
                Sample::Histogram(h) => {
                    let bucket = format!("{name}_bucket");
                    let les: Vec<String> = h.bounds.iter().map(|b| number(*b)).collect();
                    let mut below = 0u64;
                    for (le, count) in les.iter().zip(&h.counts) {
                        below += count;
                        let mut with_le = refs.clone();
                        with_le.push(("le", le));
                        out.sample(&bucket, &with_le, below);
                    }
                    refs.push(("le", "+Inf"));
                    out.sample(&bucket, &refs, h.count);
                    refs.pop();
                    out.sample(&format!("{name}_sum"), &refs, number(h.sum.unwrap_or(0.0)));
                    out.sample(&format!("{name}_count"), &refs, h.count);
                }
            }
        }
    }
    out.family(
        "sightline_otlp_series_exposed",
        "gauge",
        "Stored OTLP series read for this scrape (at most 50000).",
    );
    out.sample("sightline_otlp_series_exposed", &[], series.len());
    out.family(
        "sightline_otlp_series_skipped",
        "gauge",
        "Stored OTLP series left out: their name is taken by a metric of another type.",
    );
    out.sample("sightline_otlp_series_skipped", &[], skipped);
    out.finish()
}
