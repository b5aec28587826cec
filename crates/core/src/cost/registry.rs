//! The price table: entries, the bundled `data/prices.json`, overrides, and lookup by provider,
//! model name and call time.
//!
//! Lookup order (case-insensitive; overrides go through all of it before the bundled table):
//! 1. the name (or an alias) as sent, under the call's provider;
//! 2. the name as sent, under any provider (the first provider in table order);
//! 3. the name without provider prefixes (`openai/gpt-4o`, `bedrock/...`, `openai:gpt-4o`),
//!    Bedrock region prefixes (`us.`, `eu.`, `apac.`, `global.` ...) and Bedrock vendors
//!    (`anthropic.`), each under the call's provider first, then any;
//! 4. each of those names without a date suffix (`-2024-08-06`, `-20241022`, `@20241022`) or a
//!    Bedrock version (`-v1:0`): so a snapshot without its own entry gets its family's price;
//! 5. `*` globs of the entries against every name above, the most specific pattern first.
//!
//! Entries for one provider and model with different `effective_from` days form a history: the
//! newest one not after the call's time applies (an entry without a day applies since always).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use super::matching::{candidates, glob_matches, specificity, MatchRule};
use super::price::{Day, Rate};
use super::CostError;

/// The bundled price table, compiled into the binary.
const BUNDLED_JSON: &str = include_str!("../../data/prices.json");

/// The price of one model at one provider, from a day on. Rates are per million tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceEntry {
    /// Canonical provider name (`openai`, `aws.bedrock`, ...). In `prices.json` it comes from the
    /// entry's provider group. Empty: the entry matches by name only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub provider: String,
    /// The model name as the provider spells it.
    pub model: String,
    pub input: Rate,
    pub output: Rate,
    /// Cached input read; the input rate when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<Rate>,
    /// Cached input written; the input rate when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<Rate>,
    /// Reasoning output; the output rate when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Rate>,
    /// First day (UTC) this price applies; absent: since always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<Day>,
    /// Other exact names for the same price (`claude-3-5-sonnet-latest`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// `*` globs tried last (`gpt-4o-2024-*`).
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<String>,
}

impl PriceEntry {
    /// An entry with input and output rates only; set the other fields directly.
    pub fn new(provider: &str, model: &str, input: Rate, output: Rate) -> Self {
        PriceEntry {
            provider: provider.to_string(),
            model: model.to_string(),
            input,
            output,
            cache_read: None,
            cache_write: None,
            reasoning: None,
            effective_from: None,
            aliases: Vec::new(),
            patterns: Vec::new(),
        }
    }

    fn starts_ns(&self) -> i64 {
        self.effective_from.map_or(i64::MIN, Day::start_ns)
    }
}

/// A price found by [`PriceRegistry::resolve`], and how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceMatch<'a> {
    pub entry: &'a PriceEntry,
    pub rule: MatchRule,
    /// Found among the overrides rather than the bundled table.
    pub is_override: bool,
}

/// The layout of `prices.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    /// Where the prices come from.
    source: String,
    /// When they were taken (YYYY-MM-DD).
    retrieved: Day,
    /// Free text for people editing the file.
    #[serde(default, rename = "notes")]
    _notes: Vec<String>,
    providers: Vec<ProviderGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderGroup {
    provider: String,
    models: Vec<PriceEntry>,
}

/// One layer of prices (the bundled table, or the overrides) with its indexes.
#[derive(Debug, Default)]
struct Table {
    entries: Vec<PriceEntry>,
    /// Lowercased name (model or alias) to the providers that price it, in table order, each
    /// with its entry indexes oldest `effective_from` first.
    by_name: HashMap<String, Vec<History>>,
    /// (lowercased glob, entry index), most specific first, then table order.
    patterns: Vec<(String, usize)>,
}

/// One provider's prices for one name over time.
#[derive(Debug)]
struct History {
    provider: String,
    entries: Vec<usize>,
}

impl Table {
    /// Indexes `entries`. For equal provider, name and day the later entry wins.
    fn new(entries: Vec<PriceEntry>) -> Self {
        let mut table = Table {
            entries,
            ..Table::default()
        };
        for (i, entry) in table.entries.iter().enumerate() {
            let provider = entry.provider.trim().to_lowercase();
            for name in std::iter::once(&entry.model).chain(&entry.aliases) {
                let histories = table.by_name.entry(name.trim().to_lowercase()).or_default();
                match histories.iter_mut().find(|h| h.provider == provider) {
                    Some(h) => h.entries.push(i),
                    None => histories.push(History {
                        provider: provider.clone(),
                        entries: vec![i],
                    }),
                }
            }
            for pattern in &entry.patterns {
                table.patterns.push((pattern.trim().to_lowercase(), i));
            }
        }
        let entries = &table.entries;
        for history in table.by_name.values_mut().flatten() {
            // Stable: for the same day, the later entry stays later and so wins.
            history.entries.sort_by_key(|&i| entries[i].starts_ns());
        }
        table
            .patterns
            .sort_by_key(|(pattern, i)| (std::cmp::Reverse(specificity(pattern)), *i));
        table
    }

    /// The newest entry of `history` that applies at `at_ns`.
    fn at(&self, history: &History, at_ns: i64) -> Option<&PriceEntry> {
        history
            .entries
            .iter()
            .rev()
            .map(|&i| &self.entries[i])
            .find(|e| e.starts_ns() <= at_ns)
    }

    /// `name` under `provider` if it prices it, else under the first provider that does; and
    /// whether the provider was the call's.
    fn find(&self, provider: Option<&str>, name: &str, at_ns: i64) -> Option<(&PriceEntry, bool)> {
        let histories = self.by_name.get(name)?;
        if let Some(p) = provider {
            let own = histories.iter().find(|h| h.provider == p);
            if let Some(e) = own.and_then(|h| self.at(h, at_ns)) {
                return Some((e, true));
            }
        }
        histories
            .iter()
            .find_map(|h| self.at(h, at_ns))
            .map(|e| (e, false))
    }

    /// The entry of `entry`'s own provider and model that applies at `at_ns`.
    fn same_model_at(&self, entry: &PriceEntry, at_ns: i64) -> Option<&PriceEntry> {
        let provider = entry.provider.trim().to_lowercase();
        self.by_name
            .get(&entry.model.trim().to_lowercase())?
            .iter()
            .find(|h| h.provider == provider)
            .and_then(|h| self.at(h, at_ns))
    }

    fn resolve(&self, provider: Option<&str>, model: &str, at_ns: i64) -> Option<PriceMatch<'_>> {
        let provider = provider
            .map(|p| p.trim().to_lowercase())
            .filter(|p| !p.is_empty());
        let provider = provider.as_deref();
        let names = candidates(model);
        for candidate in &names {
            if let Some((entry, same_provider)) = self.find(provider, &candidate.name, at_ns) {
                let rule = match candidate.rule {
                    MatchRule::Exact if !same_provider => MatchRule::ExactAnyProvider,
                    rule => rule,
                };
                return Some(matched(entry, rule));
            }
        }
        // Globs: under the call's provider first, then any provider.
        let pattern_hit = |same_provider: bool| {
            self.patterns.iter().find_map(|(pattern, i)| {
                let entry = &self.entries[*i];
                let provider_ok = !same_provider
                    || provider.is_some_and(|p| entry.provider.eq_ignore_ascii_case(p));
                let hit = provider_ok && names.iter().any(|c| glob_matches(pattern, &c.name));
                // The glob picks the model; its history picks the price for the time.
                hit.then(|| self.same_model_at(entry, at_ns)).flatten()
            })
        };
        let entry = provider
            .and_then(|_| pattern_hit(true))
            .or_else(|| pattern_hit(false))?;
        Some(matched(entry, MatchRule::Pattern))
    }
}

fn matched(entry: &PriceEntry, rule: MatchRule) -> PriceMatch<'_> {
    PriceMatch {
        entry,
        rule,
        is_override: false,
    }
}

/// Model prices: the bundled table plus overrides, which win.
#[derive(Debug, Clone)]
pub struct PriceRegistry {
    overrides: Arc<Table>,
    bundled: Arc<Table>,
    source: String,
    retrieved: Day,
}

impl PriceRegistry {
    /// The table compiled into the binary, parsed once per process.
    pub fn bundled() -> Result<PriceRegistry, CostError> {
        static BUNDLED: OnceLock<Result<PriceRegistry, CostError>> = OnceLock::new();
        BUNDLED
            .get_or_init(|| PriceRegistry::from_json(BUNDLED_JSON))
            .clone()
    }

    /// A registry from a document in the `prices.json` layout.
    pub fn from_json(json: &str) -> Result<PriceRegistry, CostError> {
        let file: PriceFile =
            serde_json::from_str(json).map_err(|e| CostError::Parse(e.to_string()))?;
        let mut entries = Vec::new();
        let mut seen: HashSet<(String, String, Option<Day>)> = HashSet::new();
        for group in file.providers {
            let provider = group.provider.trim().to_lowercase();
            if provider.is_empty() {
                return Err(CostError::Invalid(
                    "a provider group has an empty `provider`; name it, e.g. \"openai\"".into(),
                ));
            }
            for mut entry in group.models {
                if !entry.provider.is_empty() && entry.provider.to_lowercase() != provider {
                    return Err(CostError::Invalid(format!(
                        "model `{}` says provider `{}` inside the `{provider}` group; \
                         move it to its provider's group",
                        entry.model, entry.provider
                    )));
                }
                entry.provider = provider.clone();
                validate(&entry)?;
                for name in std::iter::once(&entry.model).chain(&entry.aliases) {
                    let key = (provider.clone(), name.to_lowercase(), entry.effective_from);
                    if !seen.insert(key) {
                        return Err(CostError::Invalid(format!(
                            "`{provider}` prices `{name}` twice{}; keep one entry, or give \
                             each an `effective_from` day",
                            entry
                                .effective_from
                                .map(|d| format!(" from {d}"))
                                .unwrap_or_default()
                        )));
                    }
                }
                entries.push(entry);
            }
        }
        Ok(PriceRegistry {
            overrides: Arc::new(Table::default()),
            bundled: Arc::new(Table::new(entries)),
            source: file.source,
            retrieved: file.retrieved,
        })
    }

    /// This registry with `overrides` in front: an override that matches at any step of the
    /// lookup order wins over every bundled entry. Replaces earlier overrides.
    pub fn with_overrides(mut self, overrides: Vec<PriceEntry>) -> PriceRegistry {
        self.overrides = Arc::new(Table::new(overrides));
        self
    }

    /// The price for a call to `model` at `provider` made at `at_ns` (UTC nanoseconds).
    pub fn lookup(&self, provider: Option<&str>, model: &str, at_ns: i64) -> Option<&PriceEntry> {
        self.resolve(provider, model, at_ns).map(|m| m.entry)
    }

    /// Like [`lookup`](Self::lookup), also saying which rule matched.
    pub fn resolve(
        &self,
        provider: Option<&str>,
        model: &str,
        at_ns: i64,
    ) -> Option<PriceMatch<'_>> {
        if let Some(m) = self.overrides.resolve(provider, model, at_ns) {
            return Some(PriceMatch {
                is_override: true,
                ..m
            });
        }
        self.bundled.resolve(provider, model, at_ns)
    }

    /// Every entry: overrides first, then the bundled table, each in table order.
    pub fn list(&self) -> impl Iterator<Item = &PriceEntry> + '_ {
        self.overrides.entries.iter().chain(&self.bundled.entries)
    }

    /// Distinct (provider, model) pairs, over overrides and the bundled table.
    pub fn model_count(&self) -> usize {
        let mut keys: Vec<(String, String)> = self
            .list()
            .map(|e| (e.provider.to_lowercase(), e.model.to_lowercase()))
            .collect();
        keys.sort();
        keys.dedup();
        keys.len()
    }

    /// Where the table's prices come from, as its file says.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The day the table's prices were taken.
    pub fn retrieved(&self) -> Day {
        self.retrieved
    }
}

fn validate(entry: &PriceEntry) -> Result<(), CostError> {
    let model = entry.model.trim();
    if model.is_empty() {
        return Err(CostError::Invalid(format!(
            "a `{}` entry has an empty `model`; give the model name as the provider spells it",
            entry.provider
        )));
    }
    if let Some(alias) = entry.aliases.iter().find(|a| a.trim().is_empty()) {
        return Err(CostError::Invalid(format!(
            "model `{model}` has an empty alias `{alias}`; remove it"
        )));
    }
    if let Some(p) = entry.patterns.iter().find(|p| !p.contains('*')) {
        return Err(CostError::Invalid(format!(
            "model `{model}` has match pattern `{p}` without `*`; put exact names in `aliases`"
        )));
    }
    if let Some(p) = entry.patterns.iter().find(|p| specificity(p) < 3) {
        return Err(CostError::Invalid(format!(
            "model `{model}` has match pattern `{p}`, which matches almost anything; \
             give it at least three literal characters"
        )));
    }
    Ok(())
}
