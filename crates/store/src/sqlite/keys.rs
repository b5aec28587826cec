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

const KEY_SELECT: &str = "SELECT k.public_key, k.secret_hash, k.project_id, p.name, k.role, \
     k.created_ns, k.revoked_ns FROM api_keys k JOIN projects p ON p.id = k.project_id";

fn read_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredKey> {
    Ok(StoredKey {
        public_key: r.get(0)?,
        secret_hash: r.get(1)?,
        project: ProjectId(r.get(2)?),
        project_name: r.get(3)?,
        role: r.get(4)?,
        created_ns: r.get(5)?,
        revoked_ns: r.get(6)?,
    })
}

fn key_where(
    conn: &Connection,
    clause: &str,
    value: &str,
) -> Result<Option<StoredKey>, StoreError> {
    let sql = format!("{KEY_SELECT} WHERE {clause} = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![value], read_key)
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
        role: &str,
        now_ns: i64,
    ) -> Result<StoredKey, StoreError> {
        let (name, public, hash, role) = (
            project_name.to_owned(),
            public_key.to_owned(),
            secret_hash.to_owned(),
            role.to_owned(),
        );
        self.with_conn(move |conn| {
            let tx = conn.transaction()?;
            let project = ensure_project(&tx, &name, now_ns)?;
            tx.execute(
                "INSERT INTO api_keys (public_key, secret_hash, project_id, created_ns, role) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![public, hash, project.0, now_ns, role],
            )
            .map_err(|e| StoreError::Conflict(format!("cannot store the key: {e}")))?;
            tx.commit()?;
            Ok(StoredKey {
                public_key: public,
                secret_hash: hash,
                project,
                project_name: name,
                role,
                created_ns: now_ns,
                revoked_ns: None,
            })
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

    async fn list_keys(&self, project: Option<ProjectId>) -> Result<Vec<StoredKey>, StoreError> {
        self.with_conn(move |conn| {
            let sql = format!(
                "{KEY_SELECT} WHERE ?1 IS NULL OR k.project_id = ?1 \
                 ORDER BY k.created_ns, k.public_key"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let keys = stmt
                .query_map(params![project.map(|p| p.0)], read_key)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(keys)
        })
        .await
    }

    async fn revoke_key(
        &self,
        public_key: &str,
        now_ns: i64,
    ) -> Result<Option<StoredKey>, StoreError> {
        let public = public_key.to_owned();
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE api_keys SET revoked_ns = ?2 WHERE public_key = ?1 AND revoked_ns IS NULL",
                params![public, now_ns],
            )?;
            key_where(conn, "k.public_key", &public)
        })
        .await
    }
}
