//! Cost attribution on ClickHouse: no rollup table. ClickHouse scans the window's raw model-call
//! columns fast (one row per span: retries are collapsed with `LIMIT 1 BY`), and the rows are
//! summed here with the same aggregator as the embedded engine, so totals are exact and
//! percentiles are exact nearest-rank. Grouping by workspace or a custom attribute reads the
//! span's attributes from `detail`, then its resource's.

use std::collections::HashMap;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use sightline_core::normalize::workspace::WORKSPACE_KEYS;
use sightline_core::{ObservationKind, ProjectId};

use super::rowbinary::RowReader;
use super::ClickHouseStore;
use crate::codec::unpack;
use crate::cost_agg::{attribute_value, none_if_empty, Aggregator, RawCall};
use crate::costs::{CostDimension, CostQuery, CostReader, CostReport};
use crate::sqlite::rows::{decode_resource, kind_code};
use crate::StoreError;

#[derive(Deserialize)]
struct DetailAttributes {
    #[serde(rename = "a", default)]
    attributes: Map<String, Json>,
}

#[async_trait]
impl CostReader for ClickHouseStore {
    async fn costs(&self, project: ProjectId, q: &CostQuery) -> Result<CostReport, StoreError> {
        let needs_detail = q
            .group_by
            .iter()
            .any(|d| matches!(d, CostDimension::Workspace | CostDimension::Attribute(_)));
        let sql = format!(
            "SELECT start_ns, duration_ns, is_error, input_tokens, output_tokens, total_tokens, \
             cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nano_usd, tenant_id, agent, \
             user_id, session_id, model, provider, service, resource_hash, {detail} FROM \
             (SELECT * FROM spans WHERE project_id = {project} AND start_ns >= {from} AND start_ns < {to} \
             AND kind IN ({llm}, {emb}) ORDER BY seq LIMIT 1 BY trace_id, span_id)",
            detail = if needs_detail { "detail" } else { "''" },
            project = project.0,
            from = q.from_ns.max(0),
            to = q.to_ns.max(0),
            llm = kind_code(ObservationKind::Llm),
            emb = kind_code(ObservationKind::Embedding),
        );
        let data = self.client.query(&sql).await?;
        let mut r = RowReader::new(&data);
        let mut agg = Aggregator::default();
        let mut resources: HashMap<i64, Vec<(String, sightline_core::AttrValue)>> = HashMap::new();
        while !r.is_empty() {
            let start_ns = r.i64()?;
            let duration_ns = r.i64()?;
            let is_error = r.u8()? != 0;
            let mut tokens = [None; 6];
            for t in tokens.iter_mut() {
                *t = r.opt_i64()?;
            }
            let cost = r.opt_i64()?;
            let mut cols: [Option<String>; 7] = Default::default();
            for c in cols.iter_mut() {
                *c = r.opt_string()?;
            }
            let resource_hash = r.i64()?;
            let detail = r.bytes()?;
            let attrs = if detail.is_empty() {
                None
            } else {
                Some(unpack::<DetailAttributes>(&detail)?.attributes)
            };
            let mut group = Vec::with_capacity(q.group_by.len());
            for d in &q.group_by {
                let value = match d {
                    CostDimension::Tenant => cols[0].clone(),
                    CostDimension::Agent => cols[1].clone(),
                    CostDimension::User => cols[2].clone(),
                    CostDimension::Session => cols[3].clone(),
                    CostDimension::Model => cols[4].clone(),
                    CostDimension::Provider => cols[5].clone(),
                    CostDimension::Service => cols[6].clone(),
                    CostDimension::Workspace | CostDimension::Attribute(_) => {
                        let keys: Vec<&str> = match d {
                            CostDimension::Attribute(k) => vec![k.as_str()],
                            _ => WORKSPACE_KEYS.to_vec(),
                        };
                        if let std::collections::hash_map::Entry::Vacant(slot) =
                            resources.entry(resource_hash)
                        {
                            slot.insert(self.resource(project, resource_hash).await?);
                        }
                        attribute_value(
                            attrs.as_ref(),
                            resources.get(&resource_hash).map(Vec::as_slice),
                            &keys,
                        )
                    }
                };
                group.push(none_if_empty(value));
            }
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
        Ok(agg.finish(q))
    }
}

impl ClickHouseStore {
    /// A resource's attributes (empty when unknown).
    async fn resource(
        &self,
        project: ProjectId,
        hash: i64,
    ) -> Result<Vec<(String, sightline_core::AttrValue)>, StoreError> {
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
