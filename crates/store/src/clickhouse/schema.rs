//! Versioned schema migrations for the ClickHouse engine, applied at start-up and recorded in
//! `schema_migrations`. The SQL runs on Debian's ClickHouse 18.16 and on current releases: no
//! DateTime64, TTL, Map or LowCardinality; UInt64 nanoseconds; tables partitioned by UTC day and
//! ordered by project first. Every statement is idempotent (`IF NOT EXISTS`), so nodes starting
//! together may all run a migration.

use super::client::Client;
use super::cluster::Layout;
use super::rowbinary::RowReader;
use super::{cost_rollup, models, summaries};
use crate::StoreError;

/// Each entry is (version, statements). Never edit a released migration: append a new one.
const MIGRATIONS: &[(u32, &[&str])] = &[
    (
        1,
        &[
            // Projects: the id is derived from the name (see keys.rs), so every node agrees on it.
            "CREATE TABLE IF NOT EXISTS projects (
            id Int64,
            name String,
            created_ns UInt64
        ) ENGINE = ReplacingMergeTree ORDER BY id",
            "CREATE TABLE IF NOT EXISTS api_keys (
            public_key String,
            secret_hash String,
            project_id Int64,
            created_ns UInt64
        ) ENGINE = ReplacingMergeTree ORDER BY public_key",
            // Resource attributes, stored once per distinct resource (zstd-compressed JSON).
            "CREATE TABLE IF NOT EXISTS resources (
            project_id Int64,
            hash Int64,
            attributes String
        ) ENGINE = ReplacingMergeTree ORDER BY (project_id, hash)",
            // One row per observation: promoted columns for filters and aggregates, `detail` and
            // `payload` as the same zstd-compressed JSON blobs the SQLite engine stores (`payload`
            // is '' when the span has none). A retried span may land twice before a merge: reads
            // keep one row per (project, trace, span).
            "CREATE TABLE IF NOT EXISTS spans (
            project_id Int64,
            trace_id FixedString(16),
            span_id FixedString(8),
            parent_span_id Nullable(FixedString(8)),
            start_ns UInt64,
            duration_ns Int64,
            kind UInt8,
            name String,
            status UInt8,
            is_error UInt8,
            service Nullable(String),
            agent Nullable(String),
            provider Nullable(String),
            model Nullable(String),
            input_tokens Nullable(Int64),
            output_tokens Nullable(Int64),
            total_tokens Nullable(Int64),
            cache_read_tokens Nullable(Int64),
            cache_write_tokens Nullable(Int64),
            reasoning_tokens Nullable(Int64),
            cost_nano_usd Nullable(Int64),
            user_id Nullable(String),
            session_id Nullable(String),
            tenant_id Nullable(String),
            operation Nullable(String),
            resource_hash Int64,
            detail String,
            payload String,
            seq UInt64
        ) ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMMDD(toDateTime(intDiv(start_ns, 1000000000), 'UTC'))
        ORDER BY (project_id, trace_id, span_id)",
            // Logs; a log without a trace has an all-zero trace_id (the sort key cannot be Nullable).
            "CREATE TABLE IF NOT EXISTS logs (
            project_id Int64,
            trace_id FixedString(16),
            span_id Nullable(FixedString(8)),
            time_ns UInt64,
            severity Int32,
            severity_text Nullable(String),
            service Nullable(String),
            session_id Nullable(String),
            agent Nullable(String),
            body Nullable(String),
            resource_hash Int64,
            detail String,
            seq UInt64
        ) ENGINE = MergeTree
        PARTITION BY toYYYYMMDD(toDateTime(intDiv(time_ns, 1000000000), 'UTC'))
        ORDER BY (project_id, trace_id, time_ns)",
        ],
    ),
    (
        2,
        // Per-project price overrides, seen by every node. A put inserts a row with a newer
        // `version`; a delete inserts a tombstone (`deleted` = 1). Reads take the newest row per
        // (project, id) and drop tombstones.
        &["CREATE TABLE IF NOT EXISTS price_overrides (
            project_id Int64,
            id String,
            provider String,
            model String,
            input String,
            output String,
            cache_read Nullable(String),
            cache_write Nullable(String),
            reasoning Nullable(String),
            effective_from String,
            updated_ns UInt64,
            deleted UInt8,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (project_id, id)"],
    ),
    (
        4,
        // Explore filters ClickHouse can run natively (the blobs are zstd JSON it cannot read):
        // attributes as parallel key/value arrays (values rendered as text: strings as they are,
        // anything else as JSON), tags, and `search_text`: the lowercase name and every string of
        // the input and output, NUL-separated, for the case-insensitive text filter. One statement
        // (18.16 has no ADD COLUMN IF NOT EXISTS): it applies whole or not at all. Rows written
        // before it have empty values and match no attribute, tag or text filter.
        &["ALTER TABLE spans ADD COLUMN attr_keys Array(String), \
         ADD COLUMN attr_values Array(String), ADD COLUMN tags Array(String), \
         ADD COLUMN search_text String"],
    ),
    (
        5,
        // Trace summaries kept at write time; the view that fills them and the backfill of the
        // spans already stored follow in `summaries::install`.
        &[summaries::CREATE_TABLE],
    ),
    (
        6,
        // The hourly cost rollup; its table and view follow in `cost_rollup::install`. Spans
        // get the workspace the writer resolves (from the span's attributes, then its
        // resource's), which the view groups by.
        &[
            "ALTER TABLE spans ADD COLUMN workspace Nullable(String)",
            cost_rollup::CREATE_START,
        ],
    ),
    (
        10,
        // Models as people name them (docs/normalization.md, Models): the requested model when
        // it differs from `model` (only in `detail` before), the family of `model` when it
        // differs from it, and the trace's name a root span gives. One statement (18.16 has no
        // ADD COLUMN IF NOT EXISTS). Then `models::install`: the summaries' view names roots by
        // the trace's name, the cost rollup is made again with the request model, and the
        // family of the spans stored before is filled in.
        &[
            "ALTER TABLE spans ADD COLUMN request_model Nullable(String), \
         ADD COLUMN model_family Nullable(String), ADD COLUMN trace_name Nullable(String)",
        ],
    ),
    (
        11,
        // Keys with roles (keys made before roles are admins) and revocations, one row per
        // revocation (the earliest counts; see keys.rs). Both live on the entry server.
        &[
            "ALTER TABLE api_keys ADD COLUMN role String DEFAULT 'admin'",
            "CREATE TABLE IF NOT EXISTS api_key_revocations (
            public_key String,
            project_id Int64,
            revoked_ns UInt64
        ) ENGINE = ReplacingMergeTree ORDER BY public_key",
        ],
    ),
    (
        12,
        // OTLP metric series and points (clickhouse/metrics.rs, crates/store/src/metric/),
        // on the entry server (not sharded: they are small). A series row is rewritten with
        // a newer `version` whenever its state moves; reads take the newest per series. Both
        // are partitioned by the UTC day of their newest point, so retention drops whole days
        // (a series' older rows go, its current one stays).
        &[
            "CREATE TABLE IF NOT EXISTS metric_series (
            project_id Int64,
            series_id Int64,
            name String,
            kind UInt8,
            temporality UInt8,
            monotonic UInt8,
            unit String,
            description String,
            attributes String,
            resource String,
            time_ns UInt64,
            state String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        PARTITION BY toYYYYMMDD(toDateTime(intDiv(time_ns, 1000000000), 'UTC'))
        ORDER BY (project_id, series_id)",
            // A point retried before a merge may be stored twice: reads keep one per
            // (series, time).
            "CREATE TABLE IF NOT EXISTS metric_points (
            project_id Int64,
            series_id Int64,
            time_ns UInt64,
            start_ns UInt64,
            value Float64,
            level Float64,
            histogram String
        ) ENGINE = ReplacingMergeTree
        PARTITION BY toYYYYMMDD(toDateTime(intDiv(time_ns, 1000000000), 'UTC'))
        ORDER BY (project_id, series_id, time_ns)",
        ],
    ),
    (
        13,
        // Dashboard logins, shared by every node (see logins.rs): a logout inserts a tombstone
        // with a newer `version`; reads take the newest row of a token.
        &["CREATE TABLE IF NOT EXISTS logins (
            token_hash String,
            public_key String,
            created_ns UInt64,
            expires_ns UInt64,
            deleted UInt8,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY token_hash"],
    ),
    (
        14,
        // The gateway's state (gateway.rs). Budgets, rate-limit rules and provider keys are
        // versioned definitions like the price overrides; the budget ledger is append-only and
        // summed on read; notifications fold per (budget, window, threshold); cached responses
        // fold per (key, slot), reads taking the newest.
        &[
            "CREATE TABLE IF NOT EXISTS budgets (
            project_id Int64,
            id String,
            scope String,
            budget_window String,
            limit_nano_usd Int64,
            include_otlp UInt8,
            updated_ns UInt64,
            deleted UInt8,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (project_id, id)",
            "CREATE TABLE IF NOT EXISTS budget_ledger (
            project_id Int64,
            budget_id String,
            window_start_ns Int64,
            reservation_id String,
            reserved Int64,
            spent Int64,
            expires_ns Int64,
            at_ns UInt64
        ) ENGINE = MergeTree ORDER BY (project_id, budget_id, window_start_ns)",
            "CREATE TABLE IF NOT EXISTS budget_events (
            project_id Int64,
            budget_id String,
            window_start_ns Int64,
            threshold_pct UInt64,
            scope String,
            spent_nano_usd Int64,
            limit_nano_usd Int64,
            at_ns UInt64
        ) ENGINE = ReplacingMergeTree ORDER BY (project_id, budget_id, window_start_ns, threshold_pct)",
            "CREATE TABLE IF NOT EXISTS rate_limit_rules (
            project_id Int64,
            id String,
            policy String,
            for_key String,
            updated_ns UInt64,
            deleted UInt8,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (project_id, id)",
            "CREATE TABLE IF NOT EXISTS provider_keys (
            project_id Int64,
            id String,
            upstream String,
            for_key String,
            ciphertext String,
            hint String,
            cache_ttl_secs Nullable(Int64),
            updated_ns UInt64,
            deleted UInt8,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY (project_id, id)",
            "CREATE TABLE IF NOT EXISTS gateway_cache (
            project_id Int64,
            key String,
            slot UInt64,
            status UInt64,
            content_type String,
            stream UInt8,
            body String,
            model Nullable(String),
            usage String,
            cost_nano_usd Nullable(Int64),
            created_ns UInt64,
            expires_ns UInt64
        ) ENGINE = ReplacingMergeTree(created_ns) ORDER BY (project_id, key, slot)",
        ],
    ),
];

/// Creates the database if needed and brings it to the latest schema version.
pub async fn migrate(client: &Client, now_ns: u64) -> Result<u32, StoreError> {
    migrate_in(client, &Layout::Single, now_ns).await
}

/// [`migrate`] in a layout: on a cluster, statements on sharded tables run on every shard
/// (see cluster.rs).
pub async fn migrate_in(client: &Client, layout: &Layout, now_ns: u64) -> Result<u32, StoreError> {
    layout.create_database(client).await?;
    client
        .execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, applied_ns UInt64) \
             ENGINE = MergeTree ORDER BY version",
        )
        .await?;
    let rows = client
        .query("SELECT toUInt32(max(version)) FROM schema_migrations")
        .await?;
    // max() of an empty table is 0.
    let current = RowReader::new(&rows).u32()?;
    let latest = latest_version();
    if current > latest {
        return Err(StoreError::Engine(format!(
            "the ClickHouse database {} is at schema version {current}, newer than this binary \
             knows ({latest}); upgrade sightline",
            client.database()
        )));
    }
    for (version, statements) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        for sql in *statements {
            match layout.execute(client, sql).await {
                // Another node starting at the same moment applied this one first: 18.16 has no
                // `ADD COLUMN IF NOT EXISTS`.
                Err(e) if sql.starts_with("ALTER TABLE") && column_already_exists(&e) => {}
                other => other?,
            }
        }
        match version {
            5 => summaries::install(client, layout).await?,
            6 => cost_rollup::install(client, layout).await?,
            10 => models::install(client, layout).await?,
            _ => {}
        }
        client
            .execute(&format!(
                "INSERT INTO schema_migrations (version, applied_ns) VALUES ({version}, {now_ns})"
            ))
            .await?;
    }
    Ok(latest)
}

/// ClickHouse's "column already exists": code 44 on 18.x, 15 (DUPLICATE_COLUMN) on current
/// releases; the separator after the code is `,` on old releases and `.` on new ones.
fn column_already_exists(e: &StoreError) -> bool {
    let text = e.to_string();
    ["Code: 44,", "Code: 44.", "Code: 15,", "Code: 15."]
        .iter()
        .any(|code| text.contains(code))
        && text.contains("already exists")
}

pub fn latest_version() -> u32 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}
