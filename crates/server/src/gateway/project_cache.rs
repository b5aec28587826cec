//! A value per project, read from the store and kept for a few seconds: how the gateway holds
//! budgets, rate-limit rules and provider keys on its hot path. A change made through this node
//! is seen at once (it drops the entry); one made through another node within the age.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sightline_core::ProjectId;

type Entries<T> = HashMap<ProjectId, (Instant, Arc<T>)>;

pub struct ProjectCache<T> {
    max_age: Duration,
    entries: RwLock<Entries<T>>,
}

impl<T> ProjectCache<T> {
    pub fn new(max_age: Duration) -> Self {
        ProjectCache {
            max_age,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The project's value: cached when fresh, else `load`ed and kept.
    pub async fn get<E, F>(&self, project: ProjectId, load: impl FnOnce() -> F) -> Result<Arc<T>, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let cached = self
            .entries
            .read()
            .ok()
            .and_then(|e| e.get(&project).cloned());
        if let Some((at, value)) = cached {
            if at.elapsed() < self.max_age {
                return Ok(value);
            }
        }
        let value = Arc::new(load().await?);
        if let Ok(mut e) = self.entries.write() {
            e.insert(project, (Instant::now(), value.clone()));
        }
        Ok(value)
    }

    pub fn invalidate(&self, project: ProjectId) {
        if let Ok(mut e) = self.entries.write() {
            e.remove(&project);
        }
    }
}
