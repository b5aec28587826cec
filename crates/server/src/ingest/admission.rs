//! Admission control for ingest: a budget of bytes being decoded at once. When it is spent,
//! requests are refused at once with a retryable answer instead of queueing in memory.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, ErrorCode};

/// Decoded telemetry takes several times its wire size in memory.
const EXPANSION: usize = 4;
const UNIT: usize = 1024;

#[derive(Clone)]
pub struct Admission {
    budget: Arc<Semaphore>,
    units: usize,
}

/// Held while a request's body is in memory; dropping it returns the budget.
pub struct Ticket {
    _permits: Vec<OwnedSemaphorePermit>,
}

impl Admission {
    pub fn new(max_inflight_bytes: usize) -> Self {
        let units = (max_inflight_bytes / UNIT).clamp(1, Semaphore::MAX_PERMITS);
        Admission {
            budget: Arc::new(Semaphore::new(units)),
            units,
        }
    }

    /// Reserves room for a body of `bytes` (wire size), or refuses with 503/UNAVAILABLE.
    pub fn admit(&self, bytes: usize) -> Result<Ticket, ApiError> {
        let mut ticket = Ticket {
            _permits: Vec::new(),
        };
        self.grow(&mut ticket, bytes)?;
        Ok(ticket)
    }

    /// Reserves room for `more` bytes on top of an existing ticket (e.g. after decompression).
    pub fn grow(&self, ticket: &mut Ticket, more: usize) -> Result<(), ApiError> {
        let wanted = (more.saturating_mul(EXPANSION) / UNIT)
            .max(1)
            .min(self.units);
        let permit = self
            .budget
            .clone()
            .try_acquire_many_owned(wanted as u32)
            .map_err(|_| {
                ApiError::new(
                    ErrorCode::Overloaded,
                    "the server is busy decoding other requests; retry after a short delay",
                )
            })?;
        ticket._permits.push(permit);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_when_the_budget_is_spent_and_recovers_after() {
        let a = Admission::new(1 << 20);
        let t1 = a.admit(200 << 10).unwrap();
        let err = a.admit(100 << 10).err().unwrap();
        assert_eq!(err.code, ErrorCode::Overloaded);
        drop(t1);
        assert!(a.admit(100 << 10).is_ok());
    }
}
