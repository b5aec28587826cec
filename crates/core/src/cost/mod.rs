//! Cost: the bundled price registry, overrides, and what an llm or embedding call cost in
//! integer nano-USD. No floats touch money here: rates are parsed from decimal strings and every
//! product is integer.

mod compute;
mod matching;
mod price;
mod registry;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod properties;

pub use compute::{
    charge, compute_cost, usage_from_anthropic, ChargedTokens, CostBreakdown, UsageSemantics,
};
pub use matching::MatchRule;
pub use price::{Day, Rate};
pub use registry::{PriceEntry, PriceMatch, PriceRegistry};

use crate::model::{Observation, ObservationKind, Usage};

/// Why a price table could not be used. Messages name the field and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    /// The document is not valid JSON, or not in the `prices.json` layout.
    #[error("price table: {0}")]
    Parse(String),
    /// The document parsed but an entry is unusable.
    #[error("price table: {0}")]
    Invalid(String),
}

/// The cost of one observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CostOutcome {
    /// The sender said what it cost, in nano-USD; it wins over any computation.
    Provided(i64),
    /// Usage times the registry's price.
    Computed(CostBreakdown),
    /// No usage was reported: tokens counted from the text by a [`TokenCounter`], priced.
    Estimated {
        breakdown: CostBreakdown,
        /// How the tokens were counted, e.g. "estimated with o200k_base: 12 input, 3 output tokens".
        note: String,
    },
    /// No cost can be given; the reason says what is missing and how to fix it. Never a zero.
    Unknown { reason: String },
}

impl CostOutcome {
    /// The model's form of this outcome, as stored and served.
    pub fn to_cost(&self) -> crate::model::Cost {
        use crate::model::{Cost, CostSource};
        match self {
            CostOutcome::Provided(n) => Cost {
                nano_usd: Some(*n),
                source: CostSource::Provided,
                reason: None,
            },
            CostOutcome::Computed(b) => Cost {
                nano_usd: Some(b.total),
                source: CostSource::Computed,
                reason: None,
            },
            CostOutcome::Estimated { breakdown, note } => Cost {
                nano_usd: Some(breakdown.total),
                source: CostSource::Estimated,
                reason: Some(note.clone()),
            },
            CostOutcome::Unknown { reason } => Cost {
                nano_usd: None,
                source: CostSource::Unknown,
                reason: Some(reason.clone()),
            },
        }
    }

    /// The cost in nano-USD, when known.
    pub fn total_nano_usd(&self) -> Option<i64> {
        match self {
            CostOutcome::Provided(n) => Some(*n),
            CostOutcome::Computed(b) => Some(b.total),
            CostOutcome::Estimated { breakdown, .. } => Some(breakdown.total),
            CostOutcome::Unknown { .. } => None,
        }
    }
}

/// The cost of `obs`: `None` for kinds that have no cost (only llm and embedding calls do).
///
/// A cost the sender provided wins. Otherwise the price is looked up for the response model, then
/// the request model, at the call's provider and start time, and the usage (OpenTelemetry
/// convention, as normalization leaves it) is priced with [`compute_cost`]. Calls without usage
/// stay `Unknown`; [`cost_with_estimate`] counts their tokens instead.
pub fn cost_for(obs: &Observation, registry: &PriceRegistry) -> Option<CostOutcome> {
    cost_with_estimate(obs, registry, &NoCounter)
}

/// Counts the tokens of a text the way a model's tokenizer does. Implemented outside core (a
/// tokenizer is a large table); core only asks.
pub trait TokenCounter {
    /// The tokens in `text` for `model` at `provider`, and the tokenizer's name; `None` when no
    /// tokenizer is known for that model.
    fn count(&self, provider: Option<&str>, model: &str, text: &str) -> Option<(u64, String)>;
}

/// Knows no tokenizer.
struct NoCounter;

impl TokenCounter for NoCounter {
    fn count(&self, _: Option<&str>, _: &str, _: &str) -> Option<(u64, String)> {
        None
    }
}

/// Like [`cost_for`], but a call without usage whose input or output text `counter` can
/// tokenize gets an [`CostOutcome::Estimated`] cost.
pub fn cost_with_estimate(
    obs: &Observation,
    registry: &PriceRegistry,
    counter: &dyn TokenCounter,
) -> Option<CostOutcome> {
    if !matches!(obs.kind, ObservationKind::Llm | ObservationKind::Embedding) {
        return None;
    }
    if let Some(provided) = obs.provided_cost_nano_usd {
        return Some(CostOutcome::Provided(provided.max(0)));
    }
    let models: Vec<&str> = [obs.response_model.as_deref(), obs.request_model.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    let Some(first_model) = models.first() else {
        return Some(unknown("no model name"));
    };
    let provider = obs.provider.as_deref();
    let Some(entry) = models
        .iter()
        .find_map(|m| registry.lookup(provider, m, obs.start_ns))
    else {
        let at = provider
            .map(|p| format!(" at provider `{p}`"))
            .unwrap_or_default();
        return Some(unknown(&format!(
            "no price known for model `{first_model}`{at}; add a price override for this model \
             name (provider, model, input and output USD per million tokens) to price it"
        )));
    };
    let usage = if has_priceable_counts(&obs.usage) {
        obs.usage
    } else if obs.usage.total.is_some() {
        return Some(unknown(
            "only a total token count was reported; input and output counts are needed",
        ));
    } else if let Some((usage, note)) = estimate_usage(obs, first_model, counter) {
        let breakdown = compute_cost(entry, &usage, UsageSemantics::OPENTELEMETRY);
        return Some(CostOutcome::Estimated { breakdown, note });
    } else if obs.input.is_some() || obs.output.is_some() {
        return Some(unknown(&format!(
            "no token usage reported, and no tokenizer is known for model `{first_model}` to              estimate it from the text; send usage (gen_ai.usage.input_tokens and              gen_ai.usage.output_tokens)"
        )));
    } else {
        return Some(unknown("no token usage reported"));
    };
    Some(CostOutcome::Computed(compute_cost(
        entry,
        &usage,
        UsageSemantics::OPENTELEMETRY,
    )))
}

fn unknown(reason: &str) -> CostOutcome {
    CostOutcome::Unknown {
        reason: reason.to_string(),
    }
}

/// Input, output or cache counts: what a price applies to. A bare total is not enough.
fn has_priceable_counts(usage: &Usage) -> bool {
    usage.input.is_some()
        || usage.output.is_some()
        || usage.cache_read.is_some()
        || usage.cache_write.is_some()
}

/// Input and output tokens counted from the observation's text, with a note saying how.
fn estimate_usage(
    obs: &Observation,
    model: &str,
    counter: &dyn TokenCounter,
) -> Option<(Usage, String)> {
    let input = obs.input.as_ref().map(payload_text);
    let output = obs.output.as_ref().map(payload_text);
    if input.is_none() && output.is_none() {
        return None;
    }
    let provider = obs.provider.as_deref();
    let mut tokenizer = String::new();
    let mut count = |text: &Option<String>| -> Option<Option<i64>> {
        match text {
            None => Some(None),
            Some(t) => {
                let (n, name) = counter.count(provider, model, t)?;
                tokenizer = name;
                Some(Some(i64::try_from(n).unwrap_or(i64::MAX)))
            }
        }
    };
    let input_tokens = count(&input)?;
    let output_tokens = count(&output)?;
    let usage = Usage {
        input: input_tokens,
        output: output_tokens,
        ..Usage::default()
    };
    let note = format!(
        "estimated: no usage reported; counted {} input and {} output tokens with {tokenizer}",
        input_tokens.unwrap_or(0),
        output_tokens.unwrap_or(0)
    );
    Some((usage, note))
}

/// The text a payload carries, as a tokenizer would see it: message contents (and tool call
/// arguments) one per line, or a plain value (JSON other than a string is counted as written).
pub fn payload_text(payload: &crate::model::Payload) -> String {
    use crate::model::Payload;
    match payload {
        Payload::Messages(messages) => {
            let mut parts: Vec<String> = Vec::new();
            for m in messages {
                parts.extend(m.content.clone());
                parts.extend(m.tool_calls.iter().map(|c| json_text(&c.arguments)));
            }
            parts.join("\n")
        }
        Payload::Value(v) => json_text(v),
    }
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        v => v.to_string(),
    }
}
