//! Per-project price overrides in ClickHouse, seen by every node: each put or delete inserts a
//! row with a newer `version` into a ReplacingMergeTree; reads take the newest row per
//! (project, id) with `FINAL` and drop tombstones.

use async_trait::async_trait;
use sightline_core::ProjectId;

use super::rowbinary::{RowReader, RowWriter};
use super::ClickHouseStore;
use crate::{PriceOverride, PriceStore, StoreError};

const COLUMNS: &str = "project_id, id, provider, model, input, output, cache_read, cache_write, \
                       reasoning, effective_from, updated_ns, deleted, version";

fn ns(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl ClickHouseStore {
    /// The newest row of every override of `project`, tombstones included, with its `deleted`.
    async fn override_rows(
        &self,
        project: ProjectId,
        id: Option<&str>,
    ) -> Result<Vec<(PriceOverride, bool, u64)>, StoreError> {
        let only = id
            .map(|id| format!(" AND id = {}", super::rowbinary::quote(id)))
            .unwrap_or_default();
        let rows = self
            .client
            .query(&format!(
                "SELECT id, provider, model, input, output, cache_read, cache_write, reasoning, \
                 effective_from, updated_ns, deleted, version FROM price_overrides FINAL \
                 WHERE project_id = {}{only} ORDER BY updated_ns, id",
                project.0
            ))
            .await?;
        let mut r = RowReader::new(&rows);
        let mut out = Vec::new();
        while !r.is_empty() {
            let id = r.string()?;
            let provider = r.string()?;
            let model = r.string()?;
            let input = r.string()?;
            let output = r.string()?;
            let cache_read = r.opt_string()?;
            let cache_write = r.opt_string()?;
            let reasoning = r.opt_string()?;
            let effective_from = r.string()?;
            let updated_ns = i64::try_from(r.u64()?).unwrap_or(i64::MAX);
            let deleted = r.u8()? != 0;
            let version = r.u64()?;
            let entry = PriceOverride {
                id,
                provider: (!provider.is_empty()).then_some(provider),
                model,
                input,
                output,
                cache_read,
                cache_write,
                reasoning,
                effective_from: (!effective_from.is_empty()).then_some(effective_from),
                updated_ns,
            };
            out.push((entry, deleted, version));
        }
        Ok(out)
    }

    async fn insert_override(
        &self,
        project: ProjectId,
        e: &PriceOverride,
        deleted: bool,
        version: u64,
    ) -> Result<(), StoreError> {
        let mut w = RowWriter::default();
        w.i64(project.0);
        w.str(&e.id);
        w.str(e.provider.as_deref().unwrap_or(""));
        w.str(&e.model);
        w.str(&e.input);
        w.str(&e.output);
        w.opt_str(e.cache_read.as_deref());
        w.opt_str(e.cache_write.as_deref());
        w.opt_str(e.reasoning.as_deref());
        w.str(e.effective_from.as_deref().unwrap_or(""));
        w.u64(ns(e.updated_ns));
        w.u8(u8::from(deleted));
        w.u64(version);
        self.client.insert("price_overrides", COLUMNS, w.buf).await
    }
}

#[async_trait]
impl PriceStore for ClickHouseStore {
    async fn put_price_override(
        &self,
        project: ProjectId,
        entry: &PriceOverride,
    ) -> Result<(), StoreError> {
        // A replacement must outrank what it replaces, even with a clock that stepped back.
        let previous = self.override_rows(project, Some(&entry.id)).await?;
        let floor = previous.iter().map(|(_, _, v)| v + 1).max().unwrap_or(0);
        let version = ns(entry.updated_ns).max(floor);
        self.insert_override(project, entry, false, version).await
    }

    async fn price_overrides(&self, project: ProjectId) -> Result<Vec<PriceOverride>, StoreError> {
        Ok(self
            .override_rows(project, None)
            .await?
            .into_iter()
            .filter(|(_, deleted, _)| !deleted)
            .map(|(e, _, _)| e)
            .collect())
    }

    async fn delete_price_override(
        &self,
        project: ProjectId,
        id: &str,
        now_ns: i64,
    ) -> Result<bool, StoreError> {
        let rows = self.override_rows(project, Some(id)).await?;
        let Some((entry, false, version)) = rows.into_iter().next() else {
            return Ok(false);
        };
        let version = ns(now_ns).max(version + 1);
        self.insert_override(project, &entry, true, version).await?;
        Ok(true)
    }
}
