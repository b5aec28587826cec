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

/// Undoes migration 13 (the gateway's tables), for the tests that go back to older schemas.
const UNDO_GATEWAY: &str =
    "DROP TABLE budgets; DROP TABLE budget_ledger; DROP TABLE budget_events; \
     DROP TABLE rate_limit_rules; DROP TABLE provider_keys; DROP TABLE gateway_cache; \
     DELETE FROM schema_migrations WHERE version = 13;";

fn open(dir: &std::path::Path, max_queued: usize) -> SqliteStore {
    SqliteStore::open(&SqliteConfig {
        data_dir: dir.to_path_buf(),
        max_queued,
        limits: Default::default(),
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
        assert_eq!(latest, 13, "undo the migrations after 13 here too");
        conn.execute_batch(UNDO_GATEWAY).unwrap();
        conn.execute_batch(
            "DROP TABLE sessions; DROP TABLE session_users; DROP TABLE session_tenants; \
             ALTER TABLE spans DROP COLUMN request_model; ALTER TABLE spans DROP COLUMN model_family; \
             ALTER TABLE api_keys DROP COLUMN role; ALTER TABLE api_keys DROP COLUMN revoked_ns; \
             DROP TABLE metric_series; DROP TABLE metric_points; DROP TABLE logins; \
             DELETE FROM schema_migrations WHERE version >= 5;",
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
/// when it migrates (schema 9 makes the rollup again from the spans): the rollup equals, row for
/// row, what the writer had kept, and cost
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
    for o in &mut spans {
        // Undoing schema 9 below drops the request model of rows the writer stored: older rows
        // keep it in `detail` (model_columns_migration_backfills_stored_spans).
        o.request_model = None;
    }
    let rollup_rows = |conn: &rusqlite::Connection| -> Vec<Vec<rusqlite::types::Value>> {
        let mut stmt = conn
            .prepare("SELECT * FROM cost_rollup_hourly ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10")
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
            o.request_model = None;
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
        assert_eq!(latest, 13, "undo the migrations after 13 here too");
        conn.execute_batch(UNDO_GATEWAY).unwrap();
        conn.execute_batch(
            "DROP TABLE cost_rollup_hourly; DROP TABLE sessions; DROP TABLE session_users; \
             DROP TABLE session_tenants; ALTER TABLE spans DROP COLUMN request_model; \
             ALTER TABLE spans DROP COLUMN model_family; ALTER TABLE api_keys DROP COLUMN role; \
             ALTER TABLE api_keys DROP COLUMN revoked_ns; \
             DROP TABLE metric_series; DROP TABLE metric_points; DROP TABLE logins; \
             DELETE FROM schema_migrations WHERE version >= 4;",
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

/// Spans stored before schema 9 kept a request model that differs from `model` in `detail`
/// only: the migration moves it to `request_model` and fills `model_family`, so the model
/// filter and the cost rollup find them by either name or the family.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_columns_migration_backfills_stored_spans() {
    use sightline_core::{ObservationKind, ProjectId};
    use sightline_store::codec::{pack, unpack};
    use sightline_store::{CostDimension, CostQuery, CostReader, ObservationFilter, TraceQuery};
    let dir = tempfile::tempdir().unwrap();
    let p1 = ProjectId(1);
    let calls = [
        (1, "prod-deploy", Some("gpt-4o-2024-08-06")),
        (2, "gpt-4o-mini", Some("gpt-4o-mini-2024-07-18")),
        (3, "claude-3-5-sonnet-latest", None),
    ];
    let path = {
        let store = open(dir.path(), 1000);
        for (t, request, response) in calls {
            let mut o = span(t, 1, None, ObservationKind::Llm);
            o.request_model = Some(request.into());
            o.response_model = response.map(str::to_owned);
            store.write(p1, batch(vec![o])).await.unwrap();
        }
        store.shutdown();
        store.path().to_path_buf()
    };
    {
        // Back to schema 5, the request model in `detail` as older binaries kept it.
        let conn = rusqlite::Connection::open(&path).unwrap();
        let rows: Vec<(i64, Option<String>, Vec<u8>)> = conn
            .prepare("SELECT rowid, request_model, detail FROM spans")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (rowid, request, detail) in rows {
            let mut d: serde_json::Value = unpack(&detail).unwrap();
            if let Some(rq) = request {
                d["rq"] = rq.into();
            }
            conn.execute(
                "UPDATE spans SET detail = ?1 WHERE rowid = ?2",
                rusqlite::params![pack(&d).unwrap(), rowid],
            )
            .unwrap();
        }
        conn.execute_batch(UNDO_GATEWAY).unwrap();
        conn.execute_batch(
            "ALTER TABLE spans DROP COLUMN request_model; ALTER TABLE spans DROP COLUMN model_family; \
             ALTER TABLE api_keys DROP COLUMN role; ALTER TABLE api_keys DROP COLUMN revoked_ns; \
             DROP TABLE metric_series; DROP TABLE metric_points; DROP TABLE logins; \
             DELETE FROM cost_rollup_hourly; DELETE FROM schema_migrations WHERE version >= 9;",
        )
        .unwrap();
    }
    let store = open(dir.path(), 1000);
    let traces = |model: &str| {
        let q = TraceQuery {
            filter: ObservationFilter {
                model: Some(model.into()),
                ..Default::default()
            },
            limit: 10,
            ..Default::default()
        };
        let store = &store;
        async move {
            let page = store.list_traces(p1, &q).await.unwrap();
            page.traces
                .iter()
                .map(|t| t.trace_id.clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(traces("prod-deploy").await, vec![tid(1).to_hex()]);
    assert_eq!(traces("gpt-4o").await, vec![tid(1).to_hex()]);
    assert_eq!(traces("gpt-4o-mini").await, vec![tid(2).to_hex()]);
    assert_eq!(traces("claude-3-5-sonnet").await, vec![tid(3).to_hex()]);
    let t1 = store.trace(p1, tid(1), false).await.unwrap().unwrap();
    assert_eq!(
        t1.observations[0].request_model.as_deref(),
        Some("prod-deploy")
    );
    // The rollup was made again from the spans, with their request models.
    let q = CostQuery {
        from_ns: 0,
        to_ns: 3_600_000_000_000,
        group_by: vec![CostDimension::RequestModel],
        ..CostQuery::default()
    };
    let mut got: Vec<Option<String>> = store
        .costs(p1, &q)
        .await
        .unwrap()
        .rows
        .into_iter()
        .map(|r| r.group[0].clone())
        .collect();
    got.sort();
    let want = ["claude-3-5-sonnet-latest", "gpt-4o-mini", "prod-deploy"];
    assert_eq!(got, want.map(|m| Some(m.to_owned())).to_vec());
}

/// Keys stored before keys had roles (schema 9) stay usable as admins, not revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_from_before_roles_are_admins() {
    use sightline_store::KeyStore;
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path(), 10);
        store.shutdown();
        let conn = rusqlite::Connection::open(store.path()).unwrap();
        conn.execute_batch(UNDO_GATEWAY).unwrap();
        conn.execute_batch(
            "ALTER TABLE api_keys DROP COLUMN role; ALTER TABLE api_keys DROP COLUMN revoked_ns; \
             DROP TABLE metric_series; DROP TABLE metric_points; DROP TABLE logins; \
             DELETE FROM schema_migrations WHERE version >= 10; \
             INSERT INTO projects (name, created_ns) VALUES ('old', 5); \
             INSERT INTO api_keys (public_key, secret_hash, project_id, created_ns) \
             SELECT 'pk-old', 'hash-old', id, 7 FROM projects WHERE name = 'old';",
        )
        .unwrap();
    }
    let store = open(dir.path(), 10);
    let key = store.key_by_secret_hash("hash-old").await.unwrap().unwrap();
    assert_eq!(
        (key.role.as_str(), key.created_ns, key.revoked_ns),
        ("admin", 7, None)
    );
    assert_eq!(key.project_name, "old");
}
