//! Canonical JSON: one byte string for every JSON document that means the same (object keys
//! sorted, no insignificant whitespace, numbers and strings as serde_json writes them), so two
//! requests that differ only in key order or spacing share a response-cache entry.

use serde_json::Value as Json;

/// `value` in canonical form.
pub fn canonical_json(value: &Json) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// The canonical form of a JSON document, or the parse error.
pub fn canonical_bytes(body: &[u8]) -> Result<String, serde_json::Error> {
    let value: Json = serde_json::from_slice(body)?;
    Ok(canonical_json(&value))
}

fn write(value: &Json, out: &mut String) {
    match value {
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Json::String(k.clone()).to_string());
                out.push(':');
                write(&map[k], out);
            }
            out.push('}');
        }
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_meaning_same_bytes() {
        let a = br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5}"#;
        let b = b"{ \"temperature\" : 0.5 ,\n \"messages\": [ {\"content\":\"hi\", \"role\":\"user\"} ], \"model\":\"m\" }";
        assert_eq!(canonical_bytes(a).unwrap(), canonical_bytes(b).unwrap());
        assert_eq!(
            canonical_bytes(a).unwrap(),
            r#"{"messages":[{"content":"hi","role":"user"}],"model":"m","temperature":0.5}"#
        );
        // Order inside arrays matters; so does every value.
        let c = br#"{"messages":[{"role":"user","content":"hi"}],"model":"m","temperature":0.6}"#;
        assert_ne!(canonical_bytes(a).unwrap(), canonical_bytes(c).unwrap());
        assert_eq!(
            canonical_bytes(br#"{"s":"a\"b\u00e9"}"#).unwrap(),
            "{\"s\":\"a\\\"bé\"}"
        );
        assert!(canonical_bytes(b"{nope").is_err());
    }
}
