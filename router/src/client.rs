//! The [`SubgraphClient`]: one keep-alive connection pool for every subgraph,
//! per-subgraph timeouts, the client's `Authorization`, `traceparent` and
//! `x-request-id` forwarded (`traceparent` becomes the router's own span when
//! traces are exported, see [`crate::telemetry`]), in-flight deduplication of
//! identical queries ([`SubgraphClient::fetch_shared`]), and every fetch
//! counted in the [`Metrics`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dedupe::SingleFlight;
use crate::execute::data::{Data, DataSeed};
use crate::metrics::{FetchErrorKind, Metrics};
use crate::request::answer_headers;
use crate::settings::Timeouts;

/// Why a subgraph request failed (the subgraph counts as unavailable).
#[derive(Debug, Clone, thiserror::Error)]
pub enum SubgraphError {
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// Could not connect or the connection broke.
    #[error("{detail}")]
    Transport {
        /// Whether no connection could be made at all.
        connect: bool,
        /// The full error chain (logged; it names hosts).
        detail: String,
    },
    /// An HTTP status other than 2xx with a body that is not a GraphQL response.
    #[error("HTTP status {0}")]
    Status(u16),
    /// The body is not a GraphQL response.
    #[error("the answer is not a GraphQL response: {0}")]
    InvalidResponse(String),
}

impl SubgraphError {
    /// Which kind of failure it is, for the metrics' `kind` label.
    pub fn kind(&self) -> FetchErrorKind {
        match self {
            SubgraphError::Timeout(_) => FetchErrorKind::Timeout,
            SubgraphError::Transport { .. } => FetchErrorKind::Connect,
            SubgraphError::Status(_) => FetchErrorKind::Status,
            SubgraphError::InvalidResponse(_) => FetchErrorKind::Invalid,
        }
    }

    /// A short reason for the client, without hosts or internal detail.
    pub fn client_reason(&self) -> String {
        match self {
            SubgraphError::Timeout(after) => format!("no answer within {after:?}"),
            SubgraphError::Transport { connect: true, .. } => "cannot connect".into(),
            SubgraphError::Transport { connect: false, .. } => "the connection failed".into(),
            SubgraphError::Status(status) => format!("HTTP status {status}"),
            SubgraphError::InvalidResponse(_) => "the answer is not a GraphQL response".into(),
        }
    }
}

/// A subgraph's GraphQL response, parsed once.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SubgraphResponse {
    /// `data`, if any.
    #[serde(default)]
    pub data: Option<Data>,
    /// `errors`, as the subgraph wrote them.
    #[serde(default)]
    pub errors: Vec<Map<String, Value>>,
}

impl SubgraphResponse {
    /// Parses a subgraph's answer. Its text is kept (shared) by the long
    /// strings written without escapes, which become slices of it instead
    /// of copies ([`crate::execute::text::Text`]).
    pub fn parse(body: Bytes) -> Result<SubgraphResponse, String> {
        let text = String::from_utf8(Vec::from(body))
            .map_err(|error| format!("the answer is not UTF-8: {}", error.utf8_error()))?;
        let source = Arc::new(text);
        let mut reader = sonic_rs::Deserializer::from_str(&source);
        let response = ResponseSeed(&source)
            .deserialize(&mut reader)
            .map_err(|error| error.to_string())?;
        reader.end().map_err(|error| error.to_string())?;
        Ok(response)
    }
}

/// Reads a [`SubgraphResponse`] out of `.0`'s text.
struct ResponseSeed<'s>(&'s Arc<String>);

impl<'de> DeserializeSeed<'de> for ResponseSeed<'_> {
    type Value = SubgraphResponse;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ResponseSeed<'_> {
    type Value = SubgraphResponse;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a GraphQL response object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut response = SubgraphResponse::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "data" => {
                    response.data = match map.next_value_seed(DataSeed(Some(self.0)))? {
                        Data::Null => None,
                        data => Some(data),
                    }
                }
                "errors" => {
                    response.errors = map
                        .next_value::<Option<Vec<Map<String, Value>>>>()?
                        .unwrap_or_default()
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(response)
    }
}

#[derive(Serialize)]
struct SubgraphRequest<'a> {
    query: &'a str,
    #[serde(rename = "operationName", skip_serializing_if = "Option::is_none")]
    operation_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Variables::is_empty")]
    variables: Variables<'a>,
}

/// A subgraph operation's variables: the client's that it uses, plus an
/// entity fetch's representations (written last, straight from the
/// response tree).
#[derive(Debug, Clone, Copy)]
pub struct Variables<'a> {
    /// Variables by name.
    pub values: &'a Map<String, Value>,
    /// `$representations`, for an `_entities` fetch.
    pub representations: Option<&'a [Data]>,
}

impl<'a> Variables<'a> {
    /// Just `values`.
    pub fn plain(values: &'a Map<String, Value>) -> Self {
        Variables {
            values,
            representations: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.values.is_empty() && self.representations.is_none()
    }
}

impl Serialize for Variables<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let count = self.values.len() + usize::from(self.representations.is_some());
        let mut map = serializer.serialize_map(Some(count))?;
        for (name, value) in self.values {
            if self.representations.is_none() || name != "representations" {
                map.serialize_entry(name, value)?;
            }
        }
        if let Some(representations) = self.representations {
            map.serialize_entry("representations", representations)?;
        }
        map.end()
    }
}

/// One subgraph answer, shared by every request that waited for it.
type SharedAnswer = Result<Arc<SubgraphResponse>, SubgraphError>;

/// What makes two subgraph requests the same: URL, body and the forwarded
/// headers that can change the answer (tracing headers left out).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FetchKey {
    url: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

/// Sends subgraph operations over one shared connection pool.
#[derive(Debug, Clone)]
pub struct SubgraphClient {
    http: reqwest::Client,
    timeouts: Timeouts,
    in_flight: SingleFlight<FetchKey, SharedAnswer>,
    urls: ParsedUrls,
    metrics: Option<Arc<Metrics>>,
}

/// Subgraph URLs parsed once: given the text, reqwest would parse it again
/// (IDNA host mapping included) for every request.
#[derive(Debug, Clone, Default)]
struct ParsedUrls(Arc<RwLock<HashMap<String, Url>>>);

impl ParsedUrls {
    /// At most this many URLs are kept (a router has a few subgraphs).
    const LIMIT: usize = 256;

    /// `url` parsed, or `None` when it does not parse (reqwest then reports
    /// the error for the text as before).
    fn get(&self, url: &str) -> Option<Url> {
        if let Ok(known) = self.0.read()
            && let Some(parsed) = known.get(url)
        {
            return Some(parsed.clone());
        }
        let parsed = Url::parse(url).ok()?;
        if let Ok(mut known) = self.0.write()
            && known.len() < Self::LIMIT
        {
            known.insert(url.to_owned(), parsed.clone());
        }
        Some(parsed)
    }
}

impl SubgraphClient {
    /// A client with `timeouts`.
    pub fn new(timeouts: Timeouts) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true)
            .build()?;
        Ok(SubgraphClient {
            http,
            timeouts,
            in_flight: SingleFlight::default(),
            urls: ParsedUrls::default(),
            metrics: None,
        })
    }

    /// The same client, counting every fetch in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Runs `fetch` and counts it (and its error, if any) for `subgraph`.
    async fn measured<T>(
        &self,
        subgraph: &str,
        fetch: impl Future<Output = Result<T, SubgraphError>>,
    ) -> Result<T, SubgraphError> {
        let started = Instant::now();
        let result = fetch.await;
        if let Some(metrics) = &self.metrics {
            metrics.subgraph_fetch(
                subgraph,
                started.elapsed(),
                result.as_ref().err().map(SubgraphError::kind),
            );
        }
        result
    }

    /// The request to `subgraph`, with its timeout and the router's span in
    /// `traceparent` when traces are exported.
    fn request(
        &self,
        subgraph: &str,
        url: &str,
        headers: &HeaderMap,
        body: impl Into<reqwest::Body>,
    ) -> impl Future<Output = Result<SubgraphResponse, SubgraphError>> + Send + 'static {
        let mut headers = headers.clone();
        crate::telemetry::inject(&mut headers);
        let timeout = self.timeouts.for_subgraph(subgraph);
        let request = match self.urls.get(url) {
            Some(parsed) => self.http.post(parsed),
            None => self.http.post(url),
        };
        post(request, timeout, headers, body)
    }

    /// Posts `query` to `subgraph` at `url`, with `headers` (already filtered to
    /// [`crate::request::FORWARDED_HEADERS`]).
    pub async fn fetch(
        &self,
        subgraph: &str,
        url: &str,
        query: &str,
        operation_name: Option<&str>,
        variables: Variables<'_>,
        headers: &HeaderMap,
    ) -> Result<SubgraphResponse, SubgraphError> {
        let body = request_body(query, operation_name, variables)?;
        let request = self.request(subgraph, url, headers, body);
        self.measured(subgraph, request).await
    }

    /// Like [`SubgraphClient::fetch`], but a request identical to one already
    /// in flight (same URL, body, and forwarded headers other than
    /// `traceparent` and `x-request-id`) is not sent again: it waits for that
    /// one's answer. For queries only: a mutation must reach the subgraph
    /// every time it is asked for. The answer is shared by everyone who
    /// waited for it (read it in place, or take it when yours is the last
    /// handle).
    pub async fn fetch_shared(
        &self,
        subgraph: &str,
        url: &str,
        query: &str,
        operation_name: Option<&str>,
        variables: Variables<'_>,
        headers: &HeaderMap,
    ) -> Result<Arc<SubgraphResponse>, SubgraphError> {
        let body = Bytes::from(request_body(query, operation_name, variables)?);
        let key = FetchKey {
            url: url.to_owned(),
            headers: answer_headers(headers),
            body: body.clone(),
        };
        let request = || {
            let sent = self.request(subgraph, url, headers, body);
            async move {
                // The first asker lets every task already woken run before
                // it sends: those that need the same answer (requests that
                // reached this step together) join it instead of missing it
                // by microseconds and sending their own.
                tokio::task::yield_now().await;
                sent.await.map(Arc::new)
            }
        };
        let shared = self.in_flight.run(key, request);
        self.measured(subgraph, shared).await
    }

    /// Fetches a subgraph's SDL with `{ _service { sdl } }`.
    pub async fn service_sdl(&self, subgraph: &str, url: &str) -> Result<String, SubgraphError> {
        // Not a client's fetch: not counted in the metrics.
        let body = request_body(
            "query SubgraphSdl { _service { sdl } }",
            Some("SubgraphSdl"),
            Variables::plain(&Map::new()),
        )?;
        let response = post(
            self.http.post(url),
            self.timeouts.for_subgraph(subgraph),
            HeaderMap::new(),
            body,
        )
        .await?;
        response
            .data
            .as_ref()
            .and_then(|data| data.get("_service")?.get("sdl"))
            .and_then(Data::as_str)
            .map(str::to_owned)
            .ok_or_else(|| SubgraphError::InvalidResponse("no _service.sdl in the answer".into()))
    }
}

fn request_body(
    query: &str,
    operation_name: Option<&str>,
    variables: Variables<'_>,
) -> Result<Vec<u8>, SubgraphError> {
    sonic_rs::to_vec(&SubgraphRequest {
        query,
        operation_name,
        variables,
    })
    .map_err(|e| SubgraphError::InvalidResponse(e.to_string()))
}

/// Sends `request` (a POST to the subgraph's URL) with `body` and reads the
/// GraphQL response. Owns its inputs so a shared request can outlive the
/// caller that started it.
fn post(
    request: reqwest::RequestBuilder,
    timeout: Duration,
    headers: HeaderMap,
    body: impl Into<reqwest::Body>,
) -> impl Future<Output = Result<SubgraphResponse, SubgraphError>> + Send + 'static {
    let request = request
        .timeout(timeout)
        .headers(headers)
        .header(CONTENT_TYPE, "application/json")
        .header(
            ACCEPT,
            "application/graphql-response+json, application/json;q=0.9",
        )
        .body(body);
    async move {
        let answer = request.send().await.map_err(|e| classify(e, timeout))?;
        let status = answer.status();
        let bytes = answer.bytes().await.map_err(|e| classify(e, timeout))?;
        match SubgraphResponse::parse(bytes) {
            Ok(response) if response.data.is_some() || !response.errors.is_empty() => Ok(response),
            _ if !status.is_success() => Err(SubgraphError::Status(status.as_u16())),
            Ok(_) => Err(SubgraphError::InvalidResponse(
                "neither data nor errors".into(),
            )),
            Err(error) => Err(SubgraphError::InvalidResponse(error)),
        }
    }
}

fn classify(error: reqwest::Error, timeout: Duration) -> SubgraphError {
    if error.is_timeout() {
        SubgraphError::Timeout(timeout)
    } else {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        SubgraphError::Transport {
            connect: error.is_connect(),
            detail: text,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(text: &str) -> Result<SubgraphResponse, String> {
        SubgraphResponse::parse(Bytes::from(text.to_owned()))
    }

    #[test]
    fn an_answer_reads_the_same_as_serde_json_reads_it() {
        let text = r#"{"data":{"reviews":[{"id":"1","body":"a plain body, long enough to be a slice of the answer"},{"id":"2","body":"an escaped \"body\", long enough\nto be decoded\u0021"}],"n":[1,-2.5,null,true]},"errors":[{"message":"partly","path":["reviews",1]}],"extensions":{"x":1}}"#;
        let response = parse(text).expect("parses");
        let expected: Value = serde_json::from_str(text).expect("valid JSON");
        let data = response.data.expect("has data");
        assert_eq!(data.to_value(), expected["data"]);
        assert_eq!(
            Value::Object(response.errors[0].clone()),
            expected["errors"][0]
        );
        let bodies: Vec<bool> = (0..2)
            .map(|i| match &data.get("reviews") {
                Some(Data::Array(items)) => match items[i].get("body") {
                    Some(Data::String(body)) => body.is_plain_json(),
                    _ => panic!("body {i} is a string"),
                },
                _ => panic!("reviews is a list"),
            })
            .collect();
        // The plain one is a slice of the answer; the escaped one was decoded.
        assert_eq!(bodies, [true, false]);
    }

    #[test]
    fn null_or_absent_data_is_none_and_errors_alone_are_kept() {
        let response = parse(r#"{"data":null,"errors":[{"message":"boom"}]}"#).expect("parses");
        assert!(response.data.is_none());
        assert_eq!(response.errors[0]["message"], json!("boom"));
        let response = parse(r#"{"errors":null}"#).expect("parses");
        assert!(response.data.is_none() && response.errors.is_empty());
    }

    #[test]
    fn answers_that_are_not_valid_json_text_are_refused() {
        // A raw control character inside a string is not JSON: a string kept
        // as written must never carry one to the client.
        let raw_control =
            "{\"data\":{\"body\":\"a long string with a raw \u{1} control character\"}}";
        assert!(parse(raw_control).is_err());
        assert!(parse(r#"{"data":{"a":1}"#).is_err());
        assert!(parse(r#"{"data":{"a":1}} trailing"#).is_err());
        assert!(parse("[1,2]").is_err());
        let not_utf8 = SubgraphResponse::parse(Bytes::from_static(b"{\"data\":{\"a\":\"\xff\"}}"));
        assert!(not_utf8.expect_err("refused").contains("not UTF-8"));
    }
}
