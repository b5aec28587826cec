//! Known cases: the bundled table, the lookup order, overrides, price history, and the cost of
//! whole observations.

use super::*;
use crate::ids::{SpanId, TraceId};

/// 2025-01-01T00:00:00Z and 2026-01-01T00:00:00Z.
const JAN_2025: i64 = 1_735_689_600_000_000_000;
const JAN_2026: i64 = 1_767_225_600_000_000_000;

fn registry() -> PriceRegistry {
    PriceRegistry::bundled().unwrap()
}

fn usd(text: &str) -> Rate {
    Rate::parse_usd(text).unwrap()
}

fn usage(input: i64, output: i64) -> Usage {
    Usage {
        input: Some(input),
        output: Some(output),
        ..Usage::default()
    }
}

/// `lookup` hits `want_model` of `want_provider` by `want_rule`.
fn check_lookup(
    provider: Option<&str>,
    model: &str,
    want_provider: &str,
    want_model: &str,
    want_rule: MatchRule,
) {
    let reg = registry();
    let m = reg
        .resolve(provider, model, JAN_2026)
        .unwrap_or_else(|| panic!("no price for {provider:?} {model}"));
    assert_eq!(
        (m.entry.provider.as_str(), m.entry.model.as_str(), m.rule),
        (want_provider, want_model, want_rule),
        "{provider:?} {model}"
    );
}

#[test]
fn bundled_table_loads_with_hundreds_of_models() {
    let reg = registry();
    assert!(reg.model_count() >= 300, "{} models", reg.model_count());
    assert_eq!(reg.retrieved().to_string(), "2026-11-21");
    assert!(reg.source().contains("litellm"), "{}", reg.source());
    for provider in [
        "openai",
        "anthropic",
        "gcp.gemini",
        "gcp.vertex_ai",
        "mistral_ai",
        "aws.bedrock",
        "azure.ai.openai",
        "groq",
        "deepseek",
        "x_ai",
        "together",
        "fireworks",
    ] {
        assert!(reg.list().any(|e| e.provider == provider), "{provider}");
    }
    // Every entry charges for input (a zero would hide a typo as a free model).
    for e in reg.list() {
        assert!(e.input.nano_per_million() > 0, "{} {}", e.provider, e.model);
    }
}

#[test]
fn lookup_order() {
    use MatchRule::*;
    // Exact, under the call's provider and under any provider.
    check_lookup(Some("openai"), "gpt-4o", "openai", "gpt-4o", Exact);
    check_lookup(
        Some("azure.ai.openai"),
        "gpt-4o",
        "azure.ai.openai",
        "gpt-4o",
        Exact,
    );
    check_lookup(None, "gpt-4o", "openai", "gpt-4o", ExactAnyProvider);
    check_lookup(
        Some("litellm"),
        "GPT-4o",
        "openai",
        "gpt-4o",
        ExactAnyProvider,
    );
    check_lookup(
        None,
        "claude-3-5-sonnet-latest",
        "anthropic",
        "claude-3-5-sonnet-20241022",
        ExactAnyProvider,
    );
    // A snapshot with its own entry keeps it; one without gets its family's.
    check_lookup(
        Some("openai"),
        "gpt-4o-2024-05-13",
        "openai",
        "gpt-4o-2024-05-13",
        Exact,
    );
    check_lookup(
        Some("openai"),
        "gpt-4o-mini-2024-07-18",
        "openai",
        "gpt-4o-mini",
        DateStripped,
    );
    check_lookup(
        Some("openai"),
        "gpt-4.1-2025-04-14",
        "openai",
        "gpt-4.1",
        DateStripped,
    );
    check_lookup(
        Some("anthropic"),
        "claude-3-5-sonnet-20241022",
        "anthropic",
        "claude-3-5-sonnet-20241022",
        Exact,
    );
    check_lookup(
        Some("anthropic"),
        "claude-sonnet-4-5-20250929",
        "anthropic",
        "claude-sonnet-4-5-20250929",
        Exact,
    );
    // Provider prefixes.
    check_lookup(None, "openai/gpt-4o", "openai", "gpt-4o", PrefixStripped);
    check_lookup(
        None,
        "openai:gpt-4.1-mini",
        "openai",
        "gpt-4.1-mini",
        PrefixStripped,
    );
    check_lookup(
        Some("openai"),
        "openai/gpt-4o-2024-08-06",
        "openai",
        "gpt-4o-2024-08-06",
        PrefixStripped,
    );
    check_lookup(
        Some("azure.ai.openai"),
        "azure/gpt-4.1",
        "azure.ai.openai",
        "gpt-4.1",
        PrefixStripped,
    );
    check_lookup(
        Some("gcp.gemini"),
        "gemini/gemini-2.5-flash",
        "gcp.gemini",
        "gemini-2.5-flash",
        PrefixStripped,
    );
    check_lookup(
        Some("together"),
        "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "together",
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        PrefixStripped,
    );
    // Bedrock ids: as sent, with a cross-region prefix, and with a version we do not list.
    check_lookup(
        Some("aws.bedrock"),
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "aws.bedrock",
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        Exact,
    );
    check_lookup(
        Some("aws.bedrock"),
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "aws.bedrock",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        PrefixStripped,
    );
    check_lookup(
        Some("aws.bedrock"),
        "bedrock/eu.meta.llama3-2-3b-instruct-v1:0",
        "aws.bedrock",
        "meta.llama3-2-3b-instruct-v1:0",
        PrefixStripped,
    );
    check_lookup(
        Some("aws.bedrock"),
        "global.anthropic.claude-sonnet-4-5-20250929-v9:0",
        "anthropic",
        "claude-sonnet-4-5-20250929",
        DateStripped,
    );
    // Vertex AI `@` dates.
    check_lookup(
        Some("gcp.vertex_ai"),
        "claude-3-5-sonnet-v2@20241022",
        "gcp.vertex_ai",
        "claude-3-5-sonnet-v2@20241022",
        Exact,
    );
    check_lookup(
        Some("gcp.vertex_ai"),
        "gemini-2.0-flash-001",
        "gcp.vertex_ai",
        "gemini-2.0-flash",
        Exact,
    );
    // Globs, last.
    check_lookup(
        None,
        "ft:gpt-4o-mini-2024-07-18:acme::9xYz",
        "openai",
        "ft:gpt-4o-mini",
        Pattern,
    );
    check_lookup(
        Some("gcp.gemini"),
        "gemini-2.5-pro-preview-06-05",
        "gcp.gemini",
        "gemini-2.5-pro",
        Pattern,
    );
}

#[test]
fn unknown_models_have_no_price() {
    let reg = registry();
    for model in [
        "",
        "my-own-model",
        "gpt-99",
        "llama",
        "us.unknown.model-v1:0",
        "ft:",
    ] {
        assert!(reg.lookup(None, model, JAN_2026).is_none(), "{model}");
    }
    // A non-ASCII name is looked up, not a panic.
    assert!(reg.lookup(None, "модель-2024-08-06", JAN_2026).is_none());
    assert!(reg.lookup(None, "é-20241022", JAN_2026).is_none());
}

#[test]
fn gpt_4o_with_openai_style_cached_tokens() {
    // OpenAI reports prompt_tokens = 10_000 including 8_000 cached; completion 500.
    let reg = registry();
    let entry = reg
        .lookup(Some("openai"), "gpt-4o-2024-08-06", JAN_2026)
        .unwrap();
    let usage = Usage {
        cache_read: Some(8_000),
        ..usage(10_000, 500)
    };
    let cost = compute_cost(entry, &usage, UsageSemantics::OPENTELEMETRY);
    // 2_000 uncached at $2.50/M, 8_000 cached at $1.25/M, 500 out at $10/M.
    assert_eq!(
        cost,
        CostBreakdown {
            input: 5_000_000,
            cache_read: 10_000_000,
            cache_write: 0,
            output: 5_000_000,
            reasoning: 0,
            total: 20_000_000,
        }
    );
}

#[test]
fn claude_with_anthropic_style_numbers() {
    // Anthropic reports input_tokens = 1_000 (excluding cache), 20_000 cache reads, 3_000 cache
    // writes, 800 output.
    let reg = registry();
    let entry = reg
        .lookup(Some("anthropic"), "claude-3-5-sonnet-20241022", JAN_2026)
        .unwrap();
    let want = CostBreakdown {
        input: 3_000_000,        // 1_000 * $3/M
        cache_read: 6_000_000,   // 20_000 * $0.30/M
        cache_write: 11_250_000, // 3_000 * $3.75/M
        output: 12_000_000,      // 800 * $15/M
        reasoning: 0,
        total: 32_250_000,
    };
    let normalized = usage_from_anthropic(1_000, 20_000, 3_000, 800);
    assert_eq!(normalized.input, Some(24_000));
    assert_eq!(
        compute_cost(entry, &normalized, UsageSemantics::OPENTELEMETRY),
        want
    );
    // The same raw numbers, declared as Anthropic's convention, cost the same.
    let raw = Usage {
        cache_read: Some(20_000),
        cache_write: Some(3_000),
        ..usage(1_000, 800)
    };
    assert_eq!(compute_cost(entry, &raw, UsageSemantics::ANTHROPIC), want);
    // Taken as OpenTelemetry numbers by mistake, the cache would swallow the input: clamped, not
    // negative, and the cached tokens are still charged once.
    let wrong = compute_cost(entry, &raw, UsageSemantics::OPENTELEMETRY);
    assert_eq!(wrong.input, 0);
    assert_eq!(wrong.total, want.total - want.input);
}

#[test]
fn reasoning_is_charged_once_at_its_rate() {
    let reg = registry();
    // Same rate: the split does not change the total.
    let o3 = reg.lookup(Some("openai"), "o3", JAN_2026).unwrap();
    let u = Usage {
        reasoning: Some(3_000),
        ..usage(1_000, 4_000)
    };
    let c = compute_cost(o3, &u, UsageSemantics::OPENTELEMETRY);
    assert_eq!((c.output, c.reasoning), (8_000_000, 24_000_000));
    assert_eq!(c.total, 2_000_000 + 32_000_000);
    // Its own rate (Gemini 2.5 Flash preview thinking at $3.50/M), and Gemini's raw convention
    // where candidates exclude thoughts.
    let flash = reg
        .lookup(
            Some("gcp.gemini"),
            "gemini-2.5-flash-preview-04-17",
            JAN_2026,
        )
        .unwrap();
    let raw = Usage {
        reasoning: Some(2_000),
        ..usage(0, 1_000)
    };
    let c = compute_cost(flash, &raw, UsageSemantics::GEMINI);
    assert_eq!((c.output, c.reasoning), (600_000, 7_000_000));
}

#[test]
fn rounding_is_half_up_per_component() {
    let entry = PriceEntry::new("x", "m", usd("0.15"), usd("0.6"));
    // 3 tokens * 150 nano/M... = 0.45 nano -> 0; 0.5 rounds up; 1.5 -> 2.
    assert_eq!(charge(3, 150_000), 0);
    assert_eq!(charge(1, 500_000), 1);
    assert_eq!(charge(3, 500_000), 2);
    assert_eq!(charge(1, 499_999), 0);
    let c = compute_cost(&entry, &usage(7, 3), UsageSemantics::OPENTELEMETRY);
    // 7 * 150 = 1050 nano exactly; 3 * 600 = 1800.
    assert_eq!((c.input, c.output, c.total), (1_050, 1_800, 2_850));
}

#[test]
fn absurd_values_saturate_and_never_go_negative() {
    let entry = PriceEntry::new("x", "m", usd("1000000000"), usd("1000000000"));
    let huge = Usage {
        input: Some(i64::MAX),
        output: Some(i64::MAX),
        cache_read: Some(i64::MAX),
        cache_write: Some(i64::MAX),
        reasoning: Some(i64::MAX),
        total: None,
    };
    let c = compute_cost(&entry, &huge, UsageSemantics::ANTHROPIC);
    assert_eq!(c.total, i64::MAX);
    let negative = Usage {
        input: Some(-5),
        output: Some(-1),
        cache_read: Some(-7),
        cache_write: None,
        reasoning: Some(-3),
        total: None,
    };
    assert_eq!(
        compute_cost(&entry, &negative, UsageSemantics::OPENTELEMETRY),
        CostBreakdown::default()
    );
    let odd = PriceEntry::new("x", "m", Rate::from_nano_per_million(-5), usd("1"));
    assert_eq!(odd.input, Rate::ZERO);
}

#[test]
fn overrides_beat_the_bundled_price() {
    let mut discounted = PriceEntry::new("openai", "gpt-4o", usd("2"), usd("8"));
    discounted.cache_read = Some(usd("0.5"));
    let reg = registry().with_overrides(vec![discounted.clone()]);
    let m = reg.resolve(Some("openai"), "gpt-4o", JAN_2026).unwrap();
    assert!(m.is_override);
    assert_eq!(m.entry, &discounted);
    // An override matches through the whole order, so snapshots and prefixes get it too,
    // even a snapshot the bundled table prices by itself.
    for model in ["openai/gpt-4o", "gpt-4o-2024-08-06", "GPT-4o"] {
        assert_eq!(
            reg.lookup(Some("openai"), model, JAN_2026),
            Some(&discounted),
            "{model}"
        );
    }
    // Other models keep the bundled price; the list shows the override first.
    let mini = reg
        .resolve(Some("openai"), "gpt-4o-mini", JAN_2026)
        .unwrap();
    assert!(!mini.is_override);
    assert_eq!(reg.list().next(), Some(&discounted));
    // A price for a model the table lacks.
    let own = PriceEntry::new("", "acme-llm-7", usd("0.1"), usd("0.2"));
    let reg = registry().with_overrides(vec![own.clone()]);
    assert_eq!(reg.lookup(Some("acme"), "acme-llm-7", JAN_2026), Some(&own));
    assert_eq!(reg.model_count(), registry().model_count() + 1);
}

#[test]
fn a_price_change_does_not_rewrite_earlier_calls() {
    // o3 went from $10/$40 to $2/$8 on 2025-06-10.
    let reg = registry();
    let u = usage(1_000_000, 1_000_000);
    let cost_at = |at: i64| {
        let e = reg.lookup(Some("openai"), "o3", at).unwrap();
        compute_cost(e, &u, UsageSemantics::OPENTELEMETRY).total
    };
    let day = Day::parse("2025-06-10").unwrap().start_ns();
    assert_eq!(cost_at(JAN_2025), 50_000_000_000);
    assert_eq!(cost_at(day - 1), 50_000_000_000);
    assert_eq!(cost_at(day), 10_000_000_000);
    assert_eq!(cost_at(JAN_2026), 10_000_000_000);
    // DeepSeek changed twice; the alias follows the same history.
    let deepseek = |at: i64| {
        reg.lookup(None, "deepseek-v3", at)
            .unwrap()
            .output
            .to_string()
    };
    assert_eq!(deepseek(JAN_2025), "1.1");
    assert_eq!(
        deepseek(Day::parse("2025-09-10").unwrap().start_ns()),
        "1.68"
    );
    assert_eq!(deepseek(JAN_2026), "0.42");
}

#[test]
fn a_model_priced_only_from_a_later_day_has_no_earlier_price() {
    let json = r#"{"source": "t", "retrieved": "2025-01-01", "providers": [
        {"provider": "p", "models": [
            {"model": "m", "input": "1", "output": "2", "effective_from": "2025-06-01"}
        ]}
    ]}"#;
    let reg = PriceRegistry::from_json(json).unwrap();
    assert!(reg.lookup(None, "m", JAN_2025).is_none());
    assert!(reg.lookup(None, "m", JAN_2026).is_some());
}

#[test]
fn bad_tables_are_refused_with_a_fix() {
    let table = |models: &str| {
        format!(
            r#"{{"source": "t", "retrieved": "2025-01-01", "providers": [
                {{"provider": "p", "models": [{models}]}}]}}"#
        )
    };
    let cases = [
        (
            r#"{"model": "m", "input": 1.5, "output": "2"}"#,
            "decimal strings",
        ),
        (
            r#"{"model": "m", "input": "-1", "output": "2"}"#,
            "plain decimal",
        ),
        (
            r#"{"model": "m", "input": "1", "output": "2", "colour": "red"}"#,
            "colour",
        ),
        (
            r#"{"model": "", "input": "1", "output": "2"}"#,
            "empty `model`",
        ),
        (
            r#"{"model": "m", "input": "1", "output": "2", "match": ["m-1"]}"#,
            "aliases",
        ),
        (
            r#"{"model": "m", "input": "1", "output": "2", "match": ["*a*"]}"#,
            "three literal",
        ),
        (
            r#"{"model": "m", "input": "1", "output": "2", "effective_from": "2025-13-01"}"#,
            "YYYY-MM-DD",
        ),
        (
            r#"{"model": "m", "input": "1", "output": "2"}, {"model": "M", "input": "1", "output": "3"}"#,
            "twice",
        ),
        (
            r#"{"provider": "q", "model": "m", "input": "1", "output": "2"}"#,
            "group",
        ),
    ];
    for (models, want) in cases {
        let err = PriceRegistry::from_json(&table(models))
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{models}: {err}");
    }
    assert!(PriceRegistry::from_json("not json").is_err());
}

#[test]
fn entries_round_trip_through_json() {
    let reg = registry();
    for e in reg.list() {
        let json = serde_json::to_string(e).unwrap();
        let back: PriceEntry = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, e);
    }
}

fn llm(model: Option<&str>, usage: Usage) -> Observation {
    let mut o = Observation::new(TraceId([1; 16]), SpanId([2; 8]), "chat".into());
    o.kind = ObservationKind::Llm;
    o.provider = Some("openai".into());
    o.request_model = model.map(str::to_string);
    o.usage = usage;
    o.start_ns = JAN_2026;
    o
}

#[test]
fn provided_beats_computed_beats_unknown() {
    let reg = registry();
    // Provided wins, even over a computable cost.
    let mut o = llm(Some("gpt-4o"), usage(1_000, 100));
    o.provided_cost_nano_usd = Some(123);
    assert_eq!(cost_for(&o, &reg), Some(CostOutcome::Provided(123)));
    // Computed.
    o.provided_cost_nano_usd = None;
    let c = cost_for(&o, &reg).unwrap();
    assert_eq!(c.total_nano_usd(), Some(2_500_000 + 1_000_000));
    // The response model is priced first.
    o.response_model = Some("gpt-4o-2024-05-13".into());
    assert_eq!(
        cost_for(&o, &reg).unwrap().total_nano_usd(),
        Some(5_000_000 + 1_500_000)
    );
    // Unknown response model: the request model still prices it.
    o.response_model = Some("gpt-4o-internal-build".into());
    assert_eq!(
        cost_for(&o, &reg).unwrap().total_nano_usd(),
        Some(3_500_000)
    );
}

#[test]
fn unknown_costs_say_why_and_are_never_zero() {
    let reg = registry();
    let reason = |o: &Observation| match cost_for(o, &reg) {
        Some(CostOutcome::Unknown { reason }) => reason,
        other => panic!("expected unknown, got {other:?}"),
    };
    assert_eq!(reason(&llm(None, usage(1, 1))), "no model name");
    let r = reason(&llm(Some("acme-llm-7"), usage(1, 1)));
    assert!(
        r.contains("`acme-llm-7`") && r.contains("`openai`") && r.contains("override"),
        "{r}"
    );
    assert_eq!(
        reason(&llm(Some("gpt-4o"), Usage::default())),
        "no token usage reported"
    );
    let only_total = Usage {
        total: Some(10),
        ..Usage::default()
    };
    assert!(reason(&llm(Some("gpt-4o"), only_total)).contains("only a total"));
    // Explicit zeros are a real (free) call, not unknown.
    let zero = cost_for(&llm(Some("gpt-4o"), usage(0, 0)), &reg).unwrap();
    assert_eq!(zero.total_nano_usd(), Some(0));
}

#[test]
fn only_llm_and_embedding_calls_have_a_cost() {
    let reg = registry();
    let mut o = llm(Some("text-embedding-3-small"), usage(1_000_000, 0));
    o.kind = ObservationKind::Embedding;
    assert_eq!(
        cost_for(&o, &reg).unwrap().total_nano_usd(),
        Some(20_000_000)
    );
    for kind in ObservationKind::ALL {
        if matches!(kind, ObservationKind::Llm | ObservationKind::Embedding) {
            continue;
        }
        o.kind = kind;
        o.provided_cost_nano_usd = Some(5);
        assert_eq!(cost_for(&o, &reg), None, "{kind:?}");
    }
}

/// Counts whitespace-separated words, and only for `gpt-` models.
struct Words;

impl TokenCounter for Words {
    fn count(&self, _: Option<&str>, model: &str, text: &str) -> Option<(u64, String)> {
        model
            .starts_with("gpt-")
            .then(|| (text.split_whitespace().count() as u64, "words".into()))
    }
}

#[test]
fn calls_without_usage_are_estimated_from_their_text_when_a_tokenizer_is_known() {
    use crate::model::{CostSource, Payload};
    let reg = registry();
    let mut o = llm(Some("gpt-4o"), Usage::default());
    o.input = Some(Payload::Value(serde_json::json!("one two three four")));
    o.output = Some(Payload::Value(serde_json::json!("five six")));
    // Without a counter: unknown, with a reason saying what to send.
    let plain = cost_for(&o, &reg).unwrap().to_cost();
    assert_eq!(plain.source, CostSource::Unknown);
    assert!(plain.reason.unwrap().contains("no tokenizer"));
    // With one: 4 input and 2 output tokens at gpt-4o's price ($2.5 and $10 per million).
    let est = cost_with_estimate(&o, &reg, &Words).unwrap();
    assert_eq!(est.total_nano_usd(), Some(4 * 2_500 + 2 * 10_000));
    let cost = est.to_cost();
    assert_eq!(cost.source, CostSource::Estimated);
    assert!(cost
        .reason
        .unwrap()
        .contains("4 input and 2 output tokens with words"));
    // Reported usage is never replaced by an estimate.
    o.usage = usage(1_000, 100);
    assert!(matches!(
        cost_with_estimate(&o, &reg, &Words),
        Some(CostOutcome::Computed(_))
    ));
    // A model the counter does not know stays unknown.
    let mut other = llm(Some("claude-3-5-sonnet"), Usage::default());
    other.provider = Some("anthropic".into());
    other.output = Some(Payload::Value(serde_json::json!("hi")));
    assert!(matches!(
        cost_with_estimate(&other, &reg, &Words),
        Some(CostOutcome::Unknown { .. })
    ));
}
