//! API keys: a public/secret pair made here; only the SHA-256 of the secret is stored, and
//! secrets are compared in constant time.

use rand::Rng;
use sha2::{Digest, Sha256};
use sightline_core::ProjectId;
use sightline_store::KeyStore;

use crate::error::{ApiError, ErrorCode};

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
