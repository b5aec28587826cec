//! Cost attribution on the embedded engine. Whole hours of the window that only group and
//! filter by rollup dimensions are read from `cost_rollup_hourly` (latency from its histograms,
//! within the bound documented on `LatencyHistogram`); the partial hours at the edges, and whole
//! windows grouped or filtered by session or a custom attribute, scan the raw model-call spans
//! (exact percentiles when nothing came from the rollup). Sums are exact either way.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use async_trait::async_trait;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use sightline_core::{AttrValue, ObservationKind, ProjectId};

use super::SqliteStore;
use crate::codec::{decode_resource, kind_code};
use crate::codec::{unpack, StoredWorkspace};
use crate::cost_agg::{
    needs_attributes, rollup_plan, span_filters, Aggregator, CallView, RawCall, RollupPlan,
    CALL_COLUMNS,
};
use crate::costs::{CostQuery, CostReader, CostReport, LatencyHistogram};
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

fn costs(conn: &Connection, project: i64, q: &CostQuery) -> Result<CostReport, StoreError> {
    let mut agg = Aggregator::default();
    if q.filters.iter().any(|f| f.1.is_empty()) {
        // No call has an empty value (the rollup's '' means "none"): nothing matches.
        return Ok(agg.finish(q));
    }
    let from = q.from_ns;
    let to = q.to_ns.max(from);
    match rollup_plan(q, i64::MIN) {
        Some(plan) => {
            scan_raw(conn, project, q, from, plan.from, &mut agg)?;
            read_rollup(conn, project, q, &plan, &mut agg)?;
            scan_raw(conn, project, q, plan.to, to, &mut agg)?;
        }
        None => scan_raw(conn, project, q, from, to, &mut agg)?,
    }
    Ok(agg.finish(q))
}

fn read_rollup(
    conn: &Connection,
    project: i64,
    q: &CostQuery,
    read: &RollupPlan<'_>,
    agg: &mut Aggregator,
) -> Result<(), StoreError> {
    agg.mark_approximate();
    let cols = &read.cols;
    let dims = if cols.is_empty() {
        String::new()
    } else {
        format!(", {}", cols.join(", "))
    };
    let mut sql = format!(
        "SELECT hour_ns, requests, errors, input_tokens, output_tokens, total_tokens, cache_read_tokens, \
         cache_write_tokens, reasoning_tokens, cost_nano_usd, costed_requests, latency_hist{dims} \
         FROM cost_rollup_hourly WHERE project_id = ?1 AND hour_ns >= ?2 AND hour_ns < ?3"
    );
    let mut args: Vec<SqlValue> = vec![project.into(), read.from.into(), read.to.into()];
    for (column, value) in &read.filters {
        args.push((*value).to_owned().into());
        sql.push_str(&format!(" AND {column} = ?{}", args.len()));
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        let hour: i64 = r.get(0)?;
        let mut values = Vec::with_capacity(cols.len());
        for i in 0..cols.len() {
            values.push(r.get::<_, String>(12 + i)?);
        }
        let Some(group) = read.group(&values) else {
            continue;
        };
        let mut sums = [0i64; 10];
        for (i, v) in sums.iter_mut().enumerate() {
            *v = r.get(1 + i)?;
        }
        let blob: Vec<u8> = r.get(11)?;
        agg.acc(q.bucket.map(|b| b.start_of(hour)), group)
            .add_rollup(sums, &LatencyHistogram::decode(&blob)?);
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
    let needs_detail = needs_attributes(q);
    let mut args: Vec<SqlValue> = vec![project.into(), from.into(), to.into()];
    let mut sql = format!(
        "SELECT start_ns, duration_ns, is_error, input_tokens, output_tokens, total_tokens, \
         cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nano_usd, {CALL_COLUMNS}, \
         resource_hash, {} FROM spans \
         WHERE project_id = ?1 AND start_ns >= ?2 AND start_ns < ?3 AND kind IN ({}, {})",
        if needs_detail { "detail" } else { "NULL" },
        kind_code(ObservationKind::Llm),
        kind_code(ObservationKind::Embedding)
    );
    for (columns, value) in span_filters(q) {
        args.push(value.to_owned().into());
        let n = args.len();
        let any: Vec<String> = columns.iter().map(|c| format!("{c} = ?{n}")).collect();
        sql.push_str(&format!(" AND ({})", any.join(" OR ")));
    }
    let mut resources: HashMap<i64, Vec<(String, AttrValue)>> = HashMap::new();
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
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
        let mut columns: [Option<String>; 8] = Default::default();
        for (i, c) in columns.iter_mut().enumerate() {
            *c = r.get(10 + i)?;
        }
        let resource_hash: i64 = r.get(18)?;
        let detail: Option<StoredWorkspace> = match r
            .get_ref(19)?
            .as_blob_or_null()
            .map_err(|e| StoreError::Engine(e.to_string()))?
        {
            Some(b) => Some(unpack::<StoredWorkspace>(b)?),
            None => None,
        };
        if needs_detail {
            if let Entry::Vacant(slot) = resources.entry(resource_hash) {
                slot.insert(resource(conn, project, resource_hash)?);
            }
        }
        let view = CallView {
            columns: &columns,
            detail: detail.as_ref(),
            resource: resources.get(&resource_hash).map(Vec::as_slice),
        };
        if let Some(group) = view.group(q) {
            agg.acc(q.bucket.map(|b| b.start_of(call.start_ns)), group)
                .add_raw(&call);
        }
    }
    Ok(())
}

/// A resource's attributes (empty when unknown).
pub(super) fn resource(
    conn: &Connection,
    project: i64,
    hash: i64,
) -> Result<Vec<(String, AttrValue)>, StoreError> {
    let blob: Option<Vec<u8>> = conn
        .prepare_cached("SELECT attributes FROM resources WHERE project_id = ?1 AND hash = ?2")?
        .query_row(params![project, hash], |r| r.get(0))
        .optional()?;
    match blob {
        Some(b) => decode_resource(&b),
        None => Ok(Vec::new()),
    }
}
