//! Dashboard logins in ClickHouse, seen by every node: a login is a row; a logout inserts a
//! tombstone (`deleted` = 1) with a newer `version` into the ReplacingMergeTree, and reads take
//! the newest row of a token. Rows are a few per human login; they are not swept.

use async_trait::async_trait;

use super::rowbinary::{quote, RowReader, RowWriter};
use super::ClickHouseStore;
use crate::{LoginStore, StoreError, StoredLogin};

const COLUMNS: &str = "token_hash, public_key, created_ns, expires_ns, deleted, version";

fn ns(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl ClickHouseStore {
    /// The newest row of `token_hash`: the login, whether it is a tombstone, and its version.
    async fn login_row(
        &self,
        token_hash: &str,
    ) -> Result<Option<(StoredLogin, bool, u64)>, StoreError> {
        let rows = self
            .client
            .query(&format!(
                "SELECT public_key, created_ns, expires_ns, deleted, version FROM logins \
                 WHERE token_hash = {} ORDER BY version DESC LIMIT 1",
                quote(token_hash)
            ))
            .await?;
        let mut r = RowReader::new(&rows);
        if r.is_empty() {
            return Ok(None);
        }
        let login = StoredLogin {
            public_key: r.string()?,
            created_ns: i64::try_from(r.u64()?).unwrap_or(i64::MAX),
            expires_ns: i64::try_from(r.u64()?).unwrap_or(i64::MAX),
        };
        Ok(Some((login, r.u8()? != 0, r.u64()?)))
    }

    async fn insert_login(
        &self,
        token_hash: &str,
        login: &StoredLogin,
        deleted: bool,
        version: u64,
    ) -> Result<(), StoreError> {
        let mut w = RowWriter::default();
        w.str(token_hash);
        w.str(&login.public_key);
        w.u64(ns(login.created_ns));
        w.u64(ns(login.expires_ns));
        w.u8(u8::from(deleted));
        w.u64(version);
        self.client.insert("logins", COLUMNS, w.buf).await
    }
}

#[async_trait]
impl LoginStore for ClickHouseStore {
    async fn create_login(&self, token_hash: &str, login: &StoredLogin) -> Result<(), StoreError> {
        if self.login_row(token_hash).await?.is_some() {
            return Err(StoreError::Conflict(
                "cannot store the login: its token is already in use; make a new one".into(),
            ));
        }
        self.insert_login(token_hash, login, false, ns(login.created_ns))
            .await
    }

    async fn login(
        &self,
        token_hash: &str,
        now_ns: i64,
    ) -> Result<Option<StoredLogin>, StoreError> {
        Ok(match self.login_row(token_hash).await? {
            Some((login, false, _)) if login.expires_ns > now_ns => Some(login),
            _ => None,
        })
    }

    async fn delete_login(&self, token_hash: &str, now_ns: i64) -> Result<bool, StoreError> {
        let Some((login, false, version)) = self.login_row(token_hash).await? else {
            return Ok(false);
        };
        if login.expires_ns <= now_ns {
            return Ok(false);
        }
        let version = ns(now_ns).max(version + 1);
        self.insert_login(token_hash, &login, true, version).await?;
        Ok(true)
    }
}
