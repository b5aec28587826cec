//! Projects and API keys in the embedded engine.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use sightline_core::ProjectId;

use super::SqliteStore;
use crate::{KeyStore, StoreError, StoredKey};

fn ensure_project(conn: &Connection, name: &str, now_ns: i64) -> Result<ProjectId, StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO projects (name, created_ns) VALUES (?1, ?2)",
        params![name, now_ns],
    )?;
    let id: i64 = conn.query_row(
        "SELECT id FROM projects WHERE name = ?1",
        params![name],
        |r| r.get(0),
    )?;
    Ok(ProjectId(id))
}

fn key_where(
    conn: &Connection,
    clause: &str,
    value: &str,
) -> Result<Option<StoredKey>, StoreError> {
    let sql = format!(
        "SELECT k.public_key, k.secret_hash, k.project_id, p.name FROM api_keys k \
         JOIN projects p ON p.id = k.project_id WHERE {clause} = ?1"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![value], |r| {
            Ok(StoredKey {
                public_key: r.get(0)?,
                secret_hash: r.get(1)?,
                project: ProjectId(r.get(2)?),
                project_name: r.get(3)?,
            })
        })
        .optional()?)
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn ensure_project(&self, name: &str, now_ns: i64) -> Result<ProjectId, StoreError> {
        let name = name.to_owned();
        self.with_conn(move |conn| ensure_project(conn, &name, now_ns))
            .await
    }

    async fn find_project(&self, name: &str) -> Result<Option<ProjectId>, StoreError> {
        let name = name.to_owned();
        self.with_conn(move |conn| {
            Ok(conn
                .prepare_cached("SELECT id FROM projects WHERE name = ?1")?
                .query_row(params![name], |r| r.get(0))
                .optional()?
                .map(ProjectId))
        })
        .await
    }

    async fn insert_key(
        &self,
        project_name: &str,
        public_key: &str,
        secret_hash: &str,
        now_ns: i64,
    ) -> Result<StoredKey, StoreError> {
        let (name, public, hash) = (
            project_name.to_owned(),
            public_key.to_owned(),
            secret_hash.to_owned(),
        );
        self.with_conn(move |conn| {
            let tx = conn.transaction()?;
            let project = ensure_project(&tx, &name, now_ns)?;
            tx.execute(
                "INSERT INTO api_keys (public_key, secret_hash, project_id, created_ns) VALUES (?1, ?2, ?3, ?4)",
                params![public, hash, project.0, now_ns],
            )
            .map_err(|e| StoreError::Conflict(format!("cannot store the key: {e}")))?;
            tx.commit()?;
            Ok(StoredKey { public_key: public, secret_hash: hash, project, project_name: name })
        })
        .await
    }

    async fn key_by_secret_hash(&self, secret_hash: &str) -> Result<Option<StoredKey>, StoreError> {
        let hash = secret_hash.to_owned();
        self.with_conn(move |conn| key_where(conn, "k.secret_hash", &hash))
            .await
    }

    async fn key_by_public(&self, public_key: &str) -> Result<Option<StoredKey>, StoreError> {
        let public = public_key.to_owned();
        self.with_conn(move |conn| key_where(conn, "k.public_key", &public))
            .await
    }

    async fn has_keys(&self) -> Result<bool, StoreError> {
        self.with_conn(|conn| {
            Ok(
                conn.query_row("SELECT EXISTS (SELECT 1 FROM api_keys)", [], |r| {
                    r.get::<_, bool>(0)
                })?,
            )
        })
        .await
    }
}
