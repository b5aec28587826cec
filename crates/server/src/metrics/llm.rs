//! The `llm_*` series: one label set per (project, tenant, workspace, agent, model, provider),
//! what each llm or embedding call adds to it, and the cap on how many label sets are kept.

use std::collections::{BTreeMap, HashMap};

use sightline_core::calls::ModelCall;
use sightline_core::ProjectId;

use super::text::{nano_decimal, Text};

/// Upper bounds of the latency buckets, in nanoseconds: the OpenTelemetry GenAI semantic
/// conventions' advice for `gen_ai.client.operation.duration` (0.01 s doubling to 81.92 s).
pub const LATENCY_BUCKETS_NS: [u64; 14] = [
    10_000_000,
    20_000_000,
    40_000_000,
    80_000_000,
    160_000_000,
    320_000_000,
    640_000_000,
    1_280_000_000,
    2_560_000_000,
    5_120_000_000,
    10_240_000_000,
    20_480_000_000,
    40_960_000_000,
    81_920_000_000,
];

/// The `token_type` label values, in the order of [`Values::tokens`].
pub const TOKEN_TYPES: [&str; 5] = ["input", "output", "cache_read", "cache_write", "reasoning"];

/// The value every label takes in the one series that absorbs label sets beyond the cap.
pub const OVERFLOW: &str = "__other__";

/// Label values longer than this are cut (at a character boundary) to bound memory.
pub const MAX_LABEL_BYTES: usize = 128;

/// One label set. Missing values are empty, which Prometheus treats as an absent label.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub project: String,
    pub tenant_id: String,
    pub workspace_id: String,
    pub agent_id: String,
    pub model: String,
    pub provider: String,
}

impl Key {
    /// The label set of a model call.
    pub fn of(project: ProjectId, call: &ModelCall) -> Key {
        Key {
            project: project.0.to_string(),
            tenant_id: label(call.tenant_id.as_deref()),
            workspace_id: label(call.workspace_id.as_deref()),
            agent_id: label(call.agent.as_deref()),
            model: label(call.model.as_deref()),
            provider: label(call.provider.as_deref()),
        }
    }

    fn overflow() -> Key {
        Key {
            project: OVERFLOW.into(),
            tenant_id: OVERFLOW.into(),
            workspace_id: OVERFLOW.into(),
            agent_id: OVERFLOW.into(),
            model: OVERFLOW.into(),
            provider: OVERFLOW.into(),
        }
    }

    fn labels(&self) -> [(&'static str, &str); 6] {
        [
            ("project", &self.project),
            ("tenant_id", &self.tenant_id),
            ("workspace_id", &self.workspace_id),
            ("agent_id", &self.agent_id),
            ("model", &self.model),
            ("provider", &self.provider),
        ]
    }
}

pub(super) fn label(v: Option<&str>) -> String {
    let v = v.unwrap_or("");
    if v.len() <= MAX_LABEL_BYTES {
        return v.to_owned();
    }
    let mut end = MAX_LABEL_BYTES;
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    v[..end].to_owned()
}

/// A latency histogram: counts per bucket (not cumulative; the last slot is above every bound)
/// and the exact sum in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    pub buckets: [u64; LATENCY_BUCKETS_NS.len() + 1],
    pub sum_ns: u128,
}

impl Histogram {
    pub fn observe(&mut self, ns: u64) {
        let slot = LATENCY_BUCKETS_NS.partition_point(|&bound| bound < ns);
        self.buckets[slot] += 1;
        self.sum_ns += u128::from(ns);
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    fn add(&mut self, other: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets) {
            *a += b;
        }
        self.sum_ns += other.sum_ns;
    }
}

/// What the calls of one label set added up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub requests: u64,
    pub errors: u64,
    /// Tokens by [`TOKEN_TYPES`].
    pub tokens: [u64; 5],
    pub cost_nano_usd: u128,
    pub latency: Histogram,
}

impl Values {
    /// One call's contribution. Negative amounts (bad input) count as zero.
    pub fn of(call: &ModelCall) -> Values {
        let n = |v: Option<i64>| v.map_or(0, |x| x.max(0) as u64);
        let u = &call.usage;
        let mut latency = Histogram::default();
        if let Some(ns) = call.duration_ns {
            latency.observe(n(Some(ns)));
        }
        Values {
            requests: 1,
            errors: u64::from(call.is_error),
            tokens: [
                n(u.input),
                n(u.output),
                n(u.cache_read),
                n(u.cache_write),
                n(u.reasoning),
            ],
            cost_nano_usd: u128::from(n(call.cost_nano_usd)),
            latency,
        }
    }

    fn add(&mut self, other: &Values) {
        self.requests += other.requests;
        self.errors += other.errors;
        for (a, b) in self.tokens.iter_mut().zip(other.tokens) {
            *a += b;
        }
        self.cost_nano_usd += other.cost_nano_usd;
        self.latency.add(&other.latency);
    }
}

/// The calls of one batch, summed per label set, waiting for the batch's commit.
#[derive(Debug, Default)]
pub struct Calls(HashMap<Key, Values>);

impl Calls {
    pub fn of(project: ProjectId, calls: &[ModelCall]) -> Calls {
        let mut sums = HashMap::new();
        for call in calls {
            sums.entry(Key::of(project, call))
                .or_insert_with(Values::default)
                .add(&Values::of(call));
        }
        Calls(sums)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Every label set seen since start, at most `max` of them plus the overflow set.
#[derive(Debug)]
pub struct Table {
    max: usize,
    series: BTreeMap<Key, Values>,
    /// Calls counted under the overflow label set because the cap was reached.
    pub folded: u64,
}

impl Table {
    pub fn new(max: usize) -> Table {
        Table {
            max,
            series: BTreeMap::new(),
            folded: 0,
        }
    }

    pub fn add(&mut self, calls: Calls) {
        for (key, values) in calls.0 {
            let key = if self.series.contains_key(&key) || self.distinct() < self.max {
                key
            } else {
                self.folded += values.requests;
                Key::overflow()
            };
            self.series.entry(key).or_default().add(&values);
        }
    }

    /// Label sets kept, not counting the overflow set.
    pub fn distinct(&self) -> usize {
        let overflow = self.series.contains_key(&Key::overflow());
        self.series.len() - usize::from(overflow)
    }

    pub fn render(&self, out: &mut Text) {
        out.family(
            "llm_requests_total",
            "counter",
            "LLM and embedding calls stored since the server started.",
        );
        for (k, v) in &self.series {
            out.sample("llm_requests_total", &k.labels(), v.requests);
        }
        out.family(
            "llm_errors_total",
            "counter",
            "LLM and embedding calls stored with an error status since the server started.",
        );
        for (k, v) in &self.series {
            out.sample("llm_errors_total", &k.labels(), v.errors);
        }
        out.family(
            "llm_tokens_total",
            "counter",
            "Tokens of LLM and embedding calls, by token_type (input, output, cache_read, cache_write, reasoning).",
        );
        for (k, v) in &self.series {
            let base = k.labels();
            for (kind, n) in TOKEN_TYPES.iter().zip(v.tokens) {
                let mut labels = base.to_vec();
                labels.push(("token_type", kind));
                out.sample("llm_tokens_total", &labels, n);
            }
        }
        out.family(
            "llm_cost_usd_total",
            "counter",
            "Known cost of LLM and embedding calls in USD (provided or computed from the price table; unknown costs add nothing).",
        );
        for (k, v) in &self.series {
            out.sample(
                "llm_cost_usd_total",
                &k.labels(),
                nano_decimal(v.cost_nano_usd),
            );
        }
        out.family(
            "llm_latency_seconds",
            "histogram",
            "Duration of LLM and embedding calls (span end minus start), in seconds.",
        );
        for (k, v) in &self.series {
            let base = k.labels();
            let mut cumulative = 0;
            let bounds = LATENCY_BUCKETS_NS
                .iter()
                .map(|&b| nano_decimal(u128::from(b)));
            let bounds = bounds.chain(std::iter::once("+Inf".to_owned()));
            for (le, n) in bounds.zip(v.latency.buckets) {
                cumulative += n;
                let mut labels = base.to_vec();
                labels.push(("le", &le));
                out.sample("llm_latency_seconds_bucket", &labels, cumulative);
            }
            out.sample(
                "llm_latency_seconds_sum",
                &base,
                nano_decimal(v.latency.sum_ns),
            );
            out.sample("llm_latency_seconds_count", &base, v.latency.count());
        }
    }
}
