//! The hourly cost rollup on ClickHouse: an AggregatingMergeTree of model-call states per
//! (project, hour, tenant, workspace, agent, user, model, request model, provider, service),
//! filled by a materialized view from every insert into `spans`, with the same sums and latency
//! histogram as the embedded engine's rollup. Absent values are ''. Schema 6 made it without
//! the request model; schema 10 drops that one and makes it again ([`replace`]).
//!
//! The rollup covers the hours from `cost_rollup_start` on: the first whole hour after the view
//! was made, or every hour when the database had no spans then. Earlier hours are read from the
//! raw spans, so an upgraded database needs no backfill.

use sightline_core::ObservationKind;

use super::client::Client;
use super::cluster::Layout;
use super::rowbinary::{quote, RowReader};
use super::summaries::CALL_SUMS;
use crate::codec::kind_code;
use crate::cost_agg::{Aggregator, RollupPlan, HOUR_NS};
use crate::costs::{CostQuery, LatencyHistogram, HISTOGRAM_STEPS_PER_OCTAVE};
use crate::StoreError;

/// The dimension columns, in the rollup's sort key order, with the `spans` column each reads;
/// `d_` + the rollup column names that `cost_agg::rollup_column` gives.
const DIMENSIONS: [(&str, &str); 8] = [
    ("tenant", "tenant_id"),
    ("workspace", "workspace"),
    ("agent", "agent"),
    ("user_id", "user_id"),
    ("model", "model"),
    ("request_model", "request_model"),
    ("provider", "provider"),
    ("service", "service"),
];

/// Schema 6's dimensions (without the request model), for its view.
const DIMENSIONS_V6: [(&str, &str); 7] = [
    ("tenant", "tenant_id"),
    ("workspace", "workspace"),
    ("agent", "agent"),
    ("user_id", "user_id"),
    ("model", "model"),
    ("provider", "provider"),
    ("service", "service"),
];

/// The sums and histogram states of a rollup row, after its dimensions.
const STATES: &str = "requests AggregateFunction(count),
            errors AggregateFunction(sum, UInt64),
            input AggregateFunction(sum, Int64),
            output AggregateFunction(sum, Int64),
            total AggregateFunction(sum, Int64),
            cache_read AggregateFunction(sum, Int64),
            cache_write AggregateFunction(sum, Int64),
            reasoning AggregateFunction(sum, Int64),
            cost AggregateFunction(sum, Int64),
            costed AggregateFunction(sum, UInt64),
            hist AggregateFunction(sumMap, Array(UInt16), Array(UInt64)),
            min_ns AggregateFunction(min, Int64),
            max_ns AggregateFunction(max, Int64)";

/// The table over `dimensions`.
fn create_table(dimensions: &[(&str, &str)]) -> String {
    let dims: String = dimensions
        .iter()
        .map(|(d, _)| format!("d_{d} String,\n            "))
        .collect();
    let keys = dimensions
        .iter()
        .map(|(d, _)| format!("d_{d}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "CREATE TABLE IF NOT EXISTS cost_rollup (
            project_id Int64,
            hour_ns UInt64,
            {dims}{STATES}
        ) ENGINE = AggregatingMergeTree
        PARTITION BY toYYYYMMDD(toDateTime(intDiv(hour_ns, 1000000000), 'UTC'))
        ORDER BY (project_id, hour_ns, {keys})"
    )
}

/// When the rollup's coverage starts; one row per node that made (or found) the view.
pub(crate) const CREATE_START: &str = "CREATE TABLE IF NOT EXISTS cost_rollup_start \
    (since_ns Int64) ENGINE = MergeTree ORDER BY since_ns";

/// The view over `spans` grouping by `dimensions` (`TO` and `FROM` as separate words for the
/// sharded layout).
fn create_view(dimensions: &[(&str, &str)]) -> String {
    let dims = dimensions
        .iter()
        .map(|(d, column)| format!("ifNull({column}, '') AS d_{d}"))
        .collect::<Vec<_>>()
        .join(", ");
    let keys = dimensions
        .iter()
        .map(|(d, _)| format!("d_{d}"))
        .collect::<Vec<_>>()
        .join(", ");
    let tokens = CALL_SUMS
        .map(|(alias, v)| format!("sumState(toInt64({v})) AS {alias}"))
        .join(", ");
    // `LatencyHistogram::index_of`: floor(log2(ns) * steps), 0 for ns <= 1.
    let bucket = format!(
        "if(duration_ns <= 1, toUInt16(0), \
         toUInt16(floor(log2(toFloat64(duration_ns)) * {HISTOGRAM_STEPS_PER_OCTAVE:?})))"
    );
    format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS cost_rollup_mv TO cost_rollup AS SELECT \
         project_id, intDiv(start_ns, {HOUR_NS}) * {HOUR_NS} AS hour_ns, {dims}, \
         countState() AS requests, sumState(toUInt64(is_error)) AS errors, {tokens}, \
         sumState(toUInt64(isNotNull(cost_nano_usd))) AS costed, \
         sumMapState([{bucket}], [toUInt64(1)]) AS hist, minState(duration_ns) AS min_ns, \
         maxState(duration_ns) AS max_ns FROM spans WHERE kind IN ({llm}, {emb}) \
         GROUP BY project_id, hour_ns, {keys}",
        llm = kind_code(ObservationKind::Llm),
        emb = kind_code(ObservationKind::Embedding),
    )
}

/// Schema 6's step: makes the table and the view, and records where coverage starts.
pub(crate) async fn install(entry: &Client, layout: &Layout) -> Result<(), StoreError> {
    layout.execute(entry, &create_table(&DIMENSIONS_V6)).await?;
    install_view(entry, layout, &DIMENSIONS_V6).await
}

/// Schema 10's step: drops schema 6's view, table and coverage, then makes them again with the
/// request model; coverage starts again at the next whole hour (earlier hours read raw spans).
pub(crate) async fn replace(entry: &Client, layout: &Layout) -> Result<(), StoreError> {
    layout.drop_view(entry, "cost_rollup_mv").await?;
    layout.drop_table(entry, "cost_rollup").await?;
    layout.drop_table(entry, "cost_rollup_start").await?;
    layout.execute(entry, &create_table(&DIMENSIONS)).await?;
    layout.execute(entry, CREATE_START).await?;
    install_view(entry, layout, &DIMENSIONS).await
}

/// Makes the view over `dimensions` and records where coverage starts.
async fn install_view(
    entry: &Client,
    layout: &Layout,
    dimensions: &[(&str, &str)],
) -> Result<(), StoreError> {
    let rows = entry.query("SELECT count() FROM spans").await?;
    let empty = RowReader::new(&rows).u64()? == 0;
    layout.execute(entry, &create_view(dimensions)).await?;
    // Taken after the view exists: every span inserted before it started earlier (but for
    // clients whose clocks run ahead by more than the rest of the hour).
    let since = if empty {
        0
    } else {
        let now = i64::try_from(super::now_ns()).unwrap_or(i64::MAX);
        now.div_euclid(HOUR_NS) * HOUR_NS + HOUR_NS
    };
    entry
        .execute(&format!(
            "INSERT INTO cost_rollup_start (since_ns) VALUES ({since})"
        ))
        .await
}

/// The first hour the rollup covers (`i64::MAX`, never, when schema 6 recorded none).
pub(crate) async fn covered_from(client: &Client) -> Result<i64, StoreError> {
    let rows = client
        .query("SELECT count(), min(since_ns) FROM cost_rollup_start")
        .await?;
    let mut r = RowReader::new(&rows);
    let (count, since) = (r.u64()?, r.i64()?);
    Ok(if count == 0 { i64::MAX } else { since })
}

/// Adds the rollup's whole hours of `plan` to `agg`.
pub(crate) async fn read(
    client: &Client,
    project: i64,
    q: &CostQuery,
    plan: &RollupPlan<'_>,
    agg: &mut Aggregator,
) -> Result<(), StoreError> {
    agg.mark_approximate();
    let cols: Vec<String> = plan.cols.iter().map(|c| format!("d_{c}")).collect();
    let mut sql = format!(
        "SELECT toInt64(hour_ns), toInt64(countMerge(requests)), toInt64(sumMerge(errors)), \
         sumMerge(input), sumMerge(output), sumMerge(total), sumMerge(cache_read), \
         sumMerge(cache_write), sumMerge(reasoning), sumMerge(cost), toInt64(sumMerge(costed)), \
         sumMapMerge(hist), minMerge(min_ns), maxMerge(max_ns){} FROM cost_rollup \
         WHERE project_id = {project} AND hour_ns >= {} AND hour_ns < {}",
        cols.iter().map(|c| format!(", {c}")).collect::<String>(),
        plan.from.max(0),
        plan.to.max(0),
    );
    for (column, value) in &plan.filters {
        sql.push_str(&format!(" AND d_{column} = {}", quote(value)));
    }
    sql.push_str(" GROUP BY hour_ns");
    for c in &cols {
        sql.push_str(&format!(", {c}"));
    }
    let rows = client.query(&sql).await?;
    let mut r = RowReader::new(&rows);
    while !r.is_empty() {
        let hour = r.i64()?;
        let mut sums = [0i64; 10];
        for s in &mut sums {
            *s = r.i64()?;
        }
        let keys = (0..r.varint()?)
            .map(|_| r.u16())
            .collect::<Result<Vec<_>, _>>()?;
        let counts = (0..r.varint()?)
            .map(|_| r.u64())
            .collect::<Result<Vec<_>, _>>()?;
        let hist = LatencyHistogram {
            buckets: keys.into_iter().zip(counts).filter(|b| b.1 > 0).collect(),
            min_ns: r.i64()?,
            max_ns: r.i64()?,
        };
        let mut values = Vec::with_capacity(cols.len());
        for _ in &cols {
            values.push(r.string()?);
        }
        let Some(group) = plan.group(&values) else {
            continue;
        };
        agg.acc(q.bucket.map(|b| b.start_of(hour)), group)
            .add_rollup(sums, &hist);
    }
    Ok(())
}
