//! OTLP/JSON decoding into the prost request types, following the OTLP/JSON mapping: lowerCamelCase
//! keys, hex ids, int64 as decimal strings or numbers, enums as integers, unknown fields ignored,
//! missing (or `null`) fields default.
//!
//! Ids are decoded from hex but not length-checked here: conversion refuses bad ids per span. An id
//! that is not hex at all fails the whole request, because it cannot be represented as bytes; in
//! practice it means the client encodes every id wrongly (usually base64), and the message says so.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};
use serde_json::{Map, Value};
use std::fmt::Write as _;

use super::DecodeError;

pub(super) type Result<T> = std::result::Result<T, DecodeError>;
pub(super) type Object = Map<String, Value>;

/// Where a value sits in the request, rendered only when an error is reported.
#[derive(Clone, Copy)]
pub(super) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub(super) fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    fn index(&'a self, i: usize) -> Path<'a> {
        Path::Index(self, i)
    }

    fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        if out.is_empty() {
            out.push_str("the request");
        }
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.write(out);
                if !matches!(parent, Path::Root) {
                    out.push('.');
                }
                out.push_str(key);
            }
            Path::Index(parent, i) => {
                parent.write(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }

    pub(super) fn error(&self, problem: impl Into<String>) -> DecodeError {
        DecodeError::Json {
            path: self.render(),
            problem: problem.into(),
        }
    }

    fn expected(&self, what: &str, got: &Value) -> DecodeError {
        self.error(format!("expected {what}, got {}", describe(got)))
    }
}

/// A short description of a JSON value for error messages.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => super::excerpt(s),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

pub(super) fn parse(body: &[u8]) -> Result<Option<Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| DecodeError::JsonSyntax(e.to_string()))
}

pub(super) fn object<'v>(v: &'v Value, path: &Path, what: &str) -> Result<&'v Object> {
    v.as_object().ok_or_else(|| path.expected(what, v))
}

/// A present, non-null field.
pub(super) fn field<'v>(m: &'v Object, key: &str) -> Option<&'v Value> {
    m.get(key).filter(|v| !v.is_null())
}

/// Decodes every element of the array field `key` (missing means empty).
pub(super) fn each<T>(
    m: &Object,
    key: &str,
    path: &Path,
    mut f: impl FnMut(&Value, &Path) -> Result<T>,
) -> Result<Vec<T>> {
    let path = path.key(key);
    let Some(v) = field(m, key) else {
        return Ok(Vec::new());
    };
    let items = v.as_array().ok_or_else(|| path.expected("an array", v))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| f(item, &path.index(i)))
        .collect()
}

/// Reads field `key` with `f` if it is present.
pub(super) fn opt<T>(
    m: &Object,
    key: &str,
    path: &Path,
    f: impl FnOnce(&Value, &Path) -> Result<T>,
) -> Result<Option<T>> {
    match field(m, key) {
        Some(v) => f(v, &path.key(key)).map(Some),
        None => Ok(None),
    }
}

/// Reads field `key` with `f`, or the default when it is missing.
pub(super) fn get<T: Default>(
    m: &Object,
    key: &str,
    path: &Path,
    f: impl FnOnce(&Value, &Path) -> Result<T>,
) -> Result<T> {
    opt(m, key, path, f).map(Option::unwrap_or_default)
}

pub(super) fn string(v: &Value, path: &Path) -> Result<String> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| path.expected("a string", v))
}

pub(super) fn boolean(v: &Value, path: &Path) -> Result<bool> {
    v.as_bool().ok_or_else(|| path.expected("true or false", v))
}

/// An integral JSON number as i128 (also accepting integral floats such as `1.7e18`).
fn integral(n: &serde_json::Number) -> Option<i128> {
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    let f = n.as_f64()?;
    // 2^64 is exactly representable; anything integral below it in magnitude fits an i128.
    (f.fract() == 0.0 && f.abs() < 18_446_744_073_709_551_616.0).then_some(f as i128)
}

/// An integer sent as a JSON number or a decimal string, within `T`'s range.
pub(super) fn int<T: TryFrom<i128>>(v: &Value, path: &Path, what: &str) -> Result<T> {
    let wide = match v {
        Value::Number(n) => integral(n),
        Value::String(s) => s.trim().parse::<i128>().ok(),
        _ => None,
    };
    wide.and_then(|w| T::try_from(w).ok())
        .ok_or_else(|| path.expected(what, v))
}

pub(super) fn nanos(v: &Value, path: &Path) -> Result<u64> {
    int(v, path, "a decimal string or integer of nanoseconds")
}

pub(super) fn count(v: &Value, path: &Path) -> Result<u32> {
    int(v, path, "a non-negative integer")
}

pub(super) fn double(v: &Value, path: &Path) -> Result<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.trim().parse::<f64>().ok(),
        },
        _ => None,
    }
    .ok_or_else(|| path.expected("a number (or \"NaN\", \"Infinity\", \"-Infinity\")", v))
}

/// An enum: OTLP/JSON sends integers. Names are refused with the integer to send instead.
pub(super) fn enumeration(
    v: &Value,
    path: &Path,
    example: &str,
    by_name: fn(&str) -> Option<i32>,
) -> Result<i32> {
    if let Some(n) = v.as_i64().and_then(|n| i32::try_from(n).ok()) {
        return Ok(n);
    }
    if let Value::String(s) = v {
        if let Some(n) = by_name(s.trim()) {
            return Err(path.error(format!(
                "OTLP/JSON sends enums as integers, not names; send {n} instead of {}",
                describe(v)
            )));
        }
    }
    int(
        v,
        path,
        &format!("an integer enum value (e.g. {example}); OTLP/JSON does not use enum names"),
    )
}

fn span_kind_by_name(s: &str) -> Option<i32> {
    let name = s
        .strip_prefix("SPAN_KIND_")
        .unwrap_or(s)
        .to_ascii_uppercase();
    [
        "UNSPECIFIED",
        "INTERNAL",
        "SERVER",
        "CLIENT",
        "PRODUCER",
        "CONSUMER",
    ]
    .iter()
    .position(|k| *k == name)
    .and_then(|i| i32::try_from(i).ok())
}

fn status_code_by_name(s: &str) -> Option<i32> {
    match s
        .strip_prefix("STATUS_CODE_")
        .unwrap_or(s)
        .to_ascii_uppercase()
        .as_str()
    {
        "UNSET" => Some(0),
        "OK" => Some(1),
        "ERROR" => Some(2),
        _ => None,
    }
}

fn severity_by_name(s: &str) -> Option<i32> {
    let name = s
        .strip_prefix("SEVERITY_NUMBER_")
        .unwrap_or(s)
        .to_ascii_uppercase();
    let (level, step) = match name.as_bytes().last() {
        Some(d @ b'2'..=b'4') => (&name[..name.len() - 1], i32::from(d - b'1')),
        _ => (name.as_str(), 0),
    };
    let base = match level {
        "UNSPECIFIED" if step == 0 => return Some(0),
        "TRACE" => 1,
        "DEBUG" => 5,
        "INFO" => 9,
        "WARN" => 13,
        "ERROR" => 17,
        "FATAL" => 21,
        _ => return None,
    };
    Some(base + step)
}

fn base64_engine(alphabet: &base64::alphabet::Alphabet) -> GeneralPurpose {
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

/// `bytesValue`: base64, standard or URL-safe alphabet, padding optional (as protobuf JSON allows).
pub(super) fn bytes(v: &Value, path: &Path) -> Result<Vec<u8>> {
    let s = v
        .as_str()
        .ok_or_else(|| path.expected("a base64 string", v))?;
    base64_engine(&base64::alphabet::STANDARD)
        .decode(s)
        .or_else(|_| base64_engine(&base64::alphabet::URL_SAFE).decode(s))
        .map_err(|e| {
            path.error(format!(
                "expected a base64 string ({e}), got {}",
                describe(v)
            ))
        })
}

/// A trace or span id: case-insensitive hex. Lengths are checked per span during conversion.
fn id(v: &Value, path: &Path, hex_len: usize) -> Result<Vec<u8>> {
    let kind = if hex_len == 32 { "trace id" } else { "span id" };
    let expected = || {
        path.expected(
            &format!(
                "a hex string ({hex_len} hex characters for a {kind}); OTLP/JSON encodes ids as hex, not base64"
            ),
            v,
        )
    };
    let s = v.as_str().ok_or_else(expected)?;
    hex::decode(s).map_err(|_| expected())
}

fn trace_id(v: &Value, path: &Path) -> Result<Vec<u8>> {
    id(v, path, 32)
}

fn span_id(v: &Value, path: &Path) -> Result<Vec<u8>> {
    id(v, path, 16)
}

fn any_value(v: &Value, path: &Path) -> Result<AnyValue> {
    use any_value::Value as V;
    let m = object(
        v,
        path,
        "an AnyValue object such as {\"stringValue\": \"...\"}",
    )?;
    let mut value = None;
    let mut set = |key: &str, found: V| {
        if value.is_some() {
            return Err(path.error(format!(
                "an AnyValue holds one value, but {key} is set beside another; send only one of stringValue, boolValue, intValue, doubleValue, arrayValue, kvlistValue, bytesValue"
            )));
        }
        value = Some(found);
        Ok(())
    };
    if let Some(x) = opt(m, "stringValue", path, string)? {
        set("stringValue", V::StringValue(x))?;
    }
    if let Some(x) = opt(m, "boolValue", path, boolean)? {
        set("boolValue", V::BoolValue(x))?;
    }
    if let Some(x) = opt(m, "intValue", path, |v, p| {
        int(v, p, "a decimal string or integer (int64)")
    })? {
        set("intValue", V::IntValue(x))?;
    }
    if let Some(x) = opt(m, "doubleValue", path, double)? {
        set("doubleValue", V::DoubleValue(x))?;
    }
    if let Some(x) = opt(m, "arrayValue", path, array_value)? {
        set("arrayValue", V::ArrayValue(x))?;
    }
    if let Some(x) = opt(m, "kvlistValue", path, kvlist_value)? {
        set("kvlistValue", V::KvlistValue(x))?;
    }
    if let Some(x) = opt(m, "bytesValue", path, bytes)? {
        set("bytesValue", V::BytesValue(x))?;
    }
    Ok(AnyValue { value })
}

fn array_value(v: &Value, path: &Path) -> Result<ArrayValue> {
    let m = object(v, path, "an object {\"values\": [...]}")?;
    Ok(ArrayValue {
        values: each(m, "values", path, any_value)?,
    })
}

fn kvlist_value(v: &Value, path: &Path) -> Result<KeyValueList> {
    let m = object(
        v,
        path,
        "an object {\"values\": [{\"key\": ..., \"value\": ...}]}",
    )?;
    Ok(KeyValueList {
        values: each(m, "values", path, key_value)?,
    })
}

pub(super) fn key_value(v: &Value, path: &Path) -> Result<KeyValue> {
    let m = object(v, path, "an attribute {\"key\": \"...\", \"value\": {...}}")?;
    Ok(KeyValue {
        key: get(m, "key", path, string)?,
        value: opt(m, "value", path, any_value)?,
        key_strindex: 0,
    })
}

pub(super) fn attributes(m: &Object, path: &Path) -> Result<Vec<KeyValue>> {
    each(m, "attributes", path, key_value)
}

pub(super) fn resource(v: &Value, path: &Path) -> Result<Resource> {
    let m = object(v, path, "a resource object")?;
    Ok(Resource {
        attributes: attributes(m, path)?,
        dropped_attributes_count: get(m, "droppedAttributesCount", path, count)?,
        entity_refs: each(m, "entityRefs", path, entity_ref)?,
    })
}

fn entity_ref(v: &Value, path: &Path) -> Result<EntityRef> {
    let m = object(v, path, "an entity reference object")?;
    let strings = |v: &Value, p: &Path| -> Result<Vec<String>> {
        let items = v
            .as_array()
            .ok_or_else(|| p.expected("an array of strings", v))?;
        items
            .iter()
            .enumerate()
            .map(|(i, s)| string(s, &p.index(i)))
            .collect()
    };
    Ok(EntityRef {
        schema_url: get(m, "schemaUrl", path, string)?,
        r#type: get(m, "type", path, string)?,
        id_keys: get(m, "idKeys", path, strings)?,
        description_keys: get(m, "descriptionKeys", path, strings)?,
    })
}

pub(super) fn scope(v: &Value, path: &Path) -> Result<InstrumentationScope> {
    let m = object(v, path, "an instrumentation scope object")?;
    Ok(InstrumentationScope {
        name: get(m, "name", path, string)?,
        version: get(m, "version", path, string)?,
        attributes: attributes(m, path)?,
        dropped_attributes_count: get(m, "droppedAttributesCount", path, count)?,
    })
}

/// The top-level object, refusing the snake_case spelling that would otherwise be ignored
/// silently (unknown fields are ignored) and lose the whole batch.
pub(super) fn root<'v>(v: &'v Value, camel: &str, snake: &str, what: &str) -> Result<&'v Object> {
    let m = object(v, &Path::Root, what)?;
    if m.contains_key(snake) && !m.contains_key(camel) {
        return Err(Path::Root.key(snake).error(format!(
            "OTLP/JSON keys are lowerCamelCase; rename {snake} to {camel} (and likewise for nested keys)"
        )));
    }
    Ok(m)
}

pub(super) fn traces(body: &[u8]) -> Result<ExportTraceServiceRequest> {
    let Some(v) = parse(body)? else {
        return Ok(ExportTraceServiceRequest::default());
    };
    let m = root(
        &v,
        "resourceSpans",
        "resource_spans",
        "an ExportTraceServiceRequest object",
    )?;
    Ok(ExportTraceServiceRequest {
        resource_spans: each(m, "resourceSpans", &Path::Root, resource_spans)?,
    })
}

fn resource_spans(v: &Value, path: &Path) -> Result<ResourceSpans> {
    let m = object(v, path, "a resourceSpans object")?;
    Ok(ResourceSpans {
        resource: opt(m, "resource", path, resource)?,
        scope_spans: each(m, "scopeSpans", path, scope_spans)?,
        schema_url: get(m, "schemaUrl", path, string)?,
    })
}

fn scope_spans(v: &Value, path: &Path) -> Result<ScopeSpans> {
    let m = object(v, path, "a scopeSpans object")?;
    Ok(ScopeSpans {
        scope: opt(m, "scope", path, scope)?,
        spans: each(m, "spans", path, span)?,
        schema_url: get(m, "schemaUrl", path, string)?,
    })
}

fn span(v: &Value, path: &Path) -> Result<Span> {
    let m = object(v, path, "a span object")?;
    let kind = |v: &Value, p: &Path| enumeration(v, p, "2 for SPAN_KIND_SERVER", span_kind_by_name);
    Ok(Span {
        trace_id: get(m, "traceId", path, trace_id)?,
        span_id: get(m, "spanId", path, span_id)?,
        trace_state: get(m, "traceState", path, string)?,
        parent_span_id: get(m, "parentSpanId", path, span_id)?,
        flags: get(m, "flags", path, count)?,
        name: get(m, "name", path, string)?,
        kind: get(m, "kind", path, kind)?,
        start_time_unix_nano: get(m, "startTimeUnixNano", path, nanos)?,
        end_time_unix_nano: get(m, "endTimeUnixNano", path, nanos)?,
        attributes: attributes(m, path)?,
        dropped_attributes_count: get(m, "droppedAttributesCount", path, count)?,
        events: each(m, "events", path, event)?,
        dropped_events_count: get(m, "droppedEventsCount", path, count)?,
        links: each(m, "links", path, link)?,
        dropped_links_count: get(m, "droppedLinksCount", path, count)?,
        status: opt(m, "status", path, status)?,
    })
}

fn event(v: &Value, path: &Path) -> Result<span::Event> {
    let m = object(v, path, "a span event object")?;
    Ok(span::Event {
        time_unix_nano: get(m, "timeUnixNano", path, nanos)?,
        name: get(m, "name", path, string)?,
        attributes: attributes(m, path)?,
        dropped_attributes_count: get(m, "droppedAttributesCount", path, count)?,
    })
}

fn link(v: &Value, path: &Path) -> Result<span::Link> {
    let m = object(v, path, "a span link object")?;
    Ok(span::Link {
        trace_id: get(m, "traceId", path, trace_id)?,
        span_id: get(m, "spanId", path, span_id)?,
        trace_state: get(m, "traceState", path, string)?,
        attributes: attributes(m, path)?,
        dropped_attributes_count: get(m, "droppedAttributesCount", path, count)?,
        flags: get(m, "flags", path, count)?,
    })
}

fn status(v: &Value, path: &Path) -> Result<Status> {
    let m = object(
        v,
        path,
        "a status object {\"code\": 2, \"message\": \"...\"}",
    )?;
    let code =
        |v: &Value, p: &Path| enumeration(v, p, "2 for STATUS_CODE_ERROR", status_code_by_name);
    Ok(Status {
        message: get(m, "message", path, string)?,
        code: get(m, "code", path, code)?,
    })
}

pub(super) fn logs(body: &[u8]) -> Result<ExportLogsServiceRequest> {
    let Some(v) = parse(body)? else {
        return Ok(ExportLogsServiceRequest::default());
    };
    let m = root(
        &v,
        "resourceLogs",
        "resource_logs",
        "an ExportLogsServiceRequest object",
    )?;
    Ok(ExportLogsServiceRequest {
        resource_logs: each(m, "resourceLogs", &Path::Root, resource_logs)?,
    })
}

fn resource_logs(v: &Value, path: &Path) -> Result<ResourceLogs> {
    let m = object(v, path, "a resourceLogs object")?;
    Ok(ResourceLogs {
        resource: opt(m, "resource", path, resource)?,
        scope_logs: each(m, "scopeLogs", path, scope_logs)?,
        schema_url: get(m, "schemaUrl", path, string)?,
    })
}

fn scope_logs(v: &Value, path: &Path) -> Result<ScopeLogs> {
    let m = object(v, path, "a scopeLogs object")?;
    Ok(ScopeLogs {
        scope: opt(m, "scope", path, scope)?,
        log_records: each(m, "logRecords", path, log_record)?,
        schema_url: get(m, "schemaUrl", path, string)?,
    })
}

fn log_record(v: &Value, path: &Path) -> Result<LogRecord> {
    let m = object(v, path, "a log record object")?;
    let severity =
        |v: &Value, p: &Path| enumeration(v, p, "9 for SEVERITY_NUMBER_INFO", severity_by_name);
    Ok(LogRecord {
        time_unix_nano: get(m, "timeUnixNano", path, nanos)?,
        observed_time_unix_nano: get(m, "observedTimeUnixNano", path, nanos)?,
        severity_number: get(m, "severityNumber", path, severity)?,
        severity_text: get(m, "severityText", path, string)?,
        body: opt(m, "body", path, any_value)?,
        attributes: attributes(m, path)?,
        dropped_attributes_count: get(m, "droppedAttributesCount", path, count)?,
        flags: get(m, "flags", path, count)?,
        trace_id: get(m, "traceId", path, trace_id)?,
        span_id: get(m, "spanId", path, span_id)?,
        event_name: get(m, "eventName", path, string)?,
    })
}
