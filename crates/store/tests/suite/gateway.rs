//! Behaviour of the gateway's contracts: budgets and their ledger (spend sums, reservations
//! open until released, notifications once), rate-limit rules, provider keys and cached
//! responses, each kept in its project.

use std::sync::Arc;

use sightline_core::gateway::budget::{Budget, Scope};
use sightline_core::gateway::window::Window;
use sightline_core::{ProjectId, Usage};
use sightline_store::{
    BudgetEvent, CachedResponse, Engine, LedgerChange, OpenReservation, ProviderKey, RateLimitRule,
};

const A: ProjectId = ProjectId(1);
const B: ProjectId = ProjectId(2);
const W: i64 = 1_700_000_000_000_000_000;

fn budget(id: &str, scope: &str, limit: i64, updated_ns: i64) -> Budget {
    Budget {
        id: id.into(),
        scope: Scope::parse(scope).unwrap(),
        window: Window::Daily,
        limit_nano_usd: limit,
        include_otlp: false,
        updated_ns,
    }
}

fn reserve(budget: &str, id: &str, amount: i64) -> LedgerChange {
    LedgerChange::Reserve {
        budget_id: budget.into(),
        window_start_ns: W,
        reservation_id: id.into(),
        amount,
        expires_ns: W + 1000,
    }
}

fn release(budget: &str, id: &str, amount: i64) -> LedgerChange {
    LedgerChange::Release {
        budget_id: budget.into(),
        window_start_ns: W,
        reservation_id: id.into(),
        amount,
    }
}

fn spend(budget: &str, amount: i64) -> LedgerChange {
    LedgerChange::Spend {
        budget_id: budget.into(),
        window_start_ns: W,
        amount,
    }
}

pub async fn budgets_and_their_ledger_round_trip(store: Arc<dyn Engine>) {
    assert!(store.budgets(A).await.unwrap().is_empty());
    let daily = budget("b1", "tenant:acme", 10_000, 100);
    let mut monthly = budget("b2", "property:team=search", 50_000, 200);
    monthly.window = Window::Monthly;
    monthly.include_otlp = true;
    store.put_budget(A, &daily).await.unwrap();
    store.put_budget(A, &monthly).await.unwrap();
    assert_eq!(
        store.budgets(A).await.unwrap(),
        vec![daily.clone(), monthly.clone()]
    );
    assert!(
        store.budgets(B).await.unwrap().is_empty(),
        "budgets stay in their project"
    );
    let mut raised = daily.clone();
    raised.limit_nano_usd = 20_000;
    raised.updated_ns = 300;
    store.put_budget(A, &raised).await.unwrap();
    assert_eq!(
        store.budgets(A).await.unwrap(),
        vec![monthly.clone(), raised.clone()]
    );

    // Reservations stay open until released; spend sums per window.
    store
        .record_ledger(
            A,
            &[reserve("b1", "n1-1", 700), reserve("b1", "n1-2", 300)],
            W,
        )
        .await
        .unwrap();
    store
        .record_ledger(A, &[release("b1", "n1-1", 700), spend("b1", 420)], W + 1)
        .await
        .unwrap();
    store
        .record_ledger(A, &[spend("b1", 80)], W + 2)
        .await
        .unwrap();
    store.record_ledger(A, &[], W + 3).await.unwrap();
    let state = store.ledger(A, "b1", W).await.unwrap();
    assert_eq!(state.spent, 500);
    assert_eq!(
        state.open,
        vec![OpenReservation {
            id: "n1-2".into(),
            amount: 300,
            expires_ns: W + 1000
        }]
    );
    assert_eq!(
        store.ledger(A, "b1", W + 86_400).await.unwrap().spent,
        0,
        "another window"
    );
    assert_eq!(
        store.ledger(B, "b1", W).await.unwrap().spent,
        0,
        "another project"
    );

    // A notification is stored once per budget, window and threshold.
    let event = BudgetEvent {
        budget_id: "b1".into(),
        scope: "tenant:acme".into(),
        window_start_ns: W,
        threshold_pct: 50,
        spent_nano_usd: 10_000,
        limit_nano_usd: 20_000,
        at_ns: W + 5,
    };
    assert!(store.add_budget_event(A, &event).await.unwrap());
    assert!(!store.add_budget_event(A, &event).await.unwrap());
    let later = BudgetEvent {
        threshold_pct: 80,
        at_ns: W + 9,
        ..event.clone()
    };
    assert!(store.add_budget_event(A, &later).await.unwrap());
    assert_eq!(
        store.budget_events(A, 0).await.unwrap(),
        vec![event.clone(), later.clone()]
    );
    assert_eq!(store.budget_events(A, W + 6).await.unwrap(), vec![later]);
    assert!(store.budget_events(B, 0).await.unwrap().is_empty());

    assert!(!store.delete_budget(B, "b1", 400).await.unwrap());
    assert!(store.delete_budget(A, "b1", 400).await.unwrap());
    assert!(!store.delete_budget(A, "b1", 500).await.unwrap());
    assert_eq!(store.budgets(A).await.unwrap(), vec![monthly]);
}

pub async fn rate_limit_rules_and_provider_keys_round_trip(store: Arc<dyn Engine>) {
    let rule = RateLimitRule {
        id: "rl1".into(),
        policy: "10;w=60;u=request;s=user".into(),
        for_key: None,
        updated_ns: 100,
    };
    let keyed = RateLimitRule {
        id: "rl2".into(),
        policy: "5;w=1;u=request".into(),
        for_key: Some("pk-sl-1".into()),
        updated_ns: 200,
    };
    store.put_rate_limit(A, &rule).await.unwrap();
    store.put_rate_limit(A, &keyed).await.unwrap();
    assert_eq!(
        store.rate_limits(A).await.unwrap(),
        vec![rule.clone(), keyed.clone()]
    );
    assert!(store.rate_limits(B).await.unwrap().is_empty());
    assert!(store.delete_rate_limit(A, "rl1", 300).await.unwrap());
    assert!(!store.delete_rate_limit(A, "rl1", 400).await.unwrap());
    assert_eq!(store.rate_limits(A).await.unwrap(), vec![keyed]);

    let key = ProviderKey {
        id: "vk1".into(),
        upstream: "openai".into(),
        for_key: None,
        ciphertext: vec![0, 1, 2, 255, 254],
        hint: "…abcd".into(),
        cache_ttl_secs: Some(3600),
        updated_ns: 100,
    };
    let scoped = ProviderKey {
        id: "vk2".into(),
        upstream: "anthropic".into(),
        for_key: Some("pk-sl-2".into()),
        ciphertext: vec![9; 40],
        hint: "…wxyz".into(),
        cache_ttl_secs: None,
        updated_ns: 200,
    };
    store.put_provider_key(A, &key).await.unwrap();
    store.put_provider_key(A, &scoped).await.unwrap();
    assert_eq!(
        store.provider_keys(A).await.unwrap(),
        vec![key.clone(), scoped.clone()]
    );
    assert!(
        store.provider_keys(B).await.unwrap().is_empty(),
        "keys stay in their project"
    );
    let rotated = ProviderKey {
        ciphertext: vec![7; 41],
        updated_ns: 300,
        ..key.clone()
    };
    store.put_provider_key(A, &rotated).await.unwrap();
    assert_eq!(
        store.provider_keys(A).await.unwrap(),
        vec![scoped.clone(), rotated]
    );
    assert!(!store.delete_provider_key(B, "vk2", 400).await.unwrap());
    assert!(store.delete_provider_key(A, "vk2", 400).await.unwrap());
    assert_eq!(store.provider_keys(A).await.unwrap().len(), 1);
}

pub async fn cached_responses_expire_and_stay_in_their_project(store: Arc<dyn Engine>) {
    let entry = |slot: u32, body: &str, expires_ns: i64| CachedResponse {
        key: "k1".into(),
        slot,
        status: 200,
        content_type: "application/json".into(),
        stream: slot == 1,
        body: body.as_bytes().to_vec(),
        model: Some("gpt-4o".into()),
        usage: Usage {
            input: Some(10),
            output: Some(5),
            cache_read: Some(2),
            ..Usage::default()
        },
        cost_nano_usd: Some(1234),
        created_ns: W,
        expires_ns,
    };
    store
        .put_cached(A, &entry(0, "{\"a\":1}", W + 100))
        .await
        .unwrap();
    store
        .put_cached(A, &entry(1, "data: x\n\n", W + 200))
        .await
        .unwrap();
    let got = store.cached(A, "k1", W).await.unwrap();
    assert_eq!(
        got,
        vec![
            entry(0, "{\"a\":1}", W + 100),
            entry(1, "data: x\n\n", W + 200)
        ]
    );
    assert!(
        store.cached(B, "k1", W).await.unwrap().is_empty(),
        "another project"
    );
    assert!(store.cached(A, "k2", W).await.unwrap().is_empty());
    assert_eq!(
        store.cached(A, "k1", W + 150).await.unwrap().len(),
        1,
        "slot 0 expired"
    );
    // Replacing a slot keeps one entry there.
    let mut newer = entry(0, "{\"a\":2}", W + 300);
    newer.created_ns = W + 1;
    store.put_cached(A, &newer).await.unwrap();
    let got = store.cached(A, "k1", W + 1).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body, b"{\"a\":2}");
    // Purging counts what expired; reads skip it either way (ClickHouse deletes in the
    // background).
    assert_eq!(store.purge_cache(W + 250).await.unwrap(), 1);
    assert_eq!(store.cached(A, "k1", W + 250).await.unwrap(), vec![newer]);
}
