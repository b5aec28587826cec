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
    // Langfuse usage types are disjoint buckets; ours follow OpenTelemetry, where input includes
    // cache reads and writes and output includes reasoning: add them back.
    usage.input = match lf.input {
        Some(n) => Some(n + lf.cache_read.unwrap_or(0) + lf.cache_write.unwrap_or(0)),
        None => pick(ctx, &INPUT),
    };
    usage.output = match lf.output {
        Some(n) => Some(n + lf.reasoning.unwrap_or(0)),
        None => pick(ctx, &OUTPUT),
    };
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

#[derive(Default)]
struct LangfuseUsage {
    input: Option<i64>,
    output: Option<i64>,
    total: Option<i64>,
    cache_read: Option<i64>,
    cache_write: Option<i64>,
    reasoning: Option<i64>,
}

/// Langfuse `usage_details` (a JSON object). The attribute is promoted when every key in it was
/// mapped; with unknown keys (say `output_audio_tokens`) or junk values it is kept whole.
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
    for (key, value) in &object {
        let slot = match key.as_str() {
            "input" => &mut lf.input,
            "output" => &mut lf.output,
            "total" => &mut lf.total,
            "input_cached_tokens" | "cache_read_input_tokens" => &mut lf.cache_read,
            "input_cache_creation" | "cache_creation_input_tokens" => &mut lf.cache_write,
            "output_reasoning_tokens" | "reasoning_tokens" => &mut lf.reasoning,
            _ => {
                all_mapped = false;
                continue;
            }
        };
        match json_count(value) {
            Some(n) if slot.is_none() => {
                *slot = Some(n);
                any = true;
            }
            Some(_) => all_mapped = false,
            None => {
                all_mapped = false;
                warn_count(
                    ctx,
                    &format!("{USAGE_DETAILS}.{key}"),
                    &AttrValue::from_json(value),
                );
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

fn details_total(object: &Map<String, Json>) -> Option<f64> {
    if let Some(total) = object.get("total") {
        return json_number(total);
    }
    if object.is_empty() {
        return None;
    }
    object.values().map(json_number).sum()
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
