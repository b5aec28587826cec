//! Loading the query benchmark's data: benchmark agent traces (and the logs their agents would
//! write) sent over OTLP/HTTP, trace starts spread evenly over a past window in time order, as
//! a fleet would have sent them.

use std::sync::Arc;
use std::time::Instant;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinSet;

use crate::send::OtlpHttp;
use crate::traffic::{logs, TrafficGen, SCOPE_NAME};

/// What to load.
pub struct LoadPlan {
    pub spans: u64,
    pub from_ns: u64,
    pub to_ns: u64,
    pub batch_spans: usize,
    pub concurrency: usize,
    pub seed: u64,
    pub with_logs: bool,
}

/// What was loaded.
#[derive(Default)]
pub struct Loaded {
    pub spans: u64,
    pub logs: u64,
    pub seconds: f64,
}

/// One request's worth: encoded traces and logs, and their counts.
struct Batch {
    traces: Vec<u8>,
    logs: Option<Vec<u8>>,
    spans: u64,
    log_count: u64,
}

pub async fn load(client: &OtlpHttp, plan: LoadPlan) -> anyhow::Result<Loaded> {
    let started = Instant::now();
    let (tx, rx) = mpsc::channel::<Batch>(plan.concurrency * 2);
    let concurrency = plan.concurrency;
    // Generating and encoding is CPU work: keep it off the runtime's threads.
    let producer = tokio::task::spawn_blocking(move || generate(&plan, &tx));
    let rx = Arc::new(Mutex::new(rx));
    let mut exporters = JoinSet::new();
    for _ in 0..concurrency {
        let (client, rx) = (client.clone(), Arc::clone(&rx));
        exporters.spawn(async move {
            let mut loaded = Loaded::default();
            loop {
                let next = rx.lock().await.recv().await;
                let Some(batch) = next else { break };
                let rejected = client.traces_encoded(batch.traces).await?;
                loaded.spans += batch.spans.saturating_sub(rejected.count);
                if let Some(body) = batch.logs {
                    let rejected = client.logs_encoded(body).await?;
                    loaded.logs += batch.log_count.saturating_sub(rejected.count);
                }
            }
            anyhow::Ok(loaded)
        });
    }
    let mut total = Loaded::default();
    while let Some(joined) = exporters.join_next().await {
        // An exporter that failed drops its share of the channel; stop everything.
        let loaded = match joined? {
            Ok(loaded) => loaded,
            Err(e) => {
                exporters.abort_all();
                producer.abort();
                return Err(e.context("loading spans"));
            }
        };
        total.spans += loaded.spans;
        total.logs += loaded.logs;
    }
    producer.await??;
    total.seconds = started.elapsed().as_secs_f64();
    Ok(total)
}

/// Generates the batches: trace `i` starts at `from + (to - from) * spans_so_far / spans`.
fn generate(plan: &LoadPlan, tx: &mpsc::Sender<Batch>) -> anyhow::Result<()> {
    let mut gen = TrafficGen::new(plan.seed, plan.from_ns);
    let window = plan.to_ns.saturating_sub(plan.from_ns) as f64;
    let mut produced = 0u64;
    let mut reported = 0u64;
    let started = Instant::now();
    while produced < plan.spans {
        let mut groups: Vec<(Resource, Vec<Span>, Vec<LogRecord>)> = Vec::new();
        let mut spans_in_batch = 0;
        while spans_in_batch < plan.batch_spans && produced < plan.spans {
            let offset = window * produced as f64 / plan.spans as f64;
            gen.set_now(plan.from_ns + offset as u64);
            let (resource, spans) = gen.next_trace_with_resource();
            let records = if plan.with_logs {
                logs::for_trace(&spans)
            } else {
                Vec::new()
            };
            produced += spans.len() as u64;
            spans_in_batch += spans.len();
            match groups.iter_mut().find(|g| g.0 == resource) {
                Some(group) => {
                    group.1.extend(spans);
                    group.2.extend(records);
                }
                None => groups.push((resource, spans, records)),
            }
        }
        let batch = encode(groups, spans_in_batch as u64, plan.with_logs);
        if tx.blocking_send(batch).is_err() {
            return Ok(()); // the exporters stopped; their error is reported
        }
        if produced - reported >= 100_000 {
            reported = produced;
            eprintln!(
                "{:>6.1}s  {produced} spans generated and queued",
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

fn encode(
    groups: Vec<(Resource, Vec<Span>, Vec<LogRecord>)>,
    spans: u64,
    with_logs: bool,
) -> Batch {
    let scope = InstrumentationScope {
        name: SCOPE_NAME.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        ..Default::default()
    };
    let mut log_groups = Vec::new();
    let mut resource_spans = Vec::with_capacity(groups.len());
    for (resource, spans, records) in groups {
        resource_spans.push(ResourceSpans {
            resource: Some(resource.clone()),
            scope_spans: vec![ScopeSpans {
                scope: Some(scope.clone()),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        });
        log_groups.push((resource, records));
    }
    let log_count = log_groups.iter().map(|g| g.1.len() as u64).sum();
    Batch {
        traces: ExportTraceServiceRequest { resource_spans }.encode_to_vec(),
        logs: (with_logs && log_count > 0).then(|| logs::request(log_groups).encode_to_vec()),
        spans,
        log_count,
    }
}
