//! The attribute bag normalization works on (which attributes were promoted, which stay), and
//! the lenient parsers for counts, amounts, JSON text and timestamps.

use serde_json::Value as Json;

use crate::value::{AttrValue, Attributes};

/// The largest token count we believe: anything above is a unit mix-up or junk.
pub(super) const MAX_COUNT: i64 = 10_000_000_000;

/// Attributes in their original order, with a mark on each one promoted into a field.
#[derive(Debug, Default)]
pub(super) struct Bag {
    items: Attributes,
    used: Vec<bool>,
    /// One bit per (length, last byte) of the keys present: most lookups are for keys a span
    /// does not have, and this answers them without a scan.
    signature: u128,
}

fn key_bit(key: &str) -> u128 {
    let last = key.as_bytes().last().copied().unwrap_or(0) as usize;
    1u128 << ((key.len() * 31 + last) % 128)
}

impl Bag {
    pub(super) fn new(items: Attributes) -> Self {
        let used = vec![false; items.len()];
        let signature = items.iter().fold(0, |sig, (k, _)| sig | key_bit(k));
        Bag {
            items,
            used,
            signature,
        }
    }

    /// The first attribute with this key that is not promoted yet.
    pub(super) fn index(&self, key: &str) -> Option<usize> {
        if self.signature & key_bit(key) == 0 {
            return None;
        }
        self.items
            .iter()
            .zip(&self.used)
            .position(|((k, _), used)| !used && k == key)
    }

    pub(super) fn get(&self, key: &str) -> Option<&AttrValue> {
        self.index(key).map(|i| &self.items[i].1)
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.index(key).is_some()
    }

    pub(super) fn key(&self, i: usize) -> &str {
        &self.items[i].0
    }

    pub(super) fn value(&self, i: usize) -> &AttrValue {
        &self.items[i].1
    }

    /// Marks attribute `i` as promoted and hands out its value.
    pub(super) fn take_at(&mut self, i: usize) -> AttrValue {
        self.used[i] = true;
        std::mem::replace(&mut self.items[i].1, AttrValue::Empty)
    }

    pub(super) fn take(&mut self, key: &str) -> Option<AttrValue> {
        self.index(key).map(|i| self.take_at(i))
    }

    /// The first of `keys` holding a non-empty scalar, as text; that attribute is promoted and
    /// the others stay.
    pub(super) fn take_text(&mut self, keys: &[&str]) -> Option<String> {
        self.take_text_from(keys).map(|(_, text)| text)
    }

    /// Like [`Bag::take_text`], also saying which of `keys` (by position) won.
    pub(super) fn take_text_from(&mut self, keys: &[&str]) -> Option<(usize, String)> {
        for (n, key) in keys.iter().enumerate() {
            if let Some(i) = self.index(key) {
                if let Some(text) = self.items[i].1.to_text().filter(|t| !t.trim().is_empty()) {
                    self.used[i] = true;
                    return Some((n, text));
                }
            }
        }
        None
    }

    /// Indices of the unpromoted attributes whose key starts with `prefix`, in order.
    pub(super) fn with_prefix(&self, prefix: &str) -> Vec<usize> {
        (0..self.items.len())
            .filter(|&i| !self.used[i] && self.items[i].0.starts_with(prefix))
            .collect()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.used.iter().all(|u| *u)
    }

    /// The attributes that were not promoted, in their original order.
    pub(super) fn into_remaining(self) -> Attributes {
        self.items
            .into_iter()
            .zip(self.used)
            .filter(|(_, used)| !used)
            .map(|(kv, _)| kv)
            .collect()
    }
}

/// A token count: a non-negative integer up to [`MAX_COUNT`], given as an int, a whole double,
/// or a string holding an integer.
pub(super) fn count(v: &AttrValue) -> Option<i64> {
    let n = match v {
        AttrValue::Int(i) => *i,
        AttrValue::Double(d) if d.is_finite() && d.fract() == 0.0 && d.abs() <= 1e15 => *d as i64,
        AttrValue::Str(s) => s.trim().parse::<i64>().ok()?,
        _ => return None,
    };
    (0..=MAX_COUNT).contains(&n).then_some(n)
}

/// A count inside a JSON document (Langfuse `usage_details`).
pub(super) fn json_count(v: &Json) -> Option<i64> {
    count(&AttrValue::from_json(v))
}

/// A finite number given as an int, a double or a numeric string.
pub(super) fn number(v: &AttrValue) -> Option<f64> {
    let x = match v {
        AttrValue::Int(i) => *i as f64,
        AttrValue::Double(d) => *d,
        AttrValue::Str(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    x.is_finite().then_some(x)
}

pub(super) fn json_number(v: &Json) -> Option<f64> {
    number(&AttrValue::from_json(v))
}

/// Seconds to nanoseconds; `None` unless strictly positive and sane (under ~30 years).
pub(super) fn seconds_to_ns(s: f64) -> Option<i64> {
    let ns = (s * 1e9).round();
    (s.is_finite() && (1.0..1.0e18).contains(&ns)).then_some(ns as i64)
}

/// Text parsed as JSON when it looks like a JSON object, array or quoted string; any other text
/// (including text that fails to parse) as a JSON string.
pub(super) fn json_from_text(s: &str) -> Json {
    let t = s.trim_start();
    if t.starts_with(['{', '[', '"']) {
        if let Ok(v) = serde_json::from_str::<Json>(s) {
            return v;
        }
    }
    Json::String(s.to_string())
}

/// An attribute as JSON: strings go through [`json_from_text`], structured values convert.
pub(super) fn json_of(v: &AttrValue) -> Json {
    match v {
        AttrValue::Str(s) => json_from_text(s),
        other => other.to_json(),
    }
}

/// A JSON object carried as a JSON string or a map value; `None` for anything else.
pub(super) fn json_object(v: &AttrValue) -> Option<serde_json::Map<String, Json>> {
    match json_of(v) {
        Json::Object(m) => Some(m),
        _ => None,
    }
}

/// A list of strings: an array value, a JSON array string, or (when `comma` is set) a
/// comma-separated list; a lone string is one item. Items are trimmed; empty ones dropped.
pub(super) fn string_list(v: &AttrValue, comma: bool) -> Option<Vec<String>> {
    let items: Vec<String> = match v {
        AttrValue::Array(a) => a.iter().filter_map(AttrValue::to_text).collect(),
        AttrValue::Str(s) => match json_from_text(s) {
            Json::Array(a) => a
                .iter()
                .filter_map(|x| match x {
                    Json::String(s) => Some(s.clone()),
                    Json::Null | Json::Array(_) | Json::Object(_) => None,
                    other => Some(other.to_string()),
                })
                .collect(),
            Json::String(s) if comma => s.split(',').map(str::to_string).collect(),
            Json::String(s) => vec![s],
            _ => return None,
        },
        _ => return None,
    };
    Some(
        items
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

/// A short, printable form of a value for warnings.
pub(super) fn shown(v: &AttrValue) -> String {
    let text = v.to_json().to_string();
    if text.chars().count() <= 80 {
        return text;
    }
    let cut: String = text.chars().take(77).collect();
    format!("{cut}...")
}

/// An ISO-8601 / RFC 3339 timestamp (`2024-05-01T10:00:00.250Z`, an offset, or none for UTC;
/// optionally JSON-quoted) as UTC nanoseconds since the epoch.
pub(super) fn parse_timestamp(text: &str) -> Option<i64> {
    let t = text.trim();
    let owned;
    let t = if t.starts_with('"') {
        owned = serde_json::from_str::<String>(t).ok()?;
        owned.trim()
    } else {
        t
    };
    crate::time::parse_rfc3339(t).ok()
}
