//! The behaviour suite and engine-specific checks on the ClickHouse engine. The server comes from
//! `SIGHTLINE_TEST_CLICKHOUSE_URL` when set, otherwise `scripts/clickhouse-test-server.sh` starts
//! a throwaway one for this test process. Every store uses its own random database.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)] // some builders serve only the SQLite engine's migration tests
mod suite;

use std::sync::{Arc, OnceLock};

use sightline_core::{ObservationKind, ProjectId};
use sightline_store::clickhouse::{ClickHouseConfig, ClickHouseStore, Client};
use sightline_store::{
    ChangeFeed, EngineConfig, KeyStore, MetricsReader, SpanWriter, StoreError, TraceReader,
};
use suite::{batch, span, tid};

const P1: ProjectId = ProjectId(1);

/// The server's URL, started once per test process when not given.
fn server() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("SIGHTLINE_TEST_CLICKHOUSE_URL") {
            return url;
        }
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../scripts/clickhouse-test-server.sh");
        let out = std::process::Command::new(script)
            .args(["start", "--owner-pid", &std::process::id().to_string()])
            .output()
            .expect("run scripts/clickhouse-test-server.sh");
        assert!(
            out.status.success(),
            "could not start a test ClickHouse: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    })
}

fn database_url(name: &str) -> String {
    let base = server();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}database={name}")
}

/// A new database name; `test` prefixes it so [`cleanup`] drops only that test's databases.
fn new_database(test: &str) -> String {
    format!("sightline_test_{test}_{:016x}", rand::random::<u64>())
}

async fn drop_database(client: &Client, name: &str) {
    client
        .execute_server(&format!("DROP DATABASE IF EXISTS {name}"))
        .await
        .unwrap();
}

/// A suite case's store lives in its own database, dropped after the case.
struct ClickHouseHarness {
    database: String,
}

impl suite::Harness for ClickHouseHarness {
    fn place(test: &'static str) -> (EngineConfig, Self) {
        let database = new_database(test);
        let engine = EngineConfig::ClickHouse {
            url: database_url(&database),
            cluster: None,
        };
        (engine, ClickHouseHarness { database })
    }

    async fn remove(self) {
        drop_database(&Client::new(server()).unwrap(), &self.database).await;
    }
}

suite::store_suite!(ClickHouseHarness);

async fn open(database: &str, max_queued: usize) -> ClickHouseStore {
    ClickHouseStore::open(&ClickHouseConfig {
        url: database_url(database),
        max_queued,
        limits: Default::default(),
    })
    .await
    .unwrap()
}

async fn fresh(test: &str, max_queued: usize) -> ClickHouseStore {
    open(&new_database(test), max_queued).await
}

/// Drops the databases a test made (they are throwaway, but a shared server would keep them):
/// [`new_database`] names for `test` exactly, so not those of a suite case whose name `test`
/// begins (`retention` and `retention_deletes_...`).
async fn cleanup(test: &str) {
    let client = Client::new(server()).unwrap();
    let prefix = format!("sightline_test_{test}_");
    let rows = client
        .query(&format!(
            "SELECT name FROM system.databases WHERE startsWith(name, '{prefix}') \
             AND length(name) = {}",
            prefix.len() + 16
        ))
        .await
        .unwrap();
    let mut at = 0;
    while at < rows.len() {
        let len = rows[at] as usize; // names are shorter than 128 bytes: one-byte length
        let name = std::str::from_utf8(&rows[at + 1..at + 1 + len]).unwrap();
        drop_database(&client, name).await;
        at += 1 + len;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reopen_and_migrations_are_idempotent() {
    let db = new_database("reopen");
    {
        let store = open(&db, 1000).await;
        store
            .write(P1, batch(vec![span(1, 1, None, ObservationKind::Span)]))
            .await
            .unwrap();
        store.shutdown().await;
    }
    let store = open(&db, 1000).await;
    assert!(store.trace(P1, tid(1), true).await.unwrap().is_some());
    let client = Client::new(&database_url(&db)).unwrap();
    let rows = client
        .query(
            "SELECT toUInt64(count()), toUInt64(uniqExact(version)), toUInt64(max(version)) \
             FROM schema_migrations",
        )
        .await
        .unwrap();
    let n = |i: usize| u64::from_le_bytes(rows[i * 8..i * 8 + 8].try_into().unwrap());
    assert_eq!(n(0), n(1), "reopening applies no migration twice");
    assert_eq!(
        n(2),
        u64::from(sightline_store::clickhouse::schema::latest_version())
    );
    cleanup("reopen").await;
}

/// A node that starts while another has applied a migration but not yet recorded it re-runs
/// that migration: `ALTER TABLE ... ADD COLUMN` must not stop it from starting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_tolerate_a_node_that_applied_them_first() {
    let db = new_database("race");
    open(&db, 10).await.shutdown().await;
    let client = Client::new(&database_url(&db)).unwrap();
    client
        .execute("DROP TABLE schema_migrations")
        .await
        .unwrap();
    let store = open(&db, 10).await;
    store
        .write(P1, batch(vec![span(1, 1, None, ObservationKind::Span)]))
        .await
        .unwrap();
    assert!(store.trace(P1, tid(1), true).await.unwrap().is_some());
    cleanup("race").await;
}

/// A read over ClickHouse's memory limit is an error naming the limit and the way out, not a
/// retryable one: the same query would fail again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_over_the_memory_limit_is_not_retryable() {
    let base = server();
    let sep = if base.contains('?') { '&' } else { '?' };
    let client = Client::new(&format!("{base}{sep}max_memory_usage=2000000")).unwrap();
    match client
        .query("SELECT groupArray(number) FROM numbers(10000000)")
        .await
    {
        Err(StoreError::TooLarge(message)) => {
            assert!(message.contains("max_memory_usage"), "{message}");
            assert!(message.contains("narrow the time window"), "{message}");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

/// Makes `db` look like a database migrated to schema 4 by an older binary: no view, versions
/// 1, 2 and 4 recorded; with `keep_table`, the summary table of an upgrade that stopped half way.
async fn back_to_schema_4(db: &str, keep_table: bool) {
    let client = Client::new(&database_url(db)).unwrap();
    // Schema 5 made `trace_summaries_mv`; schema 10 replaced it with `trace_summaries_mv2`.
    for view in ["trace_summaries_mv", "trace_summaries_mv2"] {
        client
            .execute(&format!("DROP TABLE IF EXISTS {view}"))
            .await
            .unwrap();
    }
    if !keep_table {
        client.execute("DROP TABLE trace_summaries").await.unwrap();
    }
    record_versions(&client, &[1, 2, 4]).await;
}

/// Makes `schema_migrations` record exactly `versions`, as an older binary left it.
async fn record_versions(client: &Client, versions: &[u32]) {
    let rows: Vec<String> = versions.iter().map(|v| format!("({v}, 0)")).collect();
    for sql in [
        "DROP TABLE schema_migrations".to_owned(),
        "CREATE TABLE schema_migrations (version UInt32, applied_ns UInt64) \
         ENGINE = MergeTree ORDER BY version"
            .to_owned(),
        format!("INSERT INTO schema_migrations VALUES {}", rows.join(", ")),
    ] {
        client.execute(&sql).await.unwrap();
    }
}

/// Upgrading to schema 5 summarises the spans already stored, each once, also when an earlier
/// attempt stopped half way; afterwards the view keeps the summaries current.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_summaries_are_backfilled_once_on_upgrade() {
    let db = new_database("backfill");
    let all = sightline_store::TraceQuery {
        limit: 10,
        ..Default::default()
    };
    let before = {
        let store = open(&db, 1000).await;
        for t in 1..=3u8 {
            let mut llm = span(t, 2, Some(1), ObservationKind::Llm);
            llm.usage.input = Some(10 * i64::from(t));
            llm.user_id = Some(format!("user-{t}"));
            // Two hours later: the trace has summary rows in two hours.
            llm.start_ns += 7_200_000_000_000;
            llm.end_ns += 7_200_000_000_000;
            let root = span(t, 1, None, ObservationKind::Agent);
            store.write(P1, batch(vec![root, llm])).await.unwrap();
        }
        let before = store.list_traces(P1, &all).await.unwrap().traces;
        store.shutdown().await;
        before
    };
    assert_eq!(before.len(), 3);
    assert!(before.iter().all(|t| t.span_count == 2), "{before:?}");
    assert_eq!(before.iter().map(|t| t.input_tokens).sum::<i64>(), 60);
    for keep_table in [false, true] {
        back_to_schema_4(&db, keep_table).await;
        let store = open(&db, 1000).await;
        assert_eq!(
            store.list_traces(P1, &all).await.unwrap().traces,
            before,
            "after an upgrade (half-way attempt before: {keep_table})"
        );
        store.shutdown().await;
    }
    let store = open(&db, 1000).await;
    let mut tool = span(1, 3, Some(1), ObservationKind::Tool);
    tool.start_ns += 1;
    store.write(P1, batch(vec![tool])).await.unwrap();
    let t = store.trace(P1, tid(1), false).await.unwrap().unwrap();
    assert_eq!(t.summary.span_count, 3, "the view summarises new spans");
    assert_eq!(t.summary.user_id.as_deref(), Some("user-1"));
    cleanup("backfill").await;
}

/// Upgrading to schema 6 starts the cost rollup at the next whole hour: the calls stored before
/// are read from the raw spans (exact), calls in covered hours from the rollup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cost_rollup_covers_hours_after_the_upgrade() {
    use sightline_store::{CostDimension, CostQuery, CostReader};
    let db = new_database("rollup");
    let call = |trace: u8, start_ns: i64, tokens: i64| {
        let mut llm = span(trace, 1, None, ObservationKind::Llm);
        llm.response_model = Some("m".into());
        llm.usage.input = Some(tokens);
        llm.start_ns = start_ns;
        llm.end_ns = start_ns + 1_000_000;
        llm
    };
    let hour = 3_600_000_000_000i64;
    let by_model = |to_ns: i64| CostQuery {
        from_ns: 0,
        to_ns,
        group_by: vec![CostDimension::Model],
        ..Default::default()
    };
    {
        let store = open(&db, 1000).await;
        store
            .write(P1, batch(vec![call(1, 10 * hour, 5)]))
            .await
            .unwrap();
        let fresh = store.costs(P1, &by_model(20 * hour)).await.unwrap();
        assert_eq!(fresh.rows[0].input_tokens, 5);
        assert!(
            fresh.approximate_latency,
            "a new database's rollup covers every hour"
        );
        store.shutdown().await;
    }
    let client = Client::new(&database_url(&db)).unwrap();
    for sql in [
        "DROP TABLE cost_rollup_mv",
        "DROP TABLE cost_rollup",
        "DROP TABLE cost_rollup_start",
        "DROP TABLE schema_migrations",
        "CREATE TABLE schema_migrations (version UInt32, applied_ns UInt64) \
         ENGINE = MergeTree ORDER BY version",
        "INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (4, 0), (5, 0)",
    ] {
        client.execute(sql).await.unwrap();
    }
    let store = open(&db, 1000).await;
    let now = sightline_core::time::Clock::now_ns(&sightline_core::time::SystemClock);
    let raw = store.costs(P1, &by_model(20 * hour)).await.unwrap();
    assert_eq!(raw.rows[0].input_tokens, 5, "calls from before read raw");
    assert!(!raw.approximate_latency, "no rollup before its first hour");
    // A call two hours ahead lands in a covered hour: the rollup answers for it.
    let ahead = (now.div_euclid(hour) + 2) * hour;
    store
        .write(P1, batch(vec![call(2, ahead + 60_000_000_000, 7)]))
        .await
        .unwrap();
    let both = store.costs(P1, &by_model(ahead + hour)).await.unwrap();
    assert_eq!(both.rows[0].input_tokens, 12);
    assert_eq!(both.rows[0].requests, 2);
    assert!(
        both.approximate_latency,
        "covered hours come from the rollup"
    );
    cleanup("rollup").await;
}

/// Rows stored twice (two nodes racing on a retry, before a merge) read back once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_rows_read_back_once() {
    let db = new_database("dups");
    let store = open(&db, 1000).await;
    let mut llm = span(2, 2, Some(1), ObservationKind::Llm);
    llm.usage.input = Some(10);
    llm.cost = Some(sightline_core::Cost {
        nano_usd: Some(7),
        source: sightline_core::CostSource::Computed,
        reason: None,
    });
    store
        .write(
            P1,
            batch(vec![span(2, 1, None, ObservationKind::Agent), llm]),
        )
        .await
        .unwrap();
    let client = Client::new(&database_url(&db)).unwrap();
    client
        .execute("INSERT INTO spans SELECT * FROM spans")
        .await
        .unwrap();
    let t = store.trace(P1, tid(2), false).await.unwrap().unwrap();
    assert_eq!(t.observations.len(), 2);
    assert_eq!(t.summary.span_count, 2);
    assert_eq!(t.summary.input_tokens, 10);
    assert_eq!(t.summary.cost_nano_usd, Some(7));
    let one = store
        .observation(P1, tid(2), suite::sid(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.1.usage.input, Some(10));
    // The explore reads see each span once too.
    let all = sightline_store::TraceQuery {
        limit: 10,
        ..Default::default()
    };
    let traces = store.list_traces(P1, &all).await.unwrap().traces;
    assert_eq!((traces.len(), traces[0].span_count), (1, 2));
    assert_eq!(traces[0].cost_nano_usd, Some(7));
    let obs = sightline_store::ObservationQuery {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        store
            .list_observations(P1, &obs)
            .await
            .unwrap()
            .observations
            .len(),
        2
    );
    let m = sightline_store::MetricsQuery {
        filter: Default::default(),
        from_ns: 0,
        to_ns: i64::MAX,
        bucket_ns: i64::MAX,
        group_by: None,
    };
    let points = store.metrics(P1, &m).await.unwrap().points;
    assert_eq!((points[0].requests, points[0].input_tokens), (2, 10));
    let feed = sightline_store::FeedQuery {
        observations: Some(Default::default()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.feed(P1, &feed).await.unwrap().observations.len(), 2);
    cleanup("dups").await;
}

/// Two nodes on one database share projects, keys and data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_share_keys_projects_and_traces() {
    let db = new_database("nodes");
    let (a, b) = (open(&db, 1000).await, open(&db, 1000).await);
    let key = a
        .insert_key("team-a", "pk-a", "hash-a", "admin", 0)
        .await
        .unwrap();
    let seen = b.key_by_secret_hash("hash-a").await.unwrap().unwrap();
    assert_eq!(seen.project, key.project);
    assert_eq!(seen.project_name, "team-a");
    assert_eq!(b.ensure_project("team-a", 0).await.unwrap(), key.project);
    assert!(b
        .insert_key("team-b", "pk-a", "hash-x", "admin", 0)
        .await
        .is_err());
    a.write(
        key.project,
        batch(vec![span(3, 1, None, ObservationKind::Span)]),
    )
    .await
    .unwrap();
    let retry = b
        .write(
            key.project,
            batch(vec![span(3, 1, None, ObservationKind::Span)]),
        )
        .await
        .unwrap();
    assert_eq!((retry.observations, retry.duplicates), (0, 1));
    assert!(b.trace(key.project, tid(3), true).await.unwrap().is_some());
    cleanup("nodes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_is_unavailable_with_its_address() {
    let err = ClickHouseStore::open(&ClickHouseConfig {
        url: "http://127.0.0.1:1/?database=x".into(),
        max_queued: 10,
        limits: Default::default(),
    })
    .await
    .err()
    .unwrap();
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains("127.0.0.1:1")),
        "{err}"
    );
}

/// Retention drops whole day partitions where only the project's rows live (every old day,
/// when the policy covers all projects) and deletes row by row only on shared days. (The suite
/// checks what retention keeps; this runs the same case again to check how it deleted.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_drops_partitions_and_deletes_only_on_shared_days() {
    let store = Arc::new(fresh("retention", 10_000).await);
    let [first, second, third] =
        suite::retention::retention_deletes_old_data_and_keeps_summaries_true(store.clone()).await;
    // P1 alone: spans (with their trace summaries and cost rollup) three and one day old, logs
    // three days old; shared: two days old.
    assert_eq!(first.partitions_dropped, 7, "{first:?}");
    // Every project: the shared day's spans, summaries and logs partitions go whole (it holds
    // no model call, so no rollup).
    assert_eq!(second.partitions_dropped, 3, "{second:?}");
    assert_eq!(third.partitions_dropped, 0, "{third:?}");
    let client = Client::new(&database_url(store.database())).unwrap();
    let rows = client
        .query(&format!(
            "SELECT count() FROM system.parts WHERE database = '{}' AND table IN ('spans', 'logs', \
             'trace_summaries', 'cost_rollup') AND active AND partition < '20241004'",
            store.database()
        ))
        .await
        .unwrap();
    assert_eq!(
        u64::from_le_bytes(rows[..8].try_into().unwrap()),
        0,
        "old parts remain"
    );
    cleanup("retention").await;
}

/// Upgrading to schema 10 fills the family of the spans already stored (their request model,
/// in `detail` only, is not read back: the documented fallback), and the replaced views keep
/// summarising new spans, naming a trace by its root's `langfuse.trace.name`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_families_are_backfilled_on_upgrade() {
    use sightline_core::AttrValue;
    use sightline_store::{ObservationFilter, TraceQuery};
    let db = new_database("families");
    {
        let store = open(&db, 1000).await;
        for (t, model) in [(1, "gpt-4o-2024-08-06"), (2, "gpt-4o-mini-2024-07-18")] {
            let mut llm = span(t, 1, None, ObservationKind::Llm);
            llm.response_model = Some(model.into());
            store.write(P1, batch(vec![llm])).await.unwrap();
        }
        store.shutdown().await;
    }
    {
        // Back to schema 6: without the view that reads the new columns, nor the columns.
        let client = Client::new(&database_url(&db)).unwrap();
        for sql in [
            "DROP TABLE trace_summaries_mv2",
            "ALTER TABLE spans DROP COLUMN request_model, DROP COLUMN model_family, \
             DROP COLUMN trace_name",
        ] {
            client.execute(sql).await.unwrap();
        }
        record_versions(&client, &[1, 2, 4, 5, 6]).await;
    }
    let store = open(&db, 1000).await;
    let traces = |model: &str| TraceQuery {
        filter: ObservationFilter {
            model: Some(model.into()),
            ..Default::default()
        },
        limit: 10,
        ..Default::default()
    };
    let ids = |page: sightline_store::TracePage| {
        page.traces
            .into_iter()
            .map(|t| t.trace_id)
            .collect::<Vec<_>>()
    };
    let got = ids(store.list_traces(P1, &traces("gpt-4o")).await.unwrap());
    assert_eq!(got, vec![tid(1).to_hex()]);
    let got = ids(store.list_traces(P1, &traces("gpt-4o-mini")).await.unwrap());
    assert_eq!(got, vec![tid(2).to_hex()]);
    let mut root = span(3, 1, None, ObservationKind::Agent);
    root.attributes.push((
        "langfuse.trace.name".into(),
        AttrValue::Str("support-answer".into()),
    ));
    store.write(P1, batch(vec![root])).await.unwrap();
    let s = store
        .trace(P1, tid(3), false)
        .await
        .unwrap()
        .unwrap()
        .summary;
    assert_eq!(s.root_name.as_deref(), Some("support-answer"));
    store.shutdown().await;
    cleanup("families").await;
}

/// Keys stored before keys had roles (schema 10) read back as admins after the upgrade, and a
/// revocation made through one node is what every other node reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_from_before_roles_are_admins_and_revocations_are_shared() {
    let db = new_database("keyroles");
    open(&db, 10).await.shutdown().await;
    let client = Client::new(&database_url(&db)).unwrap();
    for sql in [
        "DROP TABLE api_key_revocations",
        "ALTER TABLE api_keys DROP COLUMN role",
        "INSERT INTO api_keys (public_key, secret_hash, project_id, created_ns) \
         VALUES ('pk-old', 'hash-old', 1, 7)",
        "DROP TABLE schema_migrations",
        "CREATE TABLE schema_migrations (version UInt32, applied_ns UInt64) \
         ENGINE = MergeTree ORDER BY version",
        "INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (4, 0), (5, 0), (6, 0), (10, 0)",
    ] {
        client.execute(sql).await.unwrap();
    }
    let (a, b) = (open(&db, 10).await, open(&db, 10).await);
    let old = b.key_by_secret_hash("hash-old").await.unwrap().unwrap();
    assert_eq!(
        (old.role.as_str(), old.created_ns, old.revoked_ns),
        ("admin", 7, None)
    );
    let revoked = a.revoke_key("pk-old", 99).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_ns, Some(99));
    let seen = b.key_by_secret_hash("hash-old").await.unwrap().unwrap();
    assert_eq!(seen.revoked_ns, Some(99));
    let again = b.revoke_key("pk-old", 200).await.unwrap().unwrap();
    assert_eq!(
        again.revoked_ns,
        Some(99),
        "the first revocation counts on every node"
    );
    cleanup("keyroles").await;
}

// The killer tasks are aborted at the end of the test.
#[allow(clippy::disallowed_methods)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_past_the_read_budget_is_stopped_and_an_abandoned_one_is_killed() {
    let plain = Client::new(server()).unwrap();
    let (client, abandoned) = plain.with_read_budget(std::time::Duration::from_secs(1));
    let killer = tokio::spawn(plain.clone().kill_abandoned(abandoned));
    let started = std::time::Instant::now();
    match client.query("SELECT count() FROM system.numbers").await {
        Err(StoreError::TimedOut(why)) => assert!(why.contains("store.read_timeout_secs"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(8));

    // A caller that gives up: the query is killed, not left running.
    let (slow, abandoned) = plain.with_read_budget(std::time::Duration::from_secs(600));
    let slow_killer = tokio::spawn(plain.clone().kill_abandoned(abandoned));
    let marker = format!("{}", rand::random::<u32>());
    let sql = format!("SELECT count() FROM system.numbers WHERE number != {marker}");
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(800), slow.query(&sql))
            .await
            .is_err()
    );
    let running = format!(
        "SELECT count() FROM system.processes WHERE query LIKE '%number != {marker}%' \
         AND query NOT LIKE '%system.processes%'"
    );
    let mut gone = false;
    for _ in 0..50 {
        let rows = plain.query(&running).await.unwrap();
        if rows.as_ref() == [0u8; 8] {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the abandoned query still runs");
    killer.abort();
    slow_killer.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_disk_check_reads_the_databases_parts_and_refuses_writes_over_the_cap() {
    use sightline_store::{DiskBudget, DiskState, DiskWatch, StoreLimits};
    let database = new_database("disk_budget");
    let store = ClickHouseStore::open(&ClickHouseConfig {
        url: database_url(&database),
        max_queued: 1000,
        limits: StoreLimits {
            disk: DiskBudget {
                max_bytes: Some(1),
                min_free_bytes: 0,
            },
            ..Default::default()
        },
    })
    .await
    .unwrap();
    store
        .write(P1, batch(vec![span(1, 1, None, ObservationKind::Agent)]))
        .await
        .unwrap();
    let status = store.check_disk().await.unwrap();
    assert!(status.usage.used_bytes > 0, "{status:?}");
    assert_eq!(status.state, DiskState::Full);
    match store
        .write(P1, batch(vec![span(2, 1, None, ObservationKind::Agent)]))
        .await
    {
        Err(StoreError::DiskFull(why)) => assert!(why.contains("store.max_disk_bytes"), "{why}"),
        other => panic!("{other:?}"),
    }
    store.shutdown().await;
    drop_database(&Client::new(server()).unwrap(), &database).await;
}
