//! Client batching: a POST body that is a JSON array of GraphQL requests
//! (Apollo Client's `BatchHttpLink`), answered with a JSON array of their
//! responses in the same order. Off by default (`[service.batching]`); each
//! operation is resolved, planned and executed on its own, one after another
//! (so a batch of mutations applies them in the order sent), and one
//! operation's error is only that element's `errors`.
//!
//! # Layout
//! - [`BatchingSettings`]: on/off and the most operations per batch.
//! - [`Body`]: a POST body, one request or a batch ([`read`]).
//! - [`BatchError`]: a batch refused as a whole.
//! - [`respond`]: the answers joined into the array body.

use axum::body::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::pipeline::error::StageError;
use crate::request::GraphqlRequest;
use crate::response::{RequestFailure, codes};

/// Client batching (`[service.batching]`, `BATCHING_*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchingSettings {
    /// Whether a POST body may be a JSON array of requests
    /// (`BATCHING_ENABLED`). Off by default: a batch is then refused with
    /// `400 BATCHING_NOT_ENABLED`.
    pub enabled: bool,
    /// The most operations one batch may hold (`BATCHING_MAX_OPERATIONS`);
    /// a larger batch is refused as a whole (`400 BATCH_LIMIT_EXCEEDED`). The
    /// body itself stays under `limits.max_body_bytes`.
    pub max_operations: usize,
}

impl Default for BatchingSettings {
    fn default() -> Self {
        BatchingSettings {
            enabled: false,
            max_operations: 16,
        }
    }
}

/// A POST body.
#[derive(Debug)]
pub enum Body {
    /// One request (a JSON object).
    Single(GraphqlRequest),
    /// A batch (a JSON array of request objects).
    Batch(Vec<GraphqlRequest>),
}

/// Why a batch was refused as a whole.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BatchError {
    /// Batching is off.
    #[error(
        "this router does not accept batches (a JSON array of requests); send one request per POST"
    )]
    NotEnabled,
    /// More operations than allowed.
    #[error("the batch has {found} operations; the limit is {limit}")]
    TooLarge {
        /// How many were sent.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// `[]`.
    #[error("the batch is empty")]
    Empty,
}

impl StageError for BatchError {
    fn code(&self) -> &'static str {
        match self {
            BatchError::NotEnabled => "BATCHING_NOT_ENABLED",
            BatchError::TooLarge { .. } => "BATCH_LIMIT_EXCEEDED",
            BatchError::Empty => codes::BAD_REQUEST,
        }
    }

    fn always_status(&self) -> bool {
        true
    }
}

/// Reads a POST body: an object is one request, an array a batch (when the
/// settings allow it and it is within the limit).
pub fn read(body: &[u8], settings: &BatchingSettings) -> Result<Body, RequestFailure> {
    let not_json = |error: serde_json::Error| {
        RequestFailure::http(
            400,
            format!("the body is not a GraphQL request in JSON: {error}"),
        )
    };
    let is_array = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'[');
    if !is_array {
        return serde_json::from_slice(body)
            .map(Body::Single)
            .map_err(not_json);
    }
    if !settings.enabled {
        return Err(BatchError::NotEnabled.into());
    }
    let requests: Vec<GraphqlRequest> = serde_json::from_slice(body).map_err(not_json)?;
    if requests.is_empty() {
        return Err(BatchError::Empty.into());
    }
    if requests.len() > settings.max_operations {
        return Err(BatchError::TooLarge {
            found: requests.len(),
            limit: settings.max_operations,
        }
        .into());
    }
    Ok(Body::Batch(requests))
}

/// The batch's response body: each answer's body, or `{"errors": …}` for an
/// operation that failed, in the order sent.
pub fn respond(answers: Vec<Result<Bytes, RequestFailure>>) -> Vec<u8> {
    let mut body = Vec::from(&b"["[..]);
    for (i, answer) in answers.into_iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        match answer {
            Ok(bytes) => body.extend_from_slice(&bytes),
            Err(failure) => {
                body.extend_from_slice(json!({ "errors": failure.errors }).to_string().as_bytes());
            }
        }
    }
    body.push(b']');
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(max: usize) -> BatchingSettings {
        BatchingSettings {
            enabled: true,
            max_operations: max,
        }
    }

    #[test]
    fn an_object_is_one_request_and_an_array_a_batch_when_enabled() {
        let single = read(br#" {"query": "{ a }"}"#, &BatchingSettings::default());
        assert!(matches!(single, Ok(Body::Single(r)) if r.query.as_deref() == Some("{ a }")));
        let batch = br#" [{"query": "{ a }"}, {"query": "{ b }"}]"#;
        let failure = read(batch, &BatchingSettings::default()).expect_err("off by default");
        assert_eq!(failure.status, 400);
        assert_eq!(failure.errors[0].code(), Some("BATCHING_NOT_ENABLED"));
        assert!(matches!(read(batch, &on(2)), Ok(Body::Batch(r)) if r.len() == 2));
        let failure = read(batch, &on(1)).expect_err("over the limit");
        assert_eq!(failure.errors[0].code(), Some("BATCH_LIMIT_EXCEEDED"));
        assert!(read(b"[]", &on(1)).is_err());
        assert!(read(b"[1]", &on(1)).is_err());
    }

    #[test]
    fn answers_are_joined_in_order_with_failures_as_errors() {
        let body = respond(vec![
            Ok(Bytes::from_static(br#"{"data":{"a":1}}"#)),
            Err(RequestFailure::http(400, "nope")),
            Ok(Bytes::from_static(br#"{"data":{"b":2}}"#)),
        ]);
        let value: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(value[0]["data"]["a"], 1);
        assert_eq!(value[1]["errors"][0]["message"], "nope");
        assert_eq!(value[2]["data"]["b"], 2);
    }
}
