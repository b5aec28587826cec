//! The native JSON event receiver format (`POST /api/v1/events`): structured log events from
//! agents without OpenTelemetry, as a JSON array of objects or as JSON lines.
//!
//! Each event becomes one `RawLog`. Bad events are refused one by one (counted in
//! `rejected_logs`, explained in `errors` as `line N` or `event N`, counting from 1); only a
//! broken JSON array fails the whole request, since nothing after the break can be found.

pub(crate) mod time;

use std::collections::HashMap;

use serde_json::{Map, Value};
use sightline_core::{AttrValue, Attributes, RawBatch, RawLog, Resource, SpanId, TraceId};

use super::otlp::{excerpt, ErrorLines};

/// Why an events body could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventsError {
    #[error("the body is not a valid JSON array of events: {0}; send a JSON array of event objects, or one JSON object per line")]
    BrokenArray(String),
}

/// Top-level keys with a meaning; every other key becomes an attribute of the same name.
const KNOWN: &[&str] = &[
    "timestamp",
    "level",
    "message",
    "service",
    "resource",
    "trace_id",
    "span_id",
    "parent_span_id",
    "session_id",
    "agent",
    "task_id",
    "user_id",
    "tenant_id",
    "logger",
    "event",
    "attributes",
];

/// Correlation fields copied to attributes under their OpenTelemetry names.
const RENAMED: &[(&str, &str)] = &[
    ("session_id", "session.id"),
    ("agent", "gen_ai.agent.name"),
    ("task_id", "task.id"),
    ("user_id", "user.id"),
    ("tenant_id", "tenant.id"),
];

/// Decodes a body of native events. Events without a `timestamp` are stamped `now_ns`, which is
/// also every event's observed time.
pub fn decode_events(body: &[u8], now_ns: i64) -> Result<RawBatch, EventsError> {
    let mut builder = Builder {
        now_ns,
        ..Builder::default()
    };
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        None => {}
        Some(b'[') => {
            let events: Vec<Value> = serde_json::from_slice(body)
                .map_err(|e| EventsError::BrokenArray(e.to_string()))?;
            for (i, event) in events.iter().enumerate() {
                builder.add(event, || format!("event {}", i + 1));
            }
        }
        Some(_) => match serde_json::from_slice::<Value>(body) {
            // One object, possibly pretty-printed over several lines.
            Ok(event @ Value::Object(_)) => builder.add(&event, || "line 1".to_owned()),
            _ => {
                for (n, line) in body.split(|b| *b == b'\n').enumerate() {
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let label = || format!("line {}", n + 1);
                    match serde_json::from_slice::<Value>(line) {
                        Ok(event) => builder.add(&event, label),
                        Err(e) => builder.reject(
                            label,
                            &format!("not valid JSON ({e}); send one JSON object per line"),
                        ),
                    }
                }
            }
        },
    }
    Ok(builder.finish())
}

#[derive(Default)]
struct Builder {
    now_ns: i64,
    batch: RawBatch,
    errors: ErrorLines,
    /// Resources by their canonical JSON form, so events of one service share one.
    resources: HashMap<String, usize>,
}

impl Builder {
    fn add(&mut self, event: &Value, label: impl Fn() -> String) {
        let Some(obj) = event.as_object() else {
            let got = match event {
                Value::String(s) => excerpt(s),
                Value::Array(_) => "an array".to_owned(),
                other => other.to_string(),
            };
            return self.reject(label, &format!("expected a JSON object, got {got}"));
        };
        match self.log(obj) {
            Ok((resource, log)) => self.batch.logs.push((resource, log)),
            Err(problem) => self.reject(label, &problem),
        }
    }

    fn reject(&mut self, label: impl Fn() -> String, problem: &str) {
        self.batch.rejected_logs += 1;
        self.errors.push_with(|| format!("{}: {problem}", label()));
    }

    fn finish(mut self) -> RawBatch {
        self.batch.errors = self.errors.finish();
        self.batch
    }

    fn log(&mut self, obj: &Map<String, Value>) -> Result<(usize, RawLog), String> {
        let message = match field(obj, "message") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err("field 'message' is required (a string)".to_owned()),
        };
        let time_ns = match field(obj, "timestamp") {
            Some(v) => time::parse_timestamp(v)?,
            None => self.now_ns,
        };
        let (severity_number, severity_text) = level(field(obj, "level"))?;
        let trace_id = id(obj, "trace_id", TraceId::from_hex, "the W3C trace id")?;
        let span_id = id(obj, "span_id", SpanId::from_hex, "the 8-byte span id")?;
        let parent = id(
            obj,
            "parent_span_id",
            SpanId::from_hex,
            "the parent's 8-byte span id",
        )?;
        let scope_name = match field(obj, "logger") {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err("field 'logger' must be a string (the logger or module name)".into())
            }
        };

        let mut attributes: Attributes = Vec::new();
        for (key, name) in RENAMED {
            if let Some(v) = field(obj, key) {
                attributes.push(((*name).to_owned(), AttrValue::from_json(v)));
            }
        }
        if let Some(parent) = parent {
            attributes.push(("parent_span_id".to_owned(), AttrValue::Str(parent.to_hex())));
        }
        let mut event_name = String::new();
        match field(obj, "event") {
            None => {}
            Some(Value::String(s)) => event_name = s.clone(),
            Some(Value::Object(ev)) => {
                if let Some(Value::String(action)) = field(ev, "action") {
                    event_name = action.clone();
                }
                for (k, v) in ev.iter().filter(|(_, v)| !v.is_null()) {
                    attributes.push((format!("event.{k}"), AttrValue::from_json(v)));
                }
            }
            Some(_) => return Err("field 'event' must be an object such as {\"category\": \"tool\", \"action\": \"call\"} or a string".into()),
        }
        extend(&mut attributes, field(obj, "attributes"), "attributes")?;
        for (k, v) in obj {
            if !v.is_null() && !KNOWN.contains(&k.as_str()) {
                attributes.push((k.clone(), AttrValue::from_json(v)));
            }
        }

        let resource = self.resource(field(obj, "service"), field(obj, "resource"))?;
        let log = RawLog {
            time_ns,
            observed_ns: self.now_ns,
            severity_number,
            severity_text,
            body: AttrValue::Str(message),
            attributes,
            trace_id,
            span_id,
            event_name,
            scope_name,
        };
        Ok((resource, log))
    }

    /// The index of the resource for this `service` and `resource`, shared with earlier events.
    fn resource(
        &mut self,
        service: Option<&Value>,
        extra: Option<&Value>,
    ) -> Result<usize, String> {
        let key = serde_json::to_string(&[service, extra]).unwrap_or_default();
        if let Some(i) = self.resources.get(&key) {
            return Ok(*i);
        }
        let mut attributes: Attributes = Vec::new();
        match service {
            None => {}
            Some(Value::String(name)) => {
                attributes.push(("service.name".into(), AttrValue::Str(name.clone())));
            }
            Some(Value::Object(svc)) => {
                for (k, v) in svc.iter().filter(|(_, v)| !v.is_null()) {
                    let key = match k.as_str() {
                        "instance_id" => "service.instance.id".to_owned(),
                        other => format!("service.{other}"),
                    };
                    attributes.push((key, AttrValue::from_json(v)));
                }
            }
            Some(_) => {
                return Err("field 'service' must be a string (the service name) or an object {\"name\", \"version\", \"instance_id\"}".into())
            }
        }
        // An explicit `service` wins over the same keys in `resource`.
        let mut extra_attrs = Vec::new();
        extend(&mut extra_attrs, extra, "resource")?;
        for (k, v) in extra_attrs {
            if !attributes.iter().any(|(have, _)| *have == k) {
                attributes.push((k, v));
            }
        }
        if !attributes.iter().any(|(k, _)| k == "service.name") {
            attributes.push((
                "service.name".into(),
                AttrValue::Str("unknown_service".into()),
            ));
        }
        let index = self.batch.resources.len();
        self.batch.resources.push(Resource { attributes });
        self.resources.insert(key, index);
        Ok(index)
    }
}

/// A present, non-null field.
fn field<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// Appends the entries of an object field as attributes (nested objects become maps).
fn extend(attributes: &mut Attributes, v: Option<&Value>, name: &str) -> Result<(), String> {
    match v {
        None => Ok(()),
        Some(Value::Object(m)) => {
            attributes.extend(
                m.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), AttrValue::from_json(v))),
            );
            Ok(())
        }
        Some(_) => Err(format!(
            "field '{name}' must be an object of key/value pairs"
        )),
    }
}

/// `level` to (severity number, severity text). Missing is INFO; an unknown name keeps its text
/// with severity number 0 (unspecified), as OpenTelemetry allows.
fn level(v: Option<&Value>) -> Result<(i32, String), String> {
    let text = match v {
        None => return Ok((9, "INFO".to_owned())),
        Some(Value::String(s)) => s.trim().to_uppercase(),
        Some(_) => {
            return Err(
                "field 'level' must be a string: TRACE, DEBUG, INFO, WARN, ERROR or FATAL".into(),
            )
        }
    };
    let number = match text.as_str() {
        "TRACE" => 1,
        "DEBUG" => 5,
        "INFO" => 9,
        "WARN" | "WARNING" => 13,
        "ERROR" => 17,
        "FATAL" | "CRITICAL" => 21,
        _ => 0,
    };
    Ok((number, text))
}

/// An optional hex id field; invalid ids refuse the event, naming the field.
fn id<T>(
    obj: &Map<String, Value>,
    key: &str,
    parse: fn(&str) -> Result<T, sightline_core::ids::IdError>,
    what: &str,
) -> Result<Option<T>, String> {
    match field(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => parse(s)
            .map(Some)
            .map_err(|e| format!("field '{key}' {e}; send {what} in hex, got {}", excerpt(s))),
        Some(other) => Err(format!(
            "field '{key}' must be a hex string; send {what}, got {other}"
        )),
    }
}

#[cfg(test)]
mod tests;
