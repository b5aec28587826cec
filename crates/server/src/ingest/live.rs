//! The live bus: after each committed write the ingest service announces "new data in project
//! P"; live-stream connections wake on it and pull from the store's change feed. Publishing
//! never waits: a receiver that falls behind only misses wake-ups (its fallback poll covers
//! them), so a slow stream cannot slow ingest.

use sightline_core::ProjectId;
use tokio::sync::broadcast;

/// Wake-ups kept for a receiver that has not looked yet; beyond that it sees "lagged".
const CAPACITY: usize = 1024;

#[derive(Clone)]
pub struct LiveBus {
    tx: broadcast::Sender<ProjectId>,
}

impl Default for LiveBus {
    fn default() -> Self {
        LiveBus {
            tx: broadcast::channel(CAPACITY).0,
        }
    }
}

impl LiveBus {
    /// Announces committed data in `project`; returns at once, listeners or not.
    pub fn publish(&self, project: ProjectId) {
        let _ = self.tx.send(project);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ProjectId> {
        self.tx.subscribe()
    }
}
