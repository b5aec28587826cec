//! The recorder: a full queue drops and counts instead of making a caller wait.

use sightline_core::calls::GATEWAY_SCOPE;
use sightline_core::time::SystemClock;
use sightline_store::{TraceQuery, TraceReader};

use super::*;
use crate::gateway::test_store::temp_store;

fn call(trace: u8) -> CallRecord {
    let body = br#"{"id":"c","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#;
    CallRecord {
        project: ProjectId(1),
        key_id: None,
        upstream: "openai".into(),
        kind: ProviderKind::OpenAi,
        endpoint: Endpoint::ChatCompletions,
        headers: CallHeaders::default(),
        request: Bytes::from_static(
            br#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#,
        ),
        info: RequestInfo {
            model: "gpt-4o-mini".into(),
            ..RequestInfo::default()
        },
        trace_id: TraceId([trace; 16]),
        parent: None,
        span_id: SpanId([trace; 8]),
        start_ns: 1_800_000_000_000_000_000,
        end_ns: 1_800_000_000_100_000_000,
        ttft_ns: None,
        outcome: Outcome::Answered {
            status: 200,
            content_type: "application/json".into(),
            body: Bytes::from_static(body),
            stream: false,
            complete: true,
            client_gone: false,
            strip_usage: false,
        },
        attempts: Vec::new(),
        prices: Arc::new(PriceRegistry::bundled().unwrap()),
        reservation: None,
        limits: None,
        cache_put: None,
    }
}

/// A full queue never makes a caller wait: the call is dropped from recording and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_and_counts_instead_of_waiting() {
    let (store, _dir) = temp_store();
    let prices = Arc::new(PriceRegistry::bundled().unwrap());
    let ingest = Arc::new(IngestService::new(
        store.clone(),
        Arc::new(SystemClock),
        prices,
    ));
    let recorder = Arc::new(Recorder::new(
        1,
        ingest,
        Arc::new(ResponseCache::new(store.clone())),
        Arc::new(Limits::new(store.clone())),
    ));
    for n in 1..=3 {
        recorder.submit(call(n));
    }
    assert_eq!(recorder.stats.dropped.load(Ordering::Relaxed), 2);
    let (stop_tx, stop) = watch::channel(false);
    #[allow(clippy::disallowed_methods)] // the test stops and joins it
    let job = tokio::task::spawn(recorder.clone().run(stop));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while recorder.stats.recorded.load(Ordering::Relaxed) == 0
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let _ = stop_tx.send(true);
    let _ = job.await;
    let trace = store
        .trace(ProjectId(1), TraceId([1; 16]), true)
        .await
        .unwrap()
        .unwrap();
    let o = &trace.observations[0];
    assert_eq!((o.usage.input, o.usage.output), (Some(3), Some(1)));
    assert_eq!(o.scope_name.as_deref(), Some(GATEWAY_SCOPE));
    let page = store
        .list_traces(
            ProjectId(1),
            &TraceQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.traces.len(), 1, "the dropped calls are not recorded");
    assert_eq!(recorder.queued_bytes.load(Ordering::Relaxed), 0);
}
