//! A streamed answer on its way to the client: each chunk is forwarded as it arrives and kept
//! for recording (up to a cap). When the gateway asked for the usage event itself, events are
//! forwarded whole and that one is left out. The call is finished when the stream ends, fails,
//! times out or the client goes away (the body is dropped), with what was received by then.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::BodyDataStream;
use tokio::time::Sleep;
use tokio_stream::Stream;

use super::client::Answer;
use super::providers::{Endpoint, Provider};
use super::sse::{self, Frames};

/// Most bytes of a stream kept for recording and caching; beyond, the rest is forwarded only.
pub const MAX_KEPT: usize = 16 << 20;

/// How the stream ended.
pub struct Finished {
    /// What was received (the gateway's usage event included).
    pub bytes: Bytes,
    pub complete: bool,
    pub client_gone: bool,
    /// From the call's start to the first chunk sent.
    pub first_chunk: Option<Duration>,
}

type Finish = Box<dyn FnOnce(Finished) + Send>;

pub struct Tee {
    inner: Pin<Box<dyn Stream<Item = Result<Bytes, hyper::Error>> + Send>>,
    /// Set when the usage event is left out: events are forwarded whole.
    strip: Option<(Frames, &'static dyn Provider, Endpoint)>,
    kept: BytesMut,
    truncated: bool,
    started: Instant,
    first: Option<Duration>,
    deadline: Pin<Box<Sleep>>,
    inner_done: bool,
    finish: Option<Finish>,
}

impl Tee {
    pub fn new(
        response: Answer,
        strip: Option<(&'static dyn Provider, Endpoint)>,
        started: Instant,
        timeout: Duration,
        finish: Finish,
    ) -> Tee {
        Tee {
            inner: Box::pin(BodyDataStream::new(response.into_body())),
            strip: strip.map(|(p, e)| (Frames::default(), p, e)),
            kept: BytesMut::new(),
            truncated: false,
            started,
            first: None,
            deadline: Box::pin(tokio::time::sleep_until((started + timeout).into())),
            inner_done: false,
            finish: Some(finish),
        }
    }

    fn keep(&mut self, chunk: &[u8]) {
        if self.kept.len() + chunk.len() <= MAX_KEPT {
            self.kept.extend_from_slice(chunk);
        } else {
            self.truncated = true;
        }
    }

    fn end(&mut self, complete: bool, client_gone: bool) {
        if let Some(finish) = self.finish.take() {
            finish(Finished {
                bytes: std::mem::take(&mut self.kept).freeze(),
                complete: complete && !self.truncated,
                client_gone,
                first_chunk: self.first,
            });
        }
    }

    /// The events of `chunk` the client gets (all but the gateway's usage event).
    fn visible(&mut self, chunk: &[u8]) -> Option<Bytes> {
        let (frames, provider, endpoint) = self.strip.as_mut()?;
        let mut out = BytesMut::new();
        for event in frames.push(chunk) {
            let ours = sse::data(&event).is_some_and(|d| provider.is_usage_event(*endpoint, &d));
            if !ours {
                out.extend_from_slice(&event);
            }
        }
        Some(out.freeze())
    }
}

impl Stream for Tee {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.finish.is_none() {
            return Poll::Ready(None);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.end(false, false);
            let e = std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the upstream stream took too long",
            );
            return Poll::Ready(Some(Err(e)));
        }
        loop {
            if this.inner_done {
                let rest = this
                    .strip
                    .as_mut()
                    .map(|(f, _, _)| f.rest())
                    .unwrap_or_default();
                this.end(true, false);
                return Poll::Ready((!rest.is_empty()).then_some(Ok(rest)));
            }
            match this.inner.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => this.inner_done = true,
                Poll::Ready(Some(Err(e))) => {
                    this.end(false, false);
                    return Poll::Ready(Some(Err(std::io::Error::other(e))));
                }
                Poll::Ready(Some(Ok(chunk))) => {
                    this.keep(&chunk);
                    let out = match this.visible(&chunk) {
                        None => chunk,
                        Some(out) if out.is_empty() => continue,
                        Some(out) => out,
                    };
                    if this.first.is_none() {
                        this.first = Some(this.started.elapsed());
                    }
                    return Poll::Ready(Some(Ok(out)));
                }
            }
        }
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        // Still unfinished: the client went away mid-stream.
        self.end(false, true);
    }
}
