//! Provider keys kept for a project ("virtual keys"): sealed with ChaCha20-Poly1305 under the
//! gateway's secret before they reach the store (the project and key id are the associated
//! data, so a sealed key cannot be moved to another project), opened only to call the
//! upstream, and never sent back. A caller reaches them through its Sightline key: a key stored
//! for that Sightline key wins over one stored for every key of the project.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use sightline_core::ProjectId;
use sightline_store::{ProviderKey, ProviderKeyStore, StoreError};

use super::project_cache::ProjectCache;

/// How long a project's list of keys is used before the store is read again.
const MAX_AGE: Duration = Duration::from_secs(5);

/// The name of the secret's file in the data directory, made on first start when the config
/// gives no `gateway.encryption_key`.
pub const SECRET_FILE: &str = "gateway-secret.key";

/// Seals and opens provider keys.
pub struct Vault {
    key: LessSafeKey,
    rng: SystemRandom,
}

fn aad(project: ProjectId, id: &str) -> Vec<u8> {
    format!("sightline-provider-key:{}:{id}", project.0).into_bytes()
}

impl Vault {
    pub fn new(secret: &[u8; 32]) -> Result<Vault, String> {
        let key = UnboundKey::new(&CHACHA20_POLY1305, secret)
            .map_err(|_| "the gateway's encryption key is not usable".to_owned())?;
        Ok(Vault {
            key: LessSafeKey::new(key),
            rng: SystemRandom::new(),
        })
    }

    /// `plain` sealed for key `id` of `project`: nonce, then ciphertext and tag.
    pub fn seal(&self, project: ProjectId, id: &str, plain: &str) -> Result<Vec<u8>, String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| "no randomness for a nonce".to_owned())?;
        let mut sealed = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(project, id)),
                &mut sealed,
            )
            .map_err(|_| "cannot seal the key".to_owned())?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(out)
    }

    /// The key sealed by [`Vault::seal`] for the same project and id.
    pub fn open(&self, project: ProjectId, id: &str, sealed: &[u8]) -> Result<String, String> {
        if sealed.len() < NONCE_LEN {
            return Err("the sealed key is too short".into());
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce".to_owned())?;
        let mut buf = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad(project, id)), &mut buf)
            .map_err(|_| {
                "cannot open a stored provider key: it was sealed under another \
                 gateway.encryption_key (every node must use the same one)"
                    .to_owned()
            })?;
        String::from_utf8(plain.to_vec()).map_err(|_| "the stored key is not text".to_owned())
    }
}

/// The vault's secret: `configured`, else the one in `data_dir` (made on first use, readable by
/// the owner only).
pub fn vault_secret(configured: Option<[u8; 32]>, data_dir: &Path) -> std::io::Result<[u8; 32]> {
    if let Some(s) = configured {
        return Ok(s);
    }
    let path = data_dir.join(SECRET_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return parse_secret(text.trim()).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} does not hold 64 hex characters", path.display()),
            )
        });
    }
    std::fs::create_dir_all(data_dir)?;
    let mut secret = [0u8; 32];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| std::io::Error::other("no randomness for the gateway's secret"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    file.write_all(hex::encode(secret).as_bytes())?;
    Ok(secret)
}

/// 64 hex characters as a 32-byte secret.
pub fn parse_secret(text: &str) -> Option<[u8; 32]> {
    hex::decode(text.trim()).ok()?.try_into().ok()
}

/// A stored key opened for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub id: String,
    pub secret: String,
    pub cache_ttl_secs: Option<u64>,
}

/// The projects' provider keys, cached briefly.
pub struct ProviderKeys {
    store: Arc<dyn ProviderKeyStore>,
    vault: Vault,
    cache: ProjectCache<Vec<ProviderKey>>,
}

impl ProviderKeys {
    pub fn new(store: Arc<dyn ProviderKeyStore>, vault: Vault) -> Self {
        ProviderKeys {
            store,
            vault,
            cache: ProjectCache::new(MAX_AGE),
        }
    }

    pub async fn list(&self, project: ProjectId) -> Result<Arc<Vec<ProviderKey>>, StoreError> {
        self.cache
            .get(project, || self.store.provider_keys(project))
            .await
    }

    /// The key for calls of `project` to `upstream` made with the Sightline key `caller_key`.
    pub async fn resolve(
        &self,
        project: ProjectId,
        upstream: &str,
        caller_key: Option<&str>,
    ) -> Result<Option<Resolved>, String> {
        let keys = self.list(project).await.map_err(|e| e.to_string())?;
        let for_upstream = || keys.iter().rev().filter(|k| k.upstream == upstream);
        let chosen = for_upstream()
            .find(|k| k.for_key.is_some() && k.for_key.as_deref() == caller_key)
            .or_else(|| for_upstream().find(|k| k.for_key.is_none()));
        let Some(k) = chosen else {
            return Ok(None);
        };
        let secret = self.vault.open(project, &k.id, &k.ciphertext)?;
        Ok(Some(Resolved {
            id: k.id.clone(),
            secret,
            cache_ttl_secs: k.cache_ttl_secs,
        }))
    }

    /// Seals and stores `secret` as key `id`.
    pub async fn put(
        &self,
        project: ProjectId,
        mut key: ProviderKey,
        secret: &str,
    ) -> Result<ProviderKey, String> {
        key.ciphertext = self.vault.seal(project, &key.id, secret)?;
        let tail: String = secret
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        key.hint = format!("…{tail}");
        self.store
            .put_provider_key(project, &key)
            .await
            .map_err(|e| e.to_string())?;
        self.invalidate(project);
        Ok(key)
    }

    pub async fn delete(
        &self,
        project: ProjectId,
        id: &str,
        now_ns: i64,
    ) -> Result<bool, StoreError> {
        let r = self.store.delete_provider_key(project, id, now_ns).await;
        self.invalidate(project);
        r
    }

    fn invalidate(&self, project: ProjectId) {
        self.cache.invalidate(project);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_where_they_were_sealed() {
        let vault = Vault::new(&[7; 32]).unwrap();
        let sealed = vault.seal(ProjectId(1), "vk1", "sk-proj-secret").unwrap();
        assert!(
            !sealed.windows(6).any(|w| w == b"secret"),
            "no plaintext at rest"
        );
        assert_eq!(
            vault.open(ProjectId(1), "vk1", &sealed).unwrap(),
            "sk-proj-secret"
        );
        assert!(
            vault.open(ProjectId(2), "vk1", &sealed).is_err(),
            "another project"
        );
        assert!(
            vault.open(ProjectId(1), "vk2", &sealed).is_err(),
            "another id"
        );
        let other = Vault::new(&[8; 32]).unwrap();
        assert!(other
            .open(ProjectId(1), "vk1", &sealed)
            .unwrap_err()
            .contains("encryption_key"));
        assert_ne!(
            sealed,
            vault.seal(ProjectId(1), "vk1", "sk-proj-secret").unwrap(),
            "fresh nonce"
        );
    }

    #[test]
    fn the_secret_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = vault_secret(None, dir.path()).unwrap();
        assert_eq!(vault_secret(None, dir.path()).unwrap(), first);
        assert_eq!(vault_secret(Some([1; 32]), dir.path()).unwrap(), [1; 32]);
        assert_eq!(parse_secret(&"ab".repeat(32)), Some([0xab; 32]));
        assert_eq!(parse_secret("abc"), None);
    }
}
