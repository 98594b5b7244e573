//! The [`SubgraphClient`]: keep-alive connections to every subgraph (a pool
//! per host and port for `http://` URLs, whose requests the fetch's own task
//! writes and reads, see `http1`; hyper's pooled client with rustls for
//! `https://`),
//! per-subgraph timeouts, the client's `Authorization`, `traceparent` and
//! `x-request-id` forwarded (`traceparent` becomes the router's own span when
//! traces are exported, see [`crate::telemetry`]), in-flight deduplication of
//! identical queries ([`SubgraphClient::fetch_shared`]), and every fetch
//! counted in the [`Metrics`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Uri;
use hyper::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

mod http1;

use crate::dedupe::SingleFlight;
use crate::execute::data::Data;
use crate::execute::json;
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
    /// The `_entities` list of an entity fetch's answer, if it has one.
    pub fn entities(&self) -> Option<&[Data]> {
        match self.data.as_ref()?.get("_entities")? {
            Data::Array(entities) => Some(entities),
            _ => None,
        }
    }

    /// Parses a subgraph's answer. Its text is kept (shared) by the long
    /// strings written without escapes, which become slices of it instead
    /// of copies ([`crate::execute::text::Text`]).
    pub fn parse(body: Vec<u8>) -> Result<SubgraphResponse, String> {
        let text = String::from_utf8(body)
            .map_err(|error| format!("the answer is not UTF-8: {}", error.utf8_error()))?;
        let answer = json::parse_answer(&Arc::new(text)).map_err(|error| error.to_string())?;
        Ok(SubgraphResponse {
            data: answer.data,
            errors: answer.errors,
        })
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

/// The HTTP client under [`SubgraphClient`] for `https://` URLs: hyper's
/// pooled client over rustls (Mozilla's roots), HTTP/1.1.
type Http = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Sends subgraph operations over kept-alive connections.
#[derive(Debug, Clone)]
pub struct SubgraphClient {
    http: Http,
    timeouts: Timeouts,
    in_flight: SingleFlight<FetchKey, SharedAnswer>,
    urls: ParsedUrls,
    metrics: Option<Arc<Metrics>>,
}

/// Subgraph URLs parsed once, by their text.
#[derive(Debug, Clone, Default)]
struct ParsedUrls(Arc<RwLock<HashMap<String, Arc<Target>>>>);

/// Where a subgraph URL's requests go: hyper's pool for `https://`, the
/// URL's own [`http1::Endpoint`] for `http://` (its connections shared
/// with the other URLs on the same host and port).
#[derive(Debug)]
struct Target {
    uri: Uri,
    plain: Option<http1::Endpoint>,
}

impl Target {
    /// The target of `uri`, sharing the connections of any of `others`
    /// on its host and port.
    fn new<'e>(uri: Uri, others: impl IntoIterator<Item = &'e http1::Endpoint>) -> Self {
        Target {
            plain: http1::Endpoint::new(&uri, others),
            uri,
        }
    }
}

impl ParsedUrls {
    /// At most this many URLs are kept (a router has a few subgraphs).
    const LIMIT: usize = 256;

    /// `url` parsed; an error names a URL that is not one.
    fn get(&self, url: &str) -> Result<Arc<Target>, SubgraphError> {
        if let Ok(known) = self.0.read()
            && let Some(parsed) = known.get(url)
        {
            return Ok(parsed.clone());
        }
        let uri = url
            .parse::<Uri>()
            .ok()
            .filter(|uri| uri.host().is_some())
            .ok_or_else(|| SubgraphError::Transport {
                connect: true,
                detail: format!("the subgraph URL `{url}` is not a valid http(s) URL"),
            })?;
        let Ok(mut known) = self.0.write() else {
            return Ok(Arc::new(Target::new(uri, [])));
        };
        // Another request may have parsed it meanwhile: use its entry, so
        // the URL has one pool of connections.
        if let Some(parsed) = known.get(url) {
            return Ok(parsed.clone());
        }
        let others = known.values().filter_map(|target| target.plain.as_ref());
        let parsed = Arc::new(Target::new(uri, others));
        if known.len() < Self::LIMIT {
            known.insert(url.to_owned(), parsed.clone());
        }
        Ok(parsed)
    }
}

/// Why the [`SubgraphClient`] could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up TLS for subgraph requests: {0}")]
pub struct ClientBuildError(#[from] rustls::Error);

impl SubgraphClient {
    /// A client with `timeouts`: connections kept alive for reuse up to 90 s
    /// idle, `TCP_NODELAY`, no proxy, redirects not followed (an answer must
    /// come from the subgraph's URL).
    pub fn new(timeouts: Timeouts) -> Result<Self, ClientBuildError> {
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .build(connector);
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
        body: Bytes,
        idempotent: bool,
    ) -> impl Future<Output = Result<SubgraphResponse, SubgraphError>> + Send + 'static {
        let mut headers = headers.clone();
        crate::telemetry::inject(&mut headers);
        let timeout = self.timeouts.for_subgraph(subgraph);
        let url = self.urls.get(url);
        post(self.http.clone(), url, timeout, headers, body, idempotent)
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
        let body = Bytes::from(request_body(query, operation_name, variables)?);
        let request = self.request(subgraph, url, headers, body, is_query(query));
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
            let sent = self.request(subgraph, url, headers, body, true);
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
            self.http.clone(),
            self.urls.get(url),
            self.timeouts.for_subgraph(subgraph),
            HeaderMap::new(),
            Bytes::from(body),
            true,
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

/// Whether an operation's text is a query, so that sending it twice
/// changes nothing: it starts with `query` or `{` (the router writes one
/// operation per request, its keyword first). Anything else is treated as
/// a mutation.
fn is_query(text: &str) -> bool {
    let text = text.trim_start();
    text.starts_with('{') || text.starts_with("query")
}

/// POSTs `body` to `target` with `headers` and reads the GraphQL response,
/// all within `timeout`. Owns its inputs so a shared request can outlive the
/// caller that started it.
async fn post(
    http: Http,
    target: Result<Arc<Target>, SubgraphError>,
    timeout: Duration,
    headers: HeaderMap,
    body: Bytes,
    idempotent: bool,
) -> Result<SubgraphResponse, SubgraphError> {
    let target = target?;
    let exchange = async {
        match &target.plain {
            Some(endpoint) => endpoint.exchange(&headers, &body, idempotent).await,
            None => post_with_hyper(&http, &target.uri, headers, body).await,
        }
    };
    let answer = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| SubgraphError::Timeout(timeout))??;
    let success = (200..300).contains(&answer.status);
    match SubgraphResponse::parse(answer.body) {
        Ok(response) if response.data.is_some() || !response.errors.is_empty() => Ok(response),
        _ if !success => Err(SubgraphError::Status(answer.status)),
        Ok(_) => Err(SubgraphError::InvalidResponse(
            "neither data nor errors".into(),
        )),
        Err(error) => Err(SubgraphError::InvalidResponse(error)),
    }
}

/// One exchange through hyper's pooled client (`https://` subgraphs).
async fn post_with_hyper(
    http: &Http,
    uri: &Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<http1::Answer, SubgraphError> {
    let mut request = hyper::Request::post(uri.clone())
        .body(Full::new(body))
        .map_err(|error| SubgraphError::Transport {
            connect: true,
            detail: chain(&error),
        })?;
    *request.headers_mut() = headers;
    request
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    request.headers_mut().insert(
        ACCEPT,
        HeaderValue::from_static("application/graphql-response+json, application/json;q=0.9"),
    );
    let answer = http
        .request(request)
        .await
        .map_err(|error| SubgraphError::Transport {
            connect: error.is_connect(),
            detail: chain(&error),
        })?;
    let status = answer.status().as_u16();
    // Read into one buffer, sized from the answer's length when it
    // gives one: the parser then takes it as it is, with no copy.
    let capacity = answer
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<usize>().ok())
        .unwrap_or(0)
        .min(http1::MAX_PREALLOCATED_ANSWER);
    let mut bytes = Vec::with_capacity(capacity);
    let mut body = answer.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| SubgraphError::Transport {
            connect: false,
            detail: chain(&error),
        })?;
        if let Some(data) = frame.data_ref() {
            bytes.extend_from_slice(data);
        }
    }
    Ok(http1::Answer {
        status,
        body: bytes,
    })
}

/// `error` and its causes, as one line (logged; it names hosts).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(text: &str) -> Result<SubgraphResponse, String> {
        SubgraphResponse::parse(text.as_bytes().to_vec())
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
        let not_utf8 = SubgraphResponse::parse(b"{\"data\":{\"a\":\"\xff\"}}".to_vec());
        assert!(not_utf8.expect_err("refused").contains("not UTF-8"));
    }

    #[test]
    fn only_texts_that_open_as_queries_may_be_sent_twice() {
        for query in ["query Q { a }", "{ a }", "\n  query($x: ID) { a(id: $x) }"] {
            assert!(is_query(query), "{query}");
        }
        for other in [
            "mutation M { pay }",
            "subscription { a }",
            "fragment F on T { a } query { ...F }",
            "",
        ] {
            assert!(!is_query(other), "{other}");
        }
    }

    /// Serves `app` on a free local port; its base URL.
    async fn serve(app: axum::Router) -> String {
        format!("http://{}", storefront_shared::testing::serve(app).await)
    }

    fn client() -> SubgraphClient {
        SubgraphClient::new(Timeouts::default()).expect("builds")
    }

    async fn fetch(client: &SubgraphClient, url: &str) -> Result<SubgraphResponse, SubgraphError> {
        let variables = Map::new();
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer t"));
        client
            .fetch(
                "s",
                url,
                "{ a }",
                None,
                Variables::plain(&variables),
                &headers,
            )
            .await
    }

    #[tokio::test]
    async fn a_query_is_posted_as_json_with_the_forwarded_headers() {
        use axum::routing::post;
        let app = axum::Router::new().route(
            "/graphql",
            post(|headers: HeaderMap, body: String| async move {
                let seen = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                axum::Json(json!({ "data": {
                    "body": body,
                    "contentType": seen("content-type"),
                    "accept": seen("accept"),
                    "authorization": seen("authorization"),
                    "host": seen("host"),
                }}))
            }),
        );
        let base = serve(app).await;
        let answer = fetch(&client(), &format!("{base}/graphql"))
            .await
            .expect("answers");
        let data = answer.data.expect("has data").to_value();
        assert_eq!(data["body"], json!(r#"{"query":"{ a }"}"#));
        assert_eq!(data["contentType"], json!("application/json"));
        assert_eq!(
            data["accept"],
            json!("application/graphql-response+json, application/json;q=0.9")
        );
        assert_eq!(data["authorization"], json!("Bearer t"));
        assert_eq!(data["host"], json!(base.trim_start_matches("http://")));
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        use axum::routing::post;
        let app = axum::Router::new()
            .route(
                "/graphql",
                post(|| async {
                    (
                        axum::http::StatusCode::TEMPORARY_REDIRECT,
                        [("location", "/elsewhere")],
                    )
                }),
            )
            .route(
                "/elsewhere",
                post(|| async { axum::Json(json!({ "data": { "a": 1 } })) }),
            );
        let base = serve(app).await;
        let failed = fetch(&client(), &format!("{base}/graphql")).await;
        assert!(
            matches!(failed, Err(SubgraphError::Status(307))),
            "{failed:?}"
        );
    }

    #[tokio::test]
    async fn urls_that_cannot_be_reached_or_are_not_urls_are_connect_failures() {
        // A port nobody listens on: bind one, then let it go.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let port = listener.local_addr().expect("has an address").port();
        drop(listener);
        let client = client();
        let refused = fetch(&client, &format!("http://127.0.0.1:{port}/graphql")).await;
        assert!(
            matches!(
                &refused,
                Err(SubgraphError::Transport { connect: true, .. })
            ),
            "{refused:?}"
        );
        let not_a_url = fetch(&client, "not a url").await;
        match not_a_url {
            Err(SubgraphError::Transport {
                connect: true,
                detail,
            }) => {
                assert!(detail.contains("`not a url`"), "{detail}");
            }
            other => panic!("expected a connect failure, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn https_urls_speak_tls() {
        // A plain-HTTP server behind an https:// URL: the TLS handshake fails,
        // which shows the request went through TLS rather than in the clear.
        let base = serve(axum::Router::new()).await;
        let https = base.replacen("http://", "https://", 1);
        let failed = fetch(&client(), &format!("{https}/graphql")).await;
        match failed {
            Err(SubgraphError::Transport {
                connect: true,
                detail,
            }) => {
                assert!(!detail.is_empty());
            }
            other => panic!("expected a TLS failure, got {other:?}"),
        }
    }
}
