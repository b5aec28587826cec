//! Budgets at admission: each call reserves its worst-case cost in every budget whose scope it
//! matches, or is refused before it reaches the upstream; when its usage is known the
//! reservation is settled at the actual cost. The decisions are core's
//! (`sightline_core::gateway::budget`); this module holds each budget's ledger for the current
//! window in memory (one lock, so concurrent calls on this node never overshoot), persists every
//! reservation before the call goes out and every settlement soon after (so budgets, spend and
//! reservations survive a restart), fires the 50/80/95% notifications once per window, and adds
//! the spend of calls that arrived as telemetry to the budgets that ask for it.
//!
//! Reservations carry an expiry past the longest a call can take; one still open then (its
//! node died mid-call) is settled at its full amount, so spend is never under-counted. With
//! several nodes on one ClickHouse, each node re-reads the shared ledger every few seconds: see
//! docs/gateway.md for what holds then.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sightline_core::calls::ModelCall;
use sightline_core::gateway::budget::{
    admit, newly_reached, reserve, settle, threshold_bit, Budget, Ledger, Refusal,
};
use sightline_core::gateway::CallTags;
use sightline_core::time::Clock;
use sightline_core::ProjectId;
use sightline_store::{BudgetEvent, BudgetStore, LedgerChange, LedgerState, StoreError};
use tokio::sync::{mpsc, watch};

use super::project_cache::ProjectCache;
use crate::ingest::{Commit, CommitListener};

/// How long a project's budget definitions are used before the store is read again.
const DEFS_MAX_AGE: Duration = Duration::from_secs(5);
/// How often reservations are expired and ledgers re-read from the store.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(5);
/// Queued ledger writes and telemetry batches before new ones are dropped (and counted).
const QUEUE: usize = 65_536;

type BookKey = (ProjectId, String, i64);
/// The priced calls of one committed telemetry request.
type TelemetryCalls = (ProjectId, Vec<ModelCall>);

#[derive(Debug, Clone, Copy)]
struct Held {
    amount: i64,
    expires_ns: i64,
}

/// One budget's ledger in one window, as this node knows it.
#[derive(Debug)]
struct Book {
    limit: i64,
    scope: String,
    window_end: i64,
    spent: i64,
    /// Reservations this node holds.
    own: HashMap<String, Held>,
    /// Reservations other nodes (or this node's earlier life) hold, from the store.
    others: HashMap<String, Held>,
    notified: u8,
}

impl Book {
    fn ledger(&self) -> Ledger {
        let held: i64 = self
            .own
            .values()
            .chain(self.others.values())
            .map(|h| h.amount)
            .sum();
        Ledger {
            spent: self.spent,
            reserved: held,
        }
    }
}

enum Write {
    Ledger(ProjectId, Vec<LedgerChange>),
    Event(ProjectId, BudgetEvent),
}

/// Why a call was refused, for the 429 answer.
#[derive(Debug, Clone)]
pub struct Refused {
    pub budget: Budget,
    pub refusal: Refusal,
    /// When the budget's window ends (UTC ns).
    pub reset_ns: i64,
}

#[derive(Debug)]
pub enum AdmitError {
    Refused(Refused),
    /// The budgets or their ledger could not be read or the reservation not stored.
    Store(StoreError),
}

impl From<StoreError> for AdmitError {
    fn from(e: StoreError) -> Self {
        AdmitError::Store(e)
    }
}

/// One budget's state now, for the API.
#[derive(Debug, Clone)]
pub struct BudgetStatus {
    pub budget: Budget,
    pub window_start_ns: i64,
    pub window_end_ns: i64,
    pub spent: i64,
    pub reserved: i64,
}

pub struct Budgets {
    store: Arc<dyn BudgetStore>,
    clock: Arc<dyn Clock>,
    /// Prefix of this node's reservation ids (random per start).
    node: String,
    seq: AtomicU64,
    defs: ProjectCache<Vec<Budget>>,
    books: Mutex<HashMap<BookKey, Book>>,
    writes: mpsc::Sender<Write>,
    writes_rx: Mutex<Option<mpsc::Receiver<Write>>>,
    otlp: mpsc::Sender<TelemetryCalls>,
    otlp_rx: Mutex<Option<mpsc::Receiver<TelemetryCalls>>>,
    /// Ledger writes or telemetry batches dropped because their queue was full.
    pub dropped: AtomicU64,
}

/// A call's hold on its budgets. Settle it with the actual cost; dropped unsettled (a call that
/// failed or was abandoned), it is released with nothing spent.
pub struct Reservation {
    budgets: Arc<Budgets>,
    project: ProjectId,
    id: String,
    amount: i64,
    books: Vec<BookKey>,
    done: bool,
}

impl Reservation {
    pub fn amount(&self) -> i64 {
        self.amount
    }

    /// Releases the reservation and spends `actual` (nano-USD) in each of its budgets.
    pub fn settle(mut self, actual: i64) {
        self.done = true;
        self.budgets
            .settle(self.project, &self.id, self.amount, &self.books, actual);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.done {
            self.budgets
                .settle(self.project, &self.id, self.amount, &self.books, 0);
        }
    }
}

impl Budgets {
    pub fn new(store: Arc<dyn BudgetStore>, clock: Arc<dyn Clock>) -> Arc<Budgets> {
        let (writes, writes_rx) = mpsc::channel(QUEUE);
        let (otlp, otlp_rx) = mpsc::channel(QUEUE);
        Arc::new(Budgets {
            store,
            clock,
            node: format!("{:08x}", rand::random::<u32>()),
            seq: AtomicU64::new(0),
            defs: ProjectCache::new(DEFS_MAX_AGE),
            books: Mutex::new(HashMap::new()),
            writes,
            writes_rx: Mutex::new(Some(writes_rx)),
            otlp,
            otlp_rx: Mutex::new(Some(otlp_rx)),
            dropped: AtomicU64::new(0),
        })
    }

    /// The project's budgets (briefly cached).
    pub async fn definitions(&self, project: ProjectId) -> Result<Arc<Vec<Budget>>, StoreError> {
        self.defs.get(project, || self.store.budgets(project)).await
    }

    pub async fn store_budget(
        &self,
        project: ProjectId,
        budget: &Budget,
    ) -> Result<(), StoreError> {
        let r = self.store.put_budget(project, budget).await;
        self.defs.invalidate(project);
        r
    }

    pub async fn delete_budget(&self, project: ProjectId, id: &str) -> Result<bool, StoreError> {
        let r = self
            .store
            .delete_budget(project, id, self.clock.now_ns())
            .await;
        self.defs.invalidate(project);
        r
    }

    /// The project's notifications at or after `since_ns`.
    pub async fn events(
        &self,
        project: ProjectId,
        since_ns: i64,
    ) -> Result<Vec<BudgetEvent>, StoreError> {
        self.store.budget_events(project, since_ns).await
    }

    /// Reads the ledger of `budget`'s current window from the store unless this node has it.
    async fn load(
        &self,
        project: ProjectId,
        budget: &Budget,
        now: i64,
    ) -> Result<BookKey, StoreError> {
        let (start, end) = budget.window.bounds(now);
        let key = (project, budget.id.clone(), start);
        let known = self
            .books
            .lock()
            .map(|b| b.contains_key(&key))
            .unwrap_or(false);
        if known {
            if let Ok(mut books) = self.books.lock() {
                if let Some(book) = books.get_mut(&key) {
                    book.limit = budget.limit_nano_usd;
                }
            }
            return Ok(key);
        }
        let state = self.store.ledger(project, &budget.id, start).await?;
        let notified = self
            .store
            .budget_events(project, start)
            .await?
            .iter()
            .filter(|e| e.budget_id == budget.id && e.window_start_ns == start)
            .fold(0, |m, e| m | threshold_bit(e.threshold_pct));
        let book = Book {
            limit: budget.limit_nano_usd,
            scope: budget.scope.to_string(),
            window_end: end,
            spent: state.spent,
            own: HashMap::new(),
            others: self.foreign(&state),
            notified,
        };
        if let Ok(mut books) = self.books.lock() {
            books.entry(key.clone()).or_insert(book);
        }
        Ok(key)
    }

    /// The open reservations of `state` that are not this node's.
    fn foreign(&self, state: &LedgerState) -> HashMap<String, Held> {
        state
            .open
            .iter()
            .filter(|r| !r.id.starts_with(&self.node))
            .map(|r| {
                let held = Held {
                    amount: r.amount,
                    expires_ns: r.expires_ns,
                };
                (r.id.clone(), held)
            })
            .collect()
    }

    /// Admits a call that may cost up to `amount()` (nano-USD, worked out only when a budget
    /// applies) in every budget of `project` its
    /// tags match: reserves it and stores the reservation, or refuses naming the first budget it
    /// does not fit. `Ok(None)`: no budget applies. `expires_ns`: when an unsettled
    /// reservation counts as spent.
    pub async fn admit(
        self: &Arc<Self>,
        project: ProjectId,
        tags: &CallTags<'_>,
        amount: impl FnOnce() -> i64,
        expires_ns: i64,
    ) -> Result<Option<Reservation>, AdmitError> {
        let defs = self.definitions(project).await?;
        let matching: Vec<&Budget> = defs.iter().filter(|b| b.scope.matches(tags)).collect();
        if matching.is_empty() {
            return Ok(None);
        }
        let amount = amount();
        let now = self.clock.now_ns();
        let mut keys = Vec::with_capacity(matching.len());
        for b in &matching {
            keys.push(self.load(project, b, now).await?);
        }
        let id = format!("{}-{}", self.node, self.seq.fetch_add(1, Ordering::Relaxed));
        let amount = amount.max(0);
        {
            let Ok(mut books) = self.books.lock() else {
                return Err(AdmitError::Store(StoreError::Unavailable(
                    "budget lock".into(),
                )));
            };
            for (b, key) in matching.iter().zip(&keys) {
                let Some(book) = books.get(key) else { continue };
                if let Err(refusal) = admit(book.limit, book.ledger(), amount) {
                    return Err(AdmitError::Refused(Refused {
                        budget: (*b).clone(),
                        refusal,
                        reset_ns: book.window_end,
                    }));
                }
            }
            for key in &keys {
                if let Some(book) = books.get_mut(key) {
                    let after = reserve(book.ledger(), amount);
                    book.own.insert(id.clone(), Held { amount, expires_ns });
                    debug_assert_eq!(book.ledger(), after);
                }
            }
        }
        let reservation = Reservation {
            budgets: self.clone(),
            project,
            id: id.clone(),
            amount,
            books: keys.clone(),
            done: false,
        };
        let changes: Vec<LedgerChange> = keys
            .iter()
            .map(|(_, budget, start)| LedgerChange::Reserve {
                budget_id: budget.clone(),
                window_start_ns: *start,
                reservation_id: id.clone(),
                amount,
                expires_ns,
            })
            .collect();
        // Stored before the call goes out: a restart keeps it. On failure the reservation is
        // dropped, which releases it in memory (the release write is harmless).
        self.store.record_ledger(project, &changes, now).await?;
        Ok(Some(reservation))
    }

    fn settle(&self, project: ProjectId, id: &str, amount: i64, keys: &[BookKey], actual: i64) {
        let now = self.clock.now_ns();
        let mut changes = Vec::new();
        let mut events = Vec::new();
        if let Ok(mut books) = self.books.lock() {
            for key in keys {
                let Some(book) = books.get_mut(key) else {
                    continue;
                };
                let before = book.ledger();
                if book.own.remove(id).is_none() {
                    continue;
                }
                let after = settle(before, amount, actual);
                book.spent = after.spent;
                debug_assert_eq!(book.ledger(), after);
                changes.push(LedgerChange::Release {
                    budget_id: key.1.clone(),
                    window_start_ns: key.2,
                    reservation_id: id.to_owned(),
                    amount,
                });
                if actual > 0 {
                    changes.push(LedgerChange::Spend {
                        budget_id: key.1.clone(),
                        window_start_ns: key.2,
                        amount: actual,
                    });
                }
                events.extend(notifications(key, book, now));
            }
        }
        self.queue(project, changes, events);
    }

    fn queue(&self, project: ProjectId, changes: Vec<LedgerChange>, events: Vec<BudgetEvent>) {
        let writes = (!changes.is_empty())
            .then_some(Write::Ledger(project, changes))
            .into_iter()
            .chain(events.into_iter().map(|e| Write::Event(project, e)));
        for w in writes {
            if self.writes.try_send(w).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    project = project.0,
                    "budget ledger queue full: a settlement is kept in memory only"
                );
            }
        }
    }

    /// Adds the cost of calls that arrived as telemetry to the budgets that count them.
    async fn spend_telemetry(
        &self,
        project: ProjectId,
        calls: Vec<ModelCall>,
    ) -> Result<(), StoreError> {
        let defs = self.definitions(project).await?;
        let now = self.clock.now_ns();
        for call in calls {
            let Some(cost) = call.cost_nano_usd.filter(|c| *c > 0) else {
                continue;
            };
            let tags = CallTags {
                tenant: call.tenant_id.as_deref(),
                user: call.user_id.as_deref(),
                key: None,
                properties: &[],
            };
            let mut changes = Vec::new();
            let mut events = Vec::new();
            for b in defs
                .iter()
                .filter(|b| b.include_otlp && b.scope.matches(&tags))
            {
                let key = self.load(project, b, now).await?;
                if let Ok(mut books) = self.books.lock() {
                    if let Some(book) = books.get_mut(&key) {
                        book.spent = book.spent.saturating_add(cost);
                        changes.push(LedgerChange::Spend {
                            budget_id: key.1.clone(),
                            window_start_ns: key.2,
                            amount: cost,
                        });
                        events.extend(notifications(&key, book, now));
                    }
                }
            }
            self.queue(project, changes, events);
        }
        Ok(())
    }

    /// Every budget of `project` with its current window's numbers.
    pub async fn status(&self, project: ProjectId) -> Result<Vec<BudgetStatus>, StoreError> {
        let defs = self.definitions(project).await?;
        let now = self.clock.now_ns();
        let mut out = Vec::new();
        for b in defs.iter() {
            let key = self.load(project, b, now).await?;
            let (start, end) = b.window.bounds(now);
            let ledger = self
                .books
                .lock()
                .ok()
                .and_then(|books| books.get(&key).map(Book::ledger))
                .unwrap_or_default();
            out.push(BudgetStatus {
                budget: b.clone(),
                window_start_ns: start,
                window_end_ns: end,
                spent: ledger.spent,
                reserved: ledger.reserved,
            });
        }
        Ok(out)
    }

    /// Settles reservations past their expiry at their full amount, re-reads the other nodes'
    /// spend and reservations, and forgets windows long over.
    async fn maintain(&self) {
        let now = self.clock.now_ns();
        let keys: Vec<BookKey> = self
            .books
            .lock()
            .map(|b| b.keys().cloned().collect())
            .unwrap_or_default();
        for key in keys {
            let (project, budget, start) = key.clone();
            let fresh = self.store.ledger(project, &budget, start).await;
            let mut changes = Vec::new();
            let mut events = Vec::new();
            if let Ok(mut books) = self.books.lock() {
                let Some(book) = books.get_mut(&key) else {
                    continue;
                };
                if book.window_end < now - 3_600_000_000_000 && book.own.is_empty() {
                    books.remove(&key);
                    continue;
                }
                if let Ok(state) = &fresh {
                    book.spent = book.spent.max(state.spent);
                    book.others = self.foreign(state);
                }
                let expired: Vec<(String, Held)> = book
                    .own
                    .iter()
                    .chain(book.others.iter())
                    .filter(|(_, h)| h.expires_ns <= now)
                    .map(|(id, h)| (id.clone(), *h))
                    .collect();
                for (id, held) in expired {
                    book.own.remove(&id);
                    book.others.remove(&id);
                    book.spent = book.spent.saturating_add(held.amount);
                    tracing::warn!(project = project.0, budget = %budget, reservation = %id,
                        "a reservation expired unsettled; counted at its full amount");
                    changes.push(LedgerChange::Release {
                        budget_id: budget.clone(),
                        window_start_ns: start,
                        reservation_id: id,
                        amount: held.amount,
                    });
                    changes.push(LedgerChange::Spend {
                        budget_id: budget.clone(),
                        window_start_ns: start,
                        amount: held.amount,
                    });
                }
                events.extend(notifications(&key, book, now));
            }
            self.queue(project, changes, events);
        }
    }

    /// The background work: persisting settlements and notifications, counting telemetry
    /// spend, and maintenance. Runs under the app's supervisor until `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let writes = self.writes_rx.lock().ok().and_then(|mut r| r.take());
        let otlp = self.otlp_rx.lock().ok().and_then(|mut r| r.take());
        let (Some(mut writes), Some(mut otlp)) = (writes, otlp) else {
            return;
        };
        let mut tick = tokio::time::interval(MAINTENANCE_EVERY);
        loop {
            tokio::select! {
                Some(first) = writes.recv() => self.persist_from(first, &mut writes).await,
                Some((project, calls)) = otlp.recv() => {
                    if let Err(e) = self.spend_telemetry(project, calls).await {
                        tracing::warn!(project = project.0, error = %e, "telemetry spend not counted in budgets");
                    }
                }
                _ = tick.tick() => self.maintain().await,
                _ = stop.changed() => break,
            }
        }
        // Settlements of calls still finishing at shutdown are stored too, until none come
        // for a moment.
        while let Ok(Some(first)) =
            tokio::time::timeout(super::record::DRAIN_IDLE, writes.recv()).await
        {
            self.persist_from(first, &mut writes).await;
        }
    }

    async fn persist_from(&self, first: Write, writes: &mut mpsc::Receiver<Write>) {
        let mut batch = vec![first];
        while batch.len() < 1024 {
            match writes.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        self.persist(batch).await;
    }

    async fn persist(&self, batch: Vec<Write>) {
        let now = self.clock.now_ns();
        let mut by_project: HashMap<ProjectId, Vec<LedgerChange>> = HashMap::new();
        let mut events = Vec::new();
        for w in batch {
            match w {
                Write::Ledger(p, changes) => by_project.entry(p).or_default().extend(changes),
                Write::Event(p, e) => events.push((p, e)),
            }
        }
        for (project, changes) in by_project {
            if let Err(e) = self.store.record_ledger(project, &changes, now).await {
                tracing::error!(project = project.0, error = %e, "cannot store budget settlements");
            }
        }
        for (project, event) in events {
            if let Err(e) = self.store.add_budget_event(project, &event).await {
                tracing::error!(project = project.0, error = %e, "cannot store a budget notification");
            }
        }
    }

    /// Waits until every queued write is stored (tests).
    #[cfg(test)]
    async fn flush(&self) {
        let mut rx = self.writes_rx.lock().ok().and_then(|mut r| r.take());
        if let Some(rx) = rx.as_mut() {
            let mut batch = Vec::new();
            while let Ok(w) = rx.try_recv() {
                batch.push(w);
            }
            self.persist(batch).await;
        }
        if let Ok(mut slot) = self.writes_rx.lock() {
            *slot = rx;
        }
    }
}

/// The notifications `book` owes now, marked as sent.
fn notifications(key: &BookKey, book: &mut Book, now: i64) -> Vec<BudgetEvent> {
    let pcts = newly_reached(book.limit, book.spent, book.notified);
    pcts.into_iter()
        .map(|pct| {
            book.notified |= threshold_bit(pct);
            tracing::info!(project = key.0 .0, budget = %key.1, threshold = pct, "budget threshold reached");
            BudgetEvent {
                budget_id: key.1.clone(),
                scope: book.scope.clone(),
                window_start_ns: key.2,
                threshold_pct: pct,
                spent_nano_usd: book.spent,
                limit_nano_usd: book.limit,
                at_ns: now,
            }
        })
        .collect()
}

/// Told of every committed ingest request: telemetry calls go to the budgets' queue.
pub struct TelemetrySpend(pub Arc<Budgets>);

impl CommitListener for TelemetrySpend {
    fn committed(&self, commit: &Commit<'_>) {
        let calls: Vec<ModelCall> = commit
            .calls
            .iter()
            .filter(|c| !c.via_gateway && c.cost_nano_usd.is_some_and(|n| n > 0))
            .cloned()
            .collect();
        if calls.is_empty() {
            return;
        }
        if self.0.otlp.try_send((commit.project, calls)).is_err() {
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
#[path = "budgets_tests.rs"]
mod tests;
