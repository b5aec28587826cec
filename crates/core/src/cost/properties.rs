//! Property tests with a small deterministic generator (no extra crates): costs are never
//! negative, grow with every token count, add up exactly, and the name parsers never panic.

use super::matching::{candidates, glob_matches};
use super::*;

const CASES: usize = 2_000;

/// SplitMix64: tiny, deterministic, good enough to spread test inputs.
struct Gen(u64);

impl Gen {
    fn new(seed: u64) -> Self {
        Gen(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform-ish in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A token count: mostly small, sometimes zero, sometimes large.
    fn tokens(&mut self) -> i64 {
        match self.below(10) {
            0 => 0,
            1..=6 => self.below(5_000) as i64,
            7 | 8 => self.below(2_000_000) as i64,
            _ => self.below(1_000_000_000) as i64,
        }
    }
    fn opt_tokens(&mut self) -> Option<i64> {
        (self.below(5) != 0).then(|| self.tokens())
    }
    /// Any usage, including missing and negative counts and inconsistent sub-counts.
    fn wild_usage(&mut self) -> Usage {
        let pick = |g: &mut Gen| match g.below(8) {
            0 => None,
            1 => Some(-(g.below(1_000) as i64)),
            _ => Some(g.tokens()),
        };
        Usage {
            input: pick(self),
            output: pick(self),
            total: pick(self),
            cache_read: pick(self),
            cache_write: pick(self),
            reasoning: pick(self),
        }
    }
    /// A consistent OpenTelemetry usage: sub-counts inside their parents.
    fn usage(&mut self) -> Usage {
        let cache_read = self.opt_tokens();
        let cache_write = self.opt_tokens();
        let uncached = self.tokens();
        let reasoning = self.opt_tokens();
        let visible = self.tokens();
        let input = uncached + cache_read.unwrap_or(0) + cache_write.unwrap_or(0);
        let output = visible + reasoning.unwrap_or(0);
        Usage {
            input: Some(input),
            output: Some(output),
            total: Some(input + output),
            cache_read,
            cache_write,
            reasoning,
        }
    }
    /// A rate in nano-USD per million tokens: `whole` ones are whole nano-USD per token.
    fn rate(&mut self, whole: bool) -> Rate {
        let nano = if whole {
            (self.below(200_000) as i64) * 1_000_000
        } else {
            self.below(200_000_000_000) as i64
        };
        Rate::from_nano_per_million(nano)
    }
    fn opt_rate(&mut self, whole: bool) -> Option<Rate> {
        (self.below(3) != 0).then(|| self.rate(whole))
    }
    fn entry(&mut self, whole: bool) -> PriceEntry {
        let mut e = PriceEntry::new("p", "m", self.rate(whole), self.rate(whole));
        e.cache_read = self.opt_rate(whole);
        e.cache_write = self.opt_rate(whole);
        e.reasoning = self.opt_rate(whole);
        e
    }
    fn semantics(&mut self) -> UsageSemantics {
        UsageSemantics {
            input_includes_cache: self.below(2) == 0,
            output_includes_reasoning: self.below(2) == 0,
        }
    }
}

fn components(c: &CostBreakdown) -> [i64; 5] {
    [c.input, c.cache_read, c.cache_write, c.output, c.reasoning]
}

fn sum(c: &CostBreakdown) -> i64 {
    components(c).iter().sum()
}

fn add(u: &Usage, v: &Usage) -> Usage {
    let f = |a: Option<i64>, b: Option<i64>| match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    };
    Usage {
        input: f(u.input, v.input),
        output: f(u.output, v.output),
        total: f(u.total, v.total),
        cache_read: f(u.cache_read, v.cache_read),
        cache_write: f(u.cache_write, v.cache_write),
        reasoning: f(u.reasoning, v.reasoning),
    }
}

#[test]
fn cost_is_never_negative_and_total_is_the_sum() {
    let mut g = Gen::new(1);
    for _ in 0..CASES {
        let entry = g.entry(false);
        let usage = g.wild_usage();
        let c = compute_cost(&entry, &usage, g.semantics());
        assert!(components(&c).iter().all(|v| *v >= 0), "{usage:?} {c:?}");
        assert_eq!(c.total, sum(&c), "{usage:?} {c:?}");
    }
}

#[test]
fn cost_grows_with_every_token_count() {
    let mut g = Gen::new(2);
    let disjoint = UsageSemantics {
        input_includes_cache: false,
        output_includes_reasoning: false,
    };
    for _ in 0..CASES {
        let entry = g.entry(false);
        let base = g.usage();
        let more = g.tokens().max(1);
        let grow = |f: fn(&mut Usage) -> &mut Option<i64>| {
            let mut u = base;
            let slot = f(&mut u);
            *slot = Some(slot.unwrap_or(0) + more);
            u
        };
        let cost = |u: &Usage, s| compute_cost(&entry, u, s).total;
        // In the OpenTelemetry convention, more input or output never costs less...
        let before = cost(&base, UsageSemantics::OPENTELEMETRY);
        assert!(cost(&grow(|u| &mut u.input), UsageSemantics::OPENTELEMETRY) >= before);
        assert!(cost(&grow(|u| &mut u.output), UsageSemantics::OPENTELEMETRY) >= before);
        // ...and with disjoint counts, neither does more of any kind.
        let before = cost(&base, disjoint);
        for f in [
            (|u| &mut u.input) as fn(&mut Usage) -> &mut Option<i64>,
            |u| &mut u.output,
            |u| &mut u.cache_read,
            |u| &mut u.cache_write,
            |u| &mut u.reasoning,
        ] {
            assert!(cost(&grow(f), disjoint) >= before, "{base:?} +{more}");
        }
    }
}

#[test]
fn caching_input_never_costs_more_at_bundled_prices() {
    // Every bundled cache-read price is at most its input price, so moving tokens from uncached
    // to cached input never raises the cost.
    let reg = PriceRegistry::bundled().unwrap();
    let mut g = Gen::new(3);
    for entry in reg.list() {
        if let Some(read) = entry.cache_read {
            assert!(read <= entry.input, "{} {}", entry.provider, entry.model);
        }
        let usage = g.usage();
        // Only tokens that were uncached can move.
        let uncached = ChargedTokens::split(&usage, UsageSemantics::OPENTELEMETRY).input;
        let moved = (g.below(10_000) as i64).min(uncached);
        let cached = Usage {
            cache_read: Some(usage.cache_read.unwrap_or(0) + moved),
            ..usage
        };
        let s = UsageSemantics::OPENTELEMETRY;
        assert!(compute_cost(entry, &cached, s).total <= compute_cost(entry, &usage, s).total);
    }
}

#[test]
fn costs_add_up_exactly() {
    let mut g = Gen::new(4);
    for round in 0..50 {
        // Whole nano-USD per token (every bundled price but a few): summing call costs equals
        // pricing the summed usage, to the nano.
        let whole = round % 2 == 0;
        let entry = g.entry(whole);
        let calls: Vec<Usage> = (0..200).map(|_| g.usage()).collect();
        let costs: Vec<CostBreakdown> = calls
            .iter()
            .map(|u| compute_cost(&entry, u, UsageSemantics::OPENTELEMETRY))
            .collect();
        let rollup = costs
            .iter()
            .fold(CostBreakdown::default(), |a, c| a.saturating_add(*c));
        let reversed = costs
            .iter()
            .rev()
            .fold(CostBreakdown::default(), |a, c| a.saturating_add(*c));
        assert_eq!(rollup, reversed);
        assert_eq!(rollup.total, sum(&rollup));
        assert_eq!(rollup.total, costs.iter().map(|c| c.total).sum::<i64>());

        let summed_usage = calls.iter().fold(Usage::default(), |a, u| add(&a, u));
        let at_once = compute_cost(&entry, &summed_usage, UsageSemantics::OPENTELEMETRY);
        if whole {
            assert_eq!(rollup, at_once, "round {round}");
        } else {
            // Each component of each call rounds by at most half a nano-USD.
            let slack = 5 * calls.len() as i64;
            assert!(
                (rollup.total - at_once.total).abs() <= slack,
                "round {round}"
            );
        }
    }
}

#[test]
fn bundled_prices_are_mostly_whole_nanos_per_token() {
    // Why the exact-sum property above is the common case, not a curiosity.
    let reg = PriceRegistry::bundled().unwrap();
    let all: Vec<Rate> = reg
        .list()
        .flat_map(|e| {
            [
                Some(e.input),
                Some(e.output),
                e.cache_read,
                e.cache_write,
                e.reasoning,
            ]
        })
        .flatten()
        .collect();
    let whole = all
        .iter()
        .filter(|r| r.nano_per_million() % 1_000_000 == 0)
        .count();
    assert!(whole * 100 >= all.len() * 95, "{whole} of {}", all.len());
}

#[test]
fn rates_print_and_parse_back() {
    let mut g = Gen::new(5);
    for _ in 0..CASES {
        let whole = g.below(2) == 0;
        let rate = g.rate(whole);
        assert_eq!(Rate::parse_usd(&rate.to_string()), Ok(rate));
    }
}

#[test]
fn name_parsers_never_panic() {
    const PIECES: [&str; 24] = [
        "gpt",
        "-4o",
        "claude",
        "-3-5",
        "/",
        ".",
        ":",
        "@",
        "-v1",
        ":0",
        "-2024-08-06",
        "-20241022",
        "@20241022",
        "us.",
        "anthropic.",
        "é",
        "模型",
        "*",
        "-",
        "0",
        "2024",
        "ft:",
        "openai/",
        "bedrock/",
    ];
    let mut g = Gen::new(6);
    let reg = PriceRegistry::bundled().unwrap();
    for _ in 0..CASES {
        let n = g.below(8) as usize;
        let name: String = (0..n)
            .map(|_| PIECES[g.below(PIECES.len() as u64) as usize])
            .collect();
        let c = candidates(&name);
        if let Some(first) = c.first() {
            assert_eq!(first.name, name.trim().to_lowercase());
        }
        for (i, a) in c.iter().enumerate() {
            assert!(c[i + 1..].iter().all(|b| b.name != a.name), "{name}: {c:?}");
        }
        let pattern: String = (0..g.below(5))
            .map(|_| PIECES[g.below(PIECES.len() as u64) as usize])
            .collect();
        let _ = glob_matches(&pattern, &name);
        let _ = reg.lookup(None, &name, 0);
    }
}
