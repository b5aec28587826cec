//! The store behaviour suite: every engine must pass it. An engine's test file implements
//! [`Harness`] (where a case's fresh store lives) and calls [`store_suite!`], which makes one
//! test per behaviour case, each on its own store, so one failure hides none of the others.

pub mod core;
pub mod costs;
pub mod gateway;
pub mod keys;
pub mod logins;
pub mod metrics;
pub mod models;
pub mod prices;
pub mod query;
pub mod query_data;
pub mod query_more;
pub mod queue;
pub mod retention;

use std::future::Future;
use std::sync::Arc;

use sightline_core::{
    AttrValue, Observation, ObservationKind, Resource, SpanId, TraceId, WriteBatch,
};
use sightline_store::{Engine, EngineConfig, Store, StoreConfig};

pub fn tid(n: u8) -> TraceId {
    TraceId([n; 16])
}

pub fn sid(n: u8) -> SpanId {
    SpanId([n; 8])
}

pub fn span(trace: u8, span: u8, parent: Option<u8>, kind: ObservationKind) -> Observation {
    let mut o = Observation::new(tid(trace), sid(span), format!("span-{span}"));
    o.parent_span_id = parent.map(sid);
    o.kind = kind;
    o.start_ns = 1_000_000_000 + i64::from(span) * 1000;
    o.end_ns = o.start_ns + 500;
    o
}

pub fn batch(observations: Vec<Observation>) -> WriteBatch {
    WriteBatch {
        resources: vec![Resource {
            attributes: vec![("service.name".into(), AttrValue::Str("svc".into()))],
        }],
        observations,
        logs: Vec::new(),
    }
}

/// Where an engine's test file keeps each case's fresh store.
pub trait Harness: Sized {
    /// A new, empty place for the case `test`: the engine to open there, and `Self`, which
    /// keeps the place until [`remove`](Harness::remove).
    fn place(test: &'static str) -> (EngineConfig, Self);
    /// After the case passed and its store shut down: removes the place.
    fn remove(self) -> impl Future<Output = ()>;
}

/// What a case takes: the store's contracts, or the opened store (to shut it down).
pub trait Given {
    fn given(store: &Store) -> Self;
}

impl Given for Arc<dyn Engine> {
    fn given(store: &Store) -> Self {
        store.engine()
    }
}

impl Given for Store {
    fn given(store: &Store) -> Self {
        store.clone()
    }
}

/// Runs `case` on a fresh store opened through `sightline_store::open` in `H`'s place.
pub async fn run_case<H, T, F>(test: &'static str, max_queued: usize, case: impl FnOnce(T) -> F)
where
    H: Harness,
    T: Given,
    F: Future,
{
    let (engine, place) = H::place(test);
    let store = sightline_store::open(&StoreConfig {
        engine,
        max_queued,
        limits: Default::default(),
    })
    .await
    .unwrap();
    case(T::given(&store)).await;
    store.shutdown().await;
    drop(store);
    place.remove().await;
}

/// One `#[tokio::test]` per behaviour case on the engine whose [`Harness`] is `$harness`, in a
/// module `behaviour` (`cargo test behaviour::` runs just the suite). A case opens with a
/// 10,000-item write queue unless it names its own (`= n`).
#[allow(unused_macros)] // files that only use the builders do not expand it
macro_rules! store_suite {
    ($harness:ty) => {
        $crate::suite::store_suite!(@cases $harness;
            // Writes, whole-trace reads, isolation, keys and prices.
            core::round_trips_every_field,
            core::writes_are_idempotent,
            core::summary_tracks_the_trace,
            core::projects_are_isolated,
            core::logs_correlate_with_traces,
            core::keys_resolve_to_their_project,
            core::tool_payloads_round_trip,
            prices::price_overrides_round_trip_replace_and_delete,
            keys::keys_have_roles_and_revocations_stick,
            keys::short_trace_ids_resolve_in_their_project,
            logins::logins_expire_and_end_at_logout,
            // Trace and observation lists, sessions, logs, metrics and the change feed.
            query::trace_list_filters_and_sorts,
            query::newest_first_pages_span_hours,
            query::observation_list_filters_and_pages,
            query::explore_reads_are_isolated_by_project,
            query_more::sessions_aggregate_their_traces,
            query_more::sessions_follow_the_trace_summary,
            query_more::logs_filter_and_page,
            query_more::metrics_match_brute_force,
            query_more::feed_resumes_without_loss,
            // Costs and retention.
            costs::costs_match_brute_force,
            costs::cost_latency_is_close,
            // Models as people name them, and the trace's name.
            models::model_filter_matches_request_answer_and_family,
            models::a_root_names_its_trace,
            retention::retention_deletes_old_data_and_keeps_summaries_true,
            // OTLP metric series.
            metrics::metric_series_round_trip_and_bucket,
            metrics::metric_series_are_bounded_per_project,
            metrics::metric_writes_are_idempotent,
            metrics::retention_deletes_old_metric_points_and_series,
            // The gateway's state.
            gateway::budgets_and_their_ledger_round_trip,
            gateway::rate_limit_rules_and_provider_keys_round_trip,
            gateway::cached_responses_expire_and_stay_in_their_project,
            // The write queue.
            queue::a_full_queue_refuses_instead_of_growing = 100,
            queue::shutdown_commits_what_was_queued_then_refuses = 100_000,
        );
    };
    (@cases $harness:ty; $($module:ident :: $case:ident $(= $max_queued:expr)?),* $(,)?) => {
        mod behaviour {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::suite::run_case::<$harness, _, _>(
                        stringify!($case),
                        $crate::suite::store_suite!(@max_queued $($max_queued)?),
                        $crate::suite::$module::$case,
                    )
                    .await;
                }
            )*
        }
    };
    (@max_queued) => {
        10_000
    };
    (@max_queued $n:expr) => {
        $n
    };
}
#[allow(unused_imports)]
pub(crate) use store_suite;
