//! The gateway's state in ClickHouse, seen by every node (migration 9). Budgets, rate-limit
//! rules and provider keys are versioned definitions: each put or delete inserts a row with a
//! newer `version` into a ReplacingMergeTree and reads take the newest row per (project, id)
//! with `FINAL`, dropping tombstones (the price overrides' scheme). The budget ledger is
//! append-only and summed on read; notifications and cached responses are ReplacingMergeTrees
//! whose reads keep one row per key.

use async_trait::async_trait;
use sightline_core::gateway::budget::{Budget, Scope};
use sightline_core::gateway::window::Window;
use sightline_core::ProjectId;

use super::rowbinary::{quote, RowReader, RowWriter};
use super::versioned::{unsigned, Versioned};
use super::ClickHouseStore;
use crate::gateway::{
    ledger_row, BudgetEvent, BudgetStore, CacheStore, CachedResponse, LedgerChange, LedgerState,
    OpenReservation, ProviderKey, ProviderKeyStore, RateLimitRule, RateLimitStore,
};
use crate::StoreError;

fn signed(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn optional(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

fn stored<T>(
    what: &str,
    text: &str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, StoreError> {
    parse(text).map_err(|e| StoreError::Engine(format!("stored {what} {text:?}: {e}")))
}

impl Versioned for Budget {
    const TABLE: &'static str = "budgets";
    const COLUMNS: &'static str = "scope, budget_window, limit_nano_usd, include_otlp";
    fn id(&self) -> &str {
        &self.id
    }
    fn updated_ns(&self) -> i64 {
        self.updated_ns
    }
    fn write(&self, w: &mut RowWriter) {
        w.str(&self.scope.to_string());
        w.str(&self.window.to_string());
        w.i64(self.limit_nano_usd);
        w.u8(u8::from(self.include_otlp));
    }
    fn read(id: String, r: &mut RowReader<'_>) -> Result<Self, StoreError> {
        let scope = r.string()?;
        let window = r.string()?;
        Ok(Budget {
            id,
            scope: stored("scope", &scope, Scope::parse)?,
            window: stored("window", &window, Window::parse)?,
            limit_nano_usd: r.i64()?,
            include_otlp: r.u8()? != 0,
            updated_ns: signed(r.u64()?),
        })
    }
}

impl Versioned for RateLimitRule {
    const TABLE: &'static str = "rate_limit_rules";
    const COLUMNS: &'static str = "policy, for_key";
    fn id(&self) -> &str {
        &self.id
    }
    fn updated_ns(&self) -> i64 {
        self.updated_ns
    }
    fn write(&self, w: &mut RowWriter) {
        w.str(&self.policy);
        w.str(self.for_key.as_deref().unwrap_or(""));
    }
    fn read(id: String, r: &mut RowReader<'_>) -> Result<Self, StoreError> {
        Ok(RateLimitRule {
            id,
            policy: r.string()?,
            for_key: optional(r.string()?),
            updated_ns: signed(r.u64()?),
        })
    }
}

impl Versioned for ProviderKey {
    const TABLE: &'static str = "provider_keys";
    const COLUMNS: &'static str = "upstream, for_key, ciphertext, hint, cache_ttl_secs";
    fn id(&self) -> &str {
        &self.id
    }
    fn updated_ns(&self) -> i64 {
        self.updated_ns
    }
    fn write(&self, w: &mut RowWriter) {
        w.str(&self.upstream);
        w.str(self.for_key.as_deref().unwrap_or(""));
        w.bytes(&self.ciphertext);
        w.str(&self.hint);
        w.opt_i64(
            self.cache_ttl_secs
                .map(|t| i64::try_from(t).unwrap_or(i64::MAX)),
        );
    }
    fn read(id: String, r: &mut RowReader<'_>) -> Result<Self, StoreError> {
        Ok(ProviderKey {
            id,
            upstream: r.string()?,
            for_key: optional(r.string()?),
            ciphertext: r.bytes()?,
            hint: r.string()?,
            cache_ttl_secs: r.opt_i64()?.map(|t| u64::try_from(t).unwrap_or(0)),
            updated_ns: signed(r.u64()?),
        })
    }
}

#[async_trait]
impl BudgetStore for ClickHouseStore {
    async fn put_budget(&self, project: ProjectId, budget: &Budget) -> Result<(), StoreError> {
        self.put_versioned(project, budget).await
    }

    async fn budgets(&self, project: ProjectId) -> Result<Vec<Budget>, StoreError> {
        self.live_versioned(project).await
    }

    async fn delete_budget(
        &self,
        project: ProjectId,
        id: &str,
        now_ns: i64,
    ) -> Result<bool, StoreError> {
        self.delete_versioned::<Budget>(project, id, now_ns).await
    }

    async fn record_ledger(
        &self,
        project: ProjectId,
        changes: &[LedgerChange],
        at_ns: i64,
    ) -> Result<(), StoreError> {
        let mut w = RowWriter::default();
        for c in changes {
            let (budget, window, reservation, reserved, spent, expires) = ledger_row(c);
            w.i64(project.0);
            w.str(budget);
            w.i64(window);
            w.str(reservation);
            w.i64(reserved);
            w.i64(spent);
            w.i64(expires);
            w.u64(unsigned(at_ns));
        }
        self.client
            .insert(
                "budget_ledger",
                "project_id, budget_id, window_start_ns, reservation_id, reserved, spent, \
                 expires_ns, at_ns",
                w.buf,
            )
            .await
    }

    async fn ledger(
        &self,
        project: ProjectId,
        budget_id: &str,
        window_start_ns: i64,
    ) -> Result<LedgerState, StoreError> {
        let filter = format!(
            "project_id = {} AND budget_id = {} AND window_start_ns = {window_start_ns}",
            project.0,
            quote(budget_id)
        );
        let rows = self
            .client
            .query(&format!(
                "SELECT toInt64(sum(spent)) FROM budget_ledger WHERE {filter}"
            ))
            .await?;
        let spent = RowReader::new(&rows).i64()?;
        let rows = self
            .client
            .query(&format!(
                "SELECT reservation_id, toInt64(sum(reserved)) AS held, toInt64(max(expires_ns)) \
                 FROM budget_ledger WHERE {filter} AND reservation_id != '' \
                 GROUP BY reservation_id HAVING held > 0 ORDER BY reservation_id"
            ))
            .await?;
        let mut r = RowReader::new(&rows);
        let mut open = Vec::new();
        while !r.is_empty() {
            open.push(OpenReservation {
                id: r.string()?,
                amount: r.i64()?,
                expires_ns: r.i64()?,
            });
        }
        Ok(LedgerState { spent, open })
    }

    async fn add_budget_event(
        &self,
        project: ProjectId,
        event: &BudgetEvent,
    ) -> Result<bool, StoreError> {
        // Two nodes adding the same event at one instant may both insert; the table folds them
        // and reads keep one.
        let rows = self
            .client
            .query(&format!(
                "SELECT toUInt64(count()) FROM budget_events WHERE project_id = {} \
                 AND budget_id = {} AND window_start_ns = {} AND threshold_pct = {}",
                project.0,
                quote(&event.budget_id),
                event.window_start_ns,
                event.threshold_pct
            ))
            .await?;
        if RowReader::new(&rows).u64()? > 0 {
            return Ok(false);
        }
        let mut w = RowWriter::default();
        w.i64(project.0);
        w.str(&event.budget_id);
        w.i64(event.window_start_ns);
        w.u64(u64::from(event.threshold_pct));
        w.str(&event.scope);
        w.i64(event.spent_nano_usd);
        w.i64(event.limit_nano_usd);
        w.u64(unsigned(event.at_ns));
        self.client
            .insert(
                "budget_events",
                "project_id, budget_id, window_start_ns, threshold_pct, scope, spent_nano_usd, \
                 limit_nano_usd, at_ns",
                w.buf,
            )
            .await?;
        Ok(true)
    }

    async fn budget_events(
        &self,
        project: ProjectId,
        since_ns: i64,
    ) -> Result<Vec<BudgetEvent>, StoreError> {
        let rows = self
            .client
            .query(&format!(
                "SELECT budget_id, scope, window_start_ns, threshold_pct, spent_nano_usd, \
                 limit_nano_usd, at_ns FROM budget_events WHERE project_id = {} AND at_ns >= {} \
                 ORDER BY at_ns, budget_id, threshold_pct \
                 LIMIT 1 BY budget_id, window_start_ns, threshold_pct",
                project.0,
                unsigned(since_ns)
            ))
            .await?;
        let mut r = RowReader::new(&rows);
        let mut out = Vec::new();
        while !r.is_empty() {
            out.push(BudgetEvent {
                budget_id: r.string()?,
                scope: r.string()?,
                window_start_ns: r.i64()?,
                threshold_pct: u8::try_from(r.u64()?).unwrap_or(u8::MAX),
                spent_nano_usd: r.i64()?,
                limit_nano_usd: r.i64()?,
                at_ns: signed(r.u64()?),
            });
        }
        Ok(out)
    }
}

#[async_trait]
impl RateLimitStore for ClickHouseStore {
    async fn put_rate_limit(
        &self,
        project: ProjectId,
        rule: &RateLimitRule,
    ) -> Result<(), StoreError> {
        self.put_versioned(project, rule).await
    }

    async fn rate_limits(&self, project: ProjectId) -> Result<Vec<RateLimitRule>, StoreError> {
        self.live_versioned(project).await
    }

    async fn delete_rate_limit(
        &self,
        project: ProjectId,
        id: &str,
        now_ns: i64,
    ) -> Result<bool, StoreError> {
        self.delete_versioned::<RateLimitRule>(project, id, now_ns)
            .await
    }
}

#[async_trait]
impl ProviderKeyStore for ClickHouseStore {
    async fn put_provider_key(
        &self,
        project: ProjectId,
        key: &ProviderKey,
    ) -> Result<(), StoreError> {
        self.put_versioned(project, key).await
    }

    async fn provider_keys(&self, project: ProjectId) -> Result<Vec<ProviderKey>, StoreError> {
        self.live_versioned(project).await
    }

    async fn delete_provider_key(
        &self,
        project: ProjectId,
        id: &str,
        now_ns: i64,
    ) -> Result<bool, StoreError> {
        self.delete_versioned::<ProviderKey>(project, id, now_ns)
            .await
    }
}

const CACHE_COLUMNS: &str = "project_id, key, slot, status, content_type, stream, body, model, \
                             usage, cost_nano_usd, created_ns, expires_ns";

#[async_trait]
impl CacheStore for ClickHouseStore {
    async fn cached(
        &self,
        project: ProjectId,
        key: &str,
        now_ns: i64,
    ) -> Result<Vec<CachedResponse>, StoreError> {
        // The newest row per slot; a replaced entry may not be merged away yet.
        let rows = self
            .client
            .query(&format!(
                "SELECT key, slot, status, content_type, stream, body, model, usage, \
                 cost_nano_usd, created_ns, expires_ns FROM (SELECT * FROM gateway_cache \
                 WHERE project_id = {} AND key = {} ORDER BY slot, created_ns DESC \
                 LIMIT 1 BY slot) WHERE expires_ns > {} ORDER BY slot",
                project.0,
                quote(key),
                unsigned(now_ns)
            ))
            .await?;
        let mut r = RowReader::new(&rows);
        let mut out = Vec::new();
        while !r.is_empty() {
            let key = r.string()?;
            let slot = u32::try_from(r.u64()?).unwrap_or(u32::MAX);
            let status = u16::try_from(r.u64()?).unwrap_or(500);
            let content_type = r.string()?;
            let stream = r.u8()? != 0;
            let body = r.bytes()?;
            let model = r.opt_string()?;
            let usage_text = r.string()?;
            let usage = serde_json::from_str(&usage_text)
                .map_err(|e| StoreError::Engine(format!("stored usage {usage_text:?}: {e}")))?;
            out.push(CachedResponse {
                key,
                slot,
                status,
                content_type,
                stream,
                body,
                model,
                usage,
                cost_nano_usd: r.opt_i64()?,
                created_ns: signed(r.u64()?),
                expires_ns: signed(r.u64()?),
            });
        }
        Ok(out)
    }

    async fn put_cached(
        &self,
        project: ProjectId,
        entry: &CachedResponse,
    ) -> Result<(), StoreError> {
        let usage = serde_json::to_string(&entry.usage)
            .map_err(|e| StoreError::Engine(format!("cannot encode usage: {e}")))?;
        let mut w = RowWriter::default();
        w.i64(project.0);
        w.str(&entry.key);
        w.u64(u64::from(entry.slot));
        w.u64(u64::from(entry.status));
        w.str(&entry.content_type);
        w.u8(u8::from(entry.stream));
        w.bytes(&entry.body);
        w.opt_str(entry.model.as_deref());
        w.str(&usage);
        w.opt_i64(entry.cost_nano_usd);
        w.u64(unsigned(entry.created_ns));
        w.u64(unsigned(entry.expires_ns));
        self.client
            .insert("gateway_cache", CACHE_COLUMNS, w.buf)
            .await
    }

    async fn purge_cache(&self, now_ns: i64) -> Result<u64, StoreError> {
        let rows = self
            .client
            .query(&format!(
                "SELECT toUInt64(count()) FROM gateway_cache FINAL WHERE expires_ns <= {}",
                unsigned(now_ns)
            ))
            .await?;
        let expired = RowReader::new(&rows).u64()?;
        if expired > 0 {
            // A mutation, applied in the background: reads already skip expired rows.
            self.client
                .execute(&format!(
                    "ALTER TABLE gateway_cache DELETE WHERE expires_ns <= {}",
                    unsigned(now_ns)
                ))
                .await?;
        }
        Ok(expired)
    }
}
