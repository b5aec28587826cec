//! Dashboard logins in the embedded engine: one row per login, deleted at logout; expired rows
//! are removed when the next login is made.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};

use super::SqliteStore;
use crate::{LoginStore, StoreError, StoredLogin};

#[async_trait]
impl LoginStore for SqliteStore {
    async fn create_login(&self, token_hash: &str, login: &StoredLogin) -> Result<(), StoreError> {
        let (hash, login) = (token_hash.to_owned(), login.clone());
        self.with_conn(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM logins WHERE expires_ns <= ?1",
                params![login.created_ns],
            )?;
            tx.execute(
                "INSERT INTO logins (token_hash, public_key, created_ns, expires_ns) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![hash, login.public_key, login.created_ns, login.expires_ns],
            )
            .map_err(|e| StoreError::Conflict(format!("cannot store the login: {e}")))?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn login(
        &self,
        token_hash: &str,
        now_ns: i64,
    ) -> Result<Option<StoredLogin>, StoreError> {
        let hash = token_hash.to_owned();
        self.with_conn(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT public_key, created_ns, expires_ns FROM logins \
                     WHERE token_hash = ?1 AND expires_ns > ?2",
                )?
                .query_row(params![hash, now_ns], |r| {
                    Ok(StoredLogin {
                        public_key: r.get(0)?,
                        created_ns: r.get(1)?,
                        expires_ns: r.get(2)?,
                    })
                })
                .optional()?)
        })
        .await
    }

    async fn delete_login(&self, token_hash: &str, now_ns: i64) -> Result<bool, StoreError> {
        let hash = token_hash.to_owned();
        self.with_conn(move |conn| {
            let n = conn.execute(
                "DELETE FROM logins WHERE token_hash = ?1 AND expires_ns > ?2",
                params![hash, now_ns],
            )?;
            Ok(n > 0)
        })
        .await
    }
}
