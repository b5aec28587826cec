//! Retention on the embedded engine beyond the shared behaviour (which `sqlite.rs` runs): the
//! change feed's positions, and the file giving freed pages back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // this file uses the suite's builders only
mod suite;

use sightline_core::{AttrValue, ObservationKind, ProjectId};
use sightline_store::retention::DAY_NS;
use sightline_store::sqlite::{SqliteConfig, SqliteStore};
use sightline_store::{ChangeFeed, FeedQuery, RetentionScope, RetentionStore, SpanWriter};
use suite::{batch, span};

const P1: ProjectId = ProjectId(1);
const DAY0: i64 = 20_000 * DAY_NS;

fn open(dir: &std::path::Path) -> SqliteStore {
    SqliteStore::open(&SqliteConfig {
        data_dir: dir.to_path_buf(),
        max_queued: 100_000,
        limits: Default::default(),
    })
    .unwrap()
}

/// The newest row stays until a newer one arrives, so the next row cannot take over a feed
/// position a subscriber has already passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_row_waits_so_feed_positions_are_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut old = span(1, 1, None, ObservationKind::Span);
    old.start_ns = DAY0 - 5 * DAY_NS;
    old.end_ns = old.start_ns + 10;
    store.write(P1, batch(vec![old])).await.unwrap();
    let passed = store.feed_head(P1).await.unwrap();
    let kept = store
        .delete_before(RetentionScope::AllProjects, DAY0)
        .await
        .unwrap();
    assert_eq!(kept.spans, 0, "the newest row was deleted");

    let mut new = span(2, 1, None, ObservationKind::Span);
    new.start_ns = DAY0 + 10;
    new.end_ns = DAY0 + 20;
    store.write(P1, batch(vec![new])).await.unwrap();
    let batch_after = store
        .feed(
            P1,
            &FeedQuery {
                after: passed,
                observations: Some(Default::default()),
                logs: None,
                limit: 100,
            },
        )
        .await
        .unwrap();
    assert_eq!(batch_after.observations.len(), 1);
    assert_eq!(batch_after.observations[0].1.start_ns, DAY0 + 10);
    // Now the old row is no longer the newest, and goes.
    let gone = store
        .delete_before(RetentionScope::AllProjects, DAY0)
        .await
        .unwrap();
    assert_eq!(gone.spans, 1);
}

fn pages(path: &std::path::Path) -> (i64, i64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let count = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    let free = conn
        .query_row("PRAGMA freelist_count", [], |r| r.get(0))
        .unwrap();
    (count, free)
}

/// A new database is created with incremental auto-vacuum, and retention gives the deleted
/// rows' pages back instead of leaving them on the free list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_pages_go_back_to_the_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for t in 0..20u8 {
        let spans = (0..100u8)
            .map(|s| {
                let mut o = span(t, s + 1, None, ObservationKind::Span);
                o.start_ns = DAY0 - 3 * DAY_NS + i64::from(s);
                let noise: String = (0..256)
                    .map(|_| format!("{:x}", rand::random::<u64>()))
                    .collect();
                o.attributes.push(("noise".into(), AttrValue::Str(noise)));
                o
            })
            .collect();
        store.write(P1, batch(spans)).await.unwrap();
    }
    let mut last = span(99, 1, None, ObservationKind::Span);
    last.start_ns = DAY0 + 1;
    store.write(P1, batch(vec![last])).await.unwrap();
    let (before, _) = pages(store.path());
    let outcome = store
        .delete_before(RetentionScope::Project(P1), DAY0)
        .await
        .unwrap();
    assert_eq!(outcome.spans, 2000);
    let (after, free) = pages(store.path());
    assert_eq!(free, 0, "freed pages stayed in the file");
    assert!(after * 4 < before, "{before} pages before, {after} after");
}
