//! The gateway's state, one narrow contract per concern, each implemented by both engines:
//! [`BudgetStore`] (budgets, their ledger of reservations and spend, threshold notifications),
//! [`RateLimitStore`] (rate-limit rules), [`ProviderKeyStore`] (provider keys, stored only
//! encrypted) and [`CacheStore`] (cached responses). The store writes what it is given: ids,
//! times, ciphertexts and cache keys are made by the server.

use async_trait::async_trait;
use sightline_core::gateway::budget::Budget;
use sightline_core::{ProjectId, Usage};

use crate::StoreError;

/// One change to a budget's ledger. A ledger is append-only: a window's spend is the sum of its
/// `Spend`s, and a reservation is open while its `Reserve` outweighs its `Release`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerChange {
    /// A call in flight holds `amount` (its worst case) until settled or `expires_ns`.
    Reserve {
        budget_id: String,
        window_start_ns: i64,
        reservation_id: String,
        amount: i64,
        expires_ns: i64,
    },
    /// The reservation is settled: its `amount` is held no more.
    Release {
        budget_id: String,
        window_start_ns: i64,
        reservation_id: String,
        amount: i64,
    },
    /// Money spent in the window (a settled call's actual cost).
    Spend {
        budget_id: String,
        window_start_ns: i64,
        amount: i64,
    },
}

/// A reservation still held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReservation {
    pub id: String,
    pub amount: i64,
    pub expires_ns: i64,
}

/// A budget's ledger in one window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LedgerState {
    /// The sum of the window's spend, in nano-USD.
    pub spent: i64,
    /// Reservations not yet released, by id.
    pub open: Vec<OpenReservation>,
}

/// A budget's spend reached one of its notification thresholds in a window.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BudgetEvent {
    pub budget_id: String,
    /// The budget's scope as text (`tenant:acme`), kept with the event.
    pub scope: String,
    pub window_start_ns: i64,
    pub threshold_pct: u8,
    pub spent_nano_usd: i64,
    pub limit_nano_usd: i64,
    pub at_ns: i64,
}

/// Budgets, their ledgers and their notifications.
#[async_trait]
pub trait BudgetStore: Send + Sync {
    /// Stores `budget` in `project`, replacing the budget with the same id.
    async fn put_budget(&self, project: ProjectId, budget: &Budget) -> Result<(), StoreError>;
    /// The project's budgets, oldest first.
    async fn budgets(&self, project: ProjectId) -> Result<Vec<Budget>, StoreError>;
    /// Removes the budget `id`; `false` when there was none. Its ledger stays.
    async fn delete_budget(
        &self,
        project: ProjectId,
        id: &str,
        now_ns: i64,
    ) -> Result<bool, StoreError>;
    /// Applies `changes` to the project's ledgers together (one transaction or one insert);
    /// returns once they are durable.
    async fn record_ledger(
        &self,
        project: ProjectId,
        changes: &[LedgerChange],
        at_ns: i64,
    ) -> Result<(), StoreError>;
    /// One budget's ledger in the window starting at `window_start_ns`.
    async fn ledger(
        &self,
        project: ProjectId,
        budget_id: &str,
        window_start_ns: i64,
    ) -> Result<LedgerState, StoreError>;
    /// Stores a notification; `false` (and nothing stored) when one for the same budget,
    /// window and threshold is there already.
    async fn add_budget_event(
        &self,
        project: ProjectId,
        event: &BudgetEvent,
    ) -> Result<bool, StoreError>;
    /// The project's notifications at or after `since_ns`, oldest first.
    async fn budget_events(
        &self,
        project: ProjectId,
        since_ns: i64,
    ) -> Result<Vec<BudgetEvent>, StoreError>;
}

/// A rate-limit policy a project applies to its gateway calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitRule {
    pub id: String,
    /// The policy in the IETF draft's syntax (`100;w=60;s=user`), checked by the server.
    pub policy: String,
    /// Only calls made with this Sightline key (public half); `None`: every call.
    pub for_key: Option<String>,
    pub updated_ns: i64,
}

/// Rate-limit rules.
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    async fn put_rate_limit(
        &self,
        project: ProjectId,
        rule: &RateLimitRule,
    ) -> Result<(), StoreError>;
    /// The project's rules, oldest first.
    async fn rate_limits(&self, project: ProjectId) -> Result<Vec<RateLimitRule>, StoreError>;
    async fn delete_rate_limit(
        &self,
        project: ProjectId,
        id: &str,
        now_ns: i64,
    ) -> Result<bool, StoreError>;
}

/// A provider's API key kept for a project (a "virtual key": callers reach it through their
/// Sightline key and never see it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderKey {
    pub id: String,
    /// The upstream it is sent to (`openai`, `anthropic`, a configured name).
    pub upstream: String,
    /// Only for calls made with this Sightline key (public half); `None`: every key of the
    /// project.
    pub for_key: Option<String>,
    /// The key encrypted by the server (nonce and sealed bytes); the store never sees it plain.
    pub ciphertext: Vec<u8>,
    /// The key's last characters, to tell keys apart in lists.
    pub hint: String,
    /// Cache responses of calls made through this key for this long (opt-in per key).
    pub cache_ttl_secs: Option<u64>,
    pub updated_ns: i64,
}

/// Stored provider keys.
#[async_trait]
pub trait ProviderKeyStore: Send + Sync {
    async fn put_provider_key(
        &self,
        project: ProjectId,
        key: &ProviderKey,
    ) -> Result<(), StoreError>;
    /// The project's keys, oldest first.
    async fn provider_keys(&self, project: ProjectId) -> Result<Vec<ProviderKey>, StoreError>;
    async fn delete_provider_key(
        &self,
        project: ProjectId,
        id: &str,
        now_ns: i64,
    ) -> Result<bool, StoreError>;
}

/// One cached upstream response.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedResponse {
    /// The cache key (a hash made by the server; it covers the project too).
    pub key: String,
    /// Which of the key's bucket of responses this is.
    pub slot: u32,
    pub status: u16,
    pub content_type: String,
    /// The body is a server-sent event stream, replayed as one.
    pub stream: bool,
    pub body: Vec<u8>,
    /// The model that answered and the usage and cost of the original call: what a hit saves.
    pub model: Option<String>,
    pub usage: Usage,
    pub cost_nano_usd: Option<i64>,
    pub created_ns: i64,
    pub expires_ns: i64,
}

/// The response cache.
#[async_trait]
pub trait CacheStore: Send + Sync {
    /// The entries under `key` that have not expired at `now_ns`, by slot.
    async fn cached(
        &self,
        project: ProjectId,
        key: &str,
        now_ns: i64,
    ) -> Result<Vec<CachedResponse>, StoreError>;
    /// Stores `entry`, replacing the one in the same key and slot.
    async fn put_cached(
        &self,
        project: ProjectId,
        entry: &CachedResponse,
    ) -> Result<(), StoreError>;
    /// Deletes every project's entries expired at `now_ns`; returns how many went.
    async fn purge_cache(&self, now_ns: i64) -> Result<u64, StoreError>;
}

/// (budget, window start, reservation id, reserved, spent, expires) of one ledger row.
pub(crate) fn ledger_row(c: &LedgerChange) -> (&str, i64, &str, i64, i64, i64) {
    match c {
        LedgerChange::Reserve {
            budget_id,
            window_start_ns,
            reservation_id,
            amount,
            expires_ns,
        } => (
            budget_id,
            *window_start_ns,
            reservation_id,
            *amount,
            0,
            *expires_ns,
        ),
        LedgerChange::Release {
            budget_id,
            window_start_ns,
            reservation_id,
            amount,
        } => (budget_id, *window_start_ns, reservation_id, -amount, 0, 0),
        LedgerChange::Spend {
            budget_id,
            window_start_ns,
            amount,
        } => (budget_id, *window_start_ns, "", 0, *amount, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_rows_sign_releases() {
        let release = LedgerChange::Release {
            budget_id: "b".into(),
            window_start_ns: 5,
            reservation_id: "r".into(),
            amount: 7,
        };
        assert_eq!(ledger_row(&release), ("b", 5, "r", -7, 0, 0));
        let spend = LedgerChange::Spend {
            budget_id: "b".into(),
            window_start_ns: 5,
            amount: 3,
        };
        assert_eq!(ledger_row(&spend), ("b", 5, "", 0, 3, 0));
    }
}
