//! Where "now" comes from: the system clock in production, a manual one in tests, so that
//! retention, rate limits, budgets and alerting are tested with set time instead of sleeps.

use std::sync::atomic::{AtomicI64, Ordering};

/// A source of the current time, in UTC nanoseconds.
pub trait Clock: Send + Sync {
    fn now_ns(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ns(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that shows what it was set to, for tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    now_ns: AtomicI64,
}

impl ManualClock {
    pub fn new(now_ns: i64) -> Self {
        ManualClock {
            now_ns: AtomicI64::new(now_ns),
        }
    }

    pub fn set(&self, now_ns: i64) {
        self.now_ns.store(now_ns, Ordering::SeqCst);
    }

    pub fn advance(&self, by_ns: i64) {
        self.now_ns.fetch_add(by_ns, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> i64 {
        self.now_ns.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_shows_what_it_was_set_to() {
        let c = ManualClock::new(5);
        assert_eq!(c.now_ns(), 5);
        c.advance(10);
        assert_eq!(c.now_ns(), 15);
        c.set(1);
        assert_eq!(c.now_ns(), 1);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now_ns() > 1_704_067_200_000_000_000);
    }
}
