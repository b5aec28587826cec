//! What the store bounds besides its write queue: how long one read may run
//! ([`StoreLimits::read_timeout`]; SQLite interrupts the statement, ClickHouse kills the query),
//! and how much disk it may fill ([`DiskBudget`]). The disk is sampled by
//! [`DiskWatch::check_disk`], which the server calls on a timer; writes read the verdict from
//! one atomic ([`DiskGate`]), never from a syscall of their own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;
use std::time::Duration;

use async_trait::async_trait;

use crate::StoreError;

/// The store's bounds, for every engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLimits {
    /// Longest one read may run before it is stopped and answered `TimedOut`.
    pub read_timeout: Duration,
    pub disk: DiskBudget,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            read_timeout: Duration::from_secs(30),
            disk: DiskBudget::default(),
        }
    }
}

/// How much disk the store may take.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskBudget {
    /// Most bytes the store's data may take (`store.max_disk_bytes`); `None`: no cap.
    pub max_bytes: Option<u64>,
    /// Least free bytes left on the volume holding the data (`store.min_free_disk_bytes`).
    pub min_free_bytes: u64,
}

/// Share of the cap (or multiple of the free-space floor) from which the budget is approached.
const APPROACHING_SHARE: f64 = 0.9;

/// One sample of the store's disk use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Bytes the store's data takes (SQLite: the database's pages in use; ClickHouse: the
    /// active parts of its database).
    pub used_bytes: u64,
    /// Bytes free on the volume, when the engine can tell.
    pub free_bytes: Option<u64>,
}

/// Where the store stands against its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskState {
    Ok,
    /// Past 90% of the cap, or under twice the free-space floor: writes still go in.
    Approaching,
    /// At the cap or the floor: writes are refused until space is freed or the cap is raised.
    Full,
}

impl DiskState {
    pub fn as_str(self) -> &'static str {
        match self {
            DiskState::Ok => "ok",
            DiskState::Approaching => "approaching",
            DiskState::Full => "full",
        }
    }
}

/// A sample judged against the budget, with a sentence saying why when it is not `Ok`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskStatus {
    pub usage: DiskUsage,
    pub budget: DiskBudget,
    pub state: DiskState,
    pub reason: Option<String>,
}

/// `20 MiB`, `1.5 GiB`: sizes in messages.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else if value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Judges `usage` against `budget` (the cap first, then the floor).
pub fn assess(usage: DiskUsage, budget: DiskBudget) -> DiskStatus {
    let mut state = DiskState::Ok;
    let mut reason = None;
    let mut note = |s: DiskState, why: String| {
        if s as u8 > state as u8 {
            state = s;
            reason = Some(why);
        }
    };
    if let Some(cap) = budget.max_bytes {
        let used = human_bytes(usage.used_bytes);
        if usage.used_bytes >= cap {
            note(
                DiskState::Full,
                format!(
                    "the store holds {used}, its cap of {} (store.max_disk_bytes): free space with \
                     retention (retention.days, or `sightline retention apply`) or raise the cap",
                    human_bytes(cap)
                ),
            );
        } else if usage.used_bytes as f64 >= cap as f64 * APPROACHING_SHARE {
            note(
                DiskState::Approaching,
                format!(
                    "the store holds {used} of its {} cap (store.max_disk_bytes)",
                    human_bytes(cap)
                ),
            );
        }
    }
    if let Some(free) = usage.free_bytes {
        let floor = budget.min_free_bytes;
        if free <= floor {
            note(
                DiskState::Full,
                format!(
                    "{} is free on the store's volume, at its floor of {} (store.min_free_disk_bytes): \
                     free space on the volume or with retention, or lower the floor",
                    human_bytes(free),
                    human_bytes(floor)
                ),
            );
        } else if floor > 0 && (free as f64) < floor as f64 / APPROACHING_SHARE * 2.0 {
            note(
                DiskState::Approaching,
                format!(
                    "{} is free on the store's volume, near its floor of {} (store.min_free_disk_bytes)",
                    human_bytes(free),
                    human_bytes(floor)
                ),
            );
        }
    }
    DiskStatus {
        usage,
        budget,
        state,
        reason,
    }
}

/// The verdict writes read: set by each disk check, and by a write the disk refused.
#[derive(Default)]
pub(crate) struct DiskGate {
    full: AtomicBool,
    reason: RwLock<String>,
}

impl DiskGate {
    /// `Err(DiskFull)` while the budget is spent.
    pub fn check(&self) -> Result<(), StoreError> {
        if !self.full.load(Ordering::Relaxed) {
            return Ok(());
        }
        let reason = self.reason.read().map(|r| r.clone()).unwrap_or_default();
        Err(StoreError::DiskFull(reason))
    }

    /// Takes a check's verdict.
    pub fn set(&self, status: &DiskStatus) {
        match (&status.state, &status.reason) {
            (DiskState::Full, Some(reason)) => self.close(reason.clone()),
            _ => self.full.store(false, Ordering::Relaxed),
        }
    }

    /// Refuses writes until the next check says otherwise.
    pub fn close(&self, reason: String) {
        if let Ok(mut r) = self.reason.write() {
            *r = reason;
        }
        self.full.store(true, Ordering::Relaxed);
    }
}

/// Disk use against the budget: both engines sample it; writes are refused while it is spent.
#[async_trait]
pub trait DiskWatch: Send + Sync {
    /// Samples the disk, judges it against the budget and refuses or admits writes from now on.
    async fn check_disk(&self) -> Result<DiskStatus, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn usage(used: u64, free: Option<u64>) -> DiskUsage {
        DiskUsage {
            used_bytes: used,
            free_bytes: free,
        }
    }

    #[test]
    fn the_cap_and_the_floor_each_approach_then_fill() {
        let budget = DiskBudget {
            max_bytes: Some(100 * MIB),
            min_free_bytes: 10 * MIB,
        };
        let check = |used, free| assess(usage(used, free), budget);
        assert_eq!(check(50 * MIB, Some(1000 * MIB)).state, DiskState::Ok);
        assert_eq!(check(50 * MIB, None).state, DiskState::Ok);
        let near = check(95 * MIB, Some(1000 * MIB));
        assert_eq!(near.state, DiskState::Approaching);
        assert!(near.reason.unwrap().contains("max_disk_bytes"));
        let full = check(100 * MIB, Some(1000 * MIB));
        assert_eq!(full.state, DiskState::Full);
        let why = full.reason.unwrap();
        assert!(
            why.contains("100 MiB") && why.contains("store.max_disk_bytes"),
            "{why}"
        );
        assert_eq!(
            check(10 * MIB, Some(15 * MIB)).state,
            DiskState::Approaching
        );
        let floor = check(10 * MIB, Some(10 * MIB));
        assert_eq!(floor.state, DiskState::Full);
        assert!(floor.reason.unwrap().contains("min_free_disk_bytes"));
        let unbounded = DiskBudget::default();
        assert_eq!(
            assess(usage(u64::MAX / 2, Some(1)), unbounded).state,
            DiskState::Ok
        );
        assert_eq!(
            assess(usage(1, Some(0)), unbounded).state,
            DiskState::Full,
            "a volume with nothing free is full even without a floor"
        );
    }

    #[test]
    fn the_gate_refuses_with_the_reason_until_a_check_admits_again() {
        let gate = DiskGate::default();
        assert!(gate.check().is_ok());
        let budget = DiskBudget {
            max_bytes: Some(MIB),
            min_free_bytes: 0,
        };
        gate.set(&assess(usage(2 * MIB, None), budget));
        match gate.check() {
            Err(StoreError::DiskFull(why)) => assert!(why.contains("1 MiB"), "{why}"),
            other => panic!("{other:?}"),
        }
        gate.set(&assess(usage(MIB / 2, None), budget));
        assert!(gate.check().is_ok());
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(12), "12 bytes");
    }
}
