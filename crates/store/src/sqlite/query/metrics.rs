//! Time-bucketed metrics: the matching spans' promoted columns are read in one pass over
//! `spans_by_start` and aggregated here (sums, counts, nearest-rank percentiles).

use std::collections::BTreeMap;

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use sightline_core::ProjectId;

use super::filter::{span_predicates, Where};
use crate::codec::kind_from_code;
use crate::filter::Fields;
use crate::sqlite::SqliteStore;
use crate::{GroupBy, MetricPoint, MetricsQuery, MetricsReader, MetricsResult, StoreError};

#[async_trait]
impl MetricsReader for SqliteStore {
    async fn metrics(
        &self,
        project: ProjectId,
        query: &MetricsQuery,
    ) -> Result<MetricsResult, StoreError> {
        if query.bucket_ns <= 0 {
            return Err(StoreError::Invalid(format!(
                "bucket_ns: must be a positive number of nanoseconds, got {}",
                query.bucket_ns
            )));
        }
        let query = query.clone();
        self.with_conn(move |conn| metrics(conn, project.0, &query))
            .await
    }
}

/// The column a group takes its value from.
fn group_column(g: Option<GroupBy>) -> &'static str {
    match g {
        None | Some(GroupBy::Kind) => "NULL",
        Some(GroupBy::Service) => "service",
        Some(GroupBy::Agent) => "agent",
        Some(GroupBy::Model) => "model",
        Some(GroupBy::Provider) => "provider",
        Some(GroupBy::Operation) => "operation",
    }
}

#[derive(Default)]
struct Acc {
    requests: i64,
    errors: i64,
    tokens: [i64; 3],
    cost: Option<i64>,
    durations: Vec<i64>,
}

/// The nearest-rank percentile `p` (0-100) of sorted `values`: the smallest value with at least
/// p% of the values at or below it.
fn nearest_rank(sorted: &[i64], p: u32) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let n = sorted.len();
    let rank = (n * p as usize).div_ceil(100).clamp(1, n);
    sorted[rank - 1]
}

fn metrics(conn: &Connection, project: i64, q: &MetricsQuery) -> Result<MetricsResult, StoreError> {
    let mut w = Where::new();
    w.push(
        "project_id = ? AND start_ns >= ? AND start_ns < ?",
        [
            Value::Integer(project),
            Value::Integer(q.from_ns),
            Value::Integer(q.to_ns),
        ],
    );
    w.extend(span_predicates(&q.filter, "", Fields::All));
    let sql = format!(
        "SELECT start_ns, duration_ns, is_error, kind, input_tokens, output_tokens, total_tokens, \
         cost_nano_usd, {} FROM spans WHERE {}",
        group_column(q.group_by),
        w.sql()
    );
    let mut acc: BTreeMap<(Option<String>, i64), Acc> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(w.params.iter()))?;
    while let Some(r) = rows.next()? {
        let start: i64 = r.get(0)?;
        let kind = kind_from_code(r.get(3)?);
        let group: Option<String> = match q.group_by {
            Some(GroupBy::Kind) => Some(kind.as_str().to_owned()),
            _ => r.get(8)?,
        };
        let bucket = start.div_euclid(q.bucket_ns) * q.bucket_ns;
        let a = acc.entry((group, bucket)).or_default();
        a.requests += 1;
        a.errors += r.get::<_, i64>(2)?;
        a.durations.push(r.get(1)?);
        // Like trace summaries, only model calls count tokens and cost: agent spans often
        // repeat their children's sums.
        if matches!(
            kind,
            sightline_core::ObservationKind::Llm | sightline_core::ObservationKind::Embedding
        ) {
            let input: Option<i64> = r.get(4)?;
            let output: Option<i64> = r.get(5)?;
            let total: Option<i64> = r.get::<_, Option<i64>>(6)?.or(match (input, output) {
                (Some(i), Some(o)) => Some(i.saturating_add(o)),
                (i, o) => i.or(o),
            });
            for (slot, v) in a.tokens.iter_mut().zip([input, output, total]) {
                *slot = slot.saturating_add(v.unwrap_or(0));
            }
            if let Some(c) = r.get::<_, Option<i64>>(7)? {
                a.cost = Some(a.cost.unwrap_or(0).saturating_add(c));
            }
        }
    }
    let points = acc
        .into_iter()
        .map(|((group, bucket_start_ns), mut a)| {
            a.durations.sort_unstable();
            MetricPoint {
                bucket_start_ns,
                group,
                requests: a.requests,
                errors: a.errors,
                input_tokens: a.tokens[0],
                output_tokens: a.tokens[1],
                total_tokens: a.tokens[2],
                latency_p50_ns: nearest_rank(&a.durations, 50),
                latency_p95_ns: nearest_rank(&a.durations, 95),
                latency_p99_ns: nearest_rank(&a.durations, 99),
                cost_nano_usd: a.cost,
            }
        })
        .collect();
    Ok(MetricsResult { points })
}

#[cfg(test)]
mod tests {
    use super::nearest_rank;

    #[test]
    fn nearest_rank_picks_the_smallest_value_covering_p_percent() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&v, 50), 5);
        assert_eq!(nearest_rank(&v, 95), 10);
        assert_eq!(nearest_rank(&v, 99), 10);
        assert_eq!(nearest_rank(&[7], 50), 7);
        let hundred: Vec<i64> = (1..=100).collect();
        assert_eq!(nearest_rank(&hundred, 95), 95);
        assert_eq!(nearest_rank(&hundred, 99), 99);
        assert_eq!(nearest_rank(&[], 50), 0);
    }
}
