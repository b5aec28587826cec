//! Price override fields as a user writes them (API body or config file), checked into a
//! registry [`PriceEntry`]. Every error names the field and says how to fix it.

use sightline_core::cost::{Day, PriceEntry, Rate};
use sightline_store::PriceOverride;

/// An override's fields, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OverrideFields {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub input: Option<String>,
    pub output: Option<String>,
    pub cache_read: Option<String>,
    pub cache_write: Option<String>,
    pub reasoning: Option<String>,
    pub effective_from: Option<String>,
}

/// A field that is missing or wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`: {}", self.field, self.message)
    }
}

/// The normalized fields and the registry entry they make.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub fields: OverrideFields,
    pub entry: PriceEntry,
}

fn rate(field: &'static str, v: &Option<String>) -> Result<Option<Rate>, FieldError> {
    v.as_deref()
        .map(|t| Rate::parse_usd(t).map_err(|e| FieldError::new(field, e)))
        .transpose()
}

fn required(field: &'static str, v: &Option<String>) -> Result<Rate, FieldError> {
    rate(field, v)?.ok_or_else(|| {
        FieldError::new(
            field,
            "is required: USD per million tokens as a decimal string, e.g. \"2.5\"",
        )
    })
}

/// Checks `f`: `model` and the `input` and `output` rates are required; a model with `*` is a
/// glob and needs three literal characters.
pub fn check(f: &OverrideFields) -> Result<Checked, FieldError> {
    let model = f.model.as_deref().map(str::trim).unwrap_or_default();
    if model.is_empty() {
        return Err(FieldError::new(
            "model",
            "is required: the model name as the provider spells it (e.g. \"gpt-4o\"), or a \
             `*` pattern (e.g. \"gpt-4o-*\")",
        ));
    }
    if model.contains('*') && model.chars().filter(|c| *c != '*').count() < 3 {
        return Err(FieldError::new(
            "model",
            format!("pattern `{model}` matches almost anything; give it at least three literal characters"),
        ));
    }
    let provider = f
        .provider
        .as_deref()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty());
    let effective_from = f
        .effective_from
        .as_deref()
        .map(|d| Day::parse(d.trim()).map_err(|e| FieldError::new("effective_from", e)))
        .transpose()?;
    let mut entry = PriceEntry::new(
        provider.as_deref().unwrap_or(""),
        model,
        required("input", &f.input)?,
        required("output", &f.output)?,
    );
    entry.cache_read = rate("cache_read", &f.cache_read)?;
    entry.cache_write = rate("cache_write", &f.cache_write)?;
    entry.reasoning = rate("reasoning", &f.reasoning)?;
    entry.effective_from = effective_from;
    if model.contains('*') {
        entry.patterns = vec![model.to_string()];
    }
    let show = |r: Option<Rate>| r.map(|r| r.to_string());
    let fields = OverrideFields {
        provider,
        model: Some(model.to_string()),
        input: Some(entry.input.to_string()),
        output: Some(entry.output.to_string()),
        cache_read: show(entry.cache_read),
        cache_write: show(entry.cache_write),
        reasoning: show(entry.reasoning),
        effective_from: effective_from.map(|d| d.to_string()),
    };
    Ok(Checked { fields, entry })
}

/// The registry entry of a stored override; `None` (logged) when it no longer parses.
pub fn entry_of(o: &PriceOverride) -> Option<PriceEntry> {
    let fields = OverrideFields {
        provider: o.provider.clone(),
        model: Some(o.model.clone()),
        input: Some(o.input.clone()),
        output: Some(o.output.clone()),
        cache_read: o.cache_read.clone(),
        cache_write: o.cache_write.clone(),
        reasoning: o.reasoning.clone(),
        effective_from: o.effective_from.clone(),
    };
    match check(&fields) {
        Ok(c) => Some(c.entry),
        Err(e) => {
            tracing::warn!(id = %o.id, error = %e, "skipping a stored price override");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(model: &str, input: &str, output: &str) -> OverrideFields {
        OverrideFields {
            model: Some(model.into()),
            input: Some(input.into()),
            output: Some(output.into()),
            ..Default::default()
        }
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (fields("", "1", "2"), "model"),
            (fields("**", "1", "2"), "model"),
            (fields("gpt-4o", "abc", "2"), "input"),
            (
                OverrideFields {
                    output: None,
                    ..fields("gpt-4o", "1", "2")
                },
                "output",
            ),
            (
                OverrideFields {
                    cache_read: Some("-1".into()),
                    ..fields("gpt-4o", "1", "2")
                },
                "cache_read",
            ),
            (
                OverrideFields {
                    effective_from: Some("2025-13-01".into()),
                    ..fields("gpt-4o", "1", "2")
                },
                "effective_from",
            ),
        ];
        for (f, field) in cases {
            assert_eq!(check(&f).unwrap_err().field, field, "{f:?}");
        }
    }

    #[test]
    fn checked_fields_are_normalized_and_globs_become_patterns() {
        let mut f = fields(" gpt-4o-* ", "2.50", "10");
        f.provider = Some(" OpenAI ".into());
        let c = check(&f).unwrap();
        assert_eq!(c.fields.model.as_deref(), Some("gpt-4o-*"));
        assert_eq!(c.fields.input.as_deref(), Some("2.5"));
        assert_eq!(c.fields.provider.as_deref(), Some("openai"));
        assert_eq!(c.entry.patterns, vec!["gpt-4o-*".to_string()]);
    }
}
