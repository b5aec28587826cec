//! Projects and API keys in ClickHouse, shared by every node. A project's id is derived from its
//! name (the default project is 1), so nodes creating the same project at once agree on its id
//! without a transaction; ReplacingMergeTree folds the duplicate rows and reads take one.
//! Uniqueness of keys is checked before the insert: two nodes inserting the same public key at
//! the same instant could both succeed (keys are made by admins, not by traffic). A revocation
//! is a row in `api_key_revocations` (append-only: a key never comes back); reads take the
//! earliest one.

use sightline_core::ProjectId;

use super::rowbinary::{quote, RowReader};
use super::ClickHouseStore;
use crate::{StoreError, StoredKey, DEFAULT_PROJECT};

/// The id of the project called `name`: 1 for the default project, otherwise a stable hash.
pub fn project_id(name: &str) -> ProjectId {
    if name == DEFAULT_PROJECT {
        return ProjectId(1);
    }
    let h = crate::codec::stable_hash(format!("project:{name}").as_bytes());
    ProjectId(if h <= 1 { h + 2 } else { h })
}

fn ns(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl ClickHouseStore {
    pub(crate) async fn ensure_project_impl(
        &self,
        name: &str,
        now_ns: i64,
    ) -> Result<ProjectId, StoreError> {
        let id = project_id(name);
        let rows = self
            .client
            .query(&format!(
                "SELECT name FROM projects WHERE id = {} LIMIT 1",
                id.0
            ))
            .await?;
        let mut r = RowReader::new(&rows);
        if !r.is_empty() {
            let stored = r.string()?;
            if stored != name {
                return Err(StoreError::Conflict(format!(
                    "the project name {name:?} hashes to the id of project {stored:?}; choose another name"
                )));
            }
            return Ok(id);
        }
        self.client
            .execute(&format!(
                "INSERT INTO projects (id, name, created_ns) VALUES ({}, {}, {})",
                id.0,
                quote(name),
                ns(now_ns)
            ))
            .await?;
        Ok(id)
    }

    pub(crate) async fn find_project_impl(
        &self,
        name: &str,
    ) -> Result<Option<ProjectId>, StoreError> {
        let rows = self
            .client
            .query(&format!(
                "SELECT id FROM projects WHERE name = {} LIMIT 1",
                quote(name)
            ))
            .await?;
        let mut r = RowReader::new(&rows);
        Ok(if r.is_empty() {
            None
        } else {
            Some(ProjectId(r.i64()?))
        })
    }

    pub(crate) async fn insert_key_impl(
        &self,
        project_name: &str,
        public_key: &str,
        secret_hash: &str,
        role: &str,
        now_ns: i64,
    ) -> Result<StoredKey, StoreError> {
        let project = self.ensure_project_impl(project_name, now_ns).await?;
        let rows = self
            .client
            .query(&format!(
                "SELECT toUInt64(count()) FROM api_keys WHERE public_key = {} OR secret_hash = {}",
                quote(public_key),
                quote(secret_hash)
            ))
            .await?;
        if RowReader::new(&rows).u64()? > 0 {
            return Err(StoreError::Conflict(format!(
                "cannot store the key: the public key {public_key:?} or its secret is already in use; make a new key"
            )));
        }
        self.client
            .execute(&format!(
                "INSERT INTO api_keys (public_key, secret_hash, project_id, created_ns, role) \
                 VALUES ({}, {}, {}, {}, {})",
                quote(public_key),
                quote(secret_hash),
                project.0,
                ns(now_ns),
                quote(role)
            ))
            .await?;
        Ok(StoredKey {
            public_key: public_key.to_owned(),
            secret_hash: secret_hash.to_owned(),
            project,
            project_name: project_name.to_owned(),
            role: role.to_owned(),
            created_ns: now_ns,
            revoked_ns: None,
        })
    }

    /// The keys matching `filter` (a condition on `api_keys`), one row per key, with their
    /// project's name and earliest revocation, oldest first.
    async fn keys_where(&self, filter: &str) -> Result<Vec<StoredKey>, StoreError> {
        let rows = self
            .client
            .query(&format!(
                "SELECT public_key, secret_hash, project_id, name, role, created_ns, revoked_ns FROM \
                 (SELECT public_key, secret_hash, project_id, name, role, created_ns FROM \
                  (SELECT public_key, secret_hash, project_id, role, created_ns FROM api_keys \
                   WHERE {filter} LIMIT 1 BY public_key) \
                  ANY LEFT JOIN (SELECT id AS project_id, name FROM projects LIMIT 1 BY id) \
                  USING project_id) \
                 ANY LEFT JOIN (SELECT public_key, min(revoked_ns) AS revoked_ns \
                  FROM api_key_revocations GROUP BY public_key) USING public_key \
                 ORDER BY created_ns, public_key"
            ))
            .await?;
        let mut r = RowReader::new(&rows);
        let mut keys = Vec::new();
        while !r.is_empty() {
            keys.push(StoredKey {
                public_key: r.string()?,
                secret_hash: r.string()?,
                project: ProjectId(r.i64()?),
                project_name: r.string()?,
                role: r.string()?,
                created_ns: i64::try_from(r.u64()?).unwrap_or(i64::MAX),
                // The join's default for a key never revoked is 0.
                revoked_ns: match r.u64()? {
                    0 => None,
                    t => Some(i64::try_from(t).unwrap_or(i64::MAX)),
                },
            });
        }
        Ok(keys)
    }

    /// The key whose `column` equals `value`.
    pub(crate) async fn key_where(
        &self,
        column: &str,
        value: &str,
    ) -> Result<Option<StoredKey>, StoreError> {
        let found = self
            .keys_where(&format!("{column} = {}", quote(value)))
            .await?;
        Ok(found.into_iter().next())
    }

    pub(crate) async fn list_keys_impl(
        &self,
        project: Option<ProjectId>,
    ) -> Result<Vec<StoredKey>, StoreError> {
        match project {
            Some(p) => self.keys_where(&format!("project_id = {}", p.0)).await,
            None => self.keys_where("1").await,
        }
    }

    pub(crate) async fn revoke_key_impl(
        &self,
        public_key: &str,
        now_ns: i64,
    ) -> Result<Option<StoredKey>, StoreError> {
        let Some(key) = self.key_where("public_key", public_key).await? else {
            return Ok(None);
        };
        if key.revoked_ns.is_some() {
            return Ok(Some(key));
        }
        self.client
            .execute(&format!(
                "INSERT INTO api_key_revocations (public_key, project_id, revoked_ns) \
                 VALUES ({}, {}, {})",
                quote(public_key),
                key.project.0,
                ns(now_ns).max(1)
            ))
            .await?;
        // Another node may have revoked it a moment earlier: answer what is stored.
        self.key_where("public_key", public_key).await
    }

    pub(crate) async fn has_keys_impl(&self) -> Result<bool, StoreError> {
        let rows = self
            .client
            .query("SELECT toUInt8(count() > 0) FROM (SELECT 1 FROM api_keys LIMIT 1)")
            .await?;
        Ok(RowReader::new(&rows).u8()? != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids_are_stable_and_the_default_is_one() {
        assert_eq!(project_id("default"), ProjectId(1));
        assert_eq!(project_id("team-a"), project_id("team-a"));
        assert_ne!(project_id("team-a"), project_id("team-b"));
        assert!(project_id("team-a").0 > 1);
    }
}
