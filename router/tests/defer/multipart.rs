//! A strict reader of a `multipart/mixed; boundary="-"; deferSpec=20220824`
//! response: every part must be framed exactly as Apollo Router frames it
//! (`\r\n---\r\ncontent-type: application/json; charset=utf-8\r\n\r\n<json>`,
//! closed by `\r\n-----\r\n`); each part is returned with the time it was
//! complete.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use storefront_router::{AppState, app};
use tower::ServiceExt;

/// What Apollo Client sends for an operation with `@defer`.
pub const APOLLO_ACCEPT: &str = "multipart/mixed;deferSpec=20220824,application/json";

const OPENING: &[u8] = b"\r\n---";
const HEADER: &[u8] = b"\r\ncontent-type: application/json; charset=utf-8\r\n\r\n";
const DELIMITER: &[u8] = b"\r\n---";

/// One part and when it had arrived whole (since the request was sent).
#[derive(Debug)]
pub struct Part {
    pub json: Value,
    pub at: Duration,
}

/// A response read to its end.
#[derive(Debug)]
pub struct Streamed {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The parts, when the response is multipart.
    pub parts: Vec<Part>,
    /// The body as JSON, when it is not multipart.
    pub json: Option<Value>,
}

impl Streamed {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    /// The parts' JSON.
    pub fn payloads(&self) -> Vec<&Value> {
        self.parts.iter().map(|part| &part.json).collect()
    }
}

/// `POST /graphql` with `body` and `accept`, read part by part.
pub async fn post(state: &AppState, body: Value, accept: Option<&str>) -> Streamed {
    let mut request = Request::post("/graphql").header("content-type", "application/json");
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    send(state, request.body(Body::from(body.to_string())).unwrap()).await
}

/// Sends `request`, and reads the answer part by part.
pub async fn send(state: &AppState, request: Request<Body>) -> Streamed {
    let sent = Instant::now();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let multipart = headers
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap().starts_with("multipart/mixed"));
    let mut body = response.into_body();
    if !multipart {
        let bytes = body.collect().await.unwrap().to_bytes();
        return Streamed {
            status,
            headers,
            parts: Vec::new(),
            json: Some(serde_json::from_slice(&bytes).unwrap()),
        };
    }
    let mut buffer: Vec<u8> = Vec::new();
    let mut parts = Vec::new();
    let mut opened = false;
    let mut closed = false;
    while let Some(frame) = body.frame().await {
        let frame = frame.unwrap();
        let Ok(data) = frame.into_data() else {
            continue;
        };
        assert!(!closed, "bytes after the closing delimiter: {data:?}");
        buffer.extend_from_slice(&data);
        if !opened {
            if buffer.len() < OPENING.len() {
                continue;
            }
            assert_eq!(&buffer[..OPENING.len()], OPENING, "the opening delimiter");
            buffer.drain(..OPENING.len());
            opened = true;
        }
        // Whole parts: the header, the JSON, the next delimiter.
        loop {
            if buffer.starts_with(b"--\r\n") {
                assert_eq!(buffer.len(), 4, "bytes after the closing delimiter");
                buffer.clear();
                closed = true;
                break;
            }
            if buffer.len() < HEADER.len() {
                break;
            }
            assert_eq!(
                &buffer[..HEADER.len()],
                HEADER,
                "a part's header: {:?}",
                String::from_utf8_lossy(&buffer)
            );
            let Some(end) = find(&buffer[HEADER.len()..], DELIMITER) else {
                break;
            };
            let json = &buffer[HEADER.len()..HEADER.len() + end];
            let json: Value = serde_json::from_slice(json).unwrap_or_else(|error| {
                panic!(
                    "a part is not JSON ({error}): {:?}",
                    String::from_utf8_lossy(json)
                )
            });
            parts.push(Part {
                json,
                at: sent.elapsed(),
            });
            buffer.drain(..HEADER.len() + end + DELIMITER.len());
        }
    }
    assert!(closed, "the stream ended without its closing delimiter");
    Streamed {
        status,
        headers,
        parts,
        json: None,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
