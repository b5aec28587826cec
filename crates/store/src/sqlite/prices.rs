//! Per-project price overrides in the embedded engine (the `price_overrides` table).

use async_trait::async_trait;
use rusqlite::{params, Row};
use sightline_core::ProjectId;

use super::SqliteStore;
use crate::{PriceOverride, PriceStore, StoreError};

fn from_row(r: &Row<'_>) -> rusqlite::Result<PriceOverride> {
    let provider: String = r.get(1)?;
    let effective_from: String = r.get(8)?;
    Ok(PriceOverride {
        id: r.get(0)?,
        provider: (!provider.is_empty()).then_some(provider),
        model: r.get(2)?,
        input: r.get(3)?,
        output: r.get(4)?,
        cache_read: r.get(5)?,
        cache_write: r.get(6)?,
        reasoning: r.get(7)?,
        effective_from: (!effective_from.is_empty()).then_some(effective_from),
        updated_ns: r.get(9)?,
    })
}

#[async_trait]
impl PriceStore for SqliteStore {
    async fn put_price_override(
        &self,
        project: ProjectId,
        entry: &PriceOverride,
    ) -> Result<(), StoreError> {
        let e = entry.clone();
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT OR REPLACE INTO price_overrides (project_id, id, provider, model, input, \
                 output, cache_read, cache_write, reasoning, effective_from, updated_ns) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    project.0,
                    e.id,
                    e.provider.unwrap_or_default(),
                    e.model,
                    e.input,
                    e.output,
                    e.cache_read,
                    e.cache_write,
                    e.reasoning,
                    e.effective_from.unwrap_or_default(),
                    e.updated_ns
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn price_overrides(&self, project: ProjectId) -> Result<Vec<PriceOverride>, StoreError> {
        self.with_conn(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, provider, model, input, output, cache_read, cache_write, reasoning, \
                 effective_from, updated_ns FROM price_overrides WHERE project_id = ?1 \
                 ORDER BY updated_ns, id",
            )?;
            let rows = stmt.query_map(params![project.0], from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn delete_price_override(
        &self,
        project: ProjectId,
        id: &str,
        _now_ns: i64,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.with_conn(move |conn| {
            let n = conn.execute(
                "DELETE FROM price_overrides WHERE project_id = ?1 AND id = ?2",
                params![project.0, id],
            )?;
            Ok(n > 0)
        })
        .await
    }
}
