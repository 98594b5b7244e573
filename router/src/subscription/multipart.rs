//! Apollo's multipart subscription protocol (what Apollo Client's HttpLink
//! reads): a request whose `Accept` names `multipart/mixed` with
//! `subscriptionSpec` gets `multipart/mixed;boundary="graphql";
//! subscriptionSpec="1.0"` — one part `{"payload": <response>}` per event,
//! `{}` as heartbeat, and `{"payload": null, "errors": [...]}` when the
//! subscription ends with an error; the closing boundary completes it. A
//! query or mutation is answered as plain JSON.
//!
//! # Layout
//! - [`accepts`]: whether a request asks for multipart subscriptions.
//! - [`respond`]: the response for a started subscription (through
//!   [`super::framed`] with multipart's framing).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::EventStream;
use super::framed::{self, Framing};
use crate::response::GraphqlError;

/// The response's media type.
pub const CONTENT_TYPE: &str = r#"multipart/mixed;boundary="graphql";subscriptionSpec="1.0""#;

/// The boundary of [`CONTENT_TYPE`].
const BOUNDARY: &str = "graphql";

/// Whether the request's `Accept` asks for multipart subscriptions.
pub fn accepts(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .any(|v| v.contains("multipart/mixed") && v.contains("subscriptionspec"))
}

/// One part: its header, `json`, and the delimiter that ends it (`--` and
/// `boundary`), so the client can read the part as soon as it arrives. The
/// stream starts with the first delimiter and ends with `--` after the last.
pub(crate) fn part(json: &[u8], boundary: &str) -> Bytes {
    let mut out = Vec::with_capacity(json.len() + 64 + boundary.len());
    out.extend_from_slice(b"\r\ncontent-type: application/json; charset=utf-8\r\n\r\n");
    out.extend_from_slice(json);
    out.extend_from_slice(b"\r\n--");
    out.extend_from_slice(boundary.as_bytes());
    Bytes::from(out)
}

/// The multipart response for a started subscription.
pub fn respond(events: EventStream, heartbeat: Duration) -> Response {
    let mut response = Body::from_stream(framed::body(events, heartbeat, Parts)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// Multipart's framing: a part per event, `{}` parts as heartbeats, the
/// closing boundary at the end.
struct Parts;

impl Framing for Parts {
    fn opening(&self) -> Option<Bytes> {
        Some(Bytes::from_static(b"\r\n--graphql"))
    }

    fn next(&self, body: &[u8]) -> Bytes {
        let mut json = Vec::with_capacity(body.len() + 12);
        json.extend_from_slice(br#"{"payload":"#);
        json.extend_from_slice(body);
        json.push(b'}');
        part(&json, BOUNDARY)
    }

    fn failed(&self, errors: &[GraphqlError]) -> Bytes {
        let json = json!({ "payload": null, "errors": errors }).to_string();
        let mut chunk = part(json.as_bytes(), BOUNDARY).to_vec();
        chunk.extend_from_slice(b"--\r\n");
        Bytes::from(chunk)
    }

    fn complete(&self) -> Bytes {
        Bytes::from_static(b"--\r\n")
    }

    fn heartbeat(&self) -> Bytes {
        part(b"{}", BOUNDARY)
    }
}
