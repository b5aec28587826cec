//! API keys: a public/secret pair made here; only the SHA-256 of the secret is stored, and
//! secrets are compared in constant time. Keys are shown by their prefix, found again by any
//! unambiguous start of their public key, and revoked for good.

use rand::Rng;
use sha2::{Digest, Sha256};
use sightline_core::ProjectId;
use sightline_store::{KeyStore, StoredKey};

use super::caller::Role;
use crate::error::{ApiError, ErrorCode};

/// What every public key starts with.
const PUBLIC_PREFIX: &str = "pk-sl-";

/// How many characters of a public key lists show: `pk-sl-` and 8 of its 24 random ones.
pub const SHOWN_PREFIX_LEN: usize = PUBLIC_PREFIX.len() + 8;

/// The start of `public_key` that lists show instead of the whole key.
pub fn key_prefix(public_key: &str) -> &str {
    public_key.get(..SHOWN_PREFIX_LEN).unwrap_or(public_key)
}

/// SHA-256 of a secret, hex-encoded: the only form of it that is stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A newly made key pair. The secret is shown once and never stored.
pub struct NewKey {
    pub public_key: String,
    pub secret_key: String,
    pub project_name: String,
    pub project: ProjectId,
    pub role: Role,
    pub created_ns: i64,
}

fn random_token(prefix: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let body: String = (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{body}")
}

/// Makes a key pair with `role` for `project_name` (creating the project if needed) and
/// stores its hash.
pub async fn create_key(
    keys: &dyn KeyStore,
    project_name: &str,
    role: Role,
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
    let public_key = random_token(PUBLIC_PREFIX, 24);
    let secret_key = random_token("sk-sl-", 40);
    let stored = keys
        .insert_key(
            name,
            &public_key,
            &hash_secret(&secret_key),
            role.as_str(),
            now_ns,
        )
        .await?;
    Ok(NewKey {
        public_key,
        secret_key,
        project_name: stored.project_name,
        project: stored.project,
        role,
        created_ns: stored.created_ns,
    })
}

/// Revokes the key whose public key is or starts with `which`, among the keys of `project`
/// (every project's with `None`). Not found is a 404, a start shared by several keys a 400,
/// a key already revoked a 409; the answer is the key as now stored.
pub async fn revoke_key(
    keys: &dyn KeyStore,
    project: Option<ProjectId>,
    which: &str,
    now_ns: i64,
) -> Result<StoredKey, ApiError> {
    let which = which.trim();
    let invalid = |why: String| ApiError::new(ErrorCode::InvalidArgument, why);
    if which.is_empty() {
        return Err(invalid(
            "key: give the public key or the prefix that `keys list` shows".into(),
        ));
    }
    let listed = keys.list_keys(project).await?;
    let matching: Vec<&StoredKey> = listed
        .iter()
        .filter(|k| k.public_key.starts_with(which))
        .collect();
    let key = match matching.as_slice() {
        [] => {
            let message = format!(
                "key: no key starts with `{which}` here; `keys list` (GET /api/v1/keys) shows them"
            );
            return Err(ApiError::new(ErrorCode::NotFound, message));
        }
        [one] => *one,
        several => {
            let shown: Vec<&str> = several.iter().map(|k| key_prefix(&k.public_key)).collect();
            return Err(invalid(format!(
                "key: `{which}` starts {} keys ({}); give more of the public key",
                several.len(),
                shown.join(", ")
            )));
        }
    };
    if key.revoked_ns.is_some() {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "key: {} was already revoked; it stays revoked",
                key_prefix(&key.public_key)
            ),
        ));
    }
    keys.revoke_key(&key.public_key, now_ns)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("key: {} is gone", key_prefix(&key.public_key)),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_stably_and_compare_in_constant_time() {
        assert_eq!(hash_secret("s").len(), 64);
        assert_eq!(hash_secret("s"), hash_secret("s"));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
