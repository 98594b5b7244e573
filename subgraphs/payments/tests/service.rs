//! The running service: `payOrder` over HTTP through `app(state)`, the probes,
//! the periodic sweeper task, and the critical payment paths over MongoDB.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{PAY, TestService, paid, single_error};
use serde_json::{Value, json};
use storefront_payments::app;
use storefront_payments::store::{MongoPaymentRepository, SharedRepository};
use storefront_payments::sweeper::spawn_sweeper;
use storefront_shared::testing::send;
use tower::ServiceExt;

async fn post_graphql(service: &TestService, body: Value, token: Option<&str>) -> Value {
    let mut request = Request::post("/graphql").header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(Body::from(body.to_string())).expect("request");
    let (status, answer) = send(app(service.state.clone()), request).await;
    assert_eq!(status, StatusCode::OK);
    answer
}

#[tokio::test]
async fn pay_order_works_over_http_with_a_bearer_token() {
    let service = TestService::new().await;
    service.orders.add("order-1", "buyer-1", 2500);
    let body = json!({ "query": PAY, "variables": { "orderId": "order-1", "token": "tok_visa", "key": "k1" } });
    let answer = post_graphql(&service, body.clone(), Some(&service.token("buyer-1"))).await;
    assert_eq!(
        answer["data"]["payOrder"]["status"], "SUCCEEDED",
        "{answer}"
    );
    assert_eq!(answer["data"]["payOrder"]["amount"]["amount"], 2500);

    let anonymous = post_graphql(&service, body, None).await;
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn the_internal_refund_needs_the_service_credential_over_http() {
    let service = TestService::new().await;
    let body = json!({ "query": common::REFUND, "variables": { "orderId": "order-1" } });
    let answer = post_graphql(&service, body.clone(), None).await;
    assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("x-service-token", common::SERVICE_TOKEN)
        .body(Body::from(body.to_string()))
        .expect("request");
    let (_, answer) = send(app(service.state.clone()), request).await;
    assert_eq!(
        answer["data"]["refundOrderPayment"]["refunded"], false,
        "{answer}"
    );
}

#[tokio::test]
async fn health_and_ready_answer_when_the_store_does() {
    let service = TestService::new().await;
    for path in ["/health", "/ready"] {
        let response = app(service.state.clone())
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn the_sweeper_task_notifies_orders_once_it_is_back() {
    let service = TestService::new().await;
    service.orders.add("order-1", "buyer-1", 1500);
    service.orders.mark_down.store(true, Ordering::SeqCst);
    let payment = paid(&service.pay("buyer-1", "order-1", "tok_visa", "k1").await);
    assert_eq!(payment["status"], "SUCCEEDED");
    let sweeper = spawn_sweeper(service.state.payments().clone(), Duration::from_millis(20));
    service.orders.mark_down.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(5);
    while service.orders.marked().is_empty() {
        assert!(Instant::now() < deadline, "the sweeper never told orders");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sweeper.abort();
    assert_eq!(service.orders.marked().len(), 1);
    assert_eq!(service.orders.status("order-1"), "PAID");
}

async fn mongo_service() -> Option<(TestService, mongodb::Database)> {
    let db = storefront_shared::testing::mongo_database("payments").await?;
    let repo: SharedRepository = Arc::new(
        MongoPaymentRepository::new(db.clone())
            .await
            .expect("prepares"),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    Some((TestService::over(repo, dir).await, db))
}

#[tokio::test]
async fn over_mongodb_fifty_concurrent_requests_with_one_key_charge_once() {
    let Some((service, db)) = mongo_service().await else {
        return;
    };
    service.orders.add("order-1", "buyer-1", 1500);
    let service = Arc::new(service);
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let service = Arc::clone(&service);
            tokio::spawn(
                async move { paid(&service.pay("buyer-1", "order-1", "tok_visa", "k1").await) },
            )
        })
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.expect("finishes"));
    }
    for answer in &answers {
        assert_eq!(answer["id"], answers[0]["id"]);
        assert_eq!(answer["status"], "SUCCEEDED");
    }
    assert_eq!(service.sandbox.total_charges(), 1);
    assert_eq!(service.orders.marked().len(), 1);
    let _ = db.drop().await;
}

#[tokio::test]
async fn over_mongodb_a_timeout_then_a_retry_charges_once_and_declines_free_the_order() {
    let Some((service, db)) = mongo_service().await else {
        return;
    };
    service.orders.add("order-1", "buyer-1", 1500);
    let declined = paid(
        &service
            .pay("buyer-1", "order-1", "tok_chargeDeclined", "k0")
            .await,
    );
    assert_eq!(declined["status"], "DECLINED");
    let (code, _) = single_error(&service.pay("buyer-1", "order-1", "tok_timeout", "k1").await);
    assert_eq!(code, "SERVICE_UNAVAILABLE");
    let (code, _) = single_error(&service.pay("buyer-1", "order-1", "tok_visa", "k2").await);
    assert_eq!(code, "CONFLICT");
    let retry = paid(&service.pay("buyer-1", "order-1", "tok_timeout", "k1").await);
    assert_eq!(retry["status"], "SUCCEEDED");
    assert_eq!(service.sandbox.total_charges(), 1);
    assert_eq!(service.orders.marked().len(), 1);
    let _ = db.drop().await;
}
