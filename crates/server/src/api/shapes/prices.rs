//! `/prices`: the price table (the project's overrides, then the bundled table), which entry
//! prices a model, and a stored override. Rates are decimal strings of USD per million tokens.
//! Unlike the rest of the API, a stored override sends its unset rates and date as `null`, and
//! a lookup without a provider sends `"provider": null`.

use serde::{Deserialize, Serialize};
use sightline_core::cost::{MatchRule, PriceMatch};

/// `GET /api/v1/prices`. A reader that only shows the table can take the rows as entries,
/// `PriceList<PriceEntry>`: an override reads as an entry with its `id`.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(default)]
pub struct PriceList<T = Price> {
    pub data: Vec<T>,
    /// Where the bundled prices come from.
    pub bundled_source: String,
    /// YYYY-MM-DD.
    pub bundled_retrieved: String,
}

impl<T> Default for PriceList<T> {
    fn default() -> Self {
        PriceList {
            data: Vec::new(),
            bundled_source: String::new(),
            bundled_retrieved: String::new(),
        }
    }
}

/// A row of the price table: an override set through the API, or an entry of the config
/// file or the bundled table (told apart by `updated_ns`, which only overrides have).
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(untagged)]
pub enum Price {
    Override(PriceOverride),
    Entry(PriceEntry),
}

/// A price entry: from the bundled table (`"source": "bundled"`), the config file (`config`),
/// or, in a lookup, an API override (`override`, with its `id`).
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct PriceEntry {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Empty: the entry matches the model at any provider.
    pub provider: String,
    /// An exact model name, or a `*` pattern.
    pub model: String,
    pub input: String,
    pub output: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// First day (YYYY-MM-DD, UTC) the price applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<String>,
    /// Other exact names for the same price (bundled entries).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// `*` patterns tried last (bundled entries).
    #[serde(rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<String>,
}

/// A price override as stored through the API (`"source": "override"`); what
/// `PUT /api/v1/prices/overrides` answers. Unset fields are `null`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct PriceOverride {
    pub id: String,
    pub source: String,
    /// Empty: the override matches the model at any provider.
    pub provider: String,
    pub model: String,
    pub input: String,
    pub output: String,
    pub cache_read: Option<String>,
    pub cache_write: Option<String>,
    pub reasoning: Option<String>,
    pub effective_from: Option<String>,
    /// When it was last set (UTC nanoseconds).
    pub updated_ns: i64,
}

/// `GET /api/v1/prices/lookup`: the entry that prices `model` and the rule that found it.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct PriceLookup {
    pub model: String,
    /// As asked; `null` when not given.
    pub provider: Option<String>,
    pub at_ns: i64,
    /// `exact`, `exact_any_provider`, `prefix_stripped`, `date_stripped` or `pattern`.
    pub rule: String,
    pub entry: PriceEntry,
}

impl PriceEntry {
    /// `e` from `source` (`bundled`, `config` or `override`), with the override's `id`.
    pub fn new(e: &sightline_core::cost::PriceEntry, source: &str, id: Option<String>) -> Self {
        PriceEntry {
            source: source.to_owned(),
            id,
            provider: e.provider.clone(),
            model: e.model.clone(),
            input: e.input.to_string(),
            output: e.output.to_string(),
            cache_read: e.cache_read.as_ref().map(ToString::to_string),
            cache_write: e.cache_write.as_ref().map(ToString::to_string),
            reasoning: e.reasoning.as_ref().map(ToString::to_string),
            effective_from: e.effective_from.as_ref().map(ToString::to_string),
            aliases: e.aliases.clone(),
            patterns: e.patterns.clone(),
        }
    }
}

impl From<&sightline_store::PriceOverride> for PriceOverride {
    fn from(o: &sightline_store::PriceOverride) -> Self {
        PriceOverride {
            id: o.id.clone(),
            source: "override".to_owned(),
            provider: o.provider.clone().unwrap_or_default(),
            model: o.model.clone(),
            input: o.input.clone(),
            output: o.output.clone(),
            cache_read: o.cache_read.clone(),
            cache_write: o.cache_write.clone(),
            reasoning: o.reasoning.clone(),
            effective_from: o.effective_from.clone(),
            updated_ns: o.updated_ns,
        }
    }
}

impl PriceLookup {
    /// The match `m` for `model` (at `provider`, at `at_ns`); its entry comes from `source`.
    pub fn new(
        model: &str,
        provider: Option<&str>,
        at_ns: i64,
        m: &PriceMatch<'_>,
        source: &str,
        id: Option<String>,
    ) -> Self {
        PriceLookup {
            model: model.to_owned(),
            provider: provider.map(str::to_owned),
            at_ns,
            rule: rule_name(m.rule).to_owned(),
            entry: PriceEntry::new(m.entry, source, id),
        }
    }
}

fn rule_name(rule: MatchRule) -> &'static str {
    match rule {
        MatchRule::Exact => "exact",
        MatchRule::ExactAnyProvider => "exact_any_provider",
        MatchRule::PrefixStripped => "prefix_stripped",
        MatchRule::DateStripped => "date_stripped",
        MatchRule::Pattern => "pattern",
    }
}
