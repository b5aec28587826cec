//! The workspace rule: the workspace id is read from attributes, on the span first, then on its
//! resource. Normalization applies it once into `Observation::workspace_id`; stores apply it
//! to rows written before that field existed.

use crate::value::AttrValue;

/// Attributes that carry the workspace id, in precedence order.
pub const WORKSPACE_KEYS: [&str; 3] = ["workspace.id", "sightline.workspace_id", "workspace_id"];

/// The first non-empty value, as text, of the first of `keys` present in `attrs`.
pub fn attribute_text(attrs: &[(String, AttrValue)], keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| {
        attrs
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.to_text())
            .filter(|s| !s.is_empty())
    })
}

/// The workspace of a span with these attributes and resource attributes.
pub fn workspace_of(
    span: &[(String, AttrValue)],
    resource: Option<&[(String, AttrValue)]>,
) -> Option<String> {
    attribute_text(span, &WORKSPACE_KEYS)
        .or_else(|| resource.and_then(|r| attribute_text(r, &WORKSPACE_KEYS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_span_wins_over_the_resource_and_empty_values_do_not_count() {
        let span = vec![("workspace_id".to_owned(), AttrValue::Str(String::new()))];
        let res = vec![("sightline.workspace_id".to_owned(), AttrValue::Int(7))];
        assert_eq!(workspace_of(&span, Some(&res)), Some("7".into()));
        let span = vec![("workspace.id".to_owned(), AttrValue::Str("w1".into()))];
        assert_eq!(workspace_of(&span, Some(&res)), Some("w1".into()));
        assert_eq!(workspace_of(&[], None), None);
    }
}
