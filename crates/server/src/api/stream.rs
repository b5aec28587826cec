//! `GET /api/v1/stream`: Server-Sent Events of observations and logs as they are stored.
//!
//! Each connection has a producer task that pulls from the store's change feed, starting at the
//! feed's head (or right after `Last-Event-ID`), and puts SSE frames into a bounded channel that
//! the response body drains. The producer wakes when the live bus announces a write in its
//! project (at most every [`StreamConfig::min_interval`]) and polls anyway every
//! [`StreamConfig::fallback`] for writes made by other nodes sharing the store. Nothing here is
//! shared with the write path except the bus, whose `publish` never waits: a client that stops
//! reading fills its own buffer, then gets a final `event: dropped` and is closed, and ingest
//! never notices. Event ids are feed positions, `"<observations>.<logs>"`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sightline_core::ProjectId;
use sightline_store::{ChangeFeed, FeedBatch, FeedPosition, FeedQuery};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::{sleep_until, timeout, Instant};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;

use super::params::{invalid, Params, OBSERVATION_FILTERS, TIME};
use super::shapes::{Dropped, Log, Observation, StreamEvent};
use super::ApiState;
use crate::auth::Caller;
use crate::error::ApiError;

/// How a stream connection paces itself and when it gives up on a slow client.
#[derive(Debug, Clone, Copy)]
pub struct StreamConfig {
    /// Events a connection may hold for a client that is not reading.
    pub buffer: usize,
    /// How long the buffer may stay full before the client is dropped.
    pub grace: Duration,
    /// Most rows of each kind pulled from the feed at once.
    pub batch: usize,
    /// Least time between two pulls woken by the live bus.
    pub min_interval: Duration,
    /// Longest time between two pulls (writes by other nodes are not announced here).
    pub fallback: Duration,
    pub heartbeat: Duration,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            buffer: 256,
            grace: Duration::from_secs(2),
            batch: 256,
            min_interval: Duration::from_millis(100),
            fallback: Duration::from_secs(1),
            heartbeat: Duration::from_secs(15),
        }
    }
}

pub const PARAMS: &[&[&str]] = &[
    TIME,
    OBSERVATION_FILTERS,
    &["types", "level", "heartbeat", "last_event_id"],
];

pub async fn stream(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let producer = open(&state, caller, &headers, query.as_deref()).await?;
    Ok(sse_response(producer))
}

/// Checks the request and finds the starting position; errors become a JSON problem answer
/// before any event is sent.
async fn open(
    state: &ApiState,
    caller: Caller,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Producer, ApiError> {
    let project = caller.project();
    let p = Params::parse(query, PARAMS)?;
    let now = state.clock.now_ns();
    let (observations, logs) = match p.get("types")? {
        None | Some("observations,logs") | Some("logs,observations") => (true, true),
        Some("observations") => (true, false),
        Some("logs") => (false, true),
        Some(v) => {
            return Err(invalid(format!(
                "types: must be observations, logs or observations,logs, got {v:?}"
            )))
        }
    };
    if !logs && p.get("level")?.is_some() {
        return Err(invalid(
            "level: applies to logs only; add logs to types or leave level out",
        ));
    }
    if !observations {
        if let Some(name) = OBSERVATION_ONLY.iter().find(|n| query_has(&p, n)) {
            return Err(invalid(format!(
                "{name}: applies to observations only; add observations to types or leave {name} out"
            )));
        }
    }
    let heartbeat = match p.get("heartbeat")? {
        None => 15,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=60).contains(&n) => n,
            _ => {
                return Err(invalid(format!(
                    "heartbeat: must be whole seconds from 1 to 60, got {v:?}"
                )))
            }
        },
    };
    let resume = match headers.get("last-event-id") {
        Some(h) => Some(parse_event_id(
            "Last-Event-ID",
            h.to_str().unwrap_or("\u{0}"),
        )?),
        None => p
            .get("last_event_id")?
            .map(|v| parse_event_id("last_event_id", v))
            .transpose()?,
    };
    let query = FeedQuery {
        after: FeedPosition::default(),
        observations: if observations {
            Some(p.observation_filter(now)?)
        } else {
            None
        },
        logs: if logs { Some(p.log_filter(now)?) } else { None },
        limit: 0,
    };
    // Listen before reading the head, so a write in between is not slept through.
    let live = state.live.subscribe();
    let head = state.feed.feed_head(project).await?;
    let start = match resume {
        Some(pos) if pos.observations > head.observations || pos.logs > head.logs => {
            return Err(invalid(format!(
                "last_event_id: {} is past the end of this project's feed ({}); reconnect without it",
                event_id(pos),
                event_id(head)
            )))
        }
        Some(pos) => pos,
        None => head,
    };
    let config = StreamConfig {
        heartbeat: Duration::from_secs(heartbeat),
        ..StreamConfig::default()
    };
    Ok(Producer::new(
        state.feed.clone(),
        project,
        query,
        start,
        Some(live),
        state.shutdown.clone(),
        config,
    ))
}

/// Observation filters that logs do not have (the shared ones apply to both).
const OBSERVATION_ONLY: &[&str] = &[
    "kind",
    "name",
    "model",
    "provider",
    "user_id",
    "tenant_id",
    "status",
    "min_duration",
    "attribute",
    "tag",
];

fn query_has(p: &Params, name: &str) -> bool {
    p.all(name).map(|v| !v.is_empty()).unwrap_or(true)
}

/// `"<observations>.<logs>"`, both non-negative integers.
pub fn parse_event_id(name: &str, v: &str) -> Result<FeedPosition, ApiError> {
    let parsed = v.split_once('.').and_then(|(o, l)| {
        let o = o.parse::<i64>().ok().filter(|n| *n >= 0)?;
        let l = l.parse::<i64>().ok().filter(|n| *n >= 0)?;
        Some(FeedPosition {
            observations: o,
            logs: l,
        })
    });
    parsed.ok_or_else(|| {
        invalid(format!(
            "{name}: must be an event id of this stream such as 1042.77, got {v:?}; \
             reconnect without it to start at the end of the feed"
        ))
    })
}

pub fn event_id(p: FeedPosition) -> String {
    format!("{}.{}", p.observations, p.logs)
}

/// Starts the producer and answers with the event stream it feeds.
fn sse_response(producer: Producer) -> Response {
    // One slot more than the buffer: the final `dropped` event always fits.
    let (tx, rx) = mpsc::channel::<Bytes>(producer.config.buffer + 1);
    // One task per connection, not a background job: it ends when the client goes away or the
    // shutdown signal it watches turns true.
    #[allow(clippy::disallowed_methods)]
    tokio::spawn(producer.run(tx));
    let body = Body::from_stream(ReceiverStream::new(rx).map(Ok::<Bytes, Infallible>));
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

/// Why a producer stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// The client went away.
    Closed,
    /// The server is shutting down.
    Shutdown,
    /// The client was dropped (slow reader, store failure): the reason is sent to it.
    Dropped(String),
}

/// One connection's puller: feed -> SSE frames -> bounded channel.
pub struct Producer {
    feed: Arc<dyn ChangeFeed>,
    project: ProjectId,
    query: FeedQuery,
    /// Ids given to the next events: everything up to here was delivered or filtered out.
    delivered: FeedPosition,
    /// The id of the last event put in the channel (the start position before any).
    last_id: String,
    live: Option<broadcast::Receiver<ProjectId>>,
    shutdown: watch::Receiver<bool>,
    config: StreamConfig,
}

impl Producer {
    pub fn new(
        feed: Arc<dyn ChangeFeed>,
        project: ProjectId,
        mut query: FeedQuery,
        start: FeedPosition,
        live: Option<broadcast::Receiver<ProjectId>>,
        shutdown: watch::Receiver<bool>,
        config: StreamConfig,
    ) -> Producer {
        query.after = start;
        query.limit = config.batch;
        Producer {
            feed,
            project,
            query,
            delivered: start,
            last_id: event_id(start),
            live,
            shutdown,
            config,
        }
    }

    /// Runs until the client leaves, the server stops, or the client is dropped; in the last
    /// case the channel's reserved slot carries the final `dropped` event.
    pub async fn run(mut self, tx: mpsc::Sender<Bytes>) -> End {
        let end = match self.pump(&tx).await {
            Ok(never) => match never {},
            Err(end) => end,
        };
        match &end {
            End::Dropped(reason) => {
                tracing::info!(project = self.project.0, %reason, last_event_id = %self.last_id, "live stream client dropped");
                let event = StreamEvent::Dropped(Dropped {
                    reason: reason.clone(),
                    last_event_id: self.last_id.clone(),
                });
                let frame = format!("event: {}\ndata: {}\n\n", event.name(), event.data());
                let _ = tx.try_send(Bytes::from(frame));
            }
            End::Shutdown => {
                let _ = tx.try_send(Bytes::from_static(b": server shutting down\n\n"));
            }
            End::Closed => {}
        }
        end
    }

    async fn pump(&mut self, tx: &mpsc::Sender<Bytes>) -> Result<Infallible, End> {
        let mut next_heartbeat = Instant::now() + self.config.heartbeat;
        loop {
            let pulled_at = Instant::now();
            self.catch_up(tx).await?;
            // Sleep until something is announced, the fallback poll, or a heartbeat is due.
            let fallback = Instant::now() + self.config.fallback;
            loop {
                let mut shutdown = self.shutdown.clone();
                tokio::select! {
                    _ = stopped(&mut shutdown) => return Err(End::Shutdown),
                    _ = tx.closed() => return Err(End::Closed),
                    _ = sleep_until(next_heartbeat) => {
                        self.send(tx, Bytes::from_static(b": heartbeat\n\n")).await?;
                        next_heartbeat += self.config.heartbeat;
                    }
                    woke = wake(&mut self.live, self.project) => if woke { break },
                    _ = sleep_until(fallback) => break,
                }
            }
            // At most one pull per `min_interval`, however often the bus rings.
            let earliest = pulled_at + self.config.min_interval;
            let mut shutdown = self.shutdown.clone();
            tokio::select! {
                _ = stopped(&mut shutdown) => return Err(End::Shutdown),
                _ = tx.closed() => return Err(End::Closed),
                _ = sleep_until(earliest) => {}
            }
        }
    }

    /// Pulls and sends until the feed has nothing more past our position.
    async fn catch_up(&mut self, tx: &mpsc::Sender<Bytes>) -> Result<(), End> {
        loop {
            let mut shutdown = self.shutdown.clone();
            let batch = tokio::select! {
                _ = stopped(&mut shutdown) => return Err(End::Shutdown),
                r = self.feed.feed(self.project, &self.query) => r.map_err(|e| {
                    End::Dropped(format!("{e}; reconnect with Last-Event-ID to resume"))
                })?,
            };
            self.send_batch(tx, &batch).await?;
            self.query.after = batch.position;
            self.delivered = FeedPosition {
                observations: self.delivered.observations.max(batch.position.observations),
                logs: self.delivered.logs.max(batch.position.logs),
            };
            if !batch.more {
                return Ok(());
            }
        }
    }

    async fn send_batch(&mut self, tx: &mpsc::Sender<Bytes>, b: &FeedBatch) -> Result<(), End> {
        for (pos, o) in &b.observations {
            self.delivered.observations = *pos;
            let event = StreamEvent::Observation(Box::new(Observation::new(o, &b.resources)));
            self.send_event(tx, &event).await?;
        }
        for (pos, l) in &b.logs {
            self.delivered.logs = *pos;
            let event = StreamEvent::Log(Box::new(Log::new(l, &b.resources)));
            self.send_event(tx, &event).await?;
        }
        Ok(())
    }

    async fn send_event(
        &mut self,
        tx: &mpsc::Sender<Bytes>,
        event: &StreamEvent,
    ) -> Result<(), End> {
        let id = event_id(self.delivered);
        let frame = format!(
            "id: {id}\nevent: {}\ndata: {}\n\n",
            event.name(),
            event.data()
        );
        self.send(tx, Bytes::from(frame)).await?;
        self.last_id = id;
        Ok(())
    }

    /// Queues one frame, keeping the last slot free for the final event. Waits at most
    /// `grace` for room: a client that reads nothing for that long is dropped.
    async fn send(&mut self, tx: &mpsc::Sender<Bytes>, frame: Bytes) -> Result<(), End> {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            _ = stopped(&mut shutdown) => Err(End::Shutdown),
            r = timeout(self.config.grace, tx.reserve_many(2)) => match r {
                Ok(Ok(mut permits)) => {
                    if let Some(permit) = permits.next() {
                        permit.send(frame);
                    }
                    Ok(())
                }
                Ok(Err(_)) => Err(End::Closed),
                Err(_) => Err(End::Dropped(format!(
                    "the client read nothing for {} ms while {} events were waiting; \
                     read faster or narrow the filters, and reconnect with Last-Event-ID",
                    self.config.grace.as_millis(),
                    self.config.buffer
                ))),
            },
        }
    }
}

/// Resolves once the server starts shutting down (or the signal's sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Waits for the next announcement; true when it concerns `project` (or some were missed).
async fn wake(live: &mut Option<broadcast::Receiver<ProjectId>>, project: ProjectId) -> bool {
    let Some(rx) = live else {
        return std::future::pending().await;
    };
    match rx.recv().await {
        Ok(p) => p == project,
        Err(broadcast::error::RecvError::Lagged(_)) => true,
        Err(broadcast::error::RecvError::Closed) => {
            *live = None;
            false
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
