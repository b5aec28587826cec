//! Behaviour of [`PriceStore`]: per-project overrides that can be set, replaced, listed and
//! deleted, and stay in their project.

use std::sync::Arc;

use sightline_core::ProjectId;
use sightline_store::{Engine, PriceOverride};

fn entry(id: &str, model: &str, input: &str, updated_ns: i64) -> PriceOverride {
    PriceOverride {
        id: id.into(),
        provider: Some("openai".into()),
        model: model.into(),
        input: input.into(),
        output: "10".into(),
        cache_read: Some("1.25".into()),
        cache_write: None,
        reasoning: None,
        effective_from: Some("2025-01-01".into()),
        updated_ns,
    }
}

pub async fn price_overrides_round_trip_replace_and_delete(store: Arc<dyn Engine>) {
    let (a, b) = (ProjectId(1), ProjectId(2));
    assert!(store.price_overrides(a).await.unwrap().is_empty());

    let first = entry("po_1", "gpt-4o", "2.5", 100);
    let mut generic = entry("po_2", "gpt-4o-*", "3", 200);
    generic.provider = None;
    generic.effective_from = None;
    generic.cache_read = None;
    generic.reasoning = Some("12.5".into());
    store.put_price_override(a, &first).await.unwrap();
    store.put_price_override(a, &generic).await.unwrap();
    assert_eq!(
        store.price_overrides(a).await.unwrap(),
        vec![first.clone(), generic.clone()]
    );
    assert!(
        store.price_overrides(b).await.unwrap().is_empty(),
        "overrides stay in their project"
    );

    // A put with the same id replaces.
    let replaced = entry("po_1", "gpt-4o", "2", 300);
    store.put_price_override(a, &replaced).await.unwrap();
    assert_eq!(
        store.price_overrides(a).await.unwrap(),
        vec![generic.clone(), replaced.clone()]
    );

    // Deleting in another project does nothing; in the right one it removes.
    assert!(!store.delete_price_override(b, "po_1", 400).await.unwrap());
    assert!(store.delete_price_override(a, "po_1", 400).await.unwrap());
    assert!(!store.delete_price_override(a, "po_1", 500).await.unwrap());
    assert!(!store
        .delete_price_override(a, "po_missing", 500)
        .await
        .unwrap());
    assert_eq!(store.price_overrides(a).await.unwrap(), vec![generic]);

    // A deleted id can be set again.
    let again = entry("po_1", "gpt-4o", "1", 600);
    store.put_price_override(a, &again).await.unwrap();
    assert_eq!(store.price_overrides(a).await.unwrap().len(), 2);
}
