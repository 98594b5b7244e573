//! A client's GraphQL request as the router sees it: its parameters
//! ([`GraphqlRequest`]), how it came in ([`Method`]), and which of its headers
//! travel on to the subgraphs ([`forwarded_headers`], with an `x-request-id`
//! added when missing) and which of those can change an answer
//! ([`answer_headers`], what deduplication compares).

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

/// Headers taken from the client's request and sent to every subgraph.
pub const FORWARDED_HEADERS: [&str; 3] = ["authorization", "traceparent", "x-request-id"];

/// Forwarded headers that only trace a request: they differ between client
/// requests without changing a subgraph's answer, so identical queries that
/// differ only in them are sent once. `x-forwarded-for` (set by the router,
/// [`crate::client_address`]) is one: a query's answer does not depend on
/// the client's address (the one mutation that cares, `login`, is never
/// shared).
pub const TRACING_HEADERS: [&str; 3] = ["traceparent", "x-request-id", "x-forwarded-for"];

/// The request id header, added when the client sent none.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A GraphQL request's parameters (body of a POST, query string of a GET).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphqlRequest {
    /// The document text.
    pub query: Option<String>,
    /// Variable values.
    #[serde(default)]
    pub variables: Option<Map<String, Value>>,
    /// The operation to run.
    #[serde(default)]
    pub operation_name: Option<String>,
    /// Request extensions (`queryPlan: true` asks for the plan;
    /// `persistedQuery.sha256Hash` names a persisted document).
    #[serde(default)]
    pub extensions: Option<Map<String, Value>>,
    /// A persisted document's id in the manifest (`documentId`, as Hive and
    /// the GraphQL-over-HTTP persisted documents proposal send it).
    #[serde(default)]
    pub document_id: Option<String>,
}

/// How the request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`: queries only.
    Get,
    /// `POST`.
    Post,
}

/// The headers to forward from a client's request.
pub fn forwarded_headers(incoming: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for name in FORWARDED_HEADERS {
        if let Some(value) = incoming.get(name) {
            headers.insert(HeaderName::from_static(name), value.clone());
        }
    }
    headers
}

/// The forwarded headers that can change an answer (all but
/// [`TRACING_HEADERS`]): what, besides the request itself, makes two
/// requests the same for deduplication.
pub fn answer_headers(headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| !TRACING_HEADERS.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// Adds `x-request-id` when the client did not send one; returns the id.
pub fn ensure_request_id(headers: &mut HeaderMap) -> String {
    if let Some(id) = headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()) {
        return id.to_owned();
    }
    let id = uuid::Uuid::new_v4().to_string();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_propagated_headers_are_forwarded() {
        let mut incoming = HeaderMap::new();
        incoming.insert("authorization", HeaderValue::from_static("Bearer t"));
        incoming.insert("cookie", HeaderValue::from_static("session=1"));
        incoming.insert("traceparent", HeaderValue::from_static("00-a-b-01"));
        let forwarded = forwarded_headers(&incoming);
        assert_eq!(forwarded.len(), 2);
        assert!(forwarded.get("cookie").is_none());
        assert_eq!(
            answer_headers(&forwarded),
            vec![(
                HeaderName::from_static("authorization"),
                HeaderValue::from_static("Bearer t")
            )]
        );
    }

    #[test]
    fn a_request_id_is_kept_or_added() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("mine"));
        assert_eq!(ensure_request_id(&mut headers), "mine");
        let mut headers = HeaderMap::new();
        let id = ensure_request_id(&mut headers);
        assert_eq!(
            headers.get(REQUEST_ID_HEADER).map(HeaderValue::as_bytes),
            Some(id.as_bytes())
        );
    }
}
