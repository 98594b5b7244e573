//! GraphQL over Server-Sent Events, distinct connections mode (npm
//! `graphql-sse`): a request whose `Accept` names `text/event-stream` is
//! answered with an event stream — `event: next` per event, `event:
//! complete` at the end, a `:` comment as heartbeat. A query or mutation
//! gets one `next` and `complete`; a request that cannot start is answered
//! as JSON with its HTTP status, as `graphql-sse`'s own server does.
//!
//! # Layout
//! - [`accepts`]: whether a request asks for SSE.
//! - [`respond`]: the response for a started request.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::stream;
use serde_json::json;

use super::{Delivery, EventStream};
use crate::pipeline::Started;

/// The SSE media type.
pub const TEXT_EVENT_STREAM: &str = "text/event-stream";

/// Whether the request's `Accept` names `text/event-stream`.
pub fn accepts(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains(TEXT_EVENT_STREAM))
}

fn event(kind: &str, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + 24);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// The event-stream response for a started request (heartbeats every
/// `heartbeat`; `ZERO`: none).
pub fn respond(started: Started, heartbeat: Duration) -> Response {
    let body = match started {
        Started::Answered(answered) => {
            let chunks = vec![
                Ok::<_, std::io::Error>(event("next", &answered.body)),
                Ok(event("complete", b"")),
            ];
            Body::from_stream(stream::iter(chunks))
        }
        Started::Stream(events) => Body::from_stream(events_stream(events, heartbeat)),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TEXT_EVENT_STREAM),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

struct Reading {
    events: EventStream,
    ticker: tokio::time::Interval,
    heartbeat: bool,
    done: bool,
}

fn events_stream(
    events: EventStream,
    heartbeat: Duration,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let mut ticker = tokio::time::interval(if heartbeat.is_zero() {
        Duration::from_secs(3600 * 24 * 365)
    } else {
        heartbeat
    });
    ticker.reset();
    let state = Reading {
        events,
        ticker,
        heartbeat: !heartbeat.is_zero(),
        done: false,
    };
    stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        let chunk = tokio::select! {
            delivery = state.events.next() => match delivery {
                Some(Delivery::Next(body)) => event("next", &body),
                Some(Delivery::Failed(errors)) => {
                    let body = json!({ "errors": errors }).to_string();
                    let mut chunk = event("next", body.as_bytes()).to_vec();
                    chunk.extend_from_slice(&event("complete", b""));
                    state.done = true;
                    Bytes::from(chunk)
                }
                None => {
                    state.done = true;
                    event("complete", b"")
                }
            },
            _ = state.ticker.tick(), if state.heartbeat => Bytes::from_static(b":\n\n"),
        };
        Some((Ok(chunk), state))
    })
}
