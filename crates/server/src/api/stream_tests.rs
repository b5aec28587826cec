//! Tests of the live stream's producer against an in-memory change feed, on paused time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::json;
use sightline_core::{LogRecord, TraceId};
use sightline_store::StoreError;

use super::*;
use crate::ingest::live::LiveBus;

const P: ProjectId = ProjectId(1);

/// Logs at positions 1, 2, ... of project `P`.
#[derive(Default)]
struct FakeFeed {
    logs: Mutex<Vec<LogRecord>>,
    pulls: AtomicUsize,
    broken: bool,
}

fn log(n: usize) -> LogRecord {
    LogRecord {
        time_ns: n as i64,
        observed_ns: n as i64,
        trace_id: Some(TraceId([7; 16])),
        span_id: None,
        severity_number: 9,
        severity_text: None,
        body: Some(json!(format!("log {n}"))),
        service_name: None,
        session_id: None,
        agent_name: None,
        event_name: None,
        scope_name: None,
        resource_index: 0,
        attributes: Vec::new(),
    }
}

impl FakeFeed {
    fn with(n: usize) -> Arc<FakeFeed> {
        let f = FakeFeed::default();
        f.push(n);
        Arc::new(f)
    }
    fn push(&self, n: usize) {
        let mut logs = self.logs.lock().unwrap();
        let len = logs.len();
        logs.extend((len + 1..=len + n).map(log));
    }
}

#[async_trait]
impl ChangeFeed for FakeFeed {
    async fn feed_head(&self, _project: ProjectId) -> Result<FeedPosition, StoreError> {
        let logs = self.logs.lock().unwrap().len() as i64;
        Ok(FeedPosition {
            observations: 0,
            logs,
        })
    }

    async fn feed(&self, project: ProjectId, q: &FeedQuery) -> Result<FeedBatch, StoreError> {
        assert_eq!(project, P);
        self.pulls.fetch_add(1, Ordering::SeqCst);
        if self.broken {
            return Err(StoreError::Unavailable("disk on fire".into()));
        }
        let logs = self.logs.lock().unwrap();
        let after = q.after.logs as usize;
        let end = logs.len().min(after + q.limit);
        let batch: Vec<(i64, LogRecord)> = (after..end)
            .map(|i| (i as i64 + 1, logs[i].clone()))
            .collect();
        Ok(FeedBatch {
            resources: Vec::new(),
            observations: Vec::new(),
            position: FeedPosition {
                observations: q.after.observations,
                logs: end as i64,
            },
            more: end < logs.len(),
            logs: batch,
        })
    }
}

fn config(buffer: usize) -> StreamConfig {
    StreamConfig {
        buffer,
        grace: Duration::from_millis(500),
        batch: 3,
        ..StreamConfig::default()
    }
}

struct Running {
    rx: mpsc::Receiver<Bytes>,
    task: tokio::task::JoinHandle<End>,
    stop: watch::Sender<bool>,
}

fn start(
    feed: Arc<FakeFeed>,
    from: FeedPosition,
    live: Option<&LiveBus>,
    config: StreamConfig,
) -> Running {
    let (stop, shutdown) = watch::channel(false);
    let query = FeedQuery {
        logs: Some(Default::default()),
        ..Default::default()
    };
    let producer = Producer::new(
        feed,
        P,
        query,
        from,
        live.map(LiveBus::subscribe),
        shutdown,
        config,
    );
    let (tx, rx) = mpsc::channel(config.buffer + 1);
    Running {
        rx,
        #[allow(clippy::disallowed_methods)] // the test joins it
        task: tokio::spawn(producer.run(tx)),
        stop,
    }
}

fn at(logs: i64) -> FeedPosition {
    FeedPosition {
        observations: 0,
        logs,
    }
}

/// (id, event, data) of an event frame, or the comment text of a comment frame.
fn parse(frame: &Bytes) -> (Option<String>, String, serde_json::Value) {
    let text = std::str::from_utf8(frame).unwrap();
    assert!(text.ends_with("\n\n"), "{text:?}");
    if let Some(comment) = text.strip_prefix(": ") {
        return (None, comment.trim().to_owned(), serde_json::Value::Null);
    }
    let (mut id, mut event, mut data) = (None, String::new(), serde_json::Value::Null);
    for line in text.trim_end().lines() {
        let (k, v) = line.split_once(": ").unwrap();
        match k {
            "id" => id = Some(v.to_owned()),
            "event" => event = v.to_owned(),
            "data" => data = serde_json::from_str(v).unwrap(),
            other => panic!("unexpected field {other}"),
        }
    }
    (id, event, data)
}

async fn next_event(rx: &mut mpsc::Receiver<Bytes>) -> (Option<String>, String, serde_json::Value) {
    parse(&rx.recv().await.expect("the stream ended"))
}

#[tokio::test(start_paused = true)]
async fn events_resume_right_after_the_given_id_with_feed_positions_as_ids() {
    let feed = FakeFeed::with(5);
    let mut s = start(feed.clone(), at(2), None, config(16));
    for n in 3..=5 {
        let (id, event, data) = next_event(&mut s.rx).await;
        assert_eq!(
            (id.as_deref(), event.as_str()),
            (Some(format!("0.{n}").as_str()), "log")
        );
        assert_eq!(data["body"], format!("log {n}"));
    }
    // Later writes are picked up by the fallback poll even without the bus.
    feed.push(1);
    let before = Instant::now();
    let (id, ..) = next_event(&mut s.rx).await;
    assert_eq!(id.as_deref(), Some("0.6"));
    assert!(before.elapsed() <= Duration::from_millis(1_100));
    s.stop.send(true).unwrap();
    assert_eq!(s.task.await.unwrap(), End::Shutdown);
    assert_eq!(next_event(&mut s.rx).await.1, "server shutting down");
    assert!(s.rx.recv().await.is_none(), "the stream ends on shutdown");
}

#[tokio::test(start_paused = true)]
async fn the_bus_wakes_a_connection_within_its_minimum_interval() {
    let feed = FakeFeed::with(0);
    let bus = LiveBus::default();
    let mut s = start(feed.clone(), at(0), Some(&bus), config(16));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pulls = feed.pulls.load(Ordering::SeqCst);
    feed.push(2);
    bus.publish(ProjectId(99)); // another project's write does not wake us
    bus.publish(P);
    let before = Instant::now();
    assert_eq!(next_event(&mut s.rx).await.0.as_deref(), Some("0.1"));
    assert!(
        before.elapsed() <= Duration::from_millis(100),
        "{:?}",
        before.elapsed()
    );
    assert_eq!(feed.pulls.load(Ordering::SeqCst), pulls + 1);
    assert_eq!(next_event(&mut s.rx).await.0.as_deref(), Some("0.2"));
    // A burst of announcements costs at most one pull per 100 ms.
    for _ in 0..50 {
        bus.publish(P);
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(feed.pulls.load(Ordering::SeqCst) <= pulls + 4);
    drop(s.rx);
    assert_eq!(
        s.task.await.unwrap(),
        End::Closed,
        "a client that leaves ends its producer"
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_is_dropped_with_the_last_delivered_id() {
    let feed = FakeFeed::with(20);
    let mut s = start(feed, at(0), None, config(4));
    // Nobody reads: the producer fills the buffer, waits out the grace period and gives up.
    let end = s.task.await.unwrap();
    assert!(
        matches!(&end, End::Dropped(r) if r.contains("read nothing for 500 ms")),
        "{end:?}"
    );
    let mut ids = Vec::new();
    loop {
        let (id, event, data) = next_event(&mut s.rx).await;
        if event == "dropped" {
            assert_eq!(id, None);
            assert_eq!(data["last_event_id"], "0.4");
            assert!(data["reason"].as_str().unwrap().contains("Last-Event-ID"));
            break;
        }
        ids.push(id.unwrap());
    }
    assert_eq!(ids, ["0.1", "0.2", "0.3", "0.4"]);
    assert!(
        s.rx.recv().await.is_none(),
        "the stream closes after dropped"
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_reader_that_keeps_reading_gets_everything() {
    let feed = FakeFeed::with(12);
    let mut s = start(feed, at(0), None, config(2));
    for n in 1..=12 {
        tokio::time::sleep(Duration::from_millis(400)).await; // slower than the producer
        let (id, event, _) = next_event(&mut s.rx).await;
        assert_eq!((id.unwrap(), event), (format!("0.{n}"), "log".to_owned()));
    }
    s.stop.send(true).unwrap();
    assert_eq!(s.task.await.unwrap(), End::Shutdown);
}

#[tokio::test(start_paused = true)]
async fn heartbeats_are_comments_at_the_chosen_interval() {
    let feed = FakeFeed::with(0);
    let mut s = start(
        feed,
        at(0),
        None,
        StreamConfig {
            heartbeat: Duration::from_secs(5),
            ..config(4)
        },
    );
    let t0 = Instant::now();
    assert_eq!(next_event(&mut s.rx).await.1, "heartbeat");
    assert_eq!(next_event(&mut s.rx).await.1, "heartbeat");
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(10) && took < Duration::from_secs(11),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_store_failure_drops_the_client_with_the_reason() {
    let feed = Arc::new(FakeFeed {
        broken: true,
        ..Default::default()
    });
    let mut s = start(feed, at(7), None, config(4));
    let (_, event, data) = next_event(&mut s.rx).await;
    assert_eq!(event, "dropped");
    assert!(data["reason"].as_str().unwrap().contains("disk on fire"));
    assert_eq!(data["last_event_id"], "0.7");
}

#[test]
fn event_ids_parse_and_refuse_naming_the_source() {
    let p = parse_event_id("last_event_id", "1042.77").unwrap();
    assert_eq!((p.observations, p.logs), (1042, 77));
    assert_eq!(event_id(p), "1042.77");
    for bad in ["1042", "a.b", "-1.2", "1.2.3", ""] {
        let e = parse_event_id("Last-Event-ID", bad).unwrap_err();
        assert!(
            e.message.starts_with("Last-Event-ID: must be an event id"),
            "{bad}"
        );
    }
}
