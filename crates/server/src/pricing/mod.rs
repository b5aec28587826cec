//! Per-project prices: the bundled table with the project's overrides in front (from the config
//! file, held in memory, and from the store, set through the API), cached per project for the
//! ingest path. A node drops its cached entry when it changes a project's overrides, and reloads
//! any entry older than [`MAX_AGE`], so changes made through other nodes are seen within it.

pub mod overrides;
pub mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sightline_core::cost::{PriceEntry, PriceRegistry};
use sightline_core::ProjectId;
use sightline_store::{PriceOverride, PriceStore, StoreError};
use tokio::time::Instant;

pub use overrides::{check, entry_of as entry_of_stored, Checked, FieldError, OverrideFields};
pub use tokens::TiktokenCounter;

/// How long a cached project registry is used before the store is read again.
pub const MAX_AGE: Duration = Duration::from_secs(10);

/// The registry of a project: `bundled` with `config` overrides, then `stored` ones, in front.
/// For the same provider, name and day a stored override wins over a config one.
pub fn registry_for(
    bundled: &PriceRegistry,
    config: &[PriceEntry],
    stored: &[PriceOverride],
) -> PriceRegistry {
    let mut entries: Vec<PriceEntry> = config.to_vec();
    entries.extend(stored.iter().filter_map(overrides::entry_of));
    bundled.clone().with_overrides(entries)
}

struct Cached {
    loaded: Instant,
    registry: Arc<PriceRegistry>,
}

/// Prices per project, cached.
pub struct PriceBook {
    bundled: PriceRegistry,
    store: Arc<dyn PriceStore>,
    /// `[[price_overrides]]` of the config file, by project.
    config: HashMap<ProjectId, Vec<PriceEntry>>,
    cache: RwLock<HashMap<ProjectId, Cached>>,
}

impl PriceBook {
    pub fn new(
        bundled: PriceRegistry,
        store: Arc<dyn PriceStore>,
        config: HashMap<ProjectId, Vec<PriceEntry>>,
    ) -> Self {
        PriceBook {
            bundled,
            store,
            config,
            cache: RwLock::new(HashMap::new()),
        }
    }

    pub fn bundled(&self) -> &PriceRegistry {
        &self.bundled
    }

    /// The config file's overrides for `project`.
    pub fn config_overrides(&self, project: ProjectId) -> &[PriceEntry] {
        self.config.get(&project).map_or(&[], Vec::as_slice)
    }

    /// The registry that prices `project`'s calls: from the cache when fresh, else rebuilt from
    /// the store. If the store cannot be read, a stale entry (or the bundled table with the
    /// config overrides) is used and the error logged: ingest does not fail over prices.
    pub async fn registry(&self, project: ProjectId) -> Arc<PriceRegistry> {
        let stale = {
            let cache = self.cache.read().ok();
            match cache.as_ref().and_then(|c| c.get(&project)) {
                Some(c) if c.loaded.elapsed() < MAX_AGE => return c.registry.clone(),
                Some(c) => Some(c.registry.clone()),
                None => None,
            }
        };
        match self.store.price_overrides(project).await {
            Ok(stored) => {
                let registry = Arc::new(registry_for(
                    &self.bundled,
                    self.config_overrides(project),
                    &stored,
                ));
                if let Ok(mut cache) = self.cache.write() {
                    cache.insert(
                        project,
                        Cached {
                            loaded: Instant::now(),
                            registry: registry.clone(),
                        },
                    );
                }
                registry
            }
            Err(e) => {
                tracing::warn!(project = project.0, error = %e, "cannot read price overrides; using the last known prices");
                stale.unwrap_or_else(|| {
                    Arc::new(registry_for(
                        &self.bundled,
                        self.config_overrides(project),
                        &[],
                    ))
                })
            }
        }
    }

    /// The project's stored overrides, read now.
    pub async fn stored(&self, project: ProjectId) -> Result<Vec<PriceOverride>, StoreError> {
        self.store.price_overrides(project).await
    }

    /// Stores `entry` and drops the project's cached registry.
    pub async fn put(&self, project: ProjectId, entry: &PriceOverride) -> Result<(), StoreError> {
        let r = self.store.put_price_override(project, entry).await;
        self.invalidate(project);
        r
    }

    /// Deletes an override and drops the project's cached registry.
    pub async fn delete(
        &self,
        project: ProjectId,
        id: &str,
        now_ns: i64,
    ) -> Result<bool, StoreError> {
        let r = self.store.delete_price_override(project, id, now_ns).await;
        self.invalidate(project);
        r
    }

    fn invalidate(&self, project: ProjectId) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(&project);
        }
    }
}

#[cfg(test)]
mod tests;
