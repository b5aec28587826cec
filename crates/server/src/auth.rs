//! Authentication: the project comes from the credential, never from a header or parameter.
//! Keys are a public/secret pair; only the SHA-256 of the secret is stored.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};
use sightline_core::ProjectId;
use sightline_store::{KeyStore, StoredKey, DEFAULT_PROJECT};

use crate::error::{ApiError, ErrorCode};

/// What the caller presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    None,
    /// `Authorization: Bearer <secret>`.
    Bearer(String),
    /// `Authorization: Basic base64(public:secret)`, what the Langfuse SDK sends.
    Basic {
        public: String,
        secret: String,
    },
}

/// Parses an `Authorization` header value.
pub fn parse_authorization(header: Option<&str>) -> Result<Credential, ApiError> {
    let Some(h) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return Ok(Credential::None);
    };
    let bad = |why: &str| {
        ApiError::new(
            ErrorCode::Unauthenticated,
            format!("Authorization header: {why}; send `Bearer <secret key>` or `Basic base64(<public key>:<secret key>)`"),
        )
    };
    let (scheme, rest) = h.split_once(' ').ok_or_else(|| bad("missing scheme"))?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        if rest.is_empty() {
            return Err(bad("empty bearer token"));
        }
        return Ok(Credential::Bearer(rest.to_owned()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .map_err(|_| bad("Basic credentials are not valid base64"))?;
        let text =
            String::from_utf8(decoded).map_err(|_| bad("Basic credentials are not UTF-8"))?;
        let (public, secret) = text
            .split_once(':')
            .ok_or_else(|| bad("Basic credentials need public:secret"))?;
        return Ok(Credential::Basic {
            public: public.to_owned(),
            secret: secret.to_owned(),
        });
    }
    Err(bad(&format!("unsupported scheme {scheme:?}")))
}

/// SHA-256 of a secret, hex-encoded: the only form of it that is stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A newly made key pair. The secret is shown once and never stored.
pub struct NewKey {
    pub public_key: String,
    pub secret_key: String,
    pub project_name: String,
    pub project: ProjectId,
}

fn random_token(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let body: String = (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{body}")
}

/// Makes a key pair for `project_name` (creating the project if needed) and stores its hash.
pub async fn create_key(
    keys: &dyn KeyStore,
    project_name: &str,
    now_ns: i64,
) -> Result<NewKey, ApiError> {
    let name = project_name.trim();
    if name.is_empty()
        || name.len() > 100
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(ApiError::new(
            ErrorCode::InvalidArgument,
            format!("project name {project_name:?} is not valid: use 1-100 characters of letters, digits, '-', '_' or '.'"),
        ));
    }
    let public_key = random_token("pk-sl-", 24);
    let secret_key = random_token("sk-sl-", 40);
    let stored = keys
        .insert_key(name, &public_key, &hash_secret(&secret_key), now_ns)
        .await?;
    Ok(NewKey {
        public_key,
        secret_key,
        project_name: stored.project_name,
        project: stored.project,
    })
}

/// Turns credentials into a project, with a small cache of known keys.
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

    pub async fn authenticate(&self, credential: &Credential) -> Result<ProjectId, ApiError> {
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
                        return self
                            .keys
                            .ensure_project(DEFAULT_PROJECT, 0)
                            .await
                            .map_err(ApiError::from);
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
                Ok(key.project)
            }
            Credential::Basic { public, secret } => {
                let hash = hash_secret(secret);
                let key = self.lookup_by_hash(&hash).await?.ok_or_else(invalid)?;
                if !constant_time_eq(key.public_key.as_bytes(), public.as_bytes()) {
                    return Err(invalid());
                }
                Ok(key.project)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_and_basic() {
        assert_eq!(parse_authorization(None).unwrap(), Credential::None);
        assert_eq!(
            parse_authorization(Some("Bearer sk-1")).unwrap(),
            Credential::Bearer("sk-1".into())
        );
        let basic = base64::engine::general_purpose::STANDARD.encode("pk-1:sk-1");
        assert_eq!(
            parse_authorization(Some(&format!("Basic {basic}"))).unwrap(),
            Credential::Basic {
                public: "pk-1".into(),
                secret: "sk-1".into()
            }
        );
        let err = parse_authorization(Some("Token abc")).unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthenticated);
        assert!(err.message.contains("Bearer"));
        assert!(parse_authorization(Some("Basic !!!")).is_err());
    }

    #[test]
    fn secrets_hash_stably_and_compare_in_constant_time() {
        assert_eq!(hash_secret("s").len(), 64);
        assert_eq!(hash_secret("s"), hash_secret("s"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
