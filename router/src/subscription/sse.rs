//! GraphQL over Server-Sent Events, distinct connections mode (npm
//! `graphql-sse`): a request whose `Accept` names `text/event-stream` is
//! answered with an event stream — `event: next` per event, `event:
//! complete` at the end, a `:` comment as heartbeat. A query or mutation
//! gets one `next` and `complete`; a request that cannot start is answered
//! as JSON with its HTTP status, as `graphql-sse`'s own server does.
//!
//! # Layout
//! - [`accepts`]: whether a request asks for SSE.
//! - [`respond`]: the response for a started request; a subscription's
//!   events go through [`super::framed`] with SSE's framing.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::stream;
use serde_json::json;

use super::framed::{self, Framing};
use crate::pipeline::Started;
use crate::response::GraphqlError;

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
        Started::Stream(events) => Body::from_stream(framed::body(events, heartbeat, Sse)),
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

/// SSE's framing: `next` events, a `:` comment as heartbeat, `complete`.
struct Sse;

impl Framing for Sse {
    fn next(&self, body: &[u8]) -> Bytes {
        event("next", body)
    }

    fn failed(&self, errors: &[GraphqlError]) -> Bytes {
        let body = json!({ "errors": errors }).to_string();
        let mut chunk = event("next", body.as_bytes()).to_vec();
        chunk.extend_from_slice(&event("complete", b""));
        Bytes::from(chunk)
    }

    fn complete(&self) -> Bytes {
        event("complete", b"")
    }

    fn heartbeat(&self) -> Bytes {
        Bytes::from_static(b":\n\n")
    }
}
