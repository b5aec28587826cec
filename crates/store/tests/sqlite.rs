//! The behaviour suite and engine-specific checks on the embedded SQLite engine. Every suite
//! case gets its own database in a temporary directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod suite;

use std::sync::Arc;

use sightline_core::ObservationKind;
use sightline_store::sqlite::{SqliteConfig, SqliteStore};
use sightline_store::{Engine, EngineConfig, SpanWriter, TraceReader};
use suite::{batch, span, tid};

/// A suite case's database lives in its own temporary directory, removed after the case.
struct SqliteHarness {
    _dir: tempfile::TempDir,
}

impl suite::Harness for SqliteHarness {
    fn place(_test: &'static str) -> (EngineConfig, Self) {
        let dir = tempfile::tempdir().unwrap();
        let engine = EngineConfig::Sqlite {
            data_dir: dir.path().to_path_buf(),
        };
        (engine, SqliteHarness { _dir: dir })
    }

    async fn remove(self) {}
}

suite::store_suite!(SqliteHarness);

/// Undoes migration 8 (the gateway's tables), for the tests that go back to older schemas.
const UNDO_GATEWAY: &str =
    "DROP TABLE budgets; DROP TABLE budget_ledger; DROP TABLE budget_events; \
     DROP TABLE rate_limit_rules; DROP TABLE provider_keys; DROP TABLE gateway_cache; \
     DELETE FROM schema_migrations WHERE version = 8;";

fn open(dir: &std::path::Path, max_queued: usize) -> SqliteStore {
    SqliteStore::open(&SqliteConfig {
        data_dir: dir.to_path_buf(),
        max_queued,
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reopen_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), 1000);
        store
            .write(
                sightline_core::ProjectId(1),
                batch(vec![span(1, 1, None, ObservationKind::Span)]),
            )
            .await
            .unwrap();
        store.shutdown();
    }
    let store = open(dir.path(), 1000);
    assert!(store
        .trace(sightline_core::ProjectId(1), tid(1), true)
        .await
        .unwrap()
        .is_some());
}

/// The session summary migration fills the summary from the traces already stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_summary_migration_backfills_stored_traces() {
    use sightline_store::{SessionQuery, SessionReader};
    let dir = tempfile::tempdir().unwrap();
    let all = SessionQuery {
        limit: 1000,
        ..Default::default()
    };
    let (path, before) = {
        let store = Arc::new(open(dir.path(), 10_000));
        let engine: Arc<dyn Engine> = store.clone();
        suite::query_data::load(
            &engine,
            suite::query_data::P1,
            &suite::query_data::dataset(),
        )
        .await;
        let before = engine
            .list_sessions(suite::query_data::P1, &all)
            .await
            .unwrap();
        store.shutdown();
        (store.path().to_path_buf(), before)
    };
    assert!(before.sessions.len() > 1);
    {
        // Back to the schema before the summary (version 4), with the traces kept.
        let conn = rusqlite::Connection::open(&path).unwrap();
        let latest: i64 = conn
            .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(latest, 8, "undo the migrations after 8 here too");
        conn.execute_batch(UNDO_GATEWAY).unwrap();
        conn.execute_batch(
            "DROP TABLE sessions; DROP TABLE session_users; DROP TABLE session_tenants; \
             DELETE FROM schema_migrations WHERE version = 5;",
        )
        .unwrap();
    }
    let store = open(dir.path(), 10_000);
    assert_eq!(
        store
            .list_sessions(suite::query_data::P1, &all)
            .await
            .unwrap(),
        before
    );
}

/// A database that held model calls before the cost rollup existed (schema 3) gets them counted
/// when migration 4 runs: the rollup equals, row for row, what the writer had kept, and cost
/// answers over whole hours (read from the rollup) equal the brute-force sums. More calls than
/// one backfill step, and a workspace only on the resource, so steps merge and the writer's
/// workspace rule is followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_rollup_migration_backfills_stored_spans() {
    use sightline_core::{AttrValue, Resource, WriteBatch};
    use sightline_store::{CostDimension, CostQuery};
    use suite::costs::{assert_brute_force, random_spans, BASE, HOUR};
    let dir = tempfile::tempdir().unwrap();
    let p1 = sightline_core::ProjectId(1);
    let mut spans = random_spans(9_000);
    let rollup_rows = |conn: &rusqlite::Connection| -> Vec<Vec<rusqlite::types::Value>> {
        let mut stmt = conn
            .prepare("SELECT * FROM cost_rollup_hourly ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9")
            .unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| (0..n).map(|i| r.get(i)).collect())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let (path, before) = {
        let store = Arc::new(open(dir.path(), 100_000));
        for chunk in spans.chunks(1000) {
            store.write(p1, batch(chunk.to_vec())).await.unwrap();
        }
        // Calls whose workspace comes from their resource (normalization puts it on them).
        let mut on_resource = random_spans(40);
        for (i, o) in on_resource.iter_mut().enumerate() {
            o.span_id = sightline_core::SpanId((100_000 + i as u64).to_be_bytes());
            o.attributes.clear();
            o.workspace_id = Some("w-res".into());
        }
        let resource = Resource {
            attributes: vec![("workspace_id".into(), AttrValue::Str("w-res".into()))],
        };
        store
            .write(
                p1,
                WriteBatch {
                    resources: vec![resource],
                    observations: on_resource.clone(),
                    logs: Vec::new(),
                },
            )
            .await
            .unwrap();
        spans.extend(on_resource);
        store.shutdown();
        let conn = rusqlite::Connection::open(store.path()).unwrap();
        (store.path().to_path_buf(), rollup_rows(&conn))
    };
    assert!(before.iter().any(|r| r[3] == "w-res".to_owned().into()));
    {
        // Back to schema 3, with the spans kept.
        let conn = rusqlite::Connection::open(&path).unwrap();
        let latest: i64 = conn
            .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(latest, 8, "undo the migrations after 8 here too");
        conn.execute_batch(UNDO_GATEWAY).unwrap();
        conn.execute_batch(
            "DROP TABLE cost_rollup_hourly; DROP TABLE sessions; DROP TABLE session_users; \
             DROP TABLE session_tenants; DELETE FROM schema_migrations WHERE version >= 4;",
        )
        .unwrap();
    }
    let store = open(dir.path(), 10_000);
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(rollup_rows(&conn), before);
    for group_by in [
        vec![],
        vec![CostDimension::Tenant, CostDimension::Model],
        vec![CostDimension::Agent, CostDimension::User],
    ] {
        let q = CostQuery {
            from_ns: BASE,
            to_ns: BASE + 40 * HOUR,
            group_by,
            ..CostQuery::default()
        };
        assert_brute_force(&store, &spans, &q).await;
    }
}
