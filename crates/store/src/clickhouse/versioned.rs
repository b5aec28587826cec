//! Definitions kept as versioned rows, seen by every node: each put or delete inserts a row with
//! a newer `version` into a `ReplacingMergeTree(version) ORDER BY (project_id, id)`; reads take
//! the newest row per (project, id) with `FINAL` and drop tombstones (`deleted` = 1). Price
//! overrides, budgets, rate-limit rules and provider keys are kept this way.

use sightline_core::ProjectId;

use super::rowbinary::{quote, RowReader, RowWriter};
use super::ClickHouseStore;
use crate::StoreError;

/// A time or amount as ClickHouse's UInt64 (negative as zero).
pub(super) fn unsigned(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// A definition kept as versioned rows `(project_id, id, <COLUMNS>, updated_ns, deleted,
/// version)` of a `ReplacingMergeTree(version) ORDER BY (project_id, id)`.
pub(super) trait Versioned: Sized + Send + Sync {
    const TABLE: &'static str;
    /// The columns between `id` and `updated_ns`, comma-separated.
    const COLUMNS: &'static str;
    fn id(&self) -> &str;
    fn updated_ns(&self) -> i64;
    /// Writes the `COLUMNS`.
    fn write(&self, w: &mut RowWriter);
    /// Reads the `COLUMNS` of the row of `id`, then its `updated_ns`.
    fn read(id: String, r: &mut RowReader<'_>) -> Result<Self, StoreError>;
}

impl ClickHouseStore {
    /// The newest row of every definition of `project` (or only `id`), tombstones included.
    pub(super) async fn versioned_rows<T: Versioned>(
        &self,
        project: ProjectId,
        id: Option<&str>,
    ) -> Result<Vec<(T, bool, u64)>, StoreError> {
        let only = id
            .map(|id| format!(" AND id = {}", quote(id)))
            .unwrap_or_default();
        let rows = self
            .client
            .query(&format!(
                "SELECT id, {}, updated_ns, deleted, version FROM {} FINAL \
                 WHERE project_id = {}{only} ORDER BY updated_ns, id",
                T::COLUMNS,
                T::TABLE,
                project.0
            ))
            .await?;
        let mut r = RowReader::new(&rows);
        let mut out = Vec::new();
        while !r.is_empty() {
            let id = r.string()?;
            let item = T::read(id, &mut r)?;
            let deleted = r.u8()? != 0;
            let version = r.u64()?;
            out.push((item, deleted, version));
        }
        Ok(out)
    }

    async fn insert_versioned<T: Versioned>(
        &self,
        project: ProjectId,
        item: &T,
        deleted: bool,
        version: u64,
    ) -> Result<(), StoreError> {
        let mut w = RowWriter::default();
        w.i64(project.0);
        w.str(item.id());
        item.write(&mut w);
        w.u64(unsigned(item.updated_ns()));
        w.u8(u8::from(deleted));
        w.u64(version);
        let columns = format!(
            "project_id, id, {}, updated_ns, deleted, version",
            T::COLUMNS
        );
        self.client.insert(T::TABLE, &columns, w.buf).await
    }

    /// Stores `item`, outranking every earlier row of its id (even with a clock that stepped back).
    pub(super) async fn put_versioned<T: Versioned>(
        &self,
        project: ProjectId,
        item: &T,
    ) -> Result<(), StoreError> {
        let previous = self.versioned_rows::<T>(project, Some(item.id())).await?;
        let floor = previous.iter().map(|(_, _, v)| v + 1).max().unwrap_or(0);
        let version = unsigned(item.updated_ns()).max(floor);
        self.insert_versioned(project, item, false, version).await
    }

    pub(super) async fn live_versioned<T: Versioned>(
        &self,
        project: ProjectId,
    ) -> Result<Vec<T>, StoreError> {
        Ok(self
            .versioned_rows::<T>(project, None)
            .await?
            .into_iter()
            .filter(|(_, deleted, _)| !deleted)
            .map(|(item, _, _)| item)
            .collect())
    }

    pub(super) async fn delete_versioned<T: Versioned>(
        &self,
        project: ProjectId,
        id: &str,
        now_ns: i64,
    ) -> Result<bool, StoreError> {
        let rows = self.versioned_rows::<T>(project, Some(id)).await?;
        let Some((item, false, version)) = rows.into_iter().next() else {
            return Ok(false);
        };
        let version = unsigned(now_ns).max(version + 1);
        self.insert_versioned(project, &item, true, version).await?;
        Ok(true)
    }
}
