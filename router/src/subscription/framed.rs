//! The loop SSE and multipart share: a subscription's deliveries and
//! heartbeats, in order, as the body chunks of a streaming HTTP response.
//! Each protocol only says how a delivery is framed ([`Framing`]).
//!
//! # Layout
//! - [`Framing`]: the bytes for the opening, an event, a failure, the
//!   completion and a heartbeat.
//! - [`body`]: the chunk stream for an [`EventStream`].

use std::time::Duration;

use axum::body::Bytes;
use futures::stream;

use super::{Delivery, EventStream};
use crate::response::GraphqlError;

/// How a streaming protocol frames what a subscription delivers.
pub trait Framing: Send + 'static {
    /// Written before anything else (nothing by default).
    fn opening(&self) -> Option<Bytes> {
        None
    }
    /// One event (a GraphQL response body).
    fn next(&self, body: &[u8]) -> Bytes;
    /// The subscription ended with `errors`: the last chunk, closing too.
    fn failed(&self, errors: &[GraphqlError]) -> Bytes;
    /// The subscription is complete: the last chunk.
    fn complete(&self) -> Bytes;
    /// A keep-alive while nothing happens.
    fn heartbeat(&self) -> Bytes;
}

struct Reading<F> {
    events: EventStream,
    framing: F,
    ticker: tokio::time::Interval,
    heartbeat: bool,
    opened: bool,
    done: bool,
}

/// The body chunks for `events`: the opening, then each delivery as it
/// comes, a heartbeat after every `heartbeat` without one (`ZERO`: none),
/// and the last chunk when the subscription completes or fails.
pub fn body<F: Framing>(
    events: EventStream,
    heartbeat: Duration,
    framing: F,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let mut ticker = tokio::time::interval(if heartbeat.is_zero() {
        Duration::from_secs(3600 * 24 * 365)
    } else {
        heartbeat
    });
    ticker.reset();
    let state = Reading {
        events,
        framing,
        ticker,
        heartbeat: !heartbeat.is_zero(),
        opened: false,
        done: false,
    };
    stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        if !state.opened {
            state.opened = true;
            if let Some(opening) = state.framing.opening() {
                return Some((Ok(opening), state));
            }
        }
        let chunk = tokio::select! {
            delivery = state.events.next() => match delivery {
                Some(Delivery::Next(body)) => state.framing.next(&body),
                Some(Delivery::Failed(errors)) => {
                    state.done = true;
                    state.framing.failed(&errors)
                }
                None => {
                    state.done = true;
                    state.framing.complete()
                }
            },
            _ = state.ticker.tick(), if state.heartbeat => state.framing.heartbeat(),
        };
        Some((Ok(chunk), state))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    struct Plain;

    impl Framing for Plain {
        fn opening(&self) -> Option<Bytes> {
            Some(Bytes::from_static(b"<"))
        }
        fn next(&self, body: &[u8]) -> Bytes {
            Bytes::copy_from_slice(body)
        }
        fn failed(&self, errors: &[GraphqlError]) -> Bytes {
            Bytes::from(format!("!{}>", errors.len()))
        }
        fn complete(&self) -> Bytes {
            Bytes::from_static(b">")
        }
        fn heartbeat(&self) -> Bytes {
            Bytes::from_static(b".")
        }
    }

    async fn collect(events: EventStream, heartbeat: Duration) -> String {
        let chunks: Vec<_> = body(events, heartbeat, Plain).collect().await;
        chunks
            .into_iter()
            .map(|c| String::from_utf8(c.expect("a chunk").to_vec()).expect("UTF-8"))
            .collect()
    }

    #[tokio::test]
    async fn events_come_between_the_opening_and_the_completion() {
        let (sink, stream) = super::super::channel(4);
        sink.push(Bytes::from_static(b"1"));
        sink.push(Bytes::from_static(b"2"));
        drop(sink);
        assert_eq!(collect(stream, Duration::ZERO).await, "<12>");
    }

    #[tokio::test]
    async fn a_failure_is_the_last_chunk_after_the_queued_events() {
        let (sink, stream) = super::super::channel(4);
        sink.push(Bytes::from_static(b"1"));
        sink.fail(vec![GraphqlError::new("gone", "X")]);
        assert_eq!(collect(stream, Duration::ZERO).await, "<1!1>");
    }

    #[tokio::test]
    async fn an_idle_stream_gets_heartbeats() {
        let (sink, stream) = super::super::channel(4);
        let chunks = body(stream, Duration::from_millis(20), Plain);
        tokio::pin!(chunks);
        assert_eq!(
            &chunks.next().await.expect("opening").expect("ok")[..],
            b"<"
        );
        assert_eq!(&chunks.next().await.expect("beat").expect("ok")[..], b".");
        sink.push(Bytes::from_static(b"1"));
        assert_eq!(&chunks.next().await.expect("event").expect("ok")[..], b"1");
    }
}
