//! Time-bucketed metrics on ClickHouse, aggregated by the server per (group, bucket) over the
//! deduplicated spans. Percentiles are nearest-rank: `quantilesExact(q)` returns the element at
//! 0-based index floor(q·n) of the sorted values, nearest rank is ceil(q·n) − 1; the two agree
//! for q − ε whenever ε·n is below the smallest non-zero fraction of q·n (1/100 for whole
//! percentiles), so the levels asked are q − 1e-12 (exact up to 10^10 values per bucket).

use std::collections::BTreeMap;

use sightline_core::{ObservationKind, ProjectId};

use super::span_predicates;
use crate::clickhouse::client::Client;
use crate::clickhouse::rowbinary::RowReader;
use crate::codec::{kind_code, kind_from_code};
use crate::filter::Fields;
use crate::{GroupBy, MetricPoint, MetricsQuery, MetricsResult, StoreError};

/// The expression a group takes its value from (a Nullable(String), or the kind code).
fn group_expr(g: Option<GroupBy>) -> &'static str {
    match g {
        None => "CAST(NULL AS Nullable(String))",
        Some(GroupBy::Kind) => "CAST(toString(kind) AS Nullable(String))",
        Some(GroupBy::Service) => "service",
        Some(GroupBy::Agent) => "agent",
        Some(GroupBy::Model) => "model",
        Some(GroupBy::Provider) => "provider",
        Some(GroupBy::Operation) => "operation",
    }
}

pub(crate) async fn metrics(
    client: &Client,
    project: ProjectId,
    q: &MetricsQuery,
) -> Result<MetricsResult, StoreError> {
    if q.bucket_ns <= 0 {
        return Err(StoreError::Invalid(format!(
            "bucket_ns: must be a positive number of nanoseconds, got {}",
            q.bucket_ns
        )));
    }
    if q.to_ns <= q.from_ns.max(0) {
        return Ok(MetricsResult::default());
    }
    let model_call = format!(
        "kind IN ({}, {})",
        kind_code(ObservationKind::Llm),
        kind_code(ObservationKind::Embedding)
    );
    let b = q.bucket_ns;
    let sql = format!(
        "SELECT grp, toInt64(intDiv(start_ns, {b}) * {b}) AS bucket, toInt64(count()), \
         toInt64(sum(is_error)), \
         toInt64(sumIf(ifNull(input_tokens, 0), {model_call})), \
         toInt64(sumIf(ifNull(output_tokens, 0), {model_call})), \
         toInt64(sumIf(ifNull(total_tokens, ifNull(input_tokens, 0) + ifNull(output_tokens, 0)), {model_call})), \
         toInt64(sumIf(ifNull(cost_nano_usd, 0), {model_call})), \
         toUInt8(countIf({model_call} AND isNotNull(cost_nano_usd)) > 0), \
         arrayMap(x -> toInt64(x), quantilesExact(0.499999999999, 0.949999999999, 0.989999999999)(duration_ns)) \
         FROM (SELECT start_ns, duration_ns, is_error, kind, input_tokens, output_tokens, \
               total_tokens, cost_nano_usd, {group} AS grp FROM spans \
               WHERE project_id = {p} AND start_ns >= {from} AND start_ns < {to} AND {filter} \
               LIMIT 1 BY trace_id, span_id) \
         GROUP BY grp, bucket",
        group = group_expr(q.group_by),
        p = project.0,
        from = q.from_ns.max(0),
        to = q.to_ns,
        filter = span_predicates(&q.filter, Fields::All),
    );
    let rows = client.query(&sql).await?;
    let mut r = RowReader::new(&rows);
    let mut points: BTreeMap<(Option<String>, i64), MetricPoint> = BTreeMap::new();
    while !r.is_empty() {
        let mut group = r.opt_string()?;
        if q.group_by == Some(GroupBy::Kind) {
            group = group
                .and_then(|code| code.parse::<i64>().ok())
                .map(|code| kind_from_code(code).as_str().to_owned());
        }
        let bucket_start_ns = r.i64()?;
        let mut n = [0i64; 6];
        for v in &mut n {
            *v = r.i64()?;
        }
        let has_cost = r.u8()? != 0;
        let mut latency = [0i64; 3];
        let count = r.varint()?;
        for i in 0..count {
            let v = r.i64()?;
            if let Some(slot) = latency.get_mut(i) {
                *slot = v;
            }
        }
        points.insert(
            (group.clone(), bucket_start_ns),
            MetricPoint {
                bucket_start_ns,
                group,
                requests: n[0],
                errors: n[1],
                input_tokens: n[2],
                output_tokens: n[3],
                total_tokens: n[4],
                latency_p50_ns: latency[0],
                latency_p95_ns: latency[1],
                latency_p99_ns: latency[2],
                cost_nano_usd: has_cost.then_some(n[5]),
            },
        );
    }
    Ok(MetricsResult {
        points: points.into_values().collect(),
    })
}
