//! The same API over HTTP through `app(state)`, with signed tokens and the service header.

use axum::body::Body;
use axum::http::StatusCode;
use serde_json::json;
use storefront_inventory::app;
use storefront_shared::auth::{Role, SERVICE_TOKEN_HEADER};

use crate::{CREATE, RESERVE, code, common, create_input, harness, send};

fn bearer(token: String) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

#[tokio::test]
async fn over_http_an_admin_token_creates_and_a_customer_token_is_forbidden() {
    let h = harness().await;
    let body = json!({ "query": CREATE, "variables": create_input("APRON-9") }).to_string();
    let (status, created) = h.post(&body, &[bearer(h.signer.token(Role::Admin))]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        created["data"]["createProduct"]["sku"], "APRON-9",
        "{created}"
    );
    let (_, customer) = h
        .post(&body, &[bearer(h.signer.token(Role::Customer))])
        .await;
    assert_eq!(code(&customer), "FORBIDDEN");
    let (_, anonymous) = h.post(&body, &[]).await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");
    let (_, forged) = h
        .post(
            &body,
            &[bearer(common::TokenSigner::new().0.token(Role::Admin))],
        )
        .await;
    assert_eq!(code(&forged), "UNAUTHENTICATED");
}

#[tokio::test]
async fn over_http_internal_operations_need_the_service_token_header() {
    let h = harness().await;
    let variables = json!({ "orderId": "o-http", "lines": [{ "sku": "CAP-1", "quantity": 2 }] });
    let body = json!({ "query": RESERVE, "variables": variables }).to_string();
    let (_, without) = h.post(&body, &[bearer(h.signer.token(Role::Admin))]).await;
    assert_eq!(code(&without), "UNAUTHENTICATED");
    let (_, wrong) = h
        .post(&body, &[(SERVICE_TOKEN_HEADER, "guess".into())])
        .await;
    assert_eq!(code(&wrong), "UNAUTHENTICATED");
    let (status, with) = h
        .post(
            &body,
            &[(SERVICE_TOKEN_HEADER, common::SERVICE_TOKEN.into())],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(with["data"]["reserveStock"]["status"], "RESERVED", "{with}");
}

#[tokio::test]
async fn over_http_malformed_json_is_a_400_with_errors() {
    let h = harness().await;
    let (status, body) = h.post(r#"{"query": "{ products { edges "#, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["errors"].as_array().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn over_http_health_and_ready_answer() {
    let h = harness().await;
    for path in ["/health", "/ready"] {
        let request = axum::http::Request::get(path)
            .body(Body::empty())
            .expect("request");
        let (status, body) = send(app(h.state.clone()), request).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}
