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
            CostOutcome::Unknown { .. } => None,
        }
    }
}

/// The cost of `obs`: `None` for kinds that have no cost (only llm and embedding calls do).
///
/// A cost the sender provided wins. Otherwise the price is looked up for the response model, then
/// the request model, at the call's provider and start time, and the usage (OpenTelemetry
/// convention, as normalization leaves it) is priced with [`compute_cost`].
pub fn cost_for(obs: &Observation, registry: &PriceRegistry) -> Option<CostOutcome> {
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
    } else if let Some(estimated) = estimate_usage(obs) {
        estimated
    } else if obs.usage.total.is_some() {
        return Some(unknown(
            "only a total token count was reported; input and output counts are needed",
        ));
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

/// Hook for token estimation from the observation's input and output text, used when the sender
/// reported no usage. Not built yet: it returns `None`, so such calls stay `Unknown`.
fn estimate_usage(_obs: &Observation) -> Option<Usage> {
    None
}
