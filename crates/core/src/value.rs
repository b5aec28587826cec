//! Attribute values as OpenTelemetry defines them (`AnyValue`), independent of the wire.

use serde_json::Value as Json;

/// One attribute value. Maps keep their order, as the wire does.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AttrValue {
    Str(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<AttrValue>),
    Map(Vec<(String, AttrValue)>),
    #[default]
    Empty,
}

/// An ordered list of key/value attributes, as OTLP carries them.
pub type Attributes = Vec<(String, AttrValue)>;

impl AttrValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A string view of scalar values (ints and bools printed), for fields that are ids or names.
    pub fn to_text(&self) -> Option<String> {
        match self {
            AttrValue::Str(s) => Some(s.clone()),
            AttrValue::Int(i) => Some(i.to_string()),
            AttrValue::Bool(b) => Some(b.to_string()),
            AttrValue::Double(d) if d.is_finite() => Some(d.to_string()),
            _ => None,
        }
    }

    /// JSON form used for storage and the API: scalars as JSON scalars, bytes as hex strings,
    /// arrays and maps as JSON arrays and objects.
    pub fn to_json(&self) -> Json {
        match self {
            AttrValue::Str(s) => Json::String(s.clone()),
            AttrValue::Bool(b) => Json::Bool(*b),
            AttrValue::Int(i) => Json::from(*i),
            AttrValue::Double(d) => serde_json::Number::from_f64(*d)
                .map(Json::Number)
                .unwrap_or_else(|| Json::String(d.to_string())),
            AttrValue::Bytes(b) => Json::String(b.iter().map(|x| format!("{x:02x}")).collect()),
            AttrValue::Array(a) => Json::Array(a.iter().map(AttrValue::to_json).collect()),
            AttrValue::Map(m) => {
                Json::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            AttrValue::Empty => Json::Null,
        }
    }

    /// The inverse of [`AttrValue::to_json`] as far as JSON allows (bytes come back as strings).
    pub fn from_json(v: &Json) -> AttrValue {
        match v {
            Json::Null => AttrValue::Empty,
            Json::Bool(b) => AttrValue::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => AttrValue::Int(i),
                None => AttrValue::Double(n.as_f64().unwrap_or(0.0)),
            },
            Json::String(s) => AttrValue::Str(s.clone()),
            Json::Array(a) => AttrValue::Array(a.iter().map(AttrValue::from_json).collect()),
            Json::Object(o) => AttrValue::Map(
                o.iter()
                    .map(|(k, v)| (k.clone(), AttrValue::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// Attributes as one JSON object (later keys win on duplicates).
pub fn attributes_to_json(attrs: &[(String, AttrValue)]) -> Json {
    Json::Object(
        attrs
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect(),
    )
}
