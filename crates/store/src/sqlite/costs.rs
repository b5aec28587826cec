//! Cost attribution on the embedded engine. Whole hours of the window that only need rollup
//! dimensions are read from `cost_rollup_hourly` (latency from its histograms, within the
//! bound documented on `LatencyHistogram`); the partial hours at the edges, and whole windows
//! grouped by session or a custom attribute, scan the raw model-call spans (exact percentiles
//! when nothing came from the rollup). Sums are exact either way.

use std::collections::HashMap;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use sightline_core::normalize::workspace::WORKSPACE_KEYS;
use sightline_core::{AttrValue, ObservationKind, ProjectId};

use super::rollup::HOUR_NS;
use super::rows::{decode_resource, kind_code};
use super::SqliteStore;
use crate::codec::unpack;
use crate::cost_agg::{attribute_value, none_if_empty, Aggregator, RawCall};
use crate::costs::{CostDimension, CostQuery, CostReader, CostReport, LatencyHistogram};
use crate::StoreError;

#[async_trait]
impl CostReader for SqliteStore {
    async fn costs(&self, project: ProjectId, query: &CostQuery) -> Result<CostReport, StoreError> {
        let query = query.clone();
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Deferred)?;
            let out = costs(&tx, project.0, &query)?;
            tx.finish()?;
            Ok(out)
        })
        .await
    }
}

/// The rollup column of a dimension; `None` when only raw spans know it.
fn rollup_column(d: &CostDimension) -> Option<&'static str> {
    Some(match d {
        CostDimension::Tenant => "tenant",
        CostDimension::Workspace => "workspace",
        CostDimension::Agent => "agent",
        CostDimension::User => "user_id",
        CostDimension::Model => "model",
        CostDimension::Provider => "provider",
        CostDimension::Service => "service",
        CostDimension::Session | CostDimension::Attribute(_) => return None,
    })
}

/// The attributes of a `detail` blob (serde skips the rest).
#[derive(Deserialize)]
struct DetailAttributes {
    #[serde(rename = "a", default)]
    attributes: Map<String, Json>,
}

fn costs(conn: &Connection, project: i64, q: &CostQuery) -> Result<CostReport, StoreError> {
    let mut agg = Aggregator::default();
    let from = q.from_ns;
    let to = q.to_ns.max(from);
    let rollup_dims: Option<Vec<&'static str>> = q.group_by.iter().map(rollup_column).collect();
    let first_hour = from.div_euclid(HOUR_NS) * HOUR_NS
        + if from.rem_euclid(HOUR_NS) == 0 {
            0
        } else {
            HOUR_NS
        };
    let last_hour = to.div_euclid(HOUR_NS) * HOUR_NS;
    match rollup_dims {
        Some(cols) if first_hour < last_hour => {
            scan_raw(conn, project, q, from, first_hour, &mut agg)?;
            read_rollup(conn, project, q, &cols, first_hour, last_hour, &mut agg)?;
            scan_raw(conn, project, q, last_hour, to, &mut agg)?;
        }
        _ => scan_raw(conn, project, q, from, to, &mut agg)?,
    }
    Ok(agg.finish(q))
}

fn read_rollup(
    conn: &Connection,
    project: i64,
    q: &CostQuery,
    cols: &[&str],
    from: i64,
    to: i64,
    agg: &mut Aggregator,
) -> Result<(), StoreError> {
    agg.mark_approximate();
    let dims = if cols.is_empty() {
        String::new()
    } else {
        format!(", {}", cols.join(", "))
    };
    let sql = format!(
        "SELECT hour_ns, requests, errors, input_tokens, output_tokens, total_tokens, cache_read_tokens, \
         cache_write_tokens, reasoning_tokens, cost_nano_usd, costed_requests, latency_hist{dims} \
         FROM cost_rollup_hourly WHERE project_id = ?1 AND hour_ns >= ?2 AND hour_ns < ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![project, from, to])?;
    while let Some(r) = rows.next()? {
        let hour: i64 = r.get(0)?;
        let mut group = Vec::with_capacity(cols.len());
        for i in 0..cols.len() {
            group.push(none_if_empty(r.get(12 + i)?));
        }
        let a = agg.acc(q.bucket.map(|b| b.start_of(hour)), group);
        let row = &mut a.row;
        for (i, slot) in [
            &mut row.requests,
            &mut row.errors,
            &mut row.input_tokens,
            &mut row.output_tokens,
            &mut row.total_tokens,
            &mut row.cache_read_tokens,
            &mut row.cache_write_tokens,
            &mut row.reasoning_tokens,
            &mut row.cost_nano_usd,
            &mut row.costed_requests,
        ]
        .into_iter()
        .enumerate()
        {
            *slot = slot.saturating_add(r.get::<_, i64>(1 + i)?);
        }
        let blob: Vec<u8> = r.get(11)?;
        a.hist.merge(&LatencyHistogram::decode(&blob)?);
    }
    Ok(())
}

fn scan_raw(
    conn: &Connection,
    project: i64,
    q: &CostQuery,
    from: i64,
    to: i64,
    agg: &mut Aggregator,
) -> Result<(), StoreError> {
    if from >= to {
        return Ok(());
    }
    let needs_detail = q
        .group_by
        .iter()
        .any(|d| matches!(d, CostDimension::Workspace | CostDimension::Attribute(_)));
    let sql = format!(
        "SELECT start_ns, duration_ns, is_error, input_tokens, output_tokens, total_tokens, \
         cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nano_usd, tenant_id, agent, \
         user_id, session_id, model, provider, service, resource_hash, {} FROM spans \
         WHERE project_id = ?1 AND start_ns >= ?2 AND start_ns < ?3 AND kind IN ({}, {})",
        if needs_detail { "detail" } else { "NULL" },
        kind_code(ObservationKind::Llm),
        kind_code(ObservationKind::Embedding)
    );
    let mut resources: HashMap<i64, Vec<(String, AttrValue)>> = HashMap::new();
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![project, from, to])?;
    while let Some(r) = rows.next()? {
        let mut tokens = [None; 6];
        for (i, t) in tokens.iter_mut().enumerate() {
            *t = r.get(3 + i)?;
        }
        let call = RawCall {
            start_ns: r.get(0)?,
            duration_ns: r.get(1)?,
            is_error: r.get(2)?,
            tokens,
            cost: r.get(9)?,
        };
        let attrs: Option<Map<String, Json>> = match r
            .get_ref(18)?
            .as_blob_or_null()
            .map_err(|e| StoreError::Engine(e.to_string()))?
        {
            Some(b) => Some(unpack::<DetailAttributes>(b)?.attributes),
            None => None,
        };
        let resource_hash: i64 = r.get(17)?;
        let mut group = Vec::with_capacity(q.group_by.len());
        for d in &q.group_by {
            let col = |i: usize| -> rusqlite::Result<Option<String>> { r.get(i) };
            let value = match d {
                CostDimension::Tenant => col(10)?,
                CostDimension::Agent => col(11)?,
                CostDimension::User => col(12)?,
                CostDimension::Session => col(13)?,
                CostDimension::Model => col(14)?,
                CostDimension::Provider => col(15)?,
                CostDimension::Service => col(16)?,
                CostDimension::Workspace | CostDimension::Attribute(_) => {
                    let keys: Vec<&str> = match d {
                        CostDimension::Attribute(k) => vec![k.as_str()],
                        _ => WORKSPACE_KEYS.to_vec(),
                    };
                    if let std::collections::hash_map::Entry::Vacant(slot) =
                        resources.entry(resource_hash)
                    {
                        let blob: Option<Vec<u8>> = conn
                            .prepare_cached(
                                "SELECT attributes FROM resources WHERE project_id = ?1 AND hash = ?2",
                            )?
                            .query_row(params![project, resource_hash], |r| r.get(0))
                            .optional()?;
                        slot.insert(match blob {
                            Some(b) => decode_resource(&b)?,
                            None => Vec::new(),
                        });
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
        agg.acc(q.bucket.map(|b| b.start_of(call.start_ns)), group)
            .add_raw(&call);
    }
    Ok(())
}
