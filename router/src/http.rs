//! GraphQL over HTTP: `POST /graphql` (JSON) and `GET /graphql` (queries
//! only; a WebSocket upgrade there, and an `Accept` of `text/event-stream`
//! or multipart subscriptions, go to [`crate::subscription`]), `Accept` negotiation between `application/graphql-response+json`
//! (request errors → 4xx) and `application/json` (200), plus `/health`,
//! `/ready`, `/metrics` ([`crate::metrics`]), the playground at `/`
//! ([`crate::playground`]), and CORS for the origins the settings allow
//! (`cors_origins`).
//!
//! Persisted documents ([`crate::pipeline::persisted`]) are resolved right
//! after authentication, so `GET /graphql?extensions={"persistedQuery":…}`
//! (no `query`) runs a persisted query a CDN can cache; error responses say
//! `Cache-Control: no-store`.
//!
//! A POST body that is a JSON array is a batch ([`crate::batch`], when
//! `batching.enabled`): its operations run concurrently (mutations alone, in
//! the order sent) and are answered as an array in the same order.
//!
//! Before a `/graphql` request is read: CSRF prevention ([`csrf_safe`]), the
//! `Content-Type` of a POST must be `application/json` (parsed as a media
//! type, parameters allowed), and its body must arrive within
//! `body_read_timeout` (else 408, [`listener::read_body`]); a request refused
//! before its body was read (CSRF, `415`, `413`) is answered with
//! `Connection: close` by the shared listener. Every GraphQL
//! response carries the request's `x-request-id` (the client's, or the one
//! generated and sent to the subgraphs).
//!
//! The client's address ([`crate::client_address`]: the peer, or what a
//! trusted proxy says) goes to the subgraphs as `X-Forwarded-For`. Right
//! after authentication the rate limits ([`crate::ratelimit`]) are checked:
//! per the verified token's `sub` or else that address, one token per
//! operation of a batch; a refusal is `429` with `Retry-After`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use storefront_process::listener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

use crate::auth::{Authenticator, Identity, TokenSource};
use crate::batch::{self, Body};
use crate::client_address::{self, ClientAddress};
use crate::metrics::{self, Kind};
use crate::pipeline::authenticate::authenticate;
use crate::pipeline::defer::{self, Delivery};
use crate::pipeline::{Answered, Call, Engine};
use crate::playground;
use crate::ratelimit::{ClientKey, RateLimited};
use crate::request::{GraphqlRequest, Method, ensure_request_id, forwarded_headers};
use crate::response::{GraphqlError, RequestFailure, codes};
use crate::settings::RouterSettings;
use crate::state::AppState;
use crate::subscription;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const APPLICATION_JSON: &str = "application/json";
/// The request header that asks for the query plan (with `expose_query_plan`).
pub const QUERY_PLAN_HEADER: &str = "x-storefront-query-plan";
/// The header that names a request, forwarded to subgraphs and returned.
pub use crate::request::REQUEST_ID_HEADER;
/// `Content-Type`s a browser sends cross-origin without a CORS preflight.
const SIMPLE_CONTENT_TYPES: [&str; 3] = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
];

/// The router's HTTP routes.
pub fn routes(state: AppState) -> Router {
    let settings = state.settings();
    let max_body = settings.limits.max_body_bytes;
    let mut router = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route(
            "/health",
            get(|| async { axum::Json(json!({ "status": "ok" })) }),
        )
        .route("/ready", get(ready));
    if settings.playground {
        router = router
            .route("/", get(playground::index))
            .route("/assets/{*path}", get(playground::asset));
    }
    if settings.metrics {
        router = router.route("/metrics", get(metrics));
    }
    let router = router.layer(DefaultBodyLimit::max(max_body));
    let router = match cors(state.settings()) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router.with_state(state)
}

/// CORS for the origins in `cors_origins`; `None` when there are none (no
/// CORS headers at all, so browsers refuse cross-origin calls).
fn cors(settings: &RouterSettings) -> Option<CorsLayer> {
    if settings.cors_origins.is_empty() {
        return None;
    }
    let mut allow_headers = vec![
        header::ACCEPT,
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        HeaderName::from_static(QUERY_PLAN_HEADER),
        HeaderName::from_static(REQUEST_ID_HEADER),
        HeaderName::from_static("traceparent"),
    ];
    for name in &settings.csrf_required_headers {
        match HeaderName::try_from(name.as_str()) {
            Ok(name) if !allow_headers.contains(&name) => allow_headers.push(name),
            Ok(_) => {}
            Err(_) => tracing::warn!(%name, "csrf_required_headers names an invalid header"),
        }
    }
    let settings = settings.clone();
    let allow = AllowOrigin::predicate(move |origin: &HeaderValue, _| {
        origin
            .to_str()
            .is_ok_and(|origin| settings.allows_origin(origin))
    });
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
            .allow_headers(allow_headers)
            .expose_headers([HeaderName::from_static(REQUEST_ID_HEADER)])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.metrics().encode(),
    )
        .into_response()
}

async fn ready(State(state): State<AppState>) -> Response {
    if state.engine().is_some() {
        (StatusCode::OK, axum::Json(json!({ "status": "ready" }))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({ "status": "unavailable", "reason": "no supergraph is loaded yet" })),
        )
            .into_response()
    }
}

/// The negotiated response media type, or `None` when the client accepts neither.
fn negotiate(headers: &HeaderMap) -> Option<&'static str> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(APPLICATION_JSON);
    };
    let mut json_ok = false;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        if refused {
            continue;
        }
        match media.as_str() {
            GRAPHQL_RESPONSE_JSON => return Some(GRAPHQL_RESPONSE_JSON),
            APPLICATION_JSON | "application/*" | "*/*" => json_ok = true,
            _ => {}
        }
    }
    json_ok.then_some(APPLICATION_JSON)
}

/// Whether a request may be a browser's cross-site "simple" request that no
/// CORS preflight guarded: it is safe when its `Content-Type` is one browsers
/// only send after a preflight (anything parseable but the simple three; an
/// unparseable one is never sent without a preflight either), or when it
/// carries a non-empty header named in `csrf_required_headers`.
pub fn csrf_safe(settings: &RouterSettings, headers: &HeaderMap) -> bool {
    if !settings.csrf_prevention {
        return true;
    }
    let mut content_types = headers.get_all(header::CONTENT_TYPE).iter();
    if let Some(first) = content_types.next() {
        // Several values are read as the one a browser would combine them into.
        let parsed = match content_types.next() {
            None => first.to_str().map(str::parse::<mime::Mime>),
            Some(_) => Ok(headers
                .get_all(header::CONTENT_TYPE)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()))
                .collect::<Vec<_>>()
                .join(", ")
                .parse::<mime::Mime>()),
        };
        match parsed {
            Ok(Ok(media)) if SIMPLE_CONTENT_TYPES.contains(&media.essence_str()) => {}
            // Any other type, or one no browser sends without a preflight.
            _ => return true,
        }
    }
    settings
        .csrf_required_headers
        .iter()
        .any(|name| headers.get(name.as_str()).is_some_and(|v| !v.is_empty()))
}

fn csrf_failure(settings: &RouterSettings) -> RequestFailure {
    RequestFailure {
        status: 400,
        always_status: true,
        errors: vec![GraphqlError::new(
            format!(
                "this request was refused as a possible cross-site request forgery (CSRF): send it \
                 with `Content-Type: application/json` (any type but text/plain, \
                 application/x-www-form-urlencoded and multipart/form-data), or with a non-empty \
                 header named {}",
                settings
                    .csrf_required_headers
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            codes::CSRF_BLOCKED,
        )],
    }
}

/// Whether a `Content-Type` is `application/json`, in any case and with any
/// parameters (`; charset=utf-8`).
fn is_json(content_type: &HeaderValue) -> bool {
    content_type
        .to_str()
        .ok()
        .and_then(|text| text.parse::<mime::Mime>().ok())
        .is_some_and(|media| media.essence_str() == APPLICATION_JSON)
}

/// A `/graphql` request's own data: its id (also forwarded), the headers for
/// the subgraphs, and when it arrived (for the latency metric).
struct Incoming {
    started: Instant,
    request_id: String,
    forwarded: HeaderMap,
    media: Option<&'static str>,
    client: ClientAddress,
}

/// The connection's peer address, when the request came from a socket.
type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

impl Incoming {
    fn new(state: &AppState, headers: &HeaderMap, peer: Peer) -> Self {
        let started = Instant::now();
        let mut forwarded = forwarded_headers(headers);
        let request_id = ensure_request_id(&mut forwarded);
        let peer = peer.map(|Extension(ConnectInfo(peer))| peer);
        let client = ClientAddress::resolve(headers, peer, state.proxies());
        if let Some(value) = client.forwarded_for() {
            forwarded.insert(
                HeaderName::from_static(client_address::FORWARDED_FOR),
                value,
            );
        }
        Incoming {
            started,
            request_id,
            forwarded,
            media: negotiate(headers),
            client,
        }
    }

    /// A token the client sent in the configured cookie (and no
    /// `Authorization` header) is forwarded to the subgraphs as `Authorization:
    /// Bearer …`, so they see the caller the router saw.
    fn forward_cookie_token(&mut self, authenticator: &Authenticator, headers: &HeaderMap) {
        if self.forwarded.contains_key(header::AUTHORIZATION) {
            return;
        }
        if let Ok(Some(TokenSource::Cookie(token))) = authenticator.token(headers)
            && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
        {
            self.forwarded.insert(header::AUTHORIZATION, value);
        }
    }

    /// The final response: `x-request-id` added, and counted in the metrics.
    fn finish(&self, state: &AppState, kind: Kind, mut response: Response) -> Response {
        if let Some(value) = self.forwarded.get(REQUEST_ID_HEADER) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(REQUEST_ID_HEADER), value.clone());
        }
        if state.settings().metrics {
            state
                .metrics()
                .request(response.status().as_u16(), kind, self.started.elapsed());
        }
        response
    }

    fn fail(&self, state: &AppState, failure: RequestFailure) -> Response {
        self.finish(state, Kind::None, failure_response(failure, self.media))
    }

    /// `429` with `Retry-After`, counted in the rejection metric.
    fn rate_limited(&self, state: &AppState, refused: RateLimited) -> Response {
        if state.settings().metrics {
            state.metrics().rate_limited(refused.limit());
        }
        let seconds = refused.retry_after_seconds();
        let mut response = failure_response(refused.into(), self.media);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        self.finish(state, Kind::None, response)
    }
}

async fn graphql_get(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    websocket: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let incoming = Incoming::new(&state, &headers, peer);
    if let Ok(websocket) = websocket
        && subscription::ws::is_upgrade(&headers)
    {
        // A WebSocket takes one token of its client's address when it opens
        // (what it subscribes to later is not counted).
        let limiter = state.rate_limiter();
        if limiter.is_enabled()
            && let Err(refused) = limiter.check(&ClientKey::address(incoming.client.address), 1)
        {
            return incoming.rate_limited(&state, refused);
        }
        return subscription::ws::upgrade(state, headers, websocket);
    }
    if !csrf_safe(state.settings(), &headers) {
        return incoming.fail(&state, csrf_failure(state.settings()));
    }
    let pairs = match query {
        Ok(Query(pairs)) => pairs,
        Err(rejection) => {
            return incoming.fail(&state, RequestFailure::http(400, rejection.body_text()));
        }
    };
    let request = match parse_get(pairs) {
        Ok(request) => request,
        Err(failure) => return incoming.fail(&state, failure),
    };
    handle(state, headers, incoming, Body::Single(request), Method::Get).await
}

fn parse_get(pairs: Vec<(String, String)>) -> Result<GraphqlRequest, RequestFailure> {
    let mut request = GraphqlRequest::default();
    for (key, value) in pairs {
        match key.as_str() {
            "query" => request.query = Some(value),
            "operationName" => request.operation_name = Some(value).filter(|v| !v.is_empty()),
            "variables" => request.variables = json_object(&value, "variables")?,
            "extensions" => request.extensions = json_object(&value, "extensions")?,
            "documentId" => request.document_id = Some(value).filter(|v| !v.is_empty()),
            _ => {}
        }
    }
    Ok(request)
}

fn json_object(
    value: &str,
    what: &str,
) -> Result<Option<serde_json::Map<String, Value>>, RequestFailure> {
    match serde_json::from_str::<Value>(value) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        Ok(Value::Null) => Ok(None),
        _ => Err(RequestFailure::http(
            400,
            format!("`{what}` must be a JSON object"),
        )),
    }
}

async fn graphql_post(State(state): State<AppState>, peer: Peer, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let headers = std::mem::take(&mut parts.headers);
    let request = Request::from_parts(parts, body);
    let incoming = Incoming::new(&state, &headers, peer);
    if !csrf_safe(state.settings(), &headers) {
        return incoming.fail(&state, csrf_failure(state.settings()));
    }
    if !headers.get(header::CONTENT_TYPE).is_some_and(is_json) {
        return incoming.fail(
            &state,
            RequestFailure::http(
                415,
                "send the GraphQL request as JSON (Content-Type: application/json)",
            ),
        );
    }
    let timeout = state.settings().body_read_timeout;
    let body = match listener::read_body(request, timeout).await {
        Ok(body) => body,
        Err(error) => {
            let status = error.status().as_u16();
            return incoming.fail(&state, RequestFailure::http(status, error.to_string()));
        }
    };
    let body = match batch::read(&body, &state.settings().batching) {
        Ok(body) => body,
        Err(failure) => return incoming.fail(&state, failure),
    };
    handle(state, headers, incoming, body, Method::Post).await
}

async fn handle(
    state: AppState,
    headers: HeaderMap,
    incoming: Incoming,
    body: Body,
    method: Method,
) -> Response {
    let streaming = match &body {
        Body::Single(_) => subscription::http_mode(&headers),
        Body::Batch(_) => None,
    };
    // A batch is answered whole, deferred fragments included.
    let incremental = matches!(body, Body::Single(_)) && defer::accepts(&headers);
    let Some(media) = incoming
        .media
        .or(streaming.map(|_| APPLICATION_JSON))
        .or(incremental.then_some(APPLICATION_JSON))
    else {
        let response = failure_response(
            RequestFailure::http(
                406,
                "accept application/graphql-response+json or application/json",
            ),
            Some(APPLICATION_JSON),
        );
        return incoming.finish(&state, Kind::None, response);
    };
    let operation = match &body {
        Body::Single(request) => request.operation_name.clone().unwrap_or_default(),
        Body::Batch(requests) => format!("(batch of {})", requests.len()),
    };
    let span = tracing::info_span!(
        "request",
        request_id = %incoming.request_id,
        operation = %operation,
    );
    crate::telemetry::set_parent(&span, &headers);
    async move {
        let authenticator = state.authenticator().cloned();
        if let Some(authenticator) = &authenticator {
            authenticator.start();
        }
        let operations = match &body {
            Body::Single(_) => 1,
            Body::Batch(requests) => requests.len(),
        };
        let limiter = state.rate_limiter();
        let identity = match authenticate(authenticator.as_deref(), &headers).await {
            Ok(identity) => identity,
            Err(error) => {
                // A token that does not verify gets no bucket of its own:
                // its sender's address pays.
                if limiter.is_enabled() {
                    let key = ClientKey::address(incoming.client.address);
                    if let Err(refused) = limiter.check(&key, operations) {
                        return incoming.rate_limited(&state, refused);
                    }
                }
                return incoming.fail(&state, error.into());
            }
        };
        if limiter.is_enabled() {
            let key = ClientKey::of(identity.as_ref(), incoming.client.address);
            if let Err(refused) = limiter.check(&key, operations) {
                return incoming.rate_limited(&state, refused);
            }
        }
        let mut incoming = incoming;
        if let Some(authenticator) = &authenticator {
            incoming.forward_cookie_token(authenticator, &headers);
        }
        let Some(engine) = state.engine() else {
            return incoming.fail(
                &state,
                RequestFailure {
                    status: 503,
                    always_status: true,
                    errors: vec![GraphqlError::new(
                        "the router has no supergraph yet; try again shortly",
                        codes::NOT_READY,
                    )],
                },
            );
        };
        // Multipart subscriptions and `@defer` both accepted: a query or
        // mutation is served incrementally.
        let streaming = match (streaming, &body) {
            (Some(subscription::HttpMode::Multipart), Body::Single(request))
                if incremental && !engine.is_subscription(request).await =>
            {
                None
            }
            _ => streaming,
        };
        if let (Some(mode), Body::Single(request)) = (streaming, &body) {
            let streamed = subscription::Streamed {
                state: &state,
                engine: &engine,
                forwarded: &incoming.forwarded,
                identity: identity.as_ref(),
                method,
            };
            return match streamed.respond(mode, request.clone()).await {
                Ok((response, kind)) => incoming.finish(&state, Some(kind).into(), response),
                Err(failure) => incoming.fail(&state, failure),
            };
        }
        let one = One {
            state: &state,
            engine: &engine,
            headers: &headers,
            incoming: &incoming,
            method,
            identity: identity.as_ref(),
        };
        match body {
            Body::Single(request) if incremental => match one.run_incremental(request).await {
                Ok(Delivery::Whole(answered)) => {
                    let response = ([(header::CONTENT_TYPE, media)], answered.body).into_response();
                    incoming.finish(&state, Some(answered.kind).into(), response)
                }
                Ok(Delivery::Parts(payloads, kind)) => {
                    incoming.finish(&state, Some(kind).into(), defer::respond(payloads))
                }
                Err(failure) => incoming.fail(&state, failure),
            },
            Body::Single(request) => match one.run(request).await {
                Ok(answered) => {
                    let response = ([(header::CONTENT_TYPE, media)], answered.body).into_response();
                    incoming.finish(&state, Some(answered.kind).into(), response)
                }
                Err(failure) => incoming.fail(&state, failure),
            },
            Body::Batch(requests) => {
                // Documents resolved in the order sent (an APQ registration
                // serves what follows), then run concurrently between
                // mutations (see `batch`).
                let requests = requests.into_iter().map(|r| one.resolve(r)).collect();
                let settings = state.settings();
                let answers = batch::run(requests, &settings.batching, &settings.limits, |r| {
                    let one = &one;
                    async move { one.execute(r).await.map(|answered| answered.body) }
                })
                .await;
                let response =
                    ([(header::CONTENT_TYPE, media)], batch::respond(answers)).into_response();
                incoming.finish(&state, Kind::None, response)
            }
        }
    }
    .instrument(span)
    .await
}

/// What every operation of one HTTP request shares.
struct One<'a> {
    state: &'a AppState,
    engine: &'a Arc<Engine>,
    headers: &'a HeaderMap,
    incoming: &'a Incoming,
    method: Method,
    identity: Option<&'a Identity>,
}

impl One<'_> {
    /// One operation: its persisted document resolved, then planned and
    /// executed.
    async fn run(&self, request: GraphqlRequest) -> Result<Answered, RequestFailure> {
        self.execute(self.resolve(request)?).await
    }

    /// The request with the document its id names.
    fn resolve(&self, mut request: GraphqlRequest) -> Result<GraphqlRequest, RequestFailure> {
        self.state.persisted().resolve(&mut request)?;
        Ok(request)
    }

    /// One operation of a client that accepts incremental delivery: its
    /// persisted document resolved, then planned and executed, deferred
    /// fragments as increments.
    async fn run_incremental(&self, request: GraphqlRequest) -> Result<Delivery, RequestFailure> {
        let request = self.resolve(request)?;
        self.engine.execute_incremental(self.call(&request)).await
    }

    /// A resolved request planned and executed.
    async fn execute(&self, request: GraphqlRequest) -> Result<Answered, RequestFailure> {
        self.engine.execute_shared(self.call(&request)).await
    }

    /// The pipeline's view of a resolved request.
    fn call<'r>(&'r self, request: &'r GraphqlRequest) -> Call<'r> {
        let want_plan = self.state.settings().expose_query_plan
            && (self
                .headers
                .get(QUERY_PLAN_HEADER)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
                || request
                    .extensions
                    .as_ref()
                    .and_then(|e| e.get("queryPlan"))
                    .is_some_and(|v| v == &Value::Bool(true)));
        Call {
            client: self.state.client(),
            request,
            method: self.method,
            headers: &self.incoming.forwarded,
            want_plan,
            identity: self.identity,
        }
    }
}

fn failure_response(failure: RequestFailure, media: Option<&'static str>) -> Response {
    let media = media.unwrap_or(APPLICATION_JSON);
    let status = if failure.always_status || media == GRAPHQL_RESPONSE_JSON {
        StatusCode::from_u16(failure.status).unwrap_or(StatusCode::BAD_REQUEST)
    } else {
        StatusCode::OK
    };
    let body = json!({ "errors": failure.errors }).to_string();
    let mut response = (status, [(header::CONTENT_TYPE, media)], body).into_response();
    // A refusal is never for a cache: a CDN in front of `GET` must not keep
    // an APQ miss (or any other error) for a URL that works a moment later.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).expect("ascii"));
        headers
    }

    #[test]
    fn graphql_response_json_wins_when_accepted() {
        assert_eq!(
            negotiate(&accept(
                "application/json, application/graphql-response+json"
            )),
            Some(GRAPHQL_RESPONSE_JSON)
        );
        assert_eq!(negotiate(&accept("*/*")), Some(APPLICATION_JSON));
        assert_eq!(negotiate(&HeaderMap::new()), Some(APPLICATION_JSON));
        assert_eq!(negotiate(&accept("text/html")), None);
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json;q=0, application/json"
            )),
            Some(APPLICATION_JSON)
        );
    }

    #[test]
    fn get_parameters_are_read() {
        let pairs = [
            ("query", "{ me { id } }"),
            ("variables", r#"{"a":1}"#),
            ("operationName", ""),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec();
        let request = parse_get(pairs).expect("valid");
        assert_eq!(request.query.as_deref(), Some("{ me { id } }"));
        assert_eq!(request.variables.expect("variables")["a"], 1);
        assert!(request.operation_name.is_none());
    }
}
