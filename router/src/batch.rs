//! Client batching: a POST body that is a JSON array of GraphQL requests
//! (Apollo Client's `BatchHttpLink`), answered with a JSON array of their
//! responses in the same order. Off by default (`[service.batching]`); each
//! operation is resolved, planned and executed on its own, and one
//! operation's error is only that element's `errors`.
//!
//! Persisted documents are resolved in the order sent (an APQ registration
//! serves the operations after it); then the operations run concurrently,
//! at most `max_concurrency` at a time, except that a mutation is a
//! barrier: it starts once everything sent before it has finished, and what
//! follows it starts once it has — so a batch of mutations still applies
//! them in the order sent, as one request per mutation would.
//!
//! # Layout
//! - [`BatchingSettings`]: on/off, the most operations per batch and how
//!   many run at once.
//! - [`Body`]: a POST body, one request or a batch ([`read`]).
//! - [`BatchError`]: a batch refused as a whole.
//! - [`run`]: the operations executed, concurrently between mutations.
//! - [`respond`]: the answers joined into the array body.

use std::future::Future;

use apollo_compiler::ast::{Definition, OperationType};
use apollo_compiler::parser::Parser;
use axum::body::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::pipeline::error::StageError;
use crate::request::GraphqlRequest;
use crate::response::{RequestFailure, codes};
use crate::settings::Limits;

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
    /// How many operations of one batch run at once
    /// (`BATCHING_MAX_CONCURRENCY`); `1` runs them one after another.
    /// Mutations always run alone, in the order sent. Default: 16 (the
    /// default `max_operations`: a whole batch at once).
    pub max_concurrency: usize,
}

impl Default for BatchingSettings {
    fn default() -> Self {
        BatchingSettings {
            enabled: false,
            max_operations: 16,
            max_concurrency: 16,
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

/// Runs a batch's operations (each already resolved, or refused) with
/// `execute`, concurrently up to `settings.max_concurrency` but with every
/// mutation alone, after what was sent before it; answers in the order sent.
pub async fn run<F, Fut>(
    requests: Vec<Result<GraphqlRequest, RequestFailure>>,
    settings: &BatchingSettings,
    limits: &Limits,
    execute: F,
) -> Vec<Result<Bytes, RequestFailure>>
where
    F: Fn(GraphqlRequest) -> Fut,
    Fut: Future<Output = Result<Bytes, RequestFailure>>,
{
    let limit = settings.max_concurrency.max(1);
    let mut answers = Vec::with_capacity(requests.len());
    let mut together: Vec<Result<GraphqlRequest, RequestFailure>> = Vec::new();
    for request in requests {
        let barrier = limit > 1 && request.as_ref().is_ok_and(|r| is_mutation(r, limits));
        if !barrier {
            together.push(request);
            continue;
        }
        answers.extend(concurrently(std::mem::take(&mut together), limit, &execute).await);
        answers.extend(concurrently(vec![request], 1, &execute).await);
    }
    answers.extend(concurrently(together, limit, &execute).await);
    answers
}

/// `requests` executed at most `limit` at a time, answers in order.
async fn concurrently<F, Fut>(
    requests: Vec<Result<GraphqlRequest, RequestFailure>>,
    limit: usize,
    execute: &F,
) -> Vec<Result<Bytes, RequestFailure>>
where
    F: Fn(GraphqlRequest) -> Fut,
    Fut: Future<Output = Result<Bytes, RequestFailure>>,
{
    futures::stream::iter(requests.into_iter().map(|request| async move {
        match request {
            Ok(request) => execute(request).await,
            Err(failure) => Err(failure),
        }
    }))
    .buffered(limit)
    .collect()
    .await
}

/// Whether the operation a request selects is a mutation (a document that
/// does not parse, within `limits`, is not: it fails on its own).
fn is_mutation(request: &GraphqlRequest, limits: &Limits) -> bool {
    let Some(document) = request.query.as_deref() else {
        return false;
    };
    if !document.contains("mutation") {
        return false;
    }
    let Ok(parsed) = Parser::new()
        .token_limit(limits.parser_max_tokens)
        .recursion_limit(limits.parser_max_recursion)
        .parse_ast(document, "batched.graphql")
    else {
        return false;
    };
    let mut operations = parsed.definitions.iter().filter_map(|d| match d {
        Definition::OperationDefinition(operation) => Some(operation),
        _ => None,
    });
    let selected = match request.operation_name.as_deref() {
        Some(name) => operations.find(|o| o.name.as_deref() == Some(name)),
        None => operations.next(),
    };
    selected.is_some_and(|o| o.operation_type == OperationType::Mutation)
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
            ..BatchingSettings::default()
        }
    }

    fn request(query: &str, name: Option<&str>) -> GraphqlRequest {
        GraphqlRequest {
            query: Some(query.to_owned()),
            operation_name: name.map(str::to_owned),
            ..GraphqlRequest::default()
        }
    }

    #[test]
    fn the_selected_operation_decides_whether_a_request_is_a_mutation() {
        let limits = Limits::default();
        assert!(is_mutation(&request("mutation { a }", None), &limits));
        assert!(!is_mutation(&request("{ mutation }", None), &limits));
        let two = "query Q { a } mutation M { b }";
        assert!(is_mutation(&request(two, Some("M")), &limits));
        assert!(!is_mutation(&request(two, Some("Q")), &limits));
        assert!(!is_mutation(&request("mutation {", None), &limits));
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
