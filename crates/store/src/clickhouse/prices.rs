//! Per-project price overrides in ClickHouse, seen by every node: versioned definitions
//! (`versioned.rs`): each put or delete inserts a row with a newer `version`; reads take the
//! newest row per (project, id) and drop tombstones.

use async_trait::async_trait;
use sightline_core::ProjectId;

use super::rowbinary::{RowReader, RowWriter};
use super::versioned::Versioned;
use super::ClickHouseStore;
use crate::{PriceOverride, PriceStore, StoreError};

impl Versioned for PriceOverride {
    const TABLE: &'static str = "price_overrides";
    const COLUMNS: &'static str =
        "provider, model, input, output, cache_read, cache_write, reasoning, effective_from";
    fn id(&self) -> &str {
        &self.id
    }
    fn updated_ns(&self) -> i64 {
        self.updated_ns
    }
    fn write(&self, w: &mut RowWriter) {
        w.str(self.provider.as_deref().unwrap_or(""));
        w.str(&self.model);
        w.str(&self.input);
        w.str(&self.output);
        w.opt_str(self.cache_read.as_deref());
        w.opt_str(self.cache_write.as_deref());
        w.opt_str(self.reasoning.as_deref());
        w.str(self.effective_from.as_deref().unwrap_or(""));
    }
    fn read(id: String, r: &mut RowReader<'_>) -> Result<Self, StoreError> {
        let provider = r.string()?;
        let model = r.string()?;
        let input = r.string()?;
        let output = r.string()?;
        let cache_read = r.opt_string()?;
        let cache_write = r.opt_string()?;
        let reasoning = r.opt_string()?;
        let effective_from = r.string()?;
        Ok(PriceOverride {
            id,
            provider: (!provider.is_empty()).then_some(provider),
            model,
            input,
            output,
            cache_read,
            cache_write,
            reasoning,
            effective_from: (!effective_from.is_empty()).then_some(effective_from),
            updated_ns: i64::try_from(r.u64()?).unwrap_or(i64::MAX),
        })
    }
}

#[async_trait]
impl PriceStore for ClickHouseStore {
    async fn put_price_override(
        &self,
        project: ProjectId,
        entry: &PriceOverride,
    ) -> Result<(), StoreError> {
        self.put_versioned(project, entry).await
    }

    async fn price_overrides(&self, project: ProjectId) -> Result<Vec<PriceOverride>, StoreError> {
        self.live_versioned(project).await
    }

    async fn delete_price_override(
        &self,
        project: ProjectId,
        id: &str,
        now_ns: i64,
    ) -> Result<bool, StoreError> {
        self.delete_versioned::<PriceOverride>(project, id, now_ns)
            .await
    }
}
