//! Dashboard logins: a browser session made from an API key. Only the SHA-256 of the session's
//! random token is stored (made by the server, like key secrets), with the key that opened it
//! and when it ends; every node sharing the store sees the same logins, and a logout ends a
//! login everywhere.

use async_trait::async_trait;

use crate::StoreError;

/// A stored login: the public half of the key it was opened with (the project comes from that
/// key at each use) and its lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLogin {
    pub public_key: String,
    pub created_ns: i64,
    /// The first instant it is no longer valid.
    pub expires_ns: i64,
}

/// Dashboard logins by token hash.
#[async_trait]
pub trait LoginStore: Send + Sync {
    /// Stores a new login under `token_hash` (and may forget logins that expired).
    async fn create_login(&self, token_hash: &str, login: &StoredLogin) -> Result<(), StoreError>;
    /// The login stored under `token_hash`, unless it was deleted or has expired at `now_ns`.
    async fn login(&self, token_hash: &str, now_ns: i64)
        -> Result<Option<StoredLogin>, StoreError>;
    /// Ends the login; `false` when there was none (or it had already ended). `now_ns` orders
    /// the removal after the login's creation.
    async fn delete_login(&self, token_hash: &str, now_ns: i64) -> Result<bool, StoreError>;
}
