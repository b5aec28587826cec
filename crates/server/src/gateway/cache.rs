//! The response cache: exact match on a SHA-256 of the project, the cache seed, the gateway
//! path and the request body in canonical JSON (so key order and spacing do not matter), with
//! up to N responses per key (a bucket fills before it answers; a hit is one of its responses
//! at random). Entries live until their `max-age`; a streamed response is kept as its event
//! stream and replayed as one.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use sightline_core::ProjectId;
use sightline_store::{CacheStore, CachedResponse, StoreError};

/// Default time a response stays cached, and the longest allowed (Helicone's figures).
pub const DEFAULT_TTL_SECS: u64 = 7 * 86_400;
pub const MAX_TTL_SECS: u64 = 365 * 86_400;
/// Responses larger than this are not cached.
pub const MAX_ENTRY_BYTES: usize = 4 << 20;

/// The cache key of a request: hex SHA-256 over its parts, each length-prefixed.
pub fn cache_key(project: ProjectId, seed: &str, path: &str, canonical_body: &str) -> String {
    let mut h = Sha256::new();
    for part in [project.0.to_string().as_str(), seed, path, canonical_body] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    Hit(Box<CachedResponse>),
    /// Not cached (or the bucket is not full): the response goes in `slot`.
    Miss {
        slot: u32,
    },
}

pub struct ResponseCache {
    store: Arc<dyn CacheStore>,
}

impl ResponseCache {
    pub fn new(store: Arc<dyn CacheStore>) -> Self {
        ResponseCache { store }
    }

    pub async fn lookup(
        &self,
        project: ProjectId,
        key: &str,
        bucket: u32,
        now_ns: i64,
    ) -> Result<Lookup, StoreError> {
        let mut entries = self.store.cached(project, key, now_ns).await?;
        if entries.len() >= bucket.max(1) as usize {
            let i = rand::random_range(0..entries.len());
            return Ok(Lookup::Hit(Box::new(entries.swap_remove(i))));
        }
        let slot = (0..bucket.max(1))
            .find(|s| entries.iter().all(|e| e.slot != *s))
            .unwrap_or(0);
        Ok(Lookup::Miss { slot })
    }

    pub async fn put(&self, project: ProjectId, entry: &CachedResponse) -> Result<(), StoreError> {
        if entry.body.len() > MAX_ENTRY_BYTES {
            return Ok(());
        }
        self.store.put_cached(project, entry).await
    }

    pub async fn purge(&self, now_ns: i64) -> Result<u64, StoreError> {
        self.store.purge_cache(now_ns).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_every_part() {
        let base = cache_key(
            ProjectId(1),
            "",
            "/gateway/openai/v1/chat/completions",
            "{}",
        );
        assert_eq!(base.len(), 64);
        for other in [
            cache_key(
                ProjectId(2),
                "",
                "/gateway/openai/v1/chat/completions",
                "{}",
            ),
            cache_key(
                ProjectId(1),
                "s",
                "/gateway/openai/v1/chat/completions",
                "{}",
            ),
            cache_key(ProjectId(1), "", "/gateway/other/v1/chat/completions", "{}"),
            cache_key(
                ProjectId(1),
                "",
                "/gateway/openai/v1/chat/completions",
                "{\"a\":1}",
            ),
            // Parts are length-prefixed: moving text between parts changes the key.
            cache_key(
                ProjectId(1),
                "/",
                "gateway/openai/v1/chat/completions",
                "{}",
            ),
        ] {
            assert_ne!(base, other);
        }
        assert_eq!(
            base,
            cache_key(
                ProjectId(1),
                "",
                "/gateway/openai/v1/chat/completions",
                "{}"
            )
        );
    }
}
