//! What the attribute, tag and text filters read. SQLite tests the blobs at read time
//! ([`detail_matches`], [`payload_contains`]); ClickHouse cannot, so its writer stores
//! [`SearchColumns`] instead. Both walk a payload's text the same way ([`payload_texts`]).

use serde::Deserialize;
use serde_json::{Map, Value as Json};
use sightline_core::value::attributes_to_json;
use sightline_core::{Observation, Payload};

use super::span::decode_input_output;
use super::unpack;
use crate::StoreError;

/// The parts of `detail` that filters look at (serde skips the rest cheaply).
#[derive(Deserialize)]
struct DetailFilterView {
    #[serde(rename = "tg", default)]
    tags: Vec<String>,
    #[serde(rename = "a", default)]
    attributes: Map<String, Json>,
}

/// Whether a span's `detail` blob holds every (key, value) attribute (values rendered as text:
/// strings as they are, anything else as JSON) and every tag.
pub fn detail_matches(
    detail: &[u8],
    attributes: &[(String, String)],
    tags: &[String],
) -> Result<bool, StoreError> {
    let view: DetailFilterView = unpack(detail)?;
    let attributes_hold = attributes
        .iter()
        .all(|(k, want)| match view.attributes.get(k) {
            Some(Json::String(s)) => s == want,
            Some(other) => {
                let rendered = other.to_string();
                rendered == *want
            }
            None => false,
        });
    Ok(attributes_hold && tags.iter().all(|t| view.tags.contains(t)))
}

/// Whether the input or output in a `payload` blob contains `needle_lower` (already lowercase),
/// case-insensitively. Message text, names and tool-call arguments are searched; roles and keys
/// are not.
pub fn payload_contains(payload: &[u8], needle_lower: &str) -> Result<bool, StoreError> {
    let (input, output) = decode_input_output(payload)?;
    Ok([input, output]
        .iter()
        .flatten()
        .any(|p| payload_texts(p, &mut |text| contains_ci(text, needle_lower))))
}

/// Case-insensitive substring test; `needle_lower` is already lowercase.
pub fn contains_ci(haystack: &str, needle_lower: &str) -> bool {
    if haystack.is_ascii() && needle_lower.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle_lower.as_bytes());
        return n.is_empty()
            || h.windows(n.len())
                .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b));
    }
    haystack.to_lowercase().contains(needle_lower)
}

/// Hands `visit` the text a payload is searched by, in order, until it returns true (then
/// returns true): message contents, parts, tool-call names and arguments; inside values, every
/// string and number (not keys, booleans or nulls).
fn payload_texts(p: &Payload, visit: &mut impl FnMut(&str) -> bool) -> bool {
    match p {
        Payload::Value(v) => json_texts(v, visit),
        Payload::Messages(messages) => messages.iter().any(|m| {
            m.content.as_deref().is_some_and(&mut *visit)
                || m.parts.iter().any(|part| json_texts(part, visit))
                || m.tool_calls
                    .iter()
                    .any(|c| visit(&c.name) || json_texts(&c.arguments, visit))
        }),
    }
}

fn json_texts(v: &Json, visit: &mut impl FnMut(&str) -> bool) -> bool {
    match v {
        Json::String(s) => visit(s),
        Json::Array(a) => a.iter().any(|x| json_texts(x, visit)),
        Json::Object(o) => o.values().any(|x| json_texts(x, visit)),
        Json::Number(n) => visit(&n.to_string()),
        Json::Bool(_) | Json::Null => false,
    }
}

/// What the ClickHouse writer stores for the filters it cannot run on the zstd blobs.
pub(crate) struct SearchColumns {
    pub attr_keys: Vec<String>,
    /// Each value rendered as text: strings as they are, anything else as JSON.
    pub attr_values: Vec<String>,
    /// The lowercase name and every text of the input and output ([`payload_texts`]),
    /// separated by NUL so a needle never matches across two of them.
    pub text: String,
}

impl SearchColumns {
    pub fn of(o: &Observation) -> Self {
        let (mut attr_keys, mut attr_values) = (Vec::new(), Vec::new());
        if let Json::Object(map) = attributes_to_json(&o.attributes) {
            for (k, v) in map {
                attr_values.push(match v {
                    Json::String(s) => s,
                    other => other.to_string(),
                });
                attr_keys.push(k);
            }
        }
        let mut parts = vec![o.name.to_lowercase()];
        for p in [&o.input, &o.output].into_iter().flatten() {
            payload_texts(p, &mut |text| {
                parts.push(text.to_lowercase());
                false
            });
        }
        SearchColumns {
            attr_keys,
            attr_values,
            text: parts.join("\0"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_columns_hold_attributes_and_lowercase_text() {
        let mut o = Observation::new(
            sightline_core::TraceId([1; 16]),
            sightline_core::SpanId([1; 8]),
            "Run".into(),
        );
        o.attributes = vec![
            ("n".into(), sightline_core::AttrValue::Int(2)),
            ("s".into(), sightline_core::AttrValue::Str("X".into())),
        ];
        o.output = Some(Payload::Value(serde_json::json!({"a": ["HeLLo", 5]})));
        let c = SearchColumns::of(&o);
        assert_eq!(c.attr_keys, ["n", "s"]);
        assert_eq!(c.attr_values, ["2", "X"]);
        assert_eq!(c.text, "run\u{0}hello\u{0}5");
    }
}
