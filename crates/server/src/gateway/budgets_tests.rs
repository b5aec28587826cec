//! Budgets against a real SQLite store on a manual clock: concurrent admissions never
//! overshoot, notifications fire once each, a restart keeps spend and reservations, and
//! telemetry spend counts when a budget asks for it.

use std::sync::Arc;

use sightline_core::gateway::budget::Scope;
use sightline_core::gateway::window::Window;
use sightline_core::time::{ManualClock, DAY_NS};

use super::*;
use crate::gateway::test_store::temp_store;

const P: ProjectId = ProjectId(1);
const T0: i64 = 1_800_000_000_000_000_000;

fn budget(id: &str, scope: &str, limit: i64) -> Budget {
    Budget {
        id: id.into(),
        scope: Scope::parse(scope).unwrap(),
        window: Window::Daily,
        limit_nano_usd: limit,
        include_otlp: false,
        updated_ns: T0,
    }
}

fn tags(tenant: &str) -> CallTags<'_> {
    CallTags {
        tenant: Some(tenant),
        ..CallTags::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_calls_with_room_for_ten_never_overshoot() {
    let (db, _dir) = temp_store();
    db.put_budget(P, &budget("b", "tenant:acme", 10_500))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let budgets = Budgets::new(db.clone(), clock.clone());
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let b = budgets.clone();
        calls.spawn(async move { b.admit(P, &tags("acme"), || 1_000, T0 + DAY_NS).await });
    }
    let mut admitted = Vec::new();
    let mut refused = 0;
    while let Some(r) = calls.join_next().await {
        match r.unwrap() {
            Ok(Some(res)) => admitted.push(res),
            Err(AdmitError::Refused(r)) => {
                assert_eq!(r.budget.id, "b");
                assert_eq!(r.refusal.limit, 10_500);
                assert_eq!(r.reset_ns, T0 - T0.rem_euclid(DAY_NS) + DAY_NS);
                refused += 1;
            }
            other => panic!("{other:?}", other = other.map(|r| r.map(|r| r.amount()))),
        }
    }
    assert_eq!((admitted.len(), refused), (10, 40));
    // Another tenant's calls are not counted here.
    assert!(budgets
        .admit(P, &tags("globex"), || 1_000, T0 + DAY_NS)
        .await
        .unwrap()
        .is_none());
    let status = budgets.status(P).await.unwrap();
    assert_eq!((status[0].spent, status[0].reserved), (0, 10_000));

    // Each cost 600: settling frees room; thresholds fire once each as spend grows.
    for r in admitted.drain(..) {
        r.settle(600);
    }
    budgets.flush().await;
    let status = budgets.status(P).await.unwrap();
    assert_eq!((status[0].spent, status[0].reserved), (6_000, 0));
    let events = db.budget_events(P, 0).await.unwrap();
    let fired: Vec<u8> = events.iter().map(|e| e.threshold_pct).collect();
    assert_eq!(fired, vec![50], "6000 of 10500 is past 50% only");
    let r = budgets
        .admit(P, &tags("acme"), || 4_000, T0 + DAY_NS)
        .await
        .unwrap()
        .unwrap();
    r.settle(4_000);
    budgets.flush().await;
    let fired: Vec<u8> = db
        .budget_events(P, 0)
        .await
        .unwrap()
        .iter()
        .map(|e| e.threshold_pct)
        .collect();
    assert_eq!(fired, vec![50, 80, 95]);
    assert!(matches!(
        budgets.admit(P, &tags("acme"), || 1_000, T0 + DAY_NS).await,
        Err(AdmitError::Refused(_))
    ));
    // A dropped reservation (a failed call) is released with nothing spent.
    let r = budgets
        .admit(P, &tags("acme"), || 500, T0 + DAY_NS)
        .await
        .unwrap()
        .unwrap();
    drop(r);
    budgets.flush().await;
    assert_eq!(budgets.status(P).await.unwrap()[0].reserved, 0);

    // The next day starts from zero.
    clock.advance(DAY_NS);
    assert!(budgets
        .admit(P, &tags("acme"), || 10_000, T0 + 2 * DAY_NS)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_spend_and_reservations_and_orphans_count_in_full() {
    let (db, _dir) = temp_store();
    db.put_budget(P, &budget("b", "project", 10_000))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    {
        let before = Budgets::new(db.clone(), clock.clone());
        let spent = before
            .admit(P, &tags("x"), || 3_000, T0 + 60_000_000_000)
            .await
            .unwrap()
            .unwrap();
        spent.settle(2_500);
        let held = before
            .admit(P, &tags("x"), || 4_000, T0 + 60_000_000_000)
            .await
            .unwrap()
            .unwrap();
        before.flush().await;
        // The process dies with `held` in flight.
        std::mem::forget(held);
    }
    let after = Budgets::new(db.clone(), clock.clone());
    let status = after.status(P).await.unwrap();
    assert_eq!((status[0].spent, status[0].reserved), (2_500, 4_000));
    assert!(matches!(
        after
            .admit(P, &tags("x"), || 4_000, T0 + 60_000_000_000)
            .await,
        Err(AdmitError::Refused(_))
    ));
    // Past its expiry the orphan counts at its full amount, once.
    clock.advance(61_000_000_000);
    after.maintain().await;
    after.flush().await;
    after.maintain().await;
    let status = after.status(P).await.unwrap();
    assert_eq!((status[0].spent, status[0].reserved), (6_500, 0));
    let again = Budgets::new(db.clone(), clock.clone());
    let status = again.status(P).await.unwrap();
    assert_eq!(
        (status[0].spent, status[0].reserved),
        (6_500, 0),
        "stored as it is in memory"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telemetry_spend_counts_only_where_a_budget_asks() {
    let (db, _dir) = temp_store();
    let mut counted = budget("otlp", "tenant:acme", 1_000_000);
    counted.include_otlp = true;
    db.put_budget(P, &counted).await.unwrap();
    db.put_budget(P, &budget("gw", "tenant:acme", 1_000_000))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let budgets = Budgets::new(db.clone(), clock);
    let call = |via_gateway: bool| ModelCall {
        kind: sightline_core::ObservationKind::Llm,
        tenant_id: Some("acme".into()),
        workspace_id: None,
        agent: None,
        user_id: None,
        session_id: None,
        model: Some("gpt-4o".into()),
        provider: None,
        usage: Default::default(),
        cost_nano_usd: Some(700),
        duration_ns: None,
        is_error: false,
        start_ns: T0,
        via_gateway,
    };
    budgets.spend_telemetry(P, vec![call(false)]).await.unwrap();
    let by_id =
        |s: Vec<BudgetStatus>, id: &str| s.into_iter().find(|b| b.budget.id == id).unwrap().spent;
    assert_eq!(by_id(budgets.status(P).await.unwrap(), "otlp"), 700);
    assert_eq!(by_id(budgets.status(P).await.unwrap(), "gw"), 0);
    // The commit listener skips calls the gateway recorded itself (settled already).
    let listener = TelemetrySpend(budgets.clone());
    let calls = [call(true)];
    let written = sightline_store::WriteOutcome::default();
    listener.committed(&Commit {
        project: P,
        written: &written,
        calls: &calls,
        rejected_spans: 0,
        rejected_logs: 0,
    });
    assert!(budgets
        .otlp_rx
        .lock()
        .unwrap()
        .as_mut()
        .unwrap()
        .try_recv()
        .is_err());
}
