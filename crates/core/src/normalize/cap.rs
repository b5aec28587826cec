//! The attribute value cap (`ingest.max_attribute_value_bytes`): an attribute value longer than
//! the cap is cut to it and ends with a marker saying how many bytes went, so one huge value can
//! neither slow the filters that read attributes nor fill the disk. Strings and bytes are cut
//! where they are; a list or map over the cap becomes its JSON text, cut. Input, output and tool
//! payloads are not attributes and are kept whole.

use serde_json::{Map, Value as Json};

use crate::model::{LogRecord, Observation};
use crate::value::AttrValue;

/// What the cap cut from one item: the keys of the values cut and the bytes they lost.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cut {
    pub keys: Vec<String>,
    pub bytes: u64,
}

impl Cut {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn add(&mut self, key: &str, bytes: usize) {
        self.keys.push(key.to_owned());
        self.bytes += bytes as u64;
    }

    /// The warning line for `label` (e.g. "span 'x' (span_id ..)"), or `None` when nothing was cut.
    pub fn warning(&self, label: &str, max: usize) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let mut keys: Vec<&str> = self.keys.iter().map(String::as_str).take(3).collect();
        if self.keys.len() > 3 {
            keys.push("...");
        }
        Some(format!(
            "{label}: {} attribute value(s) over {max} bytes cut to it ({}; {} bytes cut); raise \
             ingest.max_attribute_value_bytes to keep more",
            self.keys.len(),
            keys.join(", "),
            self.bytes
        ))
    }
}

/// The text that ends a cut value.
pub fn marker(cut_bytes: usize) -> String {
    format!("…[{cut_bytes} bytes cut: ingest.max_attribute_value_bytes]")
}

/// `text` cut to at most `max` bytes (at a character boundary) with the marker; `None` when it fits.
fn cut_text(text: &str, max: usize) -> Option<(String, usize)> {
    if text.len() <= max {
        return None;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut = text.len() - end;
    Some((format!("{}{}", &text[..end], marker(cut)), cut))
}

/// Bytes of `v` as stored, counted until it passes `max` (so a huge list is not walked whole).
fn attr_size(v: &AttrValue, max: usize) -> usize {
    match v {
        AttrValue::Str(s) => s.len(),
        AttrValue::Bytes(b) => b.len() * 2,
        AttrValue::Array(items) => {
            let mut n = 2;
            for item in items {
                n += attr_size(item, max) + 1;
                if n > max {
                    break;
                }
            }
            n
        }
        AttrValue::Map(entries) => {
            let mut n = 2;
            for (k, item) in entries {
                n += k.len() + 4 + attr_size(item, max);
                if n > max {
                    break;
                }
            }
            n
        }
        // Numbers, booleans and empties are small whatever the cap: never cut.
        _ => 0,
    }
}

/// Cuts each value of `attrs` over `max` bytes; records what went in `cut`.
pub fn cap_attributes(attrs: &mut [(String, AttrValue)], max: usize, cut: &mut Cut) {
    for (key, value) in attrs.iter_mut() {
        if attr_size(value, max) <= max {
            continue;
        }
        let text = match &mut *value {
            AttrValue::Str(s) => std::mem::take(s),
            other => other.to_json().to_string(),
        };
        if let Some((short, n)) = cut_text(&text, max) {
            *value = AttrValue::Str(short);
            cut.add(key, n);
        } else {
            *value = AttrValue::Str(text);
        }
    }
}

/// [`cap_attributes`] for attributes kept as JSON (span events).
fn cap_json(map: &mut Map<String, Json>, max: usize, cut: &mut Cut) {
    for (key, value) in map.iter_mut() {
        let text = match value {
            Json::String(s) if s.len() > max => std::mem::take(s),
            Json::Array(_) | Json::Object(_) => {
                let text = value.to_string();
                if text.len() <= max {
                    continue;
                }
                text
            }
            _ => continue,
        };
        if let Some((short, n)) = cut_text(&text, max) {
            *value = Json::String(short);
            cut.add(key, n);
        }
    }
}

/// Caps a span's attributes and its events' attributes.
pub fn cap_observation(o: &mut Observation, max: usize) -> Cut {
    let mut cut = Cut::default();
    cap_attributes(&mut o.attributes, max, &mut cut);
    for event in &mut o.events {
        cap_json(&mut event.attributes, max, &mut cut);
    }
    cut
}

/// Caps a log record's attributes.
pub fn cap_log(l: &mut LogRecord, max: usize) -> Cut {
    let mut cut = Cut::default();
    cap_attributes(&mut l.attributes, max, &mut cut);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capped(v: AttrValue, max: usize) -> (AttrValue, Cut) {
        let mut attrs = vec![("k".to_string(), v)];
        let mut cut = Cut::default();
        cap_attributes(&mut attrs, max, &mut cut);
        (attrs.remove(0).1, cut)
    }

    #[test]
    fn values_over_the_cap_are_cut_with_a_marker_saying_how_much() {
        let (v, cut) = capped(AttrValue::Str("x".repeat(100)), 10);
        assert_eq!(
            v,
            AttrValue::Str(format!("{}{}", "x".repeat(10), marker(90)))
        );
        assert_eq!(cut.bytes, 90);
        assert_eq!(cut.keys, ["k"]);
        let warning = cut.warning("span 'a' (span_id 01)", 10).unwrap();
        assert!(
            warning.contains("ingest.max_attribute_value_bytes") && warning.contains("k"),
            "{warning}"
        );

        let (small, none) = capped(AttrValue::Str("short".into()), 10);
        assert_eq!(small, AttrValue::Str("short".into()));
        assert!(none.is_empty() && none.warning("x", 10).is_none());
        assert_eq!(capped(AttrValue::Int(7), 1).0, AttrValue::Int(7));
    }

    #[test]
    fn a_cut_never_splits_a_character_and_lists_become_cut_json() {
        let (v, cut) = capped(AttrValue::Str("é".repeat(10)), 5);
        let AttrValue::Str(s) = v else { panic!() };
        assert!(s.starts_with("éé…["), "{s}");
        assert_eq!(cut.bytes, 16);
        let list = AttrValue::Array((0..100).map(AttrValue::Int).collect());
        let (v, cut) = capped(list, 20);
        let AttrValue::Str(s) = v else { panic!() };
        assert!(s.starts_with("[0,1,2,3,4,5,6,7,8,9…["), "{s}");
        assert!(cut.bytes > 0);
        let mut event = Map::new();
        event.insert("stack".into(), Json::String("y".repeat(50)));
        let mut cut = Cut::default();
        cap_json(&mut event, 8, &mut cut);
        assert_eq!(
            event["stack"],
            Json::String(format!("yyyyyyyy{}", marker(42)))
        );
    }
}
