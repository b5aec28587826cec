//! Cost attribution on ClickHouse. Whole hours the rollup covers (cost_rollup.rs), when the
//! question only groups and filters by rollup dimensions, come from the rollup (latency from
//! its histograms); the edges of the window, earlier hours and every other question scan the
//! raw model calls (one row per span: retries are collapsed with `LIMIT 1 BY`), summed here with
//! the same aggregator as the embedded engine (exact percentiles when nothing came from the
//! rollup). Filters on span columns are pushed into the scan; grouping or filtering by
//! workspace or a custom attribute reads the span's attributes from `detail`, then its
//! resource's.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use async_trait::async_trait;
use sightline_core::{AttrValue, ObservationKind, ProjectId};

use super::cost_rollup;
use super::rowbinary::{quote, RowReader};
use super::ClickHouseStore;
use crate::codec::{decode_resource, kind_code};
use crate::codec::{unpack, StoredWorkspace};
use crate::cost_agg::{
    needs_attributes, rollup_plan, span_filters, Aggregator, CallView, RawCall, CALL_COLUMNS,
};
use crate::costs::{CostQuery, CostReader, CostReport};
use crate::StoreError;

#[async_trait]
impl CostReader for ClickHouseStore {
    async fn costs(&self, project: ProjectId, q: &CostQuery) -> Result<CostReport, StoreError> {
        let mut agg = Aggregator::default();
        if q.filters.iter().any(|f| f.1.is_empty()) {
            // No call has an empty value (the rollup's '' means "none"): nothing matches.
            return Ok(agg.finish(q));
        }
        let from = q.from_ns;
        let to = q.to_ns.max(from);
        match rollup_plan(q, self.rollup_from_ns) {
            Some(plan) => {
                self.scan_raw(project, q, from, plan.from, &mut agg).await?;
                cost_rollup::read(&self.client, project.0, q, &plan, &mut agg).await?;
                self.scan_raw(project, q, plan.to, to, &mut agg).await?;
            }
            None => self.scan_raw(project, q, from, to, &mut agg).await?,
        }
        Ok(agg.finish(q))
    }
}

impl ClickHouseStore {
    /// Adds the raw model calls starting in `[from, to)` to `agg`.
    async fn scan_raw(
        &self,
        project: ProjectId,
        q: &CostQuery,
        from: i64,
        to: i64,
        agg: &mut Aggregator,
    ) -> Result<(), StoreError> {
        if from >= to {
            return Ok(());
        }
        let needs_detail = needs_attributes(q);
        // Filters on span columns narrow the scan; every filter is checked again below.
        let filters: String = span_filters(q)
            .iter()
            .map(|(columns, v)| {
                let any: Vec<String> = columns
                    .iter()
                    .map(|c| format!("{c} = {}", quote(v)))
                    .collect();
                format!(" AND ({})", any.join(" OR "))
            })
            .collect();
        // Only the columns read below go through the `LIMIT 1 BY` (copies of a span are equal
        // but for `seq`, so any one will do).
        let columns = format!(
            "start_ns, duration_ns, is_error, input_tokens, output_tokens, total_tokens, \
             cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nano_usd, {CALL_COLUMNS}, \
             resource_hash"
        );
        let sql = format!(
            "SELECT {columns}, blob FROM (SELECT trace_id, span_id, {columns}, {detail} AS blob \
             FROM spans WHERE project_id = {project} AND start_ns >= {from} \
             AND start_ns < {to} AND kind IN ({llm}, {emb}){filters} LIMIT 1 BY trace_id, span_id)",
            detail = if needs_detail { "detail" } else { "''" },
            project = project.0,
            from = from.max(0),
            to = to.max(0),
            llm = kind_code(ObservationKind::Llm),
            emb = kind_code(ObservationKind::Embedding),
        );
        let data = self.client.query(&sql).await?;
        let mut r = RowReader::new(&data);
        let mut resources: HashMap<i64, Vec<(String, AttrValue)>> = HashMap::new();
        while !r.is_empty() {
            let start_ns = r.i64()?;
            let duration_ns = r.i64()?;
            let is_error = r.u8()? != 0;
            let mut tokens = [None; 6];
            for t in tokens.iter_mut() {
                *t = r.opt_i64()?;
            }
            let cost = r.opt_i64()?;
            let mut columns: [Option<String>; 8] = Default::default();
            for c in columns.iter_mut() {
                *c = r.opt_string()?;
            }
            let resource_hash = r.i64()?;
            let blob = r.bytes()?;
            let detail = if blob.is_empty() {
                None
            } else {
                Some(unpack::<StoredWorkspace>(&blob)?)
            };
            if needs_detail {
                if let Entry::Vacant(slot) = resources.entry(resource_hash) {
                    slot.insert(self.resource(project, resource_hash).await?);
                }
            }
            let view = CallView {
                columns: &columns,
                detail: detail.as_ref(),
                resource: resources.get(&resource_hash).map(Vec::as_slice),
            };
            let Some(group) = view.group(q) else {
                continue;
            };
            let call = RawCall {
                start_ns,
                duration_ns,
                is_error,
                tokens,
                cost,
            };
            agg.acc(q.bucket.map(|b| b.start_of(start_ns)), group)
                .add_raw(&call);
        }
        Ok(())
    }

    /// A resource's attributes (empty when unknown).
    async fn resource(
        &self,
        project: ProjectId,
        hash: i64,
    ) -> Result<Vec<(String, AttrValue)>, StoreError> {
        let data = self
            .client
            .query(&format!(
                "SELECT attributes FROM resources WHERE project_id = {} AND hash = {hash} LIMIT 1",
                project.0
            ))
            .await?;
        let mut r = RowReader::new(&data);
        if r.is_empty() {
            return Ok(Vec::new());
        }
        decode_resource(&r.bytes()?)
    }
}
