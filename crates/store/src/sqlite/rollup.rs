//! The hourly cost rollup, maintained by the writer in the same transaction as the spans: one
//! row per (project, hour, tenant, workspace, agent, user, model, request model, provider,
//! service) with exact
//! sums and a latency histogram, for model calls (llm and embedding observations) newly stored.
//! Retried spans are not newly stored, so they never count twice. Absent values are stored as
//! '' (a NULL would defeat the primary key). Also the backfill that fills the rollup from the
//! spans a database held before the rollup existed.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, Transaction};
use sightline_core::normalize::workspace::{attribute_text, WORKSPACE_KEYS};
use sightline_core::{AttrValue, Observation, ObservationKind};

use crate::codec::{decode_span, kind_code, SpanColumns};
use crate::costs::LatencyHistogram;
use crate::StoreError;

pub(crate) use crate::cost_agg::HOUR_NS;

/// tenant, workspace, agent, user, model, request model, provider, service.
pub(crate) type Dims = [String; 8];

/// What one group of writes adds to one rollup row.
#[derive(Default)]
pub(crate) struct RollupAgg {
    pub requests: i64,
    pub errors: i64,
    /// input, output, total, cache read, cache write, reasoning.
    pub tokens: [i64; 6],
    pub cost: i64,
    pub costed: i64,
    pub duration_sum: i64,
    pub hist: LatencyHistogram,
}

impl RollupAgg {
    pub fn add_call(&mut self, o: &Observation) {
        let u = &o.usage;
        let total = u.total.or(match (u.input, u.output) {
            (Some(i), Some(out)) => Some(i.saturating_add(out)),
            (i, out) => i.or(out),
        });
        for (slot, v) in self.tokens.iter_mut().zip([
            u.input,
            u.output,
            total,
            u.cache_read,
            u.cache_write,
            u.reasoning,
        ]) {
            *slot = slot.saturating_add(v.unwrap_or(0));
        }
        if let Some(c) = o.cost.as_ref().and_then(|c| c.nano_usd) {
            self.cost = self.cost.saturating_add(c);
            self.costed += 1;
        }
        let duration = o.end_ns.saturating_sub(o.start_ns);
        self.requests += 1;
        self.errors += i64::from(o.is_error());
        self.duration_sum = self.duration_sum.saturating_add(duration);
        self.hist.add(duration, 1);
    }
}

/// The rollup rows one write group touches.
#[derive(Default)]
pub(crate) struct Rollup {
    rows: HashMap<(i64, i64, Dims), RollupAgg>,
}

impl Rollup {
    /// Counts a newly stored observation (other kinds than llm and embedding are skipped);
    /// `model` and `request_model` are its columns (`codec::SpanRow`).
    pub fn add(
        &mut self,
        project: i64,
        o: &Observation,
        model: Option<&str>,
        request_model: Option<&str>,
    ) {
        if !matches!(o.kind, ObservationKind::Llm | ObservationKind::Embedding) {
            return;
        }
        let s = |v: Option<&str>| v.unwrap_or("").to_owned();
        let dims = [
            s(o.tenant_id.as_deref()),
            s(o.workspace_id.as_deref()),
            s(o.agent_name.as_deref()),
            s(o.user_id.as_deref()),
            s(model),
            s(request_model),
            s(o.provider.as_deref()),
            s(o.service_name.as_deref()),
        ];
        let hour = o.start_ns.div_euclid(HOUR_NS) * HOUR_NS;
        self.rows
            .entry((project, hour, dims))
            .or_default()
            .add_call(o);
    }

    /// Adds everything to the stored rows, inside the writer's transaction.
    pub fn flush(&self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        for ((project, hour, d), a) in &self.rows {
            let stored: Option<Vec<u8>> = tx
                .prepare_cached(
                    "SELECT latency_hist FROM cost_rollup_hourly WHERE project_id = ?1 AND hour_ns = ?2 \
                     AND tenant = ?3 AND workspace = ?4 AND agent = ?5 AND user_id = ?6 AND model = ?7 \
                     AND request_model = ?8 AND provider = ?9 AND service = ?10",
                )?
                .query_row(
                    params![project, hour, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]],
                    |r| r.get(0),
                )
                .optional()?;
            let mut hist = match stored {
                Some(b) => LatencyHistogram::decode(&b)?,
                None => LatencyHistogram::default(),
            };
            hist.merge(&a.hist);
            tx.prepare_cached(
                "INSERT INTO cost_rollup_hourly (project_id, hour_ns, tenant, workspace, agent, user_id, \
                 model, request_model, provider, service, requests, errors, input_tokens, output_tokens, \
                 total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nano_usd, \
                 costed_requests, duration_sum_ns, latency_hist) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
                 ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) \
                 ON CONFLICT (project_id, hour_ns, tenant, workspace, agent, user_id, model, request_model, \
                 provider, service) \
                 DO UPDATE SET requests = requests + excluded.requests, errors = errors + excluded.errors, \
                 input_tokens = input_tokens + excluded.input_tokens, \
                 output_tokens = output_tokens + excluded.output_tokens, \
                 total_tokens = total_tokens + excluded.total_tokens, \
                 cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, \
                 cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens, \
                 reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, \
                 cost_nano_usd = cost_nano_usd + excluded.cost_nano_usd, \
                 costed_requests = costed_requests + excluded.costed_requests, \
                 duration_sum_ns = duration_sum_ns + excluded.duration_sum_ns, \
                 latency_hist = excluded.latency_hist",
            )?
            .execute(params![
                project,
                hour,
                d[0],
                d[1],
                d[2],
                d[3],
                d[4],
                d[5],
                d[6],
                d[7],
                a.requests,
                a.errors,
                a.tokens[0],
                a.tokens[1],
                a.tokens[2],
                a.tokens[3],
                a.tokens[4],
                a.tokens[5],
                a.cost,
                a.costed,
                a.duration_sum,
                hist.encode(),
            ])?;
        }
        Ok(())
    }
}

/// Model calls [`backfill`] decodes per step: memory stays bounded by this many spans' rollup
/// rows and resources, whatever the size of the database.
const BACKFILL_STEP: i64 = 5_000;

/// Counts every model call already stored into the rollup, as the writer counts new ones (the
/// same [`Rollup::add`]; these rows predate the stored workspace, so it is read by the same
/// rule from the stored attributes and the resource).
/// Runs inside the migration that makes the rollup (schema 9), so a database that had spans
/// before it answers cost queries from the rollup exactly as from the raw spans. Reads spans in rowid
/// order, [`BACKFILL_STEP`] at a time, flushing after each step. Returns the calls counted.
pub(crate) fn backfill(tx: &Transaction<'_>) -> Result<i64, StoreError> {
    // Only the columns of schema 9 (this runs at version 9, whatever later versions add).
    let sql = format!(
        "SELECT rowid, project_id, trace_id, span_id, start_ns, duration_ns, kind, name, status, \
         service, agent, provider, model, input_tokens, output_tokens, total_tokens, \
         cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nano_usd, user_id, \
         session_id, tenant_id, resource_hash, detail, request_model FROM spans \
         WHERE rowid > ?1 AND kind IN ({}, {}) ORDER BY rowid LIMIT ?2",
        kind_code(ObservationKind::Llm),
        kind_code(ObservationKind::Embedding)
    );
    let mut stmt = tx.prepare(&sql)?;
    let mut after = i64::MIN;
    let mut counted = 0;
    loop {
        let mut rollup = Rollup::default();
        let mut resources: HashMap<(i64, i64), Vec<(String, AttrValue)>> = HashMap::new();
        let mut read = 0;
        let mut rows = stmt.query(params![after, BACKFILL_STEP])?;
        while let Some(r) = rows.next()? {
            after = r.get(0)?;
            let project: i64 = r.get(1)?;
            let resource_hash: i64 = r.get(23)?;
            let columns = SpanColumns {
                trace_id: r.get(2)?,
                span_id: r.get(3)?,
                parent_span_id: None,
                start_ns: r.get(4)?,
                duration_ns: r.get(5)?,
                kind: r.get(6)?,
                name: r.get(7)?,
                status: r.get(8)?,
                service: r.get(9)?,
                agent: r.get(10)?,
                provider: r.get(11)?,
                model: r.get(12)?,
                request_model: r.get(25)?,
                tokens: [
                    r.get(13)?,
                    r.get(14)?,
                    r.get(15)?,
                    r.get(16)?,
                    r.get(17)?,
                    r.get(18)?,
                ],
                cost_nano_usd: r.get(19)?,
                user_id: r.get(20)?,
                session_id: r.get(21)?,
                tenant_id: r.get(22)?,
                operation: None,
                detail: r.get(24)?,
                payload: None,
            };
            let model = columns.model.clone();
            let request_model = columns.request_model.clone();
            let mut obs = decode_span(columns, 0)?;
            let resource = match resources.entry((project, resource_hash)) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(super::costs::resource(tx, project, resource_hash)?)
                }
            };
            if obs.workspace_id.is_none() {
                obs.workspace_id = attribute_text(resource, &WORKSPACE_KEYS);
            }
            rollup.add(project, &obs, model.as_deref(), request_model.as_deref());
            read += 1;
        }
        drop(rows); // ends the read before the step's writes
        rollup.flush(tx)?;
        counted += read;
        if read < BACKFILL_STEP {
            return Ok(counted);
        }
    }
}
