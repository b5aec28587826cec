//! Trace summaries kept at write time (schema 5). `trace_summaries` is an AggregatingMergeTree
//! of partial aggregate states, one row per (project, trace, hour of span start) and insert; a
//! materialized view fills it from every insert into `spans`, in the same INSERT. Reads merge
//! the states of a trace's rows (`-Merge`), so lists sort and filter traces without touching the
//! raw spans, and retention's dropped day partitions take exactly the dropped spans' share of
//! each summary with them.
//!
//! The rules are the ones the SQLite engine applies when it writes its summary: tokens and cost
//! count llm and embedding calls only; the root's dimensions win, the first written value
//! otherwise. The writer drops spans already stored before inserting, so a retried span is not
//! counted twice.

use sightline_core::{ObservationKind, ProjectId, TraceId};

use super::client::Client;
use super::cluster::Layout;
use super::retention::wait_for_mutations;
use super::rowbinary::{bin, RowReader};
use crate::codec::kind_code;
use crate::{StoreError, TraceSummary};

const HOUR_NS: u64 = 3_600_000_000_000;

/// The summary table. Partitioned by the UTC day of `hour_ns` like `spans` by the day of
/// `start_ns`, so retention drops the same days from both.
pub(crate) const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS trace_summaries (
            project_id Int64,
            trace_id FixedString(16),
            hour_ns UInt64,
            spans AggregateFunction(count),
            span_ids AggregateFunction(uniq, FixedString(8)),
            start AggregateFunction(min, UInt64),
            end AggregateFunction(max, Int64),
            last AggregateFunction(max, UInt64),
            errors AggregateFunction(sum, UInt64),
            input AggregateFunction(sum, Int64),
            output AggregateFunction(sum, Int64),
            total AggregateFunction(sum, Int64),
            cache_read AggregateFunction(sum, Int64),
            cache_write AggregateFunction(sum, Int64),
            reasoning AggregateFunction(sum, Int64),
            cost AggregateFunction(sum, Int64),
            has_cost AggregateFunction(max, UInt8),
            has_root AggregateFunction(max, UInt8),
            root_name AggregateFunction(argMax, String, UInt64),
            root_span AggregateFunction(argMax, FixedString(8), UInt64),
            service AggregateFunction(argMax, String, UInt64),
            agent AggregateFunction(argMax, String, UInt64),
            user_id AggregateFunction(argMax, String, UInt64),
            session_id AggregateFunction(argMax, String, UInt64),
            tenant_id AggregateFunction(argMax, String, UInt64)
        ) ENGINE = AggregatingMergeTree
        PARTITION BY toYYYYMMDD(toDateTime(intDiv(hour_ns, 1000000000), 'UTC'))
        ORDER BY (project_id, trace_id, hour_ns)
        SETTINGS index_granularity = 1024";

/// The root's name in a summary: the trace's name the root gives (`trace_name`, schema 10),
/// else its span name.
const ROOT_NAME: &str = "ifNull(trace_name, name)";
/// Schema 5's root name, before `trace_name` existed.
const ROOT_NAME_V5: &str = "name";

/// The view that feeds the table from every insert into `spans` (written with `TO` and `FROM`
/// as separate words: the sharded layout renames both to their local tables). Schema 5 made
/// `trace_summaries_mv` with the span name as the root's name; schema 10 replaced it with
/// `trace_summaries_mv2` ([`replace_view`]).
fn create_view(view: &str, root_name: &str) -> String {
    format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {view} TO trace_summaries AS {}",
        state_select("spans", "1", root_name)
    )
}

/// Schema 10's step: the view naming the root by the trace's name, made before the old one is
/// dropped (an insert in between is summarised twice, which reads detect and merge again from
/// the spans: [`Summaries::exact`]).
pub(crate) async fn replace_view(entry: &Client, layout: &Layout) -> Result<(), StoreError> {
    layout
        .execute(entry, &create_view("trace_summaries_mv2", ROOT_NAME))
        .await?;
    layout.drop_view(entry, "trace_summaries_mv").await
}

/// The dimensions a summary carries, in [`read_summary`]'s order.
const DIMENSIONS: [&str; 5] = ["service", "agent", "user_id", "session_id", "tenant_id"];

/// The sums kept for model calls, as (state column, value of one span): the six token counts
/// (the total is input + output when a span has no total) and the cost. Also the cost rollup's.
pub(crate) const CALL_SUMS: [(&str, &str); 7] = [
    ("input", "ifNull(input_tokens, 0)"),
    ("output", "ifNull(output_tokens, 0)"),
    (
        "total",
        "ifNull(total_tokens, ifNull(input_tokens, 0) + ifNull(output_tokens, 0))",
    ),
    ("cache_read", "ifNull(cache_read_tokens, 0)"),
    ("cache_write", "ifNull(cache_write_tokens, 0)"),
    ("reasoning", "ifNull(reasoning_tokens, 0)"),
    ("cost", "ifNull(cost_nano_usd, 0)"),
];

/// Partial states of the spans of `table` passing `filter`, grouped like the summary table;
/// `root_name` is the expression naming a root.
fn state_select(table: &str, filter: &str, root_name: &str) -> String {
    let model_call = format!(
        "kind IN ({}, {})",
        kind_code(ObservationKind::Llm),
        kind_code(ObservationKind::Embedding)
    );
    let tokens = CALL_SUMS
        .map(|(alias, v)| format!("sumState(if({model_call}, {v}, toInt64(0))) AS {alias}"))
        .join(", ");
    // The root's key is the largest (latest root wins); for other spans, the earlier the larger
    // (first written wins); a NULL never wins. `seq` is below 2^63 (nanoseconds until 2262).
    let dims = DIMENSIONS
        .map(|c| {
            format!(
                "argMaxState(ifNull({c}, ''), if(isNull({c}), toUInt64(0), \
                 if(isNull(parent_span_id), toUInt64(9223372036854775808 + seq), \
                 toUInt64(9223372036854775808 - seq)))) AS {c}"
            )
        })
        .join(", ");
    format!(
        "SELECT project_id, trace_id, intDiv(start_ns, {HOUR_NS}) * {HOUR_NS} AS hour_ns, \
         countState() AS spans, uniqState(span_id) AS span_ids, minState(start_ns) AS start, \
         maxState(toInt64(start_ns) + duration_ns) AS end, maxState(start_ns) AS last, sumState(toUInt64(is_error)) AS errors, \
         {tokens}, maxState(toUInt8({model_call} AND isNotNull(cost_nano_usd))) AS has_cost, \
         maxState(toUInt8(isNull(parent_span_id))) AS has_root, \
         argMaxState({root_name}, if(isNull(parent_span_id), seq, toUInt64(0))) AS root_name, \
         argMaxState(span_id, if(isNull(parent_span_id), seq, toUInt64(0))) AS root_span, \
         {dims} FROM {table} WHERE {filter} GROUP BY project_id, trace_id, hour_ns"
    )
}

/// The merged summary of each group of `trace_summaries` rows, in [`read_summary`]'s order,
/// with `t_`-prefixed aliases (`t_start`, `t_end`, `t_errors`, `t_total`, `t_cost`,
/// `t_has_cost`, `t_session_id`, ...) that outer queries and HAVING may use. The last column,
/// `t_twice`, tells that a span was counted twice (see [`Summaries`]).
pub(crate) fn merged() -> String {
    let dims = DIMENSIONS
        .map(|c| format!("argMaxMerge({c}) AS t_{c}"))
        .join(", ");
    format!(
        "{}, toUInt8(maxMerge(has_root)) AS t_has_root, argMaxMerge(root_name) AS t_root_name, \
         argMaxMerge(root_span) AS t_root_span, {dims}, \
         toUInt8(countMerge(spans) > uniqMerge(span_ids)) AS t_twice",
        merged_numbers()
    )
}

/// The numeric part of [`merged`], as (alias, merge expression), in [`read_summary`]'s order.
const NUMBERS: [(&str, &str); 12] = [
    ("t_spans", "toUInt64(countMerge(spans))"),
    ("t_start", "toInt64(minMerge(start))"),
    ("t_end", "toInt64(maxMerge(end))"),
    ("t_errors", "toInt64(sumMerge(errors))"),
    ("t_input", "sumMerge(input)"),
    ("t_output", "sumMerge(output)"),
    ("t_total", "sumMerge(total)"),
    ("t_cache_read", "sumMerge(cache_read)"),
    ("t_cache_write", "sumMerge(cache_write)"),
    ("t_reasoning", "sumMerge(reasoning)"),
    ("t_cost", "sumMerge(cost)"),
    ("t_has_cost", "toUInt8(maxMerge(has_cost))"),
];

fn merged_numbers() -> String {
    merged_only(&NUMBERS.map(|n| n.0))
}

/// The merged numbers with these aliases only: what sorting and filtering a trace list needs,
/// cheap to merge for every candidate trace.
pub(crate) fn merged_only(aliases: &[&str]) -> String {
    NUMBERS
        .iter()
        .filter(|(alias, _)| aliases.contains(alias))
        .map(|(alias, expr)| format!("{expr} AS {alias}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The start of the UTC hour of `ns`: the `hour_ns` of a summary row holding a span that
/// starts at `ns`.
pub(crate) fn hour_floor(ns: i64) -> u64 {
    let ns = u64::try_from(ns).unwrap_or(0);
    ns / HOUR_NS * HOUR_NS
}

/// Reads rows of `trace_id` followed by [`merged`].
pub(crate) fn read_summaries(rows: &[u8]) -> Result<Summaries, StoreError> {
    let mut r = RowReader::new(rows);
    let mut out = Summaries::default();
    while !r.is_empty() {
        let id = TraceId::from_bytes(&r.fixed(16)?)
            .map_err(|_| StoreError::Engine("corrupt stored trace id".into()))?;
        read_summary(&mut r, &id, &mut out)?;
    }
    Ok(out)
}

/// Decodes one row of [`merged`] into `out`; nothing when the trace has no spans.
pub(crate) fn read_summary(
    r: &mut RowReader<'_>,
    trace_id: &TraceId,
    out: &mut Summaries,
) -> Result<(), StoreError> {
    if let Some(s) = decode_summary(r, trace_id)? {
        if r.u8()? != 0 {
            out.twice.push(out.list.len());
        }
        out.list.push(s);
    } else {
        r.u8()?;
    }
    Ok(())
}

fn decode_summary(
    r: &mut RowReader<'_>,
    trace_id: &TraceId,
) -> Result<Option<TraceSummary>, StoreError> {
    let count = r.u64()?;
    let start_ns = r.i64()?;
    let end_ns = r.i64()?;
    let error_count = r.i64()?;
    let mut tokens = [0i64; 6];
    for t in &mut tokens {
        *t = r.i64()?;
    }
    let cost = r.i64()?;
    let has_cost = r.u8()? != 0;
    let has_root = r.u8()? != 0;
    let root_name = r.string()?;
    let root_span = r.fixed(8)?;
    let mut dims: [Option<String>; 5] = Default::default();
    for d in &mut dims {
        let v = r.string()?;
        *d = (!v.is_empty()).then_some(v);
    }
    if count == 0 {
        return Ok(None);
    }
    let [service_name, agent_name, user_id, session_id, tenant_id] = dims;
    Ok(Some(TraceSummary {
        trace_id: trace_id.to_hex(),
        root_name: has_root.then_some(root_name),
        root_span_id: has_root.then(|| hex::encode(&root_span)),
        start_ns,
        end_ns,
        span_count: i64::try_from(count).unwrap_or(i64::MAX),
        error_count,
        input_tokens: tokens[0],
        output_tokens: tokens[1],
        total_tokens: tokens[2],
        cache_read_tokens: tokens[3],
        cache_write_tokens: tokens[4],
        reasoning_tokens: tokens[5],
        cost_nano_usd: has_cost.then_some(cost),
        service_name,
        agent_name,
        user_id,
        session_id,
        tenant_id,
    }))
}

/// Trace summaries as read, in order, with the positions of those that counted a span twice.
///
/// The writer drops a span already stored, but a span can still be stored twice: two nodes
/// writing it at the same moment, or a retry while the first INSERT, whose answer was lost, is
/// still running. Reads keep one row per span; a summary that counted the copy is then merged
/// again from the trace's spans, one row each ([`Summaries::exact`]). Sorting by tokens or cost,
/// and session totals, still count the copy.
#[derive(Default)]
pub(crate) struct Summaries {
    pub list: Vec<TraceSummary>,
    twice: Vec<usize>,
}

impl Summaries {
    /// The summaries, those that counted a span twice merged again from their spans.
    pub async fn exact(
        mut self,
        client: &Client,
        project: ProjectId,
    ) -> Result<Vec<TraceSummary>, StoreError> {
        if self.twice.is_empty() {
            return Ok(self.list);
        }
        let ids = self
            .twice
            .iter()
            .map(|&i| {
                TraceId::from_hex(&self.list[i].trace_id)
                    .map(|t| bin(&t.0))
                    .map_err(|e| StoreError::Engine(format!("corrupt stored trace id: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let spans = format!(
            "(SELECT {RAW_COLUMNS} FROM spans WHERE project_id = {} AND trace_id IN ({}) \
             ORDER BY seq LIMIT 1 BY trace_id, span_id)",
            project.0,
            ids.join(", ")
        );
        let rows = client
            .query(&format!(
                "SELECT trace_id, {} FROM ({}) GROUP BY trace_id",
                merged(),
                state_select(&spans, "1", ROOT_NAME)
            ))
            .await?;
        for s in read_summaries(&rows)?.list {
            if let Some(slot) = self.list.iter_mut().find(|t| t.trace_id == s.trace_id) {
                *slot = s;
            }
        }
        Ok(self.list)
    }
}

/// The span columns [`state_select`] reads.
const RAW_COLUMNS: &str = "project_id, trace_id, span_id, parent_span_id, start_ns, \
    duration_ns, kind, name, is_error, input_tokens, output_tokens, total_tokens, \
    cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_nano_usd, service, agent, \
    user_id, session_id, tenant_id, trace_name, seq";

/// Schema 5's step after the table exists: makes the view, then summarises the spans stored
/// before it (a database upgraded from an older schema). A previous attempt that stopped half
/// way left rows behind: they are deleted first, so each span is counted once. An insert from
/// another node that is in flight at the moment the view appears may be counted twice.
pub(crate) async fn install(entry: &Client, layout: &Layout) -> Result<(), StoreError> {
    let rows = entry.query("SELECT count() FROM trace_summaries").await?;
    if RowReader::new(&rows).u64()? > 0 {
        for (client, table) in layout.data_tables(entry, "trace_summaries") {
            client
                .execute(&format!("ALTER TABLE {table} DELETE WHERE 1 = 1"))
                .await?;
            wait_for_mutations(client, &table).await?;
        }
    }
    layout
        .execute(entry, &create_view("trace_summaries_mv", ROOT_NAME_V5))
        .await?;
    // Spans are stamped with the wall clock (writer.rs) before their insert: those stamped
    // before now went in before the view, or are in flight.
    backfill(entry, layout, super::now_ns()).await
}

/// Summarises the spans stamped before `before_seq`: one INSERT ... SELECT per day partition,
/// so memory stays bounded by a day of traces. On a cluster, each shard summarises its own
/// spans.
async fn backfill(entry: &Client, layout: &Layout, before_seq: u64) -> Result<(), StoreError> {
    let spans = layout.data_tables(entry, "spans");
    let summaries = layout.data_tables(entry, "trace_summaries");
    for ((client, spans), (_, summaries)) in spans.into_iter().zip(summaries) {
        let rows = client
            .query(&format!(
                "SELECT DISTINCT intDiv(start_ns, 86400000000000) FROM {spans} WHERE seq < {before_seq}"
            ))
            .await?;
        let mut r = RowReader::new(&rows);
        let mut days = Vec::new();
        while !r.is_empty() {
            days.push(r.u64()?);
        }
        for day in days {
            let from = day * 24 * HOUR_NS;
            let filter = format!(
                "start_ns >= {from} AND start_ns < {} AND seq < {before_seq}",
                from + 24 * HOUR_NS
            );
            client
                .execute(&format!(
                    "INSERT INTO {summaries} {}",
                    state_select(&spans, &filter, ROOT_NAME_V5)
                ))
                .await?;
        }
    }
    Ok(())
}
