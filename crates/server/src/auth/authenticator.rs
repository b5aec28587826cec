//! Turns a request's credential into a [`Caller`], with a small cache of known keys, and manages
//! keys for admin callers. The project comes from the credential, never from a header or a
//! parameter; the role comes from the key.
//!
//! Revocation and the cache: a cached key is used for at most [`KEY_CACHE_TTL`], then read
//! again from the store, so a key revoked anywhere (another node sharing ClickHouse, or
//! `sightline keys revoke` on the data directory) is refused within that time. A key revoked
//! through this authenticator (the API) leaves its cache at once. When the store cannot be
//! read, a key already cached keeps working rather than failing every request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sightline_store::{KeyStore, StoredKey, DEFAULT_PROJECT};
use tokio::time::Instant;

use super::caller::{Caller, Role};
use super::credential::{parse_authorization, Credential};
use super::keys::{constant_time_eq, create_key, hash_secret, revoke_key, NewKey};
use super::session::Sessions;
use crate::error::{ApiError, ErrorCode};

/// How long a cached key is trusted before it is read again: the bound on how late a
/// revocation made elsewhere is noticed.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(2);

/// Most keys held in the cache; past it the cache starts over.
const MAX_CACHED: usize = 10_000;

struct Cached {
    key: StoredKey,
    read_at: Instant,
}

/// Turns credentials into callers.
pub struct Authenticator {
    keys: Arc<dyn KeyStore>,
    /// Whether unauthenticated callers may use project `default` while no key exists.
    anonymous_allowed: bool,
    /// Once a key exists, anonymous access ends for good (revoking every key does not bring it
    /// back).
    keys_seen: AtomicBool,
    by_secret_hash: Mutex<HashMap<String, Cached>>,
    ttl: Duration,
    /// Dashboard logins (the session cookie); without them the cookie is ignored.
    sessions: Option<Sessions>,
}

impl Authenticator {
    pub fn new(keys: Arc<dyn KeyStore>, anonymous_allowed: bool) -> Self {
        Authenticator {
            keys,
            anonymous_allowed,
            keys_seen: AtomicBool::new(false),
            by_secret_hash: Mutex::new(HashMap::new()),
            ttl: KEY_CACHE_TTL,
            sessions: None,
        }
    }

    /// The same with cached keys trusted for `ttl` (tests).
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Accepts dashboard session cookies made by `sessions`.
    pub fn with_sessions(mut self, sessions: Sessions) -> Self {
        self.sessions = Some(sessions);
        self
    }

    pub(super) fn sessions(&self) -> Option<&Sessions> {
        self.sessions.as_ref()
    }

    /// The key whose public half is `public_key` (a login's key: it must still exist).
    pub(super) async fn key_by_public(
        &self,
        public_key: &str,
    ) -> Result<Option<StoredKey>, ApiError> {
        Ok(self.keys.key_by_public(public_key).await?)
    }

    /// The caller presenting `authorization` (the header's value; `None` when absent).
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
        let key = match credential {
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
                return Err(ApiError::new(
                    ErrorCode::Unauthenticated,
                    "missing Authorization header: send `Bearer <secret key>` or `Basic base64(<public key>:<secret key>)`",
                ));
            }
            Credential::Bearer(secret) => self
                .lookup_by_hash(&hash_secret(secret))
                .await?
                .ok_or_else(invalid)?,
            Credential::Basic { public, secret } => {
                let key = self
                    .lookup_by_hash(&hash_secret(secret))
                    .await?
                    .ok_or_else(invalid)?;
                if !constant_time_eq(key.public_key.as_bytes(), public.as_bytes()) {
                    return Err(invalid());
                }
                key
            }
        };
        key_caller(key)
    }

    /// The key with this secret hash: from the cache while it is fresh, else from the store.
    /// Revoked keys are returned (so the caller can be told) but never cached.
    async fn lookup_by_hash(&self, hash: &str) -> Result<Option<StoredKey>, ApiError> {
        let cached = self
            .by_secret_hash
            .lock()
            .ok()
            .and_then(|c| c.get(hash).map(|e| (e.key.clone(), e.read_at)));
        if let Some((key, read_at)) = &cached {
            if read_at.elapsed() < self.ttl {
                return Ok(Some(key.clone()));
            }
        }
        let found = match self.keys.key_by_secret_hash(hash).await {
            Ok(found) => found,
            Err(e) => match cached {
                Some((key, _)) => {
                    tracing::warn!(error = %e, "cannot re-read an API key; using the cached one");
                    return Ok(Some(key));
                }
                None => return Err(e.into()),
            },
        };
        if found.is_some() {
            self.keys_seen.store(true, Ordering::Relaxed);
        }
        if let Ok(mut cache) = self.by_secret_hash.lock() {
            match &found {
                Some(k) if k.revoked_ns.is_none() => {
                    if cache.len() >= MAX_CACHED {
                        cache.clear();
                    }
                    let entry = Cached {
                        key: k.clone(),
                        read_at: Instant::now(),
                    };
                    cache.insert(hash.to_owned(), entry);
                }
                _ => {
                    cache.remove(hash);
                }
            }
        }
        Ok(found)
    }

    /// Managing keys needs an admin key (anonymous access to the default project does not
    /// count): the project is the key's.
    fn admin_key<'c>(&self, caller: &'c Caller) -> Result<&'c str, ApiError> {
        caller.require(Role::Admin)?;
        caller.key_id().ok_or_else(|| {
            ApiError::new(
                ErrorCode::Forbidden,
                "managing keys needs an admin key; make the first one on the server's machine \
                 with `sightline keys create --project NAME --data-dir DIR`",
            )
        })
    }

    /// A new key with `role` in the caller's project.
    pub async fn create_key(
        &self,
        caller: &Caller,
        role: Role,
        now_ns: i64,
    ) -> Result<NewKey, ApiError> {
        let own = self.admin_key(caller)?;
        let project = self
            .keys
            .key_by_public(own)
            .await?
            .filter(|k| k.project == caller.project())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthenticated,
                    "the key used is no longer stored",
                )
            })?
            .project_name;
        create_key(self.keys.as_ref(), &project, role, now_ns).await
    }

    /// The keys of the caller's project, revoked ones included.
    pub async fn list_keys(&self, caller: &Caller) -> Result<Vec<StoredKey>, ApiError> {
        self.admin_key(caller)?;
        Ok(self.keys.list_keys(Some(caller.project())).await?)
    }

    /// Revokes the caller's project's key that is or starts with `which`; from now on this
    /// node refuses it (other nodes within [`KEY_CACHE_TTL`]).
    pub async fn revoke_key(
        &self,
        caller: &Caller,
        which: &str,
        now_ns: i64,
    ) -> Result<StoredKey, ApiError> {
        self.admin_key(caller)?;
        let revoked = revoke_key(self.keys.as_ref(), Some(caller.project()), which, now_ns).await?;
        if let Ok(mut cache) = self.by_secret_hash.lock() {
            cache.retain(|_, e| e.key.public_key != revoked.public_key);
        }
        Ok(revoked)
    }
}

/// The caller a stored key makes: refused when revoked; its role from the key (a role this
/// version does not know gets the least rights). Keys and dashboard logins both end here.
pub(super) fn key_caller(key: StoredKey) -> Result<Caller, ApiError> {
    if key.revoked_ns.is_some() {
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "this API key was revoked: use another key of the project, or have an admin make one (`sightline keys create`)",
        ));
    }
    let role = Role::parse(&key.role).unwrap_or(Role::Viewer);
    Ok(Caller::new(key.project, Some(key.public_key), role))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sightline_store::sqlite::{SqliteConfig, SqliteStore};

    fn store(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
        let config = SqliteConfig {
            data_dir: dir.path().to_path_buf(),
            max_queued: 10,
            limits: Default::default(),
        };
        Arc::new(SqliteStore::open(&config).unwrap())
    }

    fn bearer(key: &NewKey) -> String {
        format!("Bearer {}", key.secret_key)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_role_comes_from_the_key_and_revocation_through_it_is_immediate() {
        let dir = tempfile::tempdir().unwrap();
        let db = store(&dir);
        // Trusted for an hour: only the authenticator's own revocation can end it in time.
        let auth = Authenticator::new(db.clone(), true).with_cache_ttl(Duration::from_secs(3600));
        let admin = create_key(db.as_ref(), "team", Role::Admin, 1)
            .await
            .unwrap();
        let admin_caller = auth.caller(Some(&bearer(&admin))).await.unwrap();
        assert_eq!(admin_caller.role(), Role::Admin);
        let viewer = auth
            .create_key(&admin_caller, Role::Viewer, 2)
            .await
            .unwrap();
        assert_eq!(viewer.project_name, "team");
        let viewer_caller = auth.caller(Some(&bearer(&viewer))).await.unwrap();
        assert_eq!(viewer_caller.role(), Role::Viewer);
        assert_eq!(viewer_caller.project(), admin_caller.project());
        let denied = auth.list_keys(&viewer_caller).await.unwrap_err();
        assert_eq!(denied.code, ErrorCode::Forbidden);

        let prefix = super::super::keys::key_prefix(&viewer.public_key);
        let revoked = auth.revoke_key(&admin_caller, prefix, 3).await.unwrap();
        assert_eq!(revoked.revoked_ns, Some(3));
        let refused = auth.caller(Some(&bearer(&viewer))).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::Unauthenticated);
        assert!(refused.message.contains("revoked"), "{}", refused.message);
        let again = auth.revoke_key(&admin_caller, prefix, 4).await.unwrap_err();
        assert_eq!(again.code, ErrorCode::Conflict);
        let listed = auth.list_keys(&admin_caller).await.unwrap();
        assert_eq!(listed.len(), 2);
        // The admin key was cached before and is still good.
        assert!(auth.caller(Some(&bearer(&admin))).await.is_ok());
    }

    #[test]
    fn the_docs_state_the_revocation_bound() {
        let bound = format!("within {} seconds", KEY_CACHE_TTL.as_secs());
        let docs = [
            ("README.md", include_str!("../../../../README.md")),
            ("docs/api.md", include_str!("../../../../docs/api.md")),
            (
                "docs/clickhouse.md",
                include_str!("../../../../docs/clickhouse.md"),
            ),
        ];
        for (name, text) in docs {
            assert!(text.contains(&bound), "{name} should say {bound:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_revocation_made_elsewhere_is_seen_when_the_cache_expires() {
        let dir = tempfile::tempdir().unwrap();
        let db = store(&dir);
        let key = create_key(db.as_ref(), "team", Role::Member, 1)
            .await
            .unwrap();
        let cached = Authenticator::new(db.clone(), true).with_cache_ttl(Duration::from_secs(3600));
        let fresh = Authenticator::new(db.clone(), true).with_cache_ttl(Duration::ZERO);
        for auth in [&cached, &fresh] {
            assert_eq!(
                auth.caller(Some(&bearer(&key))).await.unwrap().role(),
                Role::Member
            );
        }
        // Another process (the CLI on the data directory, another node) revokes it.
        db.revoke_key(&key.public_key, 5).await.unwrap();
        assert!(fresh.caller(Some(&bearer(&key))).await.is_err());
        assert!(
            cached.caller(Some(&bearer(&key))).await.is_ok(),
            "within the cache time the old answer stands"
        );
        // Anonymous callers cannot manage keys, even as the default project's admin.
        let anonymous = Caller::new(sightline_core::ProjectId(1), None, Role::Admin);
        assert_eq!(
            fresh.list_keys(&anonymous).await.unwrap_err().code,
            ErrorCode::Forbidden
        );
    }
}
