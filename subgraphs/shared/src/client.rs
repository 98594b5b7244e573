//! Calls from one subgraph to another: GraphQL over HTTP with the service
//! credential, and the callee's error codes turned back into [`ApiError`]s.
//!
//! A transport failure or timeout is [`ApiError::ServiceUnavailable`]; callers
//! must treat it as "outcome unknown" (the callee may have done the work) and
//! rely on the callee's idempotency to retry or compensate.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::auth::SERVICE_TOKEN_HEADER;
use crate::error::{ApiError, ApiResult};
use crate::settings::Secret;

/// A GraphQL client for one other Storefront service.
#[derive(Clone)]
pub struct ServiceClient {
    name: &'static str,
    url: String,
    http: reqwest::Client,
    service_token: Secret,
}

#[derive(Deserialize)]
struct GraphqlResponse {
    data: Option<Value>,
    #[serde(default)]
    errors: Vec<GraphqlError>,
}

#[derive(Deserialize)]
struct GraphqlError {
    message: String,
    #[serde(default)]
    extensions: Option<Value>,
}

impl ServiceClient {
    /// A client for the service `name` at `url`, giving up on a call after `timeout`.
    pub fn new(
        name: &'static str,
        url: impl Into<String>,
        service_token: Secret,
        timeout: Duration,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .timeout(timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("cannot build the HTTP client for {name}: {e}"))?;
        Ok(ServiceClient {
            name,
            url: url.into(),
            http,
            service_token,
        })
    }

    /// The service's name, as used in error messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs `query` with `variables` and decodes `data.<field>` as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
        field: &str,
    ) -> ApiResult<T> {
        let unavailable = |why: String| {
            ApiError::ServiceUnavailable(format!("the {} service is unavailable: {why}", self.name))
        };
        let response = self
            .http
            .post(&self.url)
            .header(SERVICE_TOKEN_HEADER, self.service_token.expose())
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| {
                unavailable(if e.is_timeout() {
                    "it did not answer in time".to_string()
                } else {
                    e.without_url().to_string()
                })
            })?;
        let status = response.status();
        let body: GraphqlResponse = response
            .json()
            .await
            .map_err(|e| unavailable(format!("HTTP {status}, unreadable answer: {e}")))?;
        if let Some(error) = body.errors.into_iter().next() {
            return Err(error_from_callee(self.name, error));
        }
        let value = body
            .data
            .and_then(|mut data| data.get_mut(field).map(Value::take))
            .ok_or_else(|| {
                ApiError::internal(format!("{} answered without data.{field}", self.name))
            })?;
        serde_json::from_value(value).map_err(|e| {
            ApiError::internal(format!(
                "{} answered data.{field} in an unexpected shape: {e}",
                self.name
            ))
        })
    }
}

fn error_from_callee(service: &str, error: GraphqlError) -> ApiError {
    let extensions = error.extensions.unwrap_or(Value::Null);
    let code = extensions.get("code").and_then(Value::as_str).unwrap_or("");
    let message = error.message;
    match code {
        "UNAUTHENTICATED" => ApiError::Unauthenticated(message),
        "FORBIDDEN" => ApiError::Forbidden(message),
        "BAD_USER_INPUT" => ApiError::BadUserInput(message),
        "NOT_FOUND" => ApiError::NotFound(message),
        "CONFLICT" => ApiError::Conflict(message),
        "INVALID_STATE" => ApiError::InvalidState(message),
        "SERVICE_UNAVAILABLE" => ApiError::ServiceUnavailable(message),
        "INSUFFICIENT_STOCK" => {
            let sku = extensions
                .get("sku")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let number = |key: &str| extensions.get(key).and_then(Value::as_i64).unwrap_or(0);
            ApiError::InsufficientStock {
                requested: number("requested"),
                available: number("available"),
                sku,
            }
        }
        other => ApiError::internal(format!("{service} failed ({other}): {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::post;

    async fn serve(app: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/graphql")
    }

    fn client(url: String) -> ServiceClient {
        ServiceClient::new(
            "inventory",
            url,
            Secret::new("svc"),
            Duration::from_millis(500),
        )
        .expect("client")
    }

    #[tokio::test]
    async fn decodes_data_and_sends_the_service_credential() {
        let url = serve(Router::new().route(
            "/graphql",
            post(|headers: axum::http::HeaderMap| async move {
                let token = headers
                    .get(SERVICE_TOKEN_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                axum::Json(json!({ "data": { "echo": token } }))
            }),
        ))
        .await;
        let token: String = client(url)
            .call("{ echo }", json!({}), "echo")
            .await
            .expect("ok");
        assert_eq!(token, "svc");
    }

    #[tokio::test]
    async fn keeps_the_callees_error_code() {
        let url = serve(Router::new().route(
            "/graphql",
            post(|| async {
                axum::Json(json!({ "data": null, "errors": [{ "message": "not enough stock for MUG", "extensions": { "code": "INSUFFICIENT_STOCK", "sku": "MUG" } }] }))
            }),
        ))
        .await;
        let error = client(url)
            .call::<Value>("{ x }", json!({}), "x")
            .await
            .expect_err("an error");
        match error {
            ApiError::InsufficientStock { sku, .. } => assert_eq!(sku, "MUG"),
            other => panic!("expected INSUFFICIENT_STOCK, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_service_that_is_down_or_slow_is_unavailable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let url = format!("http://{}/graphql", listener.local_addr().expect("addr"));
        drop(listener);
        let error = client(url)
            .call::<Value>("{ x }", json!({}), "x")
            .await
            .expect_err("down");
        assert_eq!(error.code(), "SERVICE_UNAVAILABLE");
        assert!(error.message().contains("inventory"), "{}", error.message());

        let url = serve(Router::new().route(
            "/graphql",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                axum::Json(json!({ "data": {} }))
            }),
        ))
        .await;
        let error = client(url)
            .call::<Value>("{ x }", json!({}), "x")
            .await
            .expect_err("slow");
        assert_eq!(error.code(), "SERVICE_UNAVAILABLE");
    }
}
