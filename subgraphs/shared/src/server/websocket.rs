//! Subscriptions over WebSocket on the same `/graphql` path: a `GET` with a
//! WebSocket upgrade and the `graphql-transport-ws` subprotocol (npm
//! `graphql-ws`; the legacy `graphql-ws` subprotocol of
//! `subscriptions-transport-ws` is accepted too), as Apollo's and Hive's
//! routers speak to subgraphs. async-graphql runs the protocol; this module
//! says who the caller is.
//!
//! The caller comes from the `connection_init` payload's `Authorization`
//! (or `authorization`, or either inside a `headers` object, as some routers
//! send it), else from the upgrade request's `Authorization` header; the
//! service credential likewise from `x-service-token`. A connection without
//! a token is anonymous: public subscriptions work, the others answer
//! UNAUTHENTICATED per subscription, exactly as over HTTP.
//!
//! # Layout
//! - [`upgrade`]: the `GET /graphql` handler (a plain `GET` gets `405`).
//! - `credential`: a header's value from the init payload.

use async_graphql::{Data, Executor};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::{Endpoint, error_response};
use crate::auth::SERVICE_TOKEN_HEADER;

/// The subprotocols offered to a client, best first.
pub const SUBPROTOCOLS: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];

/// `GET /graphql`: a WebSocket upgrade for subscriptions, anything else `405`.
pub(super) async fn upgrade<E: Executor + Clone>(
    State(endpoint): State<Endpoint<E>>,
    protocol: Result<GraphQLProtocol, StatusCode>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    headers: HeaderMap,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(_) => {
            return error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "subgraphs accept GraphQL as POST with a JSON body, and subscriptions over \
                 WebSocket (graphql-transport-ws) on this path",
                "METHOD_NOT_ALLOWED",
            );
        }
    };
    let Ok(protocol) = protocol else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "ask for the graphql-transport-ws subprotocol (Sec-WebSocket-Protocol)",
            "BAD_REQUEST",
        );
    };
    let header_authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let header_service = headers
        .get(SERVICE_TOKEN_HEADER)
        .map(|value| value.as_bytes().to_vec());
    upgrade
        .protocols(SUBPROTOCOLS)
        .on_upgrade(move |socket| async move {
            let auth = endpoint.auth.clone();
            GraphQLWebSocket::new(socket, endpoint.executor, protocol)
                .on_connection_init(move |payload| async move {
                    let authorization =
                        credential(&payload, "authorization").or(header_authorization);
                    let service = credential(&payload, SERVICE_TOKEN_HEADER)
                        .map(String::into_bytes)
                        .or(header_service);
                    let mut data = Data::default();
                    data.insert(auth.viewer(authorization.as_deref()).await);
                    data.insert(auth.service_caller(service.as_deref()));
                    Ok(data)
                })
                .serve()
                .await;
        })
}

/// The string under `name` (any case) in `payload` or in its `headers` object.
fn credential(payload: &Value, name: &str) -> Option<String> {
    let find = |object: &Value| {
        object.as_object().and_then(|fields| {
            fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .and_then(|(_, value)| value.as_str())
                .map(str::to_owned)
        })
    };
    find(payload).or_else(|| payload.get("headers").and_then(find))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::credential;

    #[test]
    fn the_token_is_found_in_any_case_at_the_top_or_under_headers() {
        for payload in [
            json!({ "Authorization": "Bearer a" }),
            json!({ "authorization": "Bearer a" }),
            json!({ "headers": { "Authorization": "Bearer a" } }),
        ] {
            assert_eq!(
                credential(&payload, "authorization").as_deref(),
                Some("Bearer a")
            );
        }
        assert_eq!(credential(&json!(null), "authorization"), None);
        assert_eq!(
            credential(&json!({ "Authorization": 1 }), "authorization"),
            None
        );
    }
}
