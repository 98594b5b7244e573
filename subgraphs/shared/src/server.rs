//! The HTTP side every subgraph shares: serving on the shared [`listener`]
//! (header-read and idle timeouts, graceful shutdown), `/health` and
//! `/ready`, and `POST /graphql` in the GraphQL-over-HTTP style around an
//! `async-graphql` executor, whose body must arrive within the body-read
//! timeout (else `408`).
//!
//! `GET /graphql` with a WebSocket upgrade serves subscriptions
//! ([`websocket`], `graphql-transport-ws`).
//!
//! Binding, the shutdown signal, the probe paths and the listener's
//! [`Timeouts`] are every process's (`storefront_process`), re-exported here
//! so a subgraph finds its whole HTTP side in one module.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::Executor;
use async_trait::async_trait;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub mod websocket;

use crate::auth::{Authenticator, SERVICE_TOKEN_HEADER};
use crate::listener::{self, ConnectionTimeouts};

pub use crate::listener::Timeouts;
pub use crate::startup::{HEALTH_PATH, READY_PATH, bind, shutdown_signal};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The body-read timeout, handed to [`graphql`]'s handler as a request extension.
#[derive(Debug, Clone, Copy)]
struct BodyReadTimeout(Duration);

/// Serves `app` on `listener` with `timeouts` until `shutdown` resolves, then
/// drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let connection = ConnectionTimeouts {
        header_read: timeouts.header_read,
        idle: timeouts.idle,
    };
    let app = app.layer(Extension(BodyReadTimeout(timeouts.body_read)));
    listener::serve(listener, app, connection, shutdown).await
}

/// Whether a service can do its work (its store answers).
#[async_trait]
pub trait Readiness: Send + Sync + 'static {
    /// `Err(reason)` when not ready.
    async fn ready(&self) -> Result<(), String>;
}

/// Readiness from an async check, typically a store's ping.
pub fn readiness<F, Fut, E>(check: F) -> Arc<dyn Readiness>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    struct Check<F>(F);

    #[async_trait]
    impl<F, Fut, E> Readiness for Check<F>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send,
        E: std::fmt::Display,
    {
        async fn ready(&self) -> Result<(), String> {
            (self.0)().await.map_err(|error| error.to_string())
        }
    }

    Arc::new(Check(check))
}

/// A subgraph's routes: the GraphQL endpoint ([`graphql`], bodies up to
/// `max_body_bytes`, [`crate::limits::RequestLimits::max_body_bytes`]) and
/// the probes ([`probes`]).
pub fn subgraph<E: Executor + Clone>(
    executor: E,
    auth: Authenticator,
    readiness: Arc<dyn Readiness>,
    max_body_bytes: usize,
) -> Router {
    probes(readiness).merge(graphql(executor, auth, max_body_bytes))
}

/// `GET /health` (the process is alive) and `GET /ready` (its store answers).
pub fn probes(readiness: Arc<dyn Readiness>) -> Router {
    Router::new()
        .route(
            HEALTH_PATH,
            get(|| async { axum::Json(json!({ "status": "ok" })) }),
        )
        .route(
            READY_PATH,
            get(|State(readiness): State<Arc<dyn Readiness>>| async move {
                match readiness.ready().await {
                    Ok(()) => (StatusCode::OK, axum::Json(json!({ "status": "ready" }))),
                    Err(reason) => {
                        tracing::warn!(%reason, "not ready");
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            axum::Json(json!({ "status": "unavailable", "reason": reason })),
                        )
                    }
                }
            }),
        )
        .with_state(readiness)
}

#[derive(Clone)]
struct Endpoint<E> {
    executor: E,
    auth: Authenticator,
}

/// `POST /graphql` (and subscriptions over WebSocket on `GET /graphql`) for `executor`, with the caller's [`crate::auth::Viewer`] and
/// [`crate::auth::ServiceCaller`] in the request data, plus request tracing.
/// Bodies larger than `max_body_bytes` get `413`.
pub fn graphql<E: Executor + Clone>(
    executor: E,
    auth: Authenticator,
    max_body_bytes: usize,
) -> Router {
    Router::new()
        .route(
            "/graphql",
            get(websocket::upgrade::<E>).post(graphql_post::<E>),
        )
        .with_state(Endpoint { executor, auth })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
        }))
}

async fn graphql_post<E: Executor>(
    State(endpoint): State<Endpoint<E>>,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let headers = std::mem::take(&mut parts.headers);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.is_empty() && !content_type.contains("json") {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the GraphQL request as JSON (Content-Type: application/json)",
            "BAD_REQUEST",
        );
    }
    // Served without [`serve`] (e.g. `oneshot` in tests): the default.
    let timeout = parts
        .extensions
        .get::<BodyReadTimeout>()
        .map_or(listener::DEFAULT_BODY_READ_TIMEOUT, |timeout| timeout.0);
    let body = match listener::read_body(Request::from_parts(parts, body), timeout).await {
        Ok(body) => body,
        Err(error) => return error_response(error.status(), &error.to_string(), "BAD_REQUEST"),
    };
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &format!("the request body is not a GraphQL request in JSON: {error}"),
                "BAD_REQUEST",
            );
        }
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let viewer = endpoint.auth.viewer(authorization).await;
    let service = endpoint
        .auth
        .service_caller(headers.get(SERVICE_TOKEN_HEADER).map(HeaderValue::as_bytes));
    let response = endpoint
        .executor
        .execute(request.data(viewer).data(service))
        .await;
    let body = match serde_json::to_vec(&response) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "cannot serialize a GraphQL response");
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error",
                "INTERNAL_SERVER_ERROR",
            );
        }
    };
    (
        [(header::CONTENT_TYPE, response_content_type(&headers))],
        body,
    )
        .into_response()
}

fn response_content_type(headers: &HeaderMap) -> &'static str {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains(GRAPHQL_RESPONSE_JSON) {
        GRAPHQL_RESPONSE_JSON
    } else {
        "application/json"
    }
}

/// A GraphQL-shaped error response (`{"errors": [...]}`) with an HTTP status.
pub fn error_response(status: StatusCode, message: &str, code: &str) -> Response {
    (
        status,
        axum::Json(json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::KeySet;
    use crate::limits::DEFAULT_MAX_BODY_BYTES;
    use crate::settings::Secret;
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    struct Query;

    #[Object]
    impl Query {
        async fn hello(&self) -> &'static str {
            "world"
        }

        async fn length(&self, text: String) -> usize {
            text.len()
        }
    }

    fn app() -> Router {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let auth = Authenticator::new(Arc::new(KeySet::default()), Secret::new("svc"));
        graphql(schema, auth, DEFAULT_MAX_BODY_BYTES)
    }

    async fn post(body: &str) -> (StatusCode, serde_json::Value) {
        let response = app()
            .oneshot(
                axum::http::Request::post("/graphql")
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_owned()))
                    .expect("request"),
            )
            .await
            .expect("response");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, serde_json::from_slice(&bytes).expect("json body"))
    }

    #[tokio::test]
    async fn answers_a_query() {
        let (status, body) = post(r#"{"query":"{ hello }"}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["data"]["hello"], "world");
    }

    /// A request whose variables are `bytes` long.
    fn with_variable_of(bytes: usize) -> String {
        json!({
            "query": "query($text: String!) { length(text: $text) }",
            "variables": { "text": "x".repeat(bytes) },
        })
        .to_string()
    }

    #[tokio::test]
    async fn variables_as_large_as_the_router_accepts_are_accepted() {
        // The router accepts bodies up to 2 MiB (its `limits.max_body_bytes`)
        // and forwards their variables, adding its own query.
        let router_body_limit = 2 * 1024 * 1024;
        let (status, body) = post(&with_variable_of(router_body_limit)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["length"], router_body_limit);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413() {
        let (status, body) = post(&with_variable_of(DEFAULT_MAX_BODY_BYTES)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    }

    #[tokio::test]
    async fn malformed_json_gets_a_graphql_error_not_a_crash() {
        let (status, body) = post(r#"{"query": "{ hello "#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    }

    #[tokio::test]
    async fn invalid_graphql_gets_errors_with_locations() {
        let (status, body) = post(r#"{"query":"{ nope }"}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body["errors"][0]["locations"].is_array(), "{body}");
    }

    async fn ready_status(readiness: Arc<dyn Readiness>) -> StatusCode {
        probes(readiness)
            .oneshot(
                axum::http::Request::get("/ready")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response")
            .status()
    }

    #[tokio::test]
    async fn ready_reports_an_unreachable_store() {
        let down = readiness(|| async { Err::<(), _>("store down") });
        assert_eq!(ready_status(down).await, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn ready_answers_when_the_store_does() {
        let up = readiness(|| async { Ok::<(), String>(()) });
        assert_eq!(ready_status(up).await, StatusCode::OK);
    }
}
