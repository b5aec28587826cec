//! The gateway's state in the embedded engine: budgets, the append-only budget ledger and its
//! notifications, rate-limit rules, provider keys and the response cache (migration 8).

use async_trait::async_trait;
use rusqlite::{params, Row};
use sightline_core::gateway::budget::{Budget, Scope};
use sightline_core::gateway::window::Window;
use sightline_core::ProjectId;

use super::SqliteStore;
use crate::gateway::{
    ledger_row, BudgetEvent, BudgetStore, CacheStore, CachedResponse, LedgerChange, LedgerState,
    OpenReservation, ProviderKey, ProviderKeyStore, RateLimitRule, RateLimitStore,
};
use crate::StoreError;

/// A column of text the store wrote, parsed back; a value it cannot read is an engine error.
pub(crate) fn parsed<T>(
    what: &str,
    text: &str,
    parse: fn(&str) -> Result<T, String>,
) -> rusqlite::Result<T> {
    parse(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("stored {what} {text:?}: {e}").into(),
        )
    })
}

fn budget_from_row(r: &Row<'_>) -> rusqlite::Result<Budget> {
    let scope: String = r.get(1)?;
    let window: String = r.get(2)?;
    Ok(Budget {
        id: r.get(0)?,
        scope: parsed("scope", &scope, Scope::parse)?,
        window: parsed("window", &window, Window::parse)?,
        limit_nano_usd: r.get(3)?,
        include_otlp: r.get(4)?,
        updated_ns: r.get(5)?,
    })
}

fn optional(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

#[async_trait]
impl BudgetStore for SqliteStore {
    async fn put_budget(&self, project: ProjectId, budget: &Budget) -> Result<(), StoreError> {
        let b = budget.clone();
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT OR REPLACE INTO budgets (project_id, id, scope, budget_window, \
                 limit_nano_usd, include_otlp, updated_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    project.0,
                    b.id,
                    b.scope.to_string(),
                    b.window.to_string(),
                    b.limit_nano_usd,
                    b.include_otlp,
                    b.updated_ns
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn budgets(&self, project: ProjectId) -> Result<Vec<Budget>, StoreError> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, scope, budget_window, limit_nano_usd, include_otlp, updated_ns \
                 FROM budgets WHERE project_id = ?1 ORDER BY updated_ns, id",
            )?;
            let rows = stmt.query_map(params![project.0], budget_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn delete_budget(
        &self,
        project: ProjectId,
        id: &str,
        _now_ns: i64,
    ) -> Result<bool, StoreError> {
        self.delete_row("budgets", project, id).await
    }

    async fn record_ledger(
        &self,
        project: ProjectId,
        changes: &[LedgerChange],
        at_ns: i64,
    ) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let changes = changes.to_vec();
        self.with_conn(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO budget_ledger (project_id, budget_id, window_start_ns, \
                     reservation_id, reserved, spent, expires_ns, at_ns) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for c in &changes {
                    let (budget, window, reservation, reserved, spent, expires) = ledger_row(c);
                    insert.execute(params![
                        project.0,
                        budget,
                        window,
                        reservation,
                        reserved,
                        spent,
                        expires,
                        at_ns
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn ledger(
        &self,
        project: ProjectId,
        budget_id: &str,
        window_start_ns: i64,
    ) -> Result<LedgerState, StoreError> {
        let budget = budget_id.to_owned();
        self.with_conn(move |conn| {
            let spent: i64 = conn.query_row(
                "SELECT COALESCE(SUM(spent), 0) FROM budget_ledger \
                 WHERE project_id = ?1 AND budget_id = ?2 AND window_start_ns = ?3",
                params![project.0, budget, window_start_ns],
                |r| r.get(0),
            )?;
            let mut stmt = conn.prepare_cached(
                "SELECT reservation_id, SUM(reserved), MAX(expires_ns) FROM budget_ledger \
                 WHERE project_id = ?1 AND budget_id = ?2 AND window_start_ns = ?3 \
                 AND reservation_id != '' GROUP BY reservation_id HAVING SUM(reserved) > 0 \
                 ORDER BY reservation_id",
            )?;
            let open = stmt
                .query_map(params![project.0, budget, window_start_ns], |r| {
                    Ok(OpenReservation {
                        id: r.get(0)?,
                        amount: r.get(1)?,
                        expires_ns: r.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(LedgerState { spent, open })
        })
        .await
    }

    async fn add_budget_event(
        &self,
        project: ProjectId,
        event: &BudgetEvent,
    ) -> Result<bool, StoreError> {
        let e = event.clone();
        self.with_conn(move |conn| {
            let n = conn.execute(
                "INSERT OR IGNORE INTO budget_events (project_id, budget_id, window_start_ns, \
                 threshold_pct, scope, spent_nano_usd, limit_nano_usd, at_ns) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    project.0,
                    e.budget_id,
                    e.window_start_ns,
                    e.threshold_pct,
                    e.scope,
                    e.spent_nano_usd,
                    e.limit_nano_usd,
                    e.at_ns
                ],
            )?;
            Ok(n > 0)
        })
        .await
    }

    async fn budget_events(
        &self,
        project: ProjectId,
        since_ns: i64,
    ) -> Result<Vec<BudgetEvent>, StoreError> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT budget_id, scope, window_start_ns, threshold_pct, spent_nano_usd, \
                 limit_nano_usd, at_ns FROM budget_events WHERE project_id = ?1 AND at_ns >= ?2 \
                 ORDER BY at_ns, budget_id, threshold_pct",
            )?;
            let rows = stmt.query_map(params![project.0, since_ns], |r| {
                Ok(BudgetEvent {
                    budget_id: r.get(0)?,
                    scope: r.get(1)?,
                    window_start_ns: r.get(2)?,
                    threshold_pct: r.get(3)?,
                    spent_nano_usd: r.get(4)?,
                    limit_nano_usd: r.get(5)?,
                    at_ns: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}

#[async_trait]
impl RateLimitStore for SqliteStore {
    async fn put_rate_limit(
        &self,
        project: ProjectId,
        rule: &RateLimitRule,
    ) -> Result<(), StoreError> {
        let r = rule.clone();
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT OR REPLACE INTO rate_limit_rules (project_id, id, policy, for_key, \
                 updated_ns) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    project.0,
                    r.id,
                    r.policy,
                    r.for_key.unwrap_or_default(),
                    r.updated_ns
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn rate_limits(&self, project: ProjectId) -> Result<Vec<RateLimitRule>, StoreError> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, policy, for_key, updated_ns FROM rate_limit_rules \
                 WHERE project_id = ?1 ORDER BY updated_ns, id",
            )?;
            let rows = stmt.query_map(params![project.0], |r| {
                Ok(RateLimitRule {
                    id: r.get(0)?,
                    policy: r.get(1)?,
                    for_key: optional(r.get(2)?),
                    updated_ns: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn delete_rate_limit(
        &self,
        project: ProjectId,
        id: &str,
        _now_ns: i64,
    ) -> Result<bool, StoreError> {
        self.delete_row("rate_limit_rules", project, id).await
    }
}

impl SqliteStore {
    /// Deletes the row `id` of `project` from `table` (a gateway table keyed by project and id).
    async fn delete_row(
        &self,
        table: &'static str,
        project: ProjectId,
        id: &str,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.with_conn(move |conn| {
            let n = conn.execute(
                &format!("DELETE FROM {table} WHERE project_id = ?1 AND id = ?2"),
                params![project.0, id],
            )?;
            Ok(n > 0)
        })
        .await
    }
}

#[async_trait]
impl ProviderKeyStore for SqliteStore {
    async fn put_provider_key(
        &self,
        project: ProjectId,
        key: &ProviderKey,
    ) -> Result<(), StoreError> {
        let k = key.clone();
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT OR REPLACE INTO provider_keys (project_id, id, upstream, for_key, \
                 ciphertext, hint, cache_ttl_secs, updated_ns) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    project.0,
                    k.id,
                    k.upstream,
                    k.for_key.unwrap_or_default(),
                    k.ciphertext,
                    k.hint,
                    k.cache_ttl_secs
                        .map(|t| i64::try_from(t).unwrap_or(i64::MAX)),
                    k.updated_ns
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn provider_keys(&self, project: ProjectId) -> Result<Vec<ProviderKey>, StoreError> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, upstream, for_key, ciphertext, hint, cache_ttl_secs, updated_ns \
                 FROM provider_keys WHERE project_id = ?1 ORDER BY updated_ns, id",
            )?;
            let rows = stmt.query_map(params![project.0], |r| {
                let ttl: Option<i64> = r.get(5)?;
                Ok(ProviderKey {
                    id: r.get(0)?,
                    upstream: r.get(1)?,
                    for_key: optional(r.get(2)?),
                    ciphertext: r.get(3)?,
                    hint: r.get(4)?,
                    cache_ttl_secs: ttl.map(|t| u64::try_from(t).unwrap_or(0)),
                    updated_ns: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn delete_provider_key(
        &self,
        project: ProjectId,
        id: &str,
        _now_ns: i64,
    ) -> Result<bool, StoreError> {
        self.delete_row("provider_keys", project, id).await
    }
}

#[async_trait]
impl CacheStore for SqliteStore {
    async fn cached(
        &self,
        project: ProjectId,
        key: &str,
        now_ns: i64,
    ) -> Result<Vec<CachedResponse>, StoreError> {
        let key = key.to_owned();
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT key, slot, status, content_type, stream, body, model, usage, \
                 cost_nano_usd, created_ns, expires_ns FROM gateway_cache \
                 WHERE project_id = ?1 AND key = ?2 AND expires_ns > ?3 ORDER BY slot",
            )?;
            let rows = stmt.query_map(params![project.0, key, now_ns], |r| {
                let usage: String = r.get(7)?;
                Ok(CachedResponse {
                    key: r.get(0)?,
                    slot: r.get(1)?,
                    status: r.get(2)?,
                    content_type: r.get(3)?,
                    stream: r.get(4)?,
                    body: r.get(5)?,
                    model: r.get(6)?,
                    usage: parsed("usage", &usage, |t| {
                        serde_json::from_str(t).map_err(|e| e.to_string())
                    })?,
                    cost_nano_usd: r.get(8)?,
                    created_ns: r.get(9)?,
                    expires_ns: r.get(10)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn put_cached(
        &self,
        project: ProjectId,
        entry: &CachedResponse,
    ) -> Result<(), StoreError> {
        let e = entry.clone();
        let usage = serde_json::to_string(&e.usage)
            .map_err(|err| StoreError::Engine(format!("cannot encode usage: {err}")))?;
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT OR REPLACE INTO gateway_cache (project_id, key, slot, status, \
                 content_type, stream, body, model, usage, cost_nano_usd, created_ns, expires_ns) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    project.0,
                    e.key,
                    e.slot,
                    e.status,
                    e.content_type,
                    e.stream,
                    e.body,
                    e.model,
                    usage,
                    e.cost_nano_usd,
                    e.created_ns,
                    e.expires_ns
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn purge_cache(&self, now_ns: i64) -> Result<u64, StoreError> {
        self.with_conn(move |conn| {
            let n = conn.execute(
                "DELETE FROM gateway_cache WHERE expires_ns <= ?1",
                params![now_ns],
            )?;
            Ok(n as u64)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_stored_text_is_an_error() {
        assert!(parsed("window", "weekly", Window::parse).is_err());
        assert!(parsed("window", "daily", Window::parse).is_ok());
    }
}
