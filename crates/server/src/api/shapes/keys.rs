//! `/keys`: API keys as lists show them (the start of the public key, never a secret) and a
//! new key with its secret, which is shown once.

use serde::{Deserialize, Serialize};
use sightline_core::time::format_rfc3339;

use crate::auth::{key_prefix, NewKey};

/// A key in `GET /api/v1/keys` (a [`Page`](super::Page) without `next_cursor`), and the answer
/// of `DELETE /api/v1/keys/{key}`.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct ApiKey {
    /// The first characters of the public key (`pk-sl-` and 8 more): enough to revoke it by.
    pub prefix: String,
    pub project: String,
    /// `admin`, `member` or `viewer`.
    pub role: String,
    /// `active` or `revoked`.
    pub status: String,
    pub created_ns: i64,
    pub created_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_ns: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_time: Option<String>,
}

impl From<&sightline_store::StoredKey> for ApiKey {
    fn from(k: &sightline_store::StoredKey) -> Self {
        ApiKey {
            prefix: key_prefix(&k.public_key).to_owned(),
            project: k.project_name.clone(),
            role: k.role.clone(),
            status: if k.revoked_ns.is_some() {
                "revoked"
            } else {
                "active"
            }
            .to_owned(),
            created_ns: k.created_ns,
            created_time: format_rfc3339(k.created_ns),
            revoked_ns: k.revoked_ns,
            revoked_time: k.revoked_ns.map(format_rfc3339),
        }
    }
}

/// `POST /api/v1/keys`: the new key, its secret included (shown this once; only its hash is
/// stored).
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(default)]
pub struct CreatedKey {
    pub project: String,
    pub public_key: String,
    pub secret_key: String,
    pub prefix: String,
    pub role: String,
    pub created_ns: i64,
    pub created_time: String,
}

impl From<&NewKey> for CreatedKey {
    fn from(k: &NewKey) -> Self {
        CreatedKey {
            project: k.project_name.clone(),
            public_key: k.public_key.clone(),
            secret_key: k.secret_key.clone(),
            prefix: key_prefix(&k.public_key).to_owned(),
            role: k.role.as_str().to_owned(),
            created_ns: k.created_ns,
            created_time: format_rfc3339(k.created_ns),
        }
    }
}
