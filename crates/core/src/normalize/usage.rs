//! Token usage and the sender's own cost: every alias of every count, Langfuse `usage_details`
//! and `cost_details`, and the junk checks that keep bad numbers out of the sums.

use serde_json::{Map, Value as Json};

use crate::model::{Observation, Usage};
use crate::value::AttrValue;

use super::attrs::{count, json_count, json_number, json_object, number, MAX_COUNT};
use super::Ctx;
use crate::money::usd_to_nano;

const INPUT: [&str; 4] = [
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "llm.usage.prompt_tokens",
];
const OUTPUT: [&str; 4] = [
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "llm.usage.completion_tokens",
];
const TOTAL: [&str; 3] = [
    "gen_ai.usage.total_tokens",
    "llm.token_count.total",
    "llm.usage.total_tokens",
];
const CACHE_READ: [&str; 4] = [
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
    "gen_ai.usage.cached_tokens",
];
const CACHE_WRITE: [&str; 5] = [
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.cache_write_input_tokens",
    "llm.token_count.prompt_details.cache_write",
];
const REASONING: [&str; 4] = [
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "gen_ai.usage.thinking_tokens",
    "llm.token_count.completion_details.reasoning",
];

const USAGE_DETAILS: &str = "langfuse.observation.usage_details";
const COST_DETAILS: &str = "langfuse.observation.cost_details";

pub(super) fn fill(ctx: &mut Ctx, obs: &mut Observation) {
    let lf = langfuse_usage(ctx);
    let mut usage = Usage {
        cache_read: lf.cache_read.or_else(|| pick(ctx, &CACHE_READ)),
        cache_write: lf.cache_write.or_else(|| pick(ctx, &CACHE_WRITE)),
        reasoning: lf.reasoning.or_else(|| pick(ctx, &REASONING)),
        ..Usage::default()
    };
    usage.input = lf.input().or_else(|| pick(ctx, &INPUT));
    usage.output = lf.output().or_else(|| pick(ctx, &OUTPUT));
    usage.total = lf
        .total
        .or_else(|| pick(ctx, &TOTAL))
        .or(match (usage.input, usage.output) {
            (Some(i), Some(o)) => Some(i + o),
            _ => None,
        });
    obs.usage = usage;
    obs.provided_cost_nano_usd = cost(ctx);
}

/// The first of `keys` holding a valid count, promoted; junk values met on the way are warned
/// about and stay.
fn pick(ctx: &mut Ctx, keys: &[&str]) -> Option<i64> {
    for key in keys {
        let Some(i) = ctx.attrs.index(key) else {
            continue;
        };
        if let Some(n) = count(ctx.attrs.value(i)) {
            ctx.attrs.take_at(i);
            return Some(n);
        }
        let value = ctx.attrs.value(i).clone();
        warn_count(ctx, key, &value);
    }
    None
}

fn warn_count(ctx: &mut Ctx, key: &str, value: &AttrValue) {
    let too_big = number(value).is_some_and(|x| x > MAX_COUNT as f64);
    let problem = if too_big {
        "is too large to be a token count (over 10000000000)"
    } else {
        "is not a non-negative integer"
    };
    ctx.warn(
        key,
        value,
        problem,
        "not counted as tokens",
        "send a whole number of tokens, e.g. 1234",
    );
}

/// The counts of a Langfuse `usage_details` object, in whichever shape it came.
#[derive(Default)]
struct LangfuseUsage {
    /// Langfuse's own `input` and `output`: disjoint buckets, without cache and reasoning.
    input: Option<i64>,
    output: Option<i64>,
    /// OpenAI's `prompt_tokens` / `input_tokens` and `completion_tokens` / `output_tokens`:
    /// inclusive, as in OpenTelemetry.
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    /// Anthropic's shape: `input_tokens` beside a top-level `cache_read_input_tokens` or
    /// `cache_creation_input_tokens`, which it does not include.
    cache_outside_input: bool,
    total: Option<i64>,
    cache_read: Option<i64>,
    cache_write: Option<i64>,
    reasoning: Option<i64>,
}

impl LangfuseUsage {
    /// Input as OpenTelemetry counts it (cache reads and writes included).
    fn input(&self) -> Option<i64> {
        let cache = || self.cache_read.unwrap_or(0) + self.cache_write.unwrap_or(0);
        match (self.input, self.input_tokens) {
            (Some(n), _) => Some(n + cache()),
            (None, Some(n)) if self.cache_outside_input => Some(n + cache()),
            (None, n) => n,
        }
    }

    /// Output as OpenTelemetry counts it (reasoning included).
    fn output(&self) -> Option<i64> {
        match self.output {
            Some(n) => Some(n + self.reasoning.unwrap_or(0)),
            None => self.output_tokens,
        }
    }

    /// Where a count under `key` (`nested` when inside a details object) goes.
    fn slot(&mut self, key: &str, nested: bool) -> Option<&mut Option<i64>> {
        Some(match (nested, key) {
            (false, "input") => &mut self.input,
            (false, "output") => &mut self.output,
            (false, "prompt_tokens" | "input_tokens") => &mut self.input_tokens,
            (false, "completion_tokens" | "output_tokens") => &mut self.output_tokens,
            (false, "total" | "total_tokens") => &mut self.total,
            (false, "input_cached_tokens" | "cache_read_input_tokens" | "input_cache_read")
            | (true, "cached_tokens" | "cache_read") => &mut self.cache_read,
            (
                false,
                "input_cache_creation" | "cache_creation_input_tokens" | "input_cache_write",
            )
            | (true, "cache_creation") => &mut self.cache_write,
            (false, "output_reasoning_tokens" | "reasoning_tokens" | "output_reasoning")
            | (true, "reasoning_tokens" | "reasoning") => &mut self.reasoning,
            _ => return None,
        })
    }
}

/// OpenAI's details objects (Chat Completions, Responses, and LangChain's spelling).
const DETAILS: [&str; 6] = [
    "prompt_tokens_details",
    "completion_tokens_details",
    "input_tokens_details",
    "output_tokens_details",
    "input_token_details",
    "output_token_details",
];

/// Langfuse `usage_details` (a JSON object) in each shape its SDKs send: Langfuse's own keys,
/// OpenAI Chat Completions usage, OpenAI Responses usage (with their nested details), nulls
/// for counts not reported. The attribute is promoted when every key with a count other than
/// zero was used; with other keys (say `output_audio_tokens: 2`) or junk values it stays whole.
fn langfuse_usage(ctx: &mut Ctx) -> LangfuseUsage {
    let mut lf = LangfuseUsage::default();
    let Some(i) = ctx.attrs.index(USAGE_DETAILS) else {
        return lf;
    };
    let Some(object) = json_object(ctx.attrs.value(i)) else {
        warn_not_object(
            ctx,
            i,
            USAGE_DETAILS,
            "its counts were not used",
            "{\"input\":10,\"output\":5}",
        );
        return lf;
    };
    let mut all_mapped = true;
    let mut any = false;
    // (key, its details object when nested, value)
    let mut entries: Vec<(&str, Option<&str>, &Json)> = Vec::new();
    for (key, value) in &object {
        match value {
            Json::Object(details) if DETAILS.contains(&key.as_str()) => entries.extend(
                details
                    .iter()
                    .map(|(k, v)| (k.as_str(), Some(key.as_str()), v)),
            ),
            _ => entries.push((key.as_str(), None, value)),
        }
    }
    lf.cache_outside_input = ["cache_read_input_tokens", "cache_creation_input_tokens"]
        .iter()
        .any(|k| object.get(*k).is_some_and(|v| !v.is_null()));
    for (key, details, value) in entries {
        if value.is_null() {
            continue; // not reported
        }
        let count = json_count(value);
        let Some(slot) = lf.slot(key, details.is_some()) else {
            // An unused count of zero says nothing the observation lacks.
            all_mapped &= count == Some(0);
            continue;
        };
        match count {
            Some(n) if slot.is_none_or(|v| v == n) => {
                *slot = Some(n);
                any = true;
            }
            Some(_) => all_mapped = false,
            None => {
                all_mapped = false;
                let path = match details {
                    Some(d) => format!("{USAGE_DETAILS}.{d}.{key}"),
                    None => format!("{USAGE_DETAILS}.{key}"),
                };
                warn_count(ctx, &path, &AttrValue::from_json(value));
            }
        }
    }
    if any && all_mapped {
        ctx.attrs.take_at(i);
    }
    lf
}

/// `gen_ai.usage.cost` (USD), else `llm.cost.total` (USD), else Langfuse `cost_details`
/// (`total`, or the sum of its values when it has none), as nano-USD.
fn cost(ctx: &mut Ctx) -> Option<i64> {
    const LOST: &str = "not used as the provided cost";
    const FIX: &str = "send a non-negative amount of US dollars, e.g. 0.0125";
    for key in ["gen_ai.usage.cost", "llm.cost.total"] {
        let Some(i) = ctx.attrs.index(key) else {
            continue;
        };
        if let Some(nano) = number(ctx.attrs.value(i)).and_then(usd_to_nano) {
            ctx.attrs.take_at(i);
            return Some(nano);
        }
        let value = ctx.attrs.value(i).clone();
        ctx.warn(
            key,
            &value,
            "is not a non-negative amount in USD",
            LOST,
            FIX,
        );
    }
    let i = ctx.attrs.index(COST_DETAILS)?;
    let Some(object) = json_object(ctx.attrs.value(i)) else {
        warn_not_object(
            ctx,
            i,
            COST_DETAILS,
            LOST,
            "{\"input\":0.001,\"output\":0.002,\"total\":0.003}",
        );
        return None;
    };
    match details_total(&object).and_then(usd_to_nano) {
        Some(nano) => {
            ctx.attrs.take_at(i);
            Some(nano)
        }
        None => {
            let value = ctx.attrs.value(i).clone();
            let problem = "has no non-negative `total` in USD (nor only numeric values to sum)";
            ctx.warn(COST_DETAILS, &value, problem, LOST, FIX);
            None
        }
    }
}

/// `total`, else the sum of the other amounts; nulls (amounts not reported) are skipped.
fn details_total(object: &Map<String, Json>) -> Option<f64> {
    if let Some(total) = object.get("total").filter(|t| !t.is_null()) {
        return json_number(total);
    }
    let amounts: Vec<&Json> = object.values().filter(|v| !v.is_null()).collect();
    if amounts.is_empty() {
        return None;
    }
    amounts.into_iter().map(json_number).sum()
}

fn warn_not_object(ctx: &mut Ctx, i: usize, key: &str, lost: &str, example: &str) {
    let value = ctx.attrs.value(i).clone();
    ctx.warn(
        key,
        &value,
        "is not a JSON object",
        lost,
        &format!("send a JSON object string such as {example}"),
    );
}
