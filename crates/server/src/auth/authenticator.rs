//! Turns a request's credential into a [`Caller`], with a small cache of known keys. The project
//! comes from the credential, never from a header or a parameter.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sightline_store::{KeyStore, StoredKey, DEFAULT_PROJECT};

use super::caller::{Caller, Role};
use super::credential::{parse_authorization, Credential};
use super::keys::{constant_time_eq, hash_secret};
use crate::error::{ApiError, ErrorCode};

/// Turns credentials into callers.
pub struct Authenticator {
    keys: Arc<dyn KeyStore>,
    /// Whether unauthenticated callers may use project `default` while no key exists.
    anonymous_allowed: bool,
    /// Once a key exists, anonymous access ends for good (keys are never deleted yet).
    keys_seen: AtomicBool,
    by_secret_hash: Mutex<HashMap<String, StoredKey>>,
}

impl Authenticator {
    pub fn new(keys: Arc<dyn KeyStore>, anonymous_allowed: bool) -> Self {
        Authenticator {
            keys,
            anonymous_allowed,
            keys_seen: AtomicBool::new(false),
            by_secret_hash: Mutex::new(HashMap::new()),
        }
    }

    /// The caller presenting `authorization` (the header's value; `None` when absent). Every
    /// key has the admin role until keys carry roles of their own.
    pub async fn caller(&self, authorization: Option<&str>) -> Result<Caller, ApiError> {
        let credential = parse_authorization(authorization)?;
        self.authenticate(&credential).await
    }

    pub(super) async fn authenticate(&self, credential: &Credential) -> Result<Caller, ApiError> {
        let invalid = || {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "invalid API key: create one with `sightline keys create --project NAME`",
            )
        };
        match credential {
            Credential::None => {
                if !self.keys_seen.load(Ordering::Relaxed) && !self.keys.has_keys().await? {
                    if self.anonymous_allowed {
                        let project = self.keys.ensure_project(DEFAULT_PROJECT, 0).await?;
                        return Ok(Caller::new(project, None, Role::Admin));
                    }
                    return Err(ApiError::new(
                        ErrorCode::Unauthenticated,
                        "authentication required: create a key with `sightline keys create --project NAME` and send `Authorization: Bearer <secret key>`",
                    ));
                }
                self.keys_seen.store(true, Ordering::Relaxed);
                Err(ApiError::new(
                    ErrorCode::Unauthenticated,
                    "missing Authorization header: send `Bearer <secret key>` or `Basic base64(<public key>:<secret key>)`",
                ))
            }
            Credential::Bearer(secret) => {
                let hash = hash_secret(secret);
                let key = self.lookup_by_hash(&hash).await?.ok_or_else(invalid)?;
                Ok(Caller::new(key.project, Some(key.public_key), Role::Admin))
            }
            Credential::Basic { public, secret } => {
                let hash = hash_secret(secret);
                let key = self.lookup_by_hash(&hash).await?.ok_or_else(invalid)?;
                if !constant_time_eq(key.public_key.as_bytes(), public.as_bytes()) {
                    return Err(invalid());
                }
                Ok(Caller::new(key.project, Some(key.public_key), Role::Admin))
            }
        }
    }

    async fn lookup_by_hash(&self, hash: &str) -> Result<Option<StoredKey>, ApiError> {
        if let Some(k) = self
            .by_secret_hash
            .lock()
            .ok()
            .and_then(|c| c.get(hash).cloned())
        {
            return Ok(Some(k));
        }
        let found = self.keys.key_by_secret_hash(hash).await?;
        if let Some(k) = &found {
            self.keys_seen.store(true, Ordering::Relaxed);
            if let Ok(mut cache) = self.by_secret_hash.lock() {
                if cache.len() > 10_000 {
                    cache.clear();
                }
                cache.insert(hash.to_owned(), k.clone());
            }
        }
        Ok(found)
    }
}
