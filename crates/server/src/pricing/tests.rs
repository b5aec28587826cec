//! Override precedence and the per-project cache.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use sightline_core::cost::Day;

use super::*;

fn stored(
    id: &str,
    provider: Option<&str>,
    model: &str,
    input: &str,
    from: Option<&str>,
) -> PriceOverride {
    PriceOverride {
        id: id.into(),
        provider: provider.map(Into::into),
        model: model.into(),
        input: input.into(),
        output: "1".into(),
        cache_read: None,
        cache_write: None,
        reasoning: None,
        effective_from: from.map(Into::into),
        updated_ns: 1,
    }
}

fn day(d: &str) -> i64 {
    Day::parse(d).unwrap().start_ns()
}

fn input_rate(reg: &PriceRegistry, provider: Option<&str>, model: &str, at: i64) -> String {
    reg.lookup(provider, model, at)
        .map(|e| e.input.to_string())
        .unwrap_or_default()
}

#[test]
fn an_override_beats_the_bundled_price() {
    let bundled = PriceRegistry::bundled().unwrap();
    let before = input_rate(&bundled, Some("openai"), "gpt-4o", day("2026-01-01"));
    assert_ne!(before, "123");
    let reg = registry_for(
        &bundled,
        &[],
        &[stored("a", Some("openai"), "gpt-4o", "123", None)],
    );
    assert_eq!(
        input_rate(&reg, Some("openai"), "gpt-4o", day("2026-01-01")),
        "123"
    );
    // A dated snapshot without its own override still falls to the override of its family.
    assert_eq!(
        input_rate(&reg, Some("openai"), "gpt-4o-2024-08-06", day("2026-01-01")),
        "123"
    );
    // Other models keep their bundled price.
    assert_eq!(
        input_rate(&reg, Some("openai"), "gpt-4o-mini", 0),
        input_rate(&bundled, Some("openai"), "gpt-4o-mini", 0)
    );
}

#[test]
fn effective_dates_leave_earlier_calls_at_the_older_price() {
    let bundled = PriceRegistry::bundled().unwrap();
    let reg = registry_for(
        &bundled,
        &[],
        &[
            stored("a", Some("openai"), "my-model", "1", None),
            stored("b", Some("openai"), "my-model", "2", Some("2026-03-01")),
        ],
    );
    assert_eq!(
        input_rate(&reg, Some("openai"), "my-model", day("2026-02-28")),
        "1"
    );
    assert_eq!(
        input_rate(&reg, Some("openai"), "my-model", day("2026-03-01")),
        "2"
    );
    // Only a dated override: before its day the bundled price applies.
    let dated = registry_for(
        &bundled,
        &[],
        &[stored(
            "c",
            Some("openai"),
            "gpt-4o",
            "99",
            Some("2026-03-01"),
        )],
    );
    assert_eq!(
        input_rate(&dated, Some("openai"), "gpt-4o", day("2026-02-01")),
        input_rate(&bundled, Some("openai"), "gpt-4o", day("2026-02-01"))
    );
    assert_eq!(
        input_rate(&dated, Some("openai"), "gpt-4o", day("2026-03-02")),
        "99"
    );
}

#[test]
fn a_provider_specific_override_beats_a_generic_one_for_its_provider() {
    let bundled = PriceRegistry::bundled().unwrap();
    let reg = registry_for(
        &bundled,
        &[],
        &[
            stored("g", None, "my-model", "5", None),
            stored("p", Some("azure"), "my-model", "7", None),
        ],
    );
    assert_eq!(input_rate(&reg, Some("azure"), "my-model", 0), "7");
    assert_eq!(input_rate(&reg, None, "my-model", 0), "5");
    // A glob override matches the models it names.
    let glob = registry_for(&bundled, &[], &[stored("x", None, "acme-*", "4", None)]);
    assert_eq!(input_rate(&glob, Some("acme"), "acme-large-2", 0), "4");
}

#[test]
fn stored_overrides_win_over_config_ones() {
    let bundled = PriceRegistry::bundled().unwrap();
    let config = check(&OverrideFields {
        provider: Some("openai".into()),
        model: Some("gpt-4o".into()),
        input: Some("11".into()),
        output: Some("1".into()),
        ..Default::default()
    })
    .unwrap()
    .entry;
    let only_config = registry_for(&bundled, std::slice::from_ref(&config), &[]);
    assert_eq!(input_rate(&only_config, Some("openai"), "gpt-4o", 0), "11");
    let both = registry_for(
        &bundled,
        &[config],
        &[stored("a", Some("openai"), "gpt-4o", "22", None)],
    );
    assert_eq!(input_rate(&both, Some("openai"), "gpt-4o", 0), "22");
}

/// A store that counts reads.
#[derive(Default)]
struct Counting {
    entries: Mutex<Vec<PriceOverride>>,
    reads: Mutex<usize>,
}

#[async_trait]
impl PriceStore for Counting {
    async fn put_price_override(&self, _: ProjectId, e: &PriceOverride) -> Result<(), StoreError> {
        self.entries.lock().unwrap().push(e.clone());
        Ok(())
    }
    async fn price_overrides(&self, _: ProjectId) -> Result<Vec<PriceOverride>, StoreError> {
        *self.reads.lock().unwrap() += 1;
        Ok(self.entries.lock().unwrap().clone())
    }
    async fn delete_price_override(
        &self,
        _: ProjectId,
        _: &str,
        _: i64,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }
}

#[tokio::test(start_paused = true)]
async fn the_cache_is_read_once_per_max_age_and_dropped_on_a_local_change() {
    let store = Arc::new(Counting::default());
    let book = PriceBook::new(
        PriceRegistry::bundled().unwrap(),
        store.clone(),
        HashMap::new(),
    );
    let p = ProjectId(7);
    let reads = || *store.reads.lock().unwrap();
    book.registry(p).await;
    book.registry(p).await;
    assert_eq!(reads(), 1);
    // Another node's change: seen once the entry is older than MAX_AGE.
    store
        .entries
        .lock()
        .unwrap()
        .push(stored("a", Some("openai"), "gpt-4o", "321", None));
    assert_ne!(
        input_rate(&*book.registry(p).await, Some("openai"), "gpt-4o", 0),
        "321"
    );
    tokio::time::advance(MAX_AGE).await;
    assert_eq!(
        input_rate(&*book.registry(p).await, Some("openai"), "gpt-4o", 0),
        "321"
    );
    assert_eq!(reads(), 2);
    // This node's change: seen at once.
    book.put(p, &stored("b", Some("openai"), "gpt-4o", "654", None))
        .await
        .unwrap();
    assert_eq!(
        input_rate(&*book.registry(p).await, Some("openai"), "gpt-4o", 0),
        "654"
    );
    assert_eq!(reads(), 3);
}
