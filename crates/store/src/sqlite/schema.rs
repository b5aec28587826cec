//! Versioned schema migrations for the SQLite engine, applied in order at open.

use rusqlite::Connection;

use crate::StoreError;

/// Each entry is (version, SQL). Never edit a released migration: append a new one.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_ns INTEGER NOT NULL
);
INSERT INTO projects (id, name, created_ns) VALUES (1, 'default', 0);

CREATE TABLE api_keys (
    public_key TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    created_ns INTEGER NOT NULL
);

-- Resource attributes, stored once per distinct resource.
CREATE TABLE resources (
    project_id INTEGER NOT NULL,
    hash INTEGER NOT NULL,
    attributes BLOB NOT NULL,
    PRIMARY KEY (project_id, hash)
) WITHOUT ROWID;

-- One row per observation. Promoted columns are what queries filter and aggregate on; `detail`
-- holds the rest (zstd-compressed JSON) and `payload` the input/output (zstd-compressed JSON).
CREATE TABLE spans (
    project_id INTEGER NOT NULL,
    trace_id BLOB NOT NULL,
    span_id BLOB NOT NULL,
    parent_span_id BLOB,
    start_ns INTEGER NOT NULL,
    duration_ns INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    name TEXT NOT NULL,
    status INTEGER NOT NULL,
    is_error INTEGER NOT NULL,
    service TEXT,
    agent TEXT,
    provider TEXT,
    model TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    total_tokens INTEGER,
    cache_read_tokens INTEGER,
    cache_write_tokens INTEGER,
    reasoning_tokens INTEGER,
    cost_nano_usd INTEGER,
    user_id TEXT,
    session_id TEXT,
    tenant_id TEXT,
    resource_hash INTEGER NOT NULL,
    detail BLOB NOT NULL,
    payload BLOB
);
CREATE UNIQUE INDEX spans_by_trace ON spans (project_id, trace_id, span_id);

-- One row per trace, kept current by the writer.
CREATE TABLE traces (
    project_id INTEGER NOT NULL,
    trace_id BLOB NOT NULL,
    root_name TEXT,
    root_span_id BLOB,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    span_count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    cost_nano_usd INTEGER,
    service TEXT,
    agent TEXT,
    user_id TEXT,
    session_id TEXT,
    tenant_id TEXT,
    PRIMARY KEY (project_id, trace_id)
) WITHOUT ROWID;

CREATE TABLE logs (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL,
    time_ns INTEGER NOT NULL,
    trace_id BLOB,
    span_id BLOB,
    severity INTEGER NOT NULL,
    severity_text TEXT,
    service TEXT,
    session_id TEXT,
    agent TEXT,
    body TEXT,
    resource_hash INTEGER NOT NULL,
    detail BLOB NOT NULL
);
CREATE INDEX logs_by_trace ON logs (project_id, trace_id) WHERE trace_id IS NOT NULL;
"#,
    ),
    (
        2,
        r#"
-- The GenAI operation (`chat`, `execute_tool`, ...), promoted for metrics grouped by it. Rows
-- written before this migration keep it in `detail` only and group as "no value".
ALTER TABLE spans ADD COLUMN operation TEXT;

-- Explore paths. Each index costs every write, so only the common orders are indexed:
-- the trace list by start (its default order, and the time window);
CREATE INDEX traces_by_start ON traces (project_id, start_ns);
-- sessions, grouped and looked up by id (sparse: only traces with a session);
CREATE INDEX traces_by_session ON traces (project_id, session_id) WHERE session_id IS NOT NULL;
-- the observation list, metrics and the time window over spans;
CREATE INDEX spans_by_start ON spans (project_id, start_ns);
-- the log list by time (the rowid `id` breaks ties in the index order).
CREATE INDEX logs_by_time ON logs (project_id, time_ns);
"#,
    ),
    (
        3,
        r#"
-- Per-project price overrides (see sqlite/prices.rs): decimal strings of USD per million tokens,
-- as the price registry reads them. `provider` '' matches any provider; `effective_from` ''
-- applies since always.
CREATE TABLE price_overrides (
    project_id INTEGER NOT NULL,
    id TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT NOT NULL,
    cache_read TEXT,
    cache_write TEXT,
    reasoning TEXT,
    effective_from TEXT NOT NULL,
    updated_ns INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
) WITHOUT ROWID;
"#,
    ),
    (
        4,
        r#"
-- The hourly cost rollup (see sqlite/rollup.rs), kept by the writer in the same transaction as
-- the spans: model calls only; absent dimensions are ''. `latency_hist` is a LatencyHistogram
-- (crates/store/src/costs.rs). Spans stored before it are counted by rollup::backfill, run
-- in this migration's transaction (see migrate below).
CREATE TABLE cost_rollup_hourly (
    project_id INTEGER NOT NULL,
    hour_ns INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    workspace TEXT NOT NULL,
    agent TEXT NOT NULL,
    user_id TEXT NOT NULL,
    model TEXT NOT NULL,
    provider TEXT NOT NULL,
    service TEXT NOT NULL,
    requests INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    cost_nano_usd INTEGER NOT NULL,
    costed_requests INTEGER NOT NULL,
    duration_sum_ns INTEGER NOT NULL,
    latency_hist BLOB NOT NULL,
    PRIMARY KEY (project_id, hour_ns, tenant, workspace, agent, user_id, model, provider, service)
) WITHOUT ROWID;
"#,
    ),
    (
        5,
        r#"
-- The per-session summary (see sqlite/session_rollup.rs), kept by the writer in the same
-- transaction as `traces`: one row per session named by a trace summary, aggregating those
-- traces, so the session list reads pages instead of grouping every trace.
CREATE TABLE sessions (
    project_id INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    first_seen_ns INTEGER NOT NULL,
    last_seen_ns INTEGER NOT NULL,
    trace_count INTEGER NOT NULL,
    span_count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    cost_nano_usd INTEGER,
    PRIMARY KEY (project_id, session_id)
) WITHOUT ROWID;
-- The session list order (most recent first) and its `from` window.
CREATE INDEX sessions_by_last_seen ON sessions (project_id, last_seen_ns, session_id);
-- The distinct user and tenant ids of each session's traces.
CREATE TABLE session_users (
    project_id INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (project_id, session_id, user_id)
) WITHOUT ROWID;
CREATE TABLE session_tenants (
    project_id INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    PRIMARY KEY (project_id, session_id, tenant_id)
) WITHOUT ROWID;
INSERT INTO sessions (project_id, session_id, first_seen_ns, last_seen_ns, trace_count, span_count,
    error_count, input_tokens, output_tokens, total_tokens, cost_nano_usd)
SELECT project_id, session_id, MIN(start_ns), MAX(end_ns), COUNT(*), SUM(span_count),
    SUM(error_count), SUM(input_tokens), SUM(output_tokens), SUM(total_tokens), SUM(cost_nano_usd)
FROM traces WHERE session_id IS NOT NULL GROUP BY project_id, session_id;
INSERT INTO session_users (project_id, session_id, user_id)
SELECT DISTINCT project_id, session_id, user_id FROM traces
WHERE session_id IS NOT NULL AND user_id IS NOT NULL;
INSERT INTO session_tenants (project_id, session_id, tenant_id)
SELECT DISTINCT project_id, session_id, tenant_id FROM traces
WHERE session_id IS NOT NULL AND tenant_id IS NOT NULL;
"#,
    ),
    (
        9,
        r#"
-- Models as people name them (docs/normalization.md, Models): the requested model when it
-- differs from `model` (it was only in `detail` before), and the family of `model` when it
-- differs from it, so the model filter matches either name or the family on columns. Spans
-- stored before are filled by models::backfill_models in this migration's transaction.
ALTER TABLE spans ADD COLUMN request_model TEXT;
ALTER TABLE spans ADD COLUMN model_family TEXT;
-- The cost rollup gains the requested model ('' when it is `model` or none) for the model
-- filter and `group_by=request_model`: a new key, so the table is made again and refilled
-- from the spans by rollup::backfill in this migration's transaction.
DROP TABLE cost_rollup_hourly;
CREATE TABLE cost_rollup_hourly (
    project_id INTEGER NOT NULL,
    hour_ns INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    workspace TEXT NOT NULL,
    agent TEXT NOT NULL,
    user_id TEXT NOT NULL,
    model TEXT NOT NULL,
    request_model TEXT NOT NULL,
    provider TEXT NOT NULL,
    service TEXT NOT NULL,
    requests INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    total_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    cost_nano_usd INTEGER NOT NULL,
    costed_requests INTEGER NOT NULL,
    duration_sum_ns INTEGER NOT NULL,
    latency_hist BLOB NOT NULL,
    PRIMARY KEY (project_id, hour_ns, tenant, workspace, agent, user_id, model, request_model,
        provider, service)
) WITHOUT ROWID;
"#,
    ),
    (
        10,
        r#"
-- Keys with roles (`admin`, `member`, `viewer`; keys made before roles are admins) and
-- revocation: a key with `revoked_ns` set authenticates nothing.
ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE api_keys ADD COLUMN revoked_ns INTEGER;
"#,
    ),
    (
        11,
        r#"
-- OTLP metric series (see sqlite/metrics.rs and crates/store/src/metric/): one row per
-- (project, metric name, attributes, resource), `series_id` their stable hash. Attributes and
-- resource are JSON objects; `state` the series' memory (JSON, '' before its first point);
-- `time_ns` its newest point, which retention goes by. The project's row count is what the
-- series limit bounds.
CREATE TABLE metric_series (
    project_id INTEGER NOT NULL,
    series_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind INTEGER NOT NULL,
    temporality INTEGER NOT NULL,
    monotonic INTEGER NOT NULL,
    unit TEXT NOT NULL,
    description TEXT NOT NULL,
    attributes TEXT NOT NULL,
    resource TEXT NOT NULL,
    time_ns INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (project_id, series_id)
) WITHOUT ROWID;
CREATE INDEX metric_series_by_name ON metric_series (project_id, name);
-- One row per stored point: `value` a gauge's value, a sum's increase or a histogram's sum
-- increase; `level` the series' total after it; `histogram` a histogram's bucket increases
-- (JSON, '' for numbers). Idempotent on (project, series, time).
CREATE TABLE metric_points (
    project_id INTEGER NOT NULL,
    series_id INTEGER NOT NULL,
    time_ns INTEGER NOT NULL,
    start_ns INTEGER NOT NULL,
    value REAL NOT NULL,
    level REAL NOT NULL,
    histogram TEXT NOT NULL,
    PRIMARY KEY (project_id, series_id, time_ns)
) WITHOUT ROWID;
CREATE INDEX metric_points_by_time ON metric_points (project_id, time_ns);
"#,
    ),
    (
        12,
        r#"
-- Dashboard logins (see sqlite/logins.rs): the SHA-256 of a browser session's token, the key
-- that opened it, and when it ends.
CREATE TABLE logins (
    token_hash TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    created_ns INTEGER NOT NULL,
    expires_ns INTEGER NOT NULL
) WITHOUT ROWID;
"#,
    ),
    (
        13,
        r#"
-- The gateway's state (see sqlite/gateway.rs). Budgets: scope and window as text, the limit
-- in nano-USD.
CREATE TABLE budgets (
    project_id INTEGER NOT NULL,
    id TEXT NOT NULL,
    scope TEXT NOT NULL,
    budget_window TEXT NOT NULL,
    limit_nano_usd INTEGER NOT NULL,
    include_otlp INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
) WITHOUT ROWID;
-- The budgets' ledger, append-only: a window's spend is SUM(spent); a reservation is open
-- while SUM(reserved) of its rows is above zero. `reservation_id` is '' for spend rows.
CREATE TABLE budget_ledger (
    project_id INTEGER NOT NULL,
    budget_id TEXT NOT NULL,
    window_start_ns INTEGER NOT NULL,
    reservation_id TEXT NOT NULL,
    reserved INTEGER NOT NULL,
    spent INTEGER NOT NULL,
    expires_ns INTEGER NOT NULL,
    at_ns INTEGER NOT NULL
);
CREATE INDEX budget_ledger_by_window ON budget_ledger (project_id, budget_id, window_start_ns);
-- Threshold notifications, once per budget, window and threshold.
CREATE TABLE budget_events (
    project_id INTEGER NOT NULL,
    budget_id TEXT NOT NULL,
    window_start_ns INTEGER NOT NULL,
    threshold_pct INTEGER NOT NULL,
    scope TEXT NOT NULL,
    spent_nano_usd INTEGER NOT NULL,
    limit_nano_usd INTEGER NOT NULL,
    at_ns INTEGER NOT NULL,
    PRIMARY KEY (project_id, budget_id, window_start_ns, threshold_pct)
) WITHOUT ROWID;
CREATE INDEX budget_events_by_time ON budget_events (project_id, at_ns);
-- Rate-limit rules; `for_key` '' applies to every key.
CREATE TABLE rate_limit_rules (
    project_id INTEGER NOT NULL,
    id TEXT NOT NULL,
    policy TEXT NOT NULL,
    for_key TEXT NOT NULL,
    updated_ns INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
) WITHOUT ROWID;
-- Provider keys, encrypted by the server; `for_key` '' serves every key of the project.
CREATE TABLE provider_keys (
    project_id INTEGER NOT NULL,
    id TEXT NOT NULL,
    upstream TEXT NOT NULL,
    for_key TEXT NOT NULL,
    ciphertext BLOB NOT NULL,
    hint TEXT NOT NULL,
    cache_ttl_secs INTEGER,
    updated_ns INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
) WITHOUT ROWID;
-- Cached responses, `slot` 0..N-1 of a key's bucket; `usage` is the original call's Usage
-- as JSON.
CREATE TABLE gateway_cache (
    project_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    slot INTEGER NOT NULL,
    status INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    stream INTEGER NOT NULL,
    body BLOB NOT NULL,
    model TEXT,
    usage TEXT NOT NULL,
    cost_nano_usd INTEGER,
    created_ns INTEGER NOT NULL,
    expires_ns INTEGER NOT NULL,
    PRIMARY KEY (project_id, key, slot)
) WITHOUT ROWID;
CREATE INDEX gateway_cache_by_expiry ON gateway_cache (expires_ns);
"#,
    ),
];

/// The migration that fills the model columns of the spans already stored and rebuilds the cost
/// rollup from them, in its transaction. (Version 4 made the first rollup and counted the
/// spans then; version 9 drops it and counts them again, so 4 no longer does.)
const MODELS_VERSION: i64 = 9;

/// Brings the database to the latest schema version, one transaction per migration.
pub fn migrate(conn: &mut Connection) -> Result<i64, StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ns INTEGER NOT NULL)",
    )?;
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    if current > latest {
        return Err(StoreError::Engine(format!(
            "the database is at schema version {current}, newer than this binary knows ({latest}); upgrade sightline"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if *version == MODELS_VERSION {
            // The new columns and rollup start empty: fill them from the spans stored before.
            super::models::backfill_models(&tx)?;
            super::rollup::backfill(&tx)?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_ns) VALUES (?1, ?2)",
            rusqlite::params![version, 0i64],
        )?;
        tx.commit()?;
    }
    Ok(latest)
}

pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}
