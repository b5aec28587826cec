//! The write queue: bounded (a full queue refuses instead of growing) and drained on shutdown
//! (what was queued is stored, later writes are refused). These cases take the opened store to
//! shut it down, and the suite opens them with their own queue size.

// Concurrent writers are the point of these tests.
#![allow(clippy::disallowed_methods)]

use sightline_core::{ObservationKind, ProjectId};
use sightline_store::{Store, StoreError};

use super::{batch, span, tid};

const P1: ProjectId = ProjectId(1);

/// Opened with a 100-item queue.
pub async fn a_full_queue_refuses_instead_of_growing(store: Store) {
    let engine = store.engine();
    let mut tasks = Vec::new();
    for t in 0..20u8 {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            let spans = (1..=60u8)
                .map(|s| span(100 + t, s, None, ObservationKind::Span))
                .collect();
            engine.write(P1, batch(spans)).await
        }));
    }
    let mut refused = 0;
    let mut stored = Vec::new();
    for (t, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(out) => {
                assert_eq!(out.observations, 60);
                stored.push(t as u8);
            }
            Err(StoreError::Overloaded { .. }) => refused += 1,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert!(
        refused > 0,
        "a 100-item queue must refuse some of 20 concurrent 60-span writes"
    );
    for t in stored {
        let tr = engine.trace(P1, tid(100 + t), true).await.unwrap().unwrap();
        assert_eq!(tr.summary.span_count, 60);
    }
}

pub async fn shutdown_commits_what_was_queued_then_refuses(store: Store) {
    let engine = store.engine();
    let writes: Vec<_> = (0..10u8)
        .map(|t| {
            let engine = engine.clone();
            tokio::spawn(async move {
                engine
                    .write(
                        P1,
                        batch(vec![span(200 + t, 1, None, ObservationKind::Span)]),
                    )
                    .await
            })
        })
        .collect();
    for w in writes {
        w.await.unwrap().unwrap();
    }
    store.shutdown().await;
    let err = engine
        .write(P1, batch(vec![span(250, 1, None, ObservationKind::Span)]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    for t in 0..10u8 {
        assert!(engine
            .trace(P1, tid(200 + t), false)
            .await
            .unwrap()
            .is_some());
    }
}
