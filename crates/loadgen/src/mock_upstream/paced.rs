//! A stream of prepared chunks sent with a delay before the first and between the others, so
//! the mock streams without a task of its own.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use tokio::time::Sleep;
use tokio_stream::Stream;

pub(super) struct Paced {
    frames: VecDeque<Bytes>,
    gap: Duration,
    wait: Option<Pin<Box<Sleep>>>,
}

impl Paced {
    pub(super) fn new(frames: Vec<Bytes>, first: Duration, gap: Duration) -> Paced {
        Paced {
            frames: frames.into(),
            gap,
            wait: (!first.is_zero()).then(|| Box::pin(tokio::time::sleep(first))),
        }
    }
}

impl Stream for Paced {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(wait) = self.wait.as_mut() {
            if wait.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.wait = None;
        }
        let Some(frame) = self.frames.pop_front() else {
            return Poll::Ready(None);
        };
        if !self.gap.is_zero() && !self.frames.is_empty() {
            self.wait = Some(Box::pin(tokio::time::sleep(self.gap)));
        }
        Poll::Ready(Some(Ok(frame)))
    }
}
