//! `openapi.json` checked against the [`shapes`](super::shapes): for every documented answer
//! (following `$ref`, `allOf` and `oneOf`), the property names at every level are exactly the
//! serde field names of the Rust type, and what the document calls required is always sent.
//!
//! The names come from samples: [`Sample`] is a deserializer that builds a value of any shape
//! with every optional field filled and every list and map one element long (`full`), or with
//! every optional field, list and map empty (`least`); serialized back, the JSON has every key
//! the type can send (or only the keys it always sends). Map keys are [`KEY`], which tells a
//! map from a struct; `serde_json::Value` fields are the string [`ANY`]. Types with
//! `#[serde(flatten)]` or `#[serde(untagged)]` are built by hand from samples of their parts.

use serde::de::value::{BorrowedStrDeserializer, Error};
use serde::de::{self, DeserializeOwned, DeserializeSeed, Visitor};
use serde::Serialize;
use serde_json::{json, Value as Json};

use super::shapes::*;

/// The key of every map in a sample.
const KEY: &str = "<key>";
/// What a `serde_json::Value` is in a sample.
const ANY: &str = "<any>";

/// Builds values: `full` fills every option and puts one element in every list and map.
#[derive(Clone, Copy)]
struct Sample {
    full: bool,
}

fn name(s: &'static str) -> BorrowedStrDeserializer<'static, Error> {
    BorrowedStrDeserializer::new(s)
}

/// Deserializer methods that visit one fixed value.
macro_rules! scalars {
    ($($method:ident => $visit:ident($($value:expr)?),)*) => {
        $(fn $method<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
            v.$visit($($value)?)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Sample {
    type Error = Error;

    scalars! {
        deserialize_any => visit_borrowed_str(ANY),
        deserialize_bool => visit_bool(true),
        deserialize_i8 => visit_i64(1),
        deserialize_i16 => visit_i64(1),
        deserialize_i32 => visit_i64(1),
        deserialize_i64 => visit_i64(1),
        deserialize_u8 => visit_u64(1),
        deserialize_u16 => visit_u64(1),
        deserialize_u32 => visit_u64(1),
        deserialize_u64 => visit_u64(1),
        deserialize_f32 => visit_f64(1.5),
        deserialize_f64 => visit_f64(1.5),
        deserialize_char => visit_char('x'),
        deserialize_str => visit_borrowed_str("x"),
        deserialize_string => visit_borrowed_str("x"),
        deserialize_identifier => visit_borrowed_str("x"),
        deserialize_bytes => visit_borrowed_bytes(b"x"),
        deserialize_byte_buf => visit_borrowed_bytes(b"x"),
        deserialize_unit => visit_unit(),
        deserialize_ignored_any => visit_unit(),
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        if self.full {
            v.visit_some(self)
        } else {
            v.visit_none()
        }
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_seq(Items(self, usize::from(self.full)))
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, Error> {
        v.visit_seq(Items(self, len))
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_seq(Items(self, len))
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let keys: &'static [&'static str] = if self.full { &[KEY] } else { &[] };
        v.visit_map(Fields(self, keys))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_map(Fields(self, fields))
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        let first = variants.first().copied().unwrap_or_default();
        v.visit_enum(Variant(self, first))
    }
}

/// The elements of a list: `.1` more samples.
struct Items(Sample, usize);

impl<'de> de::SeqAccess<'de> for Items {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.1 == 0 {
            return Ok(None);
        }
        self.1 -= 1;
        seed.deserialize(self.0).map(Some)
    }
}

/// A struct's fields (or a map's keys), each with a sample value.
struct Fields(Sample, &'static [&'static str]);

impl<'de> de::MapAccess<'de> for Fields {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((first, rest)) = self.1.split_first() else {
            return Ok(None);
        };
        self.1 = rest;
        seed.deserialize(name(first)).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(self.0)
    }
}

/// An enum's first variant.
struct Variant(Sample, &'static str);

impl<'de> de::EnumAccess<'de> for Variant {
    type Error = Error;
    type Variant = Sample;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Sample), Error> {
        Ok((seed.deserialize(name(self.1))?, self.0))
    }
}

impl<'de> de::VariantAccess<'de> for Sample {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value, Error> {
        v.visit_seq(Items(self, len))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        v.visit_map(Fields(self, fields))
    }
}

fn make<T: DeserializeOwned>(full: bool) -> T {
    T::deserialize(Sample { full }).unwrap()
}

fn list<T: DeserializeOwned>(full: bool) -> Vec<T> {
    (0..usize::from(full)).map(|_| make(full)).collect()
}

/// A type's full and least sample as JSON.
struct Shape {
    full: Json,
    least: Json,
}

fn built<T: Serialize>(build: impl Fn(bool) -> T) -> Shape {
    Shape {
        full: serde_json::to_value(build(true)).unwrap(),
        least: serde_json::to_value(build(false)).unwrap(),
    }
}

fn shape<T: Serialize + DeserializeOwned>() -> Shape {
    built(make::<T>)
}

fn trace_tree(full: bool) -> TraceTree {
    let observation = TreeObservation {
        observation: make(full),
        depth: 1,
        orphan: true,
        child_count: 1,
        logs: list(full),
    };
    TraceTree {
        trace_id: make(full),
        summary: make(full),
        observation_count: 1,
        orphan_count: 1,
        observations: (0..usize::from(full))
            .map(|_| observation.clone())
            .collect(),
        logs: list(full),
    }
}

fn session_detail(full: bool) -> SessionDetail {
    let turn = Turn {
        trace: make(full),
        input: make(full),
        output: make(full),
    };
    SessionDetail {
        session: make(full),
        traces: (0..usize::from(full)).map(|_| turn.clone()).collect(),
    }
}

fn price_list(full: bool) -> PriceList {
    let data = [Price::Override(make(full)), Price::Entry(make(full))];
    PriceList {
        data: data.into_iter().filter(|_| full).collect(),
        bundled_source: make(full),
        bundled_retrieved: make(full),
    }
}

/// The 2xx answer of each documented operation; `None`: not JSON of ours (the document
/// itself, the event stream, no content).
fn answers() -> Vec<(&'static str, &'static str, Option<Shape>)> {
    vec![
        ("get", "/api/v1/openapi.json", None),
        ("get", "/api/v1/traces", Some(shape::<Page<TraceSummary>>())),
        ("get", "/api/v1/traces/{trace_id}", Some(built(trace_tree))),
        (
            "get",
            "/api/v1/traces/{trace_id}/observations/{span_id}",
            Some(shape::<Observation>()),
        ),
        (
            "get",
            "/api/v1/observations",
            Some(shape::<Page<Observation>>()),
        ),
        (
            "get",
            "/api/v1/sessions",
            Some(shape::<Page<SessionSummary>>()),
        ),
        (
            "get",
            "/api/v1/sessions/{session_id}",
            Some(built(session_detail)),
        ),
        ("get", "/api/v1/logs", Some(shape::<Page<Log>>())),
        ("get", "/api/v1/metrics", Some(shape::<Metrics>())),
        (
            "get",
            "/api/v1/metric-names",
            Some(shape::<OtlpMetricNames>()),
        ),
        ("get", "/api/v1/metric-series", Some(shape::<OtlpMetric>())),
        ("get", "/api/v1/costs", Some(shape::<Costs>())),
        ("get", "/api/v1/stream", None),
        ("get", "/api/v1/prices", Some(built(price_list))),
        ("get", "/api/v1/prices/lookup", Some(shape::<PriceLookup>())),
        (
            "put",
            "/api/v1/prices/overrides",
            Some(shape::<PriceOverride>()),
        ),
        ("delete", "/api/v1/prices/overrides/{id}", None),
        ("get", "/api/v1/keys", Some(shape::<Page<ApiKey>>())),
        ("post", "/api/v1/keys", Some(shape::<CreatedKey>())),
        ("delete", "/api/v1/keys/{key}", Some(shape::<ApiKey>())),
        ("get", "/api/v1/budgets", Some(shape::<Page<Budget>>())),
        ("put", "/api/v1/budgets", Some(shape::<Budget>())),
        (
            "get",
            "/api/v1/budgets/events",
            Some(shape::<Page<BudgetEvent>>()),
        ),
        ("delete", "/api/v1/budgets/{id}", None),
        ("get", "/api/v1/gateway", Some(shape::<GatewayStatus>())),
        (
            "get",
            "/api/v1/gateway/rate-limits",
            Some(shape::<Page<RateLimit>>()),
        ),
        (
            "put",
            "/api/v1/gateway/rate-limits",
            Some(shape::<RateLimit>()),
        ),
        ("delete", "/api/v1/gateway/rate-limits/{id}", None),
        (
            "get",
            "/api/v1/gateway/keys",
            Some(shape::<Page<ProviderKey>>()),
        ),
        ("put", "/api/v1/gateway/keys", Some(shape::<ProviderKey>())),
        ("delete", "/api/v1/gateway/keys/{id}", None),
    ]
}

/// Schemas no route answers with directly: the data of the stream's events.
fn components() -> Vec<(&'static str, Shape)> {
    vec![
        ("Observation", shape::<Observation>()),
        ("Log", shape::<Log>()),
        ("StreamDropped", shape::<Dropped>()),
    ]
}

/// `s` with local `$ref`s followed and `allOf` merged into one object schema.
fn resolve(doc: &Json, s: &Json) -> Json {
    if let Some(r) = s.get("$ref").and_then(Json::as_str) {
        let target = doc.pointer(r.trim_start_matches('#'));
        return resolve(
            doc,
            target.unwrap_or_else(|| panic!("{r} is not in the document")),
        );
    }
    let Some(parts) = s.get("allOf").and_then(Json::as_array) else {
        return s.clone();
    };
    let mut merged = json!({"type": "object", "properties": {}, "required": []});
    for part in parts.iter().map(|p| resolve(doc, p)) {
        if let Some(props) = part.get("properties").and_then(Json::as_object) {
            let into = merged["properties"].as_object_mut().unwrap();
            into.extend(props.clone());
        }
        if let Some(req) = part.get("required").and_then(Json::as_array) {
            merged["required"]
                .as_array_mut()
                .unwrap()
                .extend(req.clone());
        }
    }
    merged
}

/// Compares the documented schema `s` with the samples at `at`, recording each difference.
fn check(doc: &Json, s: &Json, full: &Json, least: Option<&Json>, at: &str, out: &mut Vec<String>) {
    let s = resolve(doc, s);
    if let Some(alternatives) = s.get("oneOf").and_then(Json::as_array) {
        let misfits = alternatives.iter().map(|alt| {
            let mut found = Vec::new();
            check(doc, alt, full, least, at, &mut found);
            found
        });
        if let Some(nearest) = misfits.min_by_key(Vec::len).filter(|m| !m.is_empty()) {
            out.push(format!("{at}: fits no oneOf alternative; the nearest:"));
            out.extend(nearest.into_iter().map(|m| format!("  {m}")));
        }
        return;
    }
    match full {
        Json::Object(m) if m.len() == 1 && m.contains_key(KEY) => {
            if let Some(values) = s.get("additionalProperties").filter(|a| a.is_object()) {
                let least = least.and_then(|l| l.get(KEY));
                check(doc, values, &m[KEY], least, &format!("{at}.*"), out);
            }
        }
        Json::Object(m) => {
            let Some(props) = s.get("properties").and_then(Json::as_object) else {
                let keys: Vec<&String> = m.keys().collect();
                out.push(format!(
                    "{at}: an object with {keys:?}, documented without properties"
                ));
                return;
            };
            let documented: Vec<&String> = props.keys().filter(|k| !m.contains_key(*k)).collect();
            let sent: Vec<&String> = m.keys().filter(|k| !props.contains_key(*k)).collect();
            if !documented.is_empty() || !sent.is_empty() {
                out.push(format!(
                    "{at}: documented, never sent: {documented:?}; sent, not documented: {sent:?}"
                ));
            }
            let required = s.get("required").and_then(Json::as_array);
            if let (Some(required), Some(least)) = (required, least) {
                for r in required.iter().filter_map(Json::as_str) {
                    if least.get(r).is_none() {
                        out.push(format!("{at}.{r}: required, but not always sent"));
                    }
                }
            }
            for (k, v) in m {
                if let Some(p) = props.get(k) {
                    let least = least.and_then(|l| l.get(k));
                    check(doc, p, v, least, &format!("{at}.{k}"), out);
                }
            }
        }
        Json::Array(items) => match s.get("items") {
            Some(schema) => {
                for (i, v) in items.iter().enumerate() {
                    let least = least.and_then(|l| l.get(i));
                    check(doc, schema, v, least, &format!("{at}[]"), out);
                }
            }
            None => out.push(format!("{at}: a list, documented without items")),
        },
        _ => {}
    }
}

#[test]
fn openapi_answers_match_the_shapes() {
    let doc: Json = serde_json::from_str(include_str!("openapi.json")).unwrap();
    let problem = shape::<Problem>();
    let answers = answers();
    let mut out = Vec::new();
    let mut documented = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            documented.push((method.as_str(), path.as_str()));
            let Some((_, _, answer)) = answers.iter().find(|a| (a.0, a.1) == (method, path)) else {
                out.push(format!("{method} {path}: no shape in answers()"));
                continue;
            };
            for (status, response) in op["responses"].as_object().unwrap() {
                let at = format!("{method} {path} {status}");
                let schema = resolve(&doc, response)
                    .pointer("/content/application~1json/schema")
                    .cloned();
                let expected = match status.as_bytes().first() {
                    Some(b'4' | b'5') => Some(&problem),
                    _ => answer.as_ref(),
                };
                match (expected, schema) {
                    (Some(e), Some(s)) => check(&doc, &s, &e.full, Some(&e.least), &at, &mut out),
                    (Some(_), None) => out.push(format!("{at}: documented without a JSON schema")),
                    (None, _) => {}
                }
            }
        }
    }
    for (method, path, _) in &answers {
        if !documented.contains(&(*method, *path)) {
            out.push(format!(
                "{method} {path}: in answers() but not in the document"
            ));
        }
    }
    for (name, e) in components() {
        match doc["components"]["schemas"].get(name) {
            Some(s) => check(&doc, s, &e.full, Some(&e.least), name, &mut out),
            None => out.push(format!("{name}: not in components/schemas")),
        }
    }
    assert!(
        out.is_empty(),
        "openapi.json differs from the shapes:\n{}",
        out.join("\n")
    );
}

#[test]
fn samples_have_every_field_or_only_the_ones_always_sent() {
    let s = shape::<Observation>();
    let full = s.full.as_object().unwrap();
    assert_eq!(
        full["error"],
        json!({"type": "x", "message": "x", "stacktrace": "x"})
    );
    assert_eq!(full["resource"], json!({KEY: ANY}));
    assert_eq!(full["links"], json!([{"trace_id": "x", "span_id": "x"}]));
    assert_eq!(
        full["input"]["messages"][0]["tool_calls"][0]["arguments"],
        ANY
    );
    let least = s.least.as_object().unwrap();
    assert!(!least.contains_key("error") && !least.contains_key("parent_span_id"));
    assert_eq!(least["tags"], json!([]));
    assert_eq!(least["usage"], json!({}));
    // Flattened fields sit beside the others.
    let tree = built(trace_tree).full;
    assert_eq!(tree["observations"][0]["depth"], 1);
    assert_eq!(tree["observations"][0]["span_id"], "x");
}
