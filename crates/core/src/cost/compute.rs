//! Usage times price in integer nano-USD: each token is charged once, at its own rate, and the
//! total is the exact sum of the rounded components.
//!
//! Our [`Usage`] follows OpenTelemetry: `input` includes cache reads and cache writes, and
//! `output` includes reasoning. Providers report differently (OpenAI's `prompt_tokens` include
//! cached tokens; Anthropic's `input_tokens` exclude both cache reads and writes; Gemini's
//! `candidatesTokenCount` excludes thinking tokens). Normalization converts to the OpenTelemetry
//! convention; [`UsageSemantics`] lets a caller holding raw numbers say which one it has.

use serde::{Deserialize, Serialize};

use super::registry::PriceEntry;
use crate::model::Usage;

/// Prices are per million tokens: each component is `tokens * nano_per_million / 1_000_000`.
const PER_MILLION: i128 = 1_000_000;

/// Whether the counts in a [`Usage`] already contain their sub-counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UsageSemantics {
    /// `input` includes `cache_read` and `cache_write`.
    pub input_includes_cache: bool,
    /// `output` includes `reasoning`.
    pub output_includes_reasoning: bool,
}

impl UsageSemantics {
    /// OpenTelemetry GenAI (and so every normalized [`Usage`]); also OpenAI's raw
    /// `prompt_tokens` / `completion_tokens`.
    pub const OPENTELEMETRY: Self = Self {
        input_includes_cache: true,
        output_includes_reasoning: true,
    };
    /// Anthropic's raw `usage`: `input_tokens` excludes cache reads and writes.
    pub const ANTHROPIC: Self = Self {
        input_includes_cache: false,
        output_includes_reasoning: true,
    };
    /// Gemini's raw `usageMetadata`: `promptTokenCount` includes cached content, and
    /// `candidatesTokenCount` excludes `thoughtsTokenCount`.
    pub const GEMINI: Self = Self {
        input_includes_cache: true,
        output_includes_reasoning: false,
    };
}

impl Default for UsageSemantics {
    fn default() -> Self {
        Self::OPENTELEMETRY
    }
}

/// What one call cost, per kind of token, in nano-USD. `total` is the sum of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct CostBreakdown {
    /// Uncached input tokens.
    pub input: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    /// Output tokens other than reasoning.
    pub output: i64,
    pub reasoning: i64,
    pub total: i64,
}

impl CostBreakdown {
    /// Component-wise saturating sum: how rollups add breakdowns.
    pub fn saturating_add(self, other: CostBreakdown) -> CostBreakdown {
        CostBreakdown {
            input: self.input.saturating_add(other.input),
            cache_read: self.cache_read.saturating_add(other.cache_read),
            cache_write: self.cache_write.saturating_add(other.cache_write),
            output: self.output.saturating_add(other.output),
            reasoning: self.reasoning.saturating_add(other.reasoning),
            total: self.total.saturating_add(other.total),
        }
    }
}

/// The token counts that are charged, each at one rate, never overlapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChargedTokens {
    pub input: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    pub output: i64,
    pub reasoning: i64,
}

impl ChargedTokens {
    /// Splits `usage` into disjoint counts. Missing or negative counts are zero; when the
    /// sub-counts exceed their parent (an inconsistent sender) the parent's remainder is zero,
    /// so no token is charged twice and nothing goes negative.
    pub fn split(usage: &Usage, semantics: UsageSemantics) -> Self {
        let count = |v: Option<i64>| v.unwrap_or(0).max(0);
        let cache_read = count(usage.cache_read);
        let cache_write = count(usage.cache_write);
        let reasoning = count(usage.reasoning);
        let input = count(usage.input);
        let output = count(usage.output);
        ChargedTokens {
            input: if semantics.input_includes_cache {
                input
                    .saturating_sub(cache_read)
                    .saturating_sub(cache_write)
                    .max(0)
            } else {
                input
            },
            cache_read,
            cache_write,
            output: if semantics.output_includes_reasoning {
                output.saturating_sub(reasoning).max(0)
            } else {
                output
            },
            reasoning,
        }
    }
}

/// Prices `usage` with `entry`. Cache reads and writes are charged at their rates (the input
/// rate when the entry has none), reasoning at its rate (the output rate when none). Each
/// component is `round_half_up(tokens * nano_per_million / 1e6)`, computed in `i128` and
/// saturated to `i64`; the total is the saturating sum of the components.
pub fn compute_cost(entry: &PriceEntry, usage: &Usage, semantics: UsageSemantics) -> CostBreakdown {
    let tokens = ChargedTokens::split(usage, semantics);
    let input_rate = entry.input.nano_per_million();
    let output_rate = entry.output.nano_per_million();
    let rate = |r: Option<super::Rate>, fallback: i64| r.map_or(fallback, |r| r.nano_per_million());

    let input = charge(tokens.input, input_rate);
    let cache_read = charge(tokens.cache_read, rate(entry.cache_read, input_rate));
    let cache_write = charge(tokens.cache_write, rate(entry.cache_write, input_rate));
    let output = charge(tokens.output, output_rate);
    let reasoning = charge(tokens.reasoning, rate(entry.reasoning, output_rate));
    let total = [cache_read, cache_write, output, reasoning]
        .into_iter()
        .fold(input, i64::saturating_add);
    CostBreakdown {
        input,
        cache_read,
        cache_write,
        output,
        reasoning,
        total,
    }
}

/// `tokens * nano_per_million / 1e6`, rounded half up, never negative, saturating.
pub fn charge(tokens: i64, nano_per_million: i64) -> i64 {
    let product = i128::from(tokens.max(0)) * i128::from(nano_per_million.max(0));
    let rounded = (product + PER_MILLION / 2) / PER_MILLION;
    i64::try_from(rounded).unwrap_or(i64::MAX)
}

/// A [`Usage`] in the OpenTelemetry convention from Anthropic's raw `usage` numbers, where
/// `input_tokens` excludes `cache_read_input_tokens` and `cache_creation_input_tokens`.
pub fn usage_from_anthropic(
    input_excluding_cache: i64,
    cache_read: i64,
    cache_write: i64,
    output: i64,
) -> Usage {
    let input = input_excluding_cache
        .max(0)
        .saturating_add(cache_read.max(0))
        .saturating_add(cache_write.max(0));
    let output = output.max(0);
    Usage {
        input: Some(input),
        output: Some(output),
        total: Some(input.saturating_add(output)),
        cache_read: Some(cache_read.max(0)),
        cache_write: Some(cache_write.max(0)),
        reasoning: None,
    }
}
