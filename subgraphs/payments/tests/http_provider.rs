//! The HTTP provider client against a fake provider (axum on port 0): timeouts,
//! retries that always carry the same `Idempotency-Key`, and verification of
//! the answers. The fake keeps one outcome per key, like a real provider.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use storefront_payments::provider::http::HttpProviderConfig;
use storefront_payments::provider::{
    ChargeOutcome, ChargeRequest, HttpProvider, PaymentProvider, ProviderError, RefundRequest,
};
use storefront_shared::settings::Secret;
use storefront_shared::testing::serve;
use tokio::net::TcpListener;

const API_KEY: &str = "sk_test_123";

/// One request the fake provider received.
#[derive(Clone, Debug)]
struct Call {
    path: String,
    idempotency_key: String,
    authorization: String,
}

#[derive(Default)]
struct Fake {
    calls: Mutex<Vec<Call>>,
    answers: Mutex<HashMap<String, Value>>,
    real_charges: AtomicUsize,
}

impl Fake {
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("lock").clone()
    }

    fn record(&self, path: &str, headers: &HeaderMap) -> (String, usize) {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let key = header("idempotency-key");
        let mut calls = self.calls.lock().expect("lock");
        calls.push(Call {
            path: path.into(),
            idempotency_key: key.clone(),
            authorization: header("authorization"),
        });
        let seen = calls.iter().filter(|c| c.idempotency_key == key).count();
        (key, seen)
    }
}

async fn charges(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let (key, seen) = fake.record("/v1/charges", &headers);
    let source = body["source"].as_str().unwrap_or_default().to_owned();
    if source == "tok_500_once" && seen == 1 || source == "tok_always_500" {
        return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
    }
    if source == "tok_unknown" {
        let error = json!({ "error": { "message": "no such token" } });
        return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
    }
    if let Some(answer) = fake.answers.lock().expect("lock").get(&key).cloned() {
        return axum::Json(answer).into_response();
    }
    let amount = body["amount"].as_i64().unwrap_or_default();
    let mut answer = json!({
        "id": format!("ch_{key}"), "status": "succeeded",
        "amount": amount, "currency": body["currency"],
    });
    match source.as_str() {
        "tok_declined" => {
            answer["status"] = json!("declined");
            answer["decline_reason"] = json!("insufficient_funds");
        }
        "tok_wrong_amount" => answer["amount"] = json!(amount + 1),
        "tok_odd_status" => answer["status"] = json!("pending"),
        _ => {}
    }
    if answer["status"] == "succeeded" {
        fake.real_charges.fetch_add(1, Ordering::SeqCst);
    }
    fake.answers
        .lock()
        .expect("lock")
        .insert(key, answer.clone());
    if source == "tok_slow_once" && seen == 1 {
        // Charged, but the answer comes after the client has given up.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    axum::Json(answer).into_response()
}

async fn refunds(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let (key, _) = fake.record("/v1/refunds", &headers);
    axum::Json(
        json!({ "id": format!("re_{key}"), "status": "succeeded", "amount": body["amount"] }),
    )
    .into_response()
}

/// A fake provider; its base URL and state.
async fn fake_provider() -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    let app = Router::new()
        .route("/v1/charges", post(charges))
        .route("/v1/refunds", post(refunds))
        .with_state(Arc::clone(&fake));
    let addr = serve(app).await;
    (format!("http://{addr}"), fake)
}

/// A TCP proxy to `upstream` that drops the first `drops` connections after
/// reading the request, as a provider whose connection breaks mid-call.
/// Returns its URL and how many drops are left.
async fn dropping_proxy(upstream: &str, drops: usize) -> (String, Arc<AtomicUsize>) {
    let upstream = upstream.trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr");
    let left = Arc::new(AtomicUsize::new(drops));
    let remaining = Arc::clone(&left);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            let left = Arc::clone(&left);
            tokio::spawn(async move {
                let drop_it = left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if drop_it {
                    let mut buffer = [0u8; 4096];
                    let _ = tokio::io::AsyncReadExt::read(&mut client, &mut buffer).await;
                    return;
                }
                if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (format!("http://{addr}"), remaining)
}

fn provider(url: &str) -> HttpProvider {
    let mut config = HttpProviderConfig::new(url, Secret::new(API_KEY), Duration::from_millis(400));
    config.backoff = Duration::from_millis(20);
    HttpProvider::new(config).expect("client")
}

fn charge(key: &str, token: &str) -> ChargeRequest {
    ChargeRequest {
        idempotency_key: key.into(),
        amount: 1500,
        currency: "USD".into(),
        token: token.into(),
    }
}

/// Every call carried the bearer key and one and the same idempotency key.
fn assert_same_key(calls: &[Call], key: &str) {
    assert!(!calls.is_empty());
    for call in calls {
        assert_eq!(call.idempotency_key, key, "{calls:?}");
        assert_eq!(call.authorization, format!("Bearer {API_KEY}"));
    }
}

#[tokio::test]
async fn a_slow_answer_is_retried_with_the_same_key_and_charges_once() {
    let (url, fake) = fake_provider().await;
    let outcome = provider(&url)
        .charge(charge("pay-1", "tok_slow_once"))
        .await;
    assert_eq!(
        outcome,
        Ok(ChargeOutcome::Succeeded {
            reference: "ch_pay-1".into()
        })
    );
    let calls = fake.calls();
    assert_eq!(calls.len(), 2, "one timed-out attempt, one retry");
    assert_same_key(&calls, "pay-1");
    assert_eq!(fake.real_charges.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_server_error_is_retried_with_the_same_key() {
    let (url, fake) = fake_provider().await;
    let outcome = provider(&url).charge(charge("pay-1", "tok_500_once")).await;
    assert!(
        matches!(outcome, Ok(ChargeOutcome::Succeeded { .. })),
        "{outcome:?}"
    );
    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    assert_same_key(&calls, "pay-1");
}

#[tokio::test]
async fn a_dropped_connection_is_retried_with_the_same_key() {
    let (url, fake) = fake_provider().await;
    let (proxy, drops_left) = dropping_proxy(&url, 1).await;
    let outcome = provider(&proxy).charge(charge("pay-1", "tok_visa")).await;
    assert!(
        matches!(outcome, Ok(ChargeOutcome::Succeeded { .. })),
        "{outcome:?}"
    );
    assert_eq!(
        drops_left.load(Ordering::SeqCst),
        0,
        "the first connection was dropped"
    );
    assert_same_key(&fake.calls(), "pay-1");
    assert_eq!(fake.real_charges.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_provider_that_keeps_failing_is_unavailable_after_three_attempts() {
    let (url, fake) = fake_provider().await;
    let outcome = provider(&url)
        .charge(charge("pay-1", "tok_always_500"))
        .await;
    assert!(
        matches!(outcome, Err(ProviderError::Unavailable(_))),
        "{outcome:?}"
    );
    let calls = fake.calls();
    assert_eq!(calls.len(), 3);
    assert_same_key(&calls, "pay-1");
}

#[tokio::test]
async fn a_decline_is_an_outcome_with_the_providers_reason() {
    let (url, fake) = fake_provider().await;
    let outcome = provider(&url).charge(charge("pay-1", "tok_declined")).await;
    assert_eq!(
        outcome,
        Ok(ChargeOutcome::Declined {
            reason: "insufficient_funds".into()
        })
    );
    assert_eq!(fake.real_charges.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_answer_that_does_not_match_the_request_is_invalid_and_not_retried() {
    let (url, fake) = fake_provider().await;
    let client = provider(&url);
    let wrong_amount = client.charge(charge("pay-1", "tok_wrong_amount")).await;
    assert!(
        matches!(&wrong_amount, Err(ProviderError::InvalidResponse(m)) if m.contains("1501")),
        "{wrong_amount:?}"
    );
    let odd_status = client.charge(charge("pay-2", "tok_odd_status")).await;
    assert!(
        matches!(odd_status, Err(ProviderError::InvalidResponse(_))),
        "{odd_status:?}"
    );
    assert_eq!(fake.calls().len(), 2, "neither was retried");
}

#[tokio::test]
async fn a_client_error_is_rejected_without_retry() {
    let (url, fake) = fake_provider().await;
    let outcome = provider(&url).charge(charge("pay-1", "tok_unknown")).await;
    assert_eq!(
        outcome,
        Err(ProviderError::Rejected("no such token".into()))
    );
    assert_eq!(fake.calls().len(), 1);
}

#[tokio::test]
async fn an_unreachable_provider_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let outcome = provider(&url).charge(charge("pay-1", "tok_visa")).await;
    assert!(
        matches!(outcome, Err(ProviderError::Unavailable(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn refunds_carry_their_own_key_and_are_verified() {
    let (url, fake) = fake_provider().await;
    let refund = RefundRequest {
        idempotency_key: "refund-pay-1".into(),
        charge_reference: "ch_pay-1".into(),
        amount: 1500,
        currency: "USD".into(),
    };
    let outcome = provider(&url).refund(refund).await.expect("refunds");
    assert_eq!(outcome.reference, "re_refund-pay-1");
    let calls = fake.calls();
    assert_eq!(calls[0].path, "/v1/refunds");
    assert_same_key(&calls, "refund-pay-1");
}
