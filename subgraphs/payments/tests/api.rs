//! `payOrder` and `refundOrderPayment` as clients and the orders service use
//! them, against the schema with a fake orders service and the sandbox provider.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::{PAY, REFUND, TestService, json, paid, single_error};
use serde_json::{Value, json};
use storefront_payments::domain::{
    IdempotencyKey, IdempotencyRecord, PaymentState, fingerprint, now_ms, refund_key,
};

const ORDER: &str = "order-1";
const BUYER: &str = "buyer-1";

async fn service_with_order() -> TestService {
    let service = TestService::new().await;
    service.orders.add(ORDER, BUYER, 1500);
    service
}

fn id_of(payment: &Value) -> String {
    payment["id"].as_str().expect("payment id").to_owned()
}

#[tokio::test]
async fn paying_a_pending_order_charges_once_and_marks_it_paid() {
    let service = service_with_order().await;
    let payment = paid(&service.pay(BUYER, ORDER, "tok_visa", "key-1").await);
    assert_eq!(payment["status"], "SUCCEEDED");
    assert_eq!(
        payment["amount"],
        json!({ "amount": 1500, "currency": "USD" })
    );
    assert_eq!(payment["order"]["id"], ORDER);
    assert!(payment["providerReference"].is_string(), "{payment}");
    assert!(payment["createdAt"].is_string(), "{payment}");

    let id = id_of(&payment);
    assert_eq!(service.sandbox.charges_for(&id), 1);
    assert_eq!(
        service.orders.marked(),
        vec![(ORDER.to_owned(), id.clone())]
    );
    assert_eq!(service.orders.status(ORDER), "PAID");
    assert_eq!(
        service
            .orders
            .requests_without_credential
            .load(Ordering::SeqCst),
        0,
        "every call to orders carried the service credential"
    );
    let stored = service.repo.find_payment(&id).await.expect("reads");
    assert!(stored.expect("stored").order_notified);
}

#[tokio::test]
async fn a_decline_is_returned_not_raised_and_a_new_key_can_pay_again() {
    let service = service_with_order().await;
    let declined = paid(
        &service
            .pay(BUYER, ORDER, "tok_chargeDeclined", "key-1")
            .await,
    );
    assert_eq!(declined["status"], "DECLINED");
    assert_eq!(declined["providerReference"], Value::Null);
    assert!(service.orders.marked().is_empty());
    assert_eq!(service.orders.status(ORDER), "PENDING_PAYMENT");

    let retried = paid(
        &service
            .pay(BUYER, ORDER, "tok_chargeDeclined", "key-1")
            .await,
    );
    assert_eq!(
        retried, declined,
        "the same key answers the recorded decline"
    );

    let succeeded = paid(&service.pay(BUYER, ORDER, "tok_visa", "key-2").await);
    assert_eq!(succeeded["status"], "SUCCEEDED");
    assert_ne!(id_of(&succeeded), id_of(&declined));
    assert_eq!(service.sandbox.total_charges(), 1);
}

#[tokio::test]
async fn the_same_key_with_the_same_arguments_returns_the_same_payment() {
    let service = service_with_order().await;
    let first = paid(&service.pay(BUYER, ORDER, "tok_visa", "key-1").await);
    let again = paid(&service.pay(BUYER, ORDER, "tok_visa", "key-1").await);
    assert_eq!(first, again);
    assert_eq!(service.sandbox.total_charges(), 1);
    assert_eq!(service.orders.marked().len(), 1);
}

#[tokio::test]
async fn the_same_key_with_other_arguments_is_a_conflict() {
    let service = service_with_order().await;
    service.orders.add("order-2", BUYER, 900);
    paid(&service.pay(BUYER, ORDER, "tok_visa", "key-1").await);
    for (order, token) in [("order-2", "tok_visa"), (ORDER, "tok_chargeDeclined")] {
        let (code, message) = single_error(&service.pay(BUYER, order, token, "key-1").await);
        assert_eq!(code, "CONFLICT");
        assert!(message.contains("different arguments"), "{message}");
    }
    assert_eq!(service.sandbox.total_charges(), 1);
}

#[tokio::test]
async fn keys_are_scoped_per_buyer() {
    let service = service_with_order().await;
    service.orders.add("order-2", "buyer-2", 900);
    let first = paid(&service.pay(BUYER, ORDER, "tok_visa", "shared-key").await);
    let second = paid(
        &service
            .pay("buyer-2", "order-2", "tok_visa", "shared-key")
            .await,
    );
    assert_ne!(id_of(&first), id_of(&second));
    assert_eq!(second["amount"]["amount"], 900);
}

#[tokio::test]
async fn invalid_input_is_bad_user_input_and_records_nothing() {
    let service = service_with_order().await;
    let cases = [
        ("tok_mastercard", "key-1", "unknown payment token"),
        ("tok_visa", "", "idempotencyKey"),
        ("tok_visa", &"k".repeat(256), "idempotencyKey"),
    ];
    for (token, key, needle) in cases {
        let (code, message) = single_error(&service.pay(BUYER, ORDER, token, key).await);
        assert_eq!(code, "BAD_USER_INPUT", "{token} / {key}");
        assert!(message.contains(needle), "{message}");
    }
    // The rejected key was never recorded: it still works with a valid token.
    paid(&service.pay(BUYER, ORDER, "tok_visa", "key-1").await);
}

#[tokio::test]
async fn only_the_logged_in_buyer_may_pay() {
    let service = service_with_order().await;
    let (code, _) = single_error(&service.pay("someone-else", ORDER, "tok_visa", "k").await);
    assert_eq!(code, "FORBIDDEN");
    let anonymous = service
        .execute(
            PAY,
            json!({ "orderId": ORDER, "token": "tok_visa", "key": "k" }),
            None,
        )
        .await;
    assert_eq!(single_error(&anonymous).0, "UNAUTHENTICATED");
    assert_eq!(service.sandbox.total_charges(), 0);
}

#[tokio::test]
async fn unknown_cancelled_and_paid_orders_cannot_be_paid() {
    let service = service_with_order().await;
    let (code, _) = single_error(&service.pay(BUYER, "no-such-order", "tok_visa", "k1").await);
    assert_eq!(code, "NOT_FOUND");
    service.orders.set_status(ORDER, "CANCELLED");
    let (code, message) = single_error(&service.pay(BUYER, ORDER, "tok_visa", "k2").await);
    assert_eq!(
        (code.as_str(), message.contains("cancelled")),
        ("INVALID_STATE", true)
    );
    service.orders.set_status(ORDER, "PAID");
    let (code, _) = single_error(&service.pay(BUYER, ORDER, "tok_visa", "k3").await);
    assert_eq!(code, "INVALID_STATE");
    assert_eq!(service.sandbox.total_charges(), 0);
}

#[tokio::test]
async fn a_retry_after_success_returns_the_payment_and_a_new_key_is_invalid_state() {
    let service = service_with_order().await;
    let first = paid(&service.pay(BUYER, ORDER, "tok_visa", "key-1").await);
    assert_eq!(service.orders.status(ORDER), "PAID");
    let retry = paid(&service.pay(BUYER, ORDER, "tok_visa", "key-1").await);
    assert_eq!(retry, first);
    let (code, _) = single_error(&service.pay(BUYER, ORDER, "tok_visa", "key-2").await);
    assert_eq!(code, "INVALID_STATE");
}

#[tokio::test]
async fn a_duplicate_that_finds_the_order_paid_by_its_keys_payment_answers_that_payment() {
    let service = service_with_order().await;
    // A first request recorded the key and is about to store its payment.
    let first = IdempotencyRecord {
        id: IdempotencyKey::parse("key-1")
            .expect("valid")
            .scoped_to(BUYER),
        fingerprint: fingerprint(ORDER, "tok_visa"),
        payment_id: "pay-first".into(),
        created_at_ms: now_ms(),
    };
    let recorded = service.repo.record_idempotency_key(&first).await;
    assert!(recorded.expect("records").is_none());
    // While the duplicate checks the order, the first one pays it.
    let mut payment = common::payment("pay-first", ORDER, PaymentState::Succeeded, now_ms());
    payment.buyer_id = BUYER.into();
    *service.orders.paid_meanwhile.lock().expect("lock") =
        Some((Arc::clone(&service.repo), payment));

    let duplicate = paid(&service.pay(BUYER, ORDER, "tok_visa", "key-1").await);
    assert_eq!(id_of(&duplicate), "pay-first");
    assert_eq!(duplicate["status"], "SUCCEEDED");
    assert_eq!(service.sandbox.total_charges(), 0, "no second charge");
    let (code, _) = single_error(&service.pay(BUYER, ORDER, "tok_visa", "key-2").await);
    assert_eq!(code, "INVALID_STATE", "a new key may be refused");
}

#[tokio::test]
async fn a_provider_timeout_is_unavailable_and_the_same_key_later_succeeds_with_one_charge() {
    let service = service_with_order().await;
    let (code, message) = single_error(&service.pay(BUYER, ORDER, "tok_timeout", "key-1").await);
    assert_eq!(code, "SERVICE_UNAVAILABLE");
    assert!(message.contains("same idempotencyKey"), "{message}");
    assert!(service.orders.marked().is_empty());

    // Another key meanwhile: the first attempt is still in flight.
    let (code, message) = single_error(&service.pay(BUYER, ORDER, "tok_visa", "key-2").await);
    assert_eq!(code, "CONFLICT");
    assert!(message.contains("in progress"), "{message}");

    let retry = paid(&service.pay(BUYER, ORDER, "tok_timeout", "key-1").await);
    assert_eq!(retry["status"], "SUCCEEDED");
    let id = id_of(&retry);
    assert_eq!(service.sandbox.charges_for(&id), 1);
    assert_eq!(service.sandbox.total_charges(), 1);
    assert_eq!(service.orders.marked(), vec![(ORDER.to_owned(), id)]);
}

#[tokio::test]
async fn the_sweeper_resumes_a_payment_left_processing() {
    let service = service_with_order().await;
    let (code, _) = single_error(&service.pay(BUYER, ORDER, "tok_timeout", "key-1").await);
    assert_eq!(code, "SERVICE_UNAVAILABLE");
    let report = service.state.payments().sweep().await.expect("sweeps");
    assert_eq!((report.seen, report.finished), (1, 1), "{report:?}");
    assert_eq!(service.orders.marked().len(), 1);
    assert_eq!(service.sandbox.total_charges(), 1);
    let retry = paid(&service.pay(BUYER, ORDER, "tok_timeout", "key-1").await);
    assert_eq!(retry["status"], "SUCCEEDED");
}

#[tokio::test]
async fn when_orders_is_down_after_the_charge_the_sweeper_tells_it_later() {
    let service = service_with_order().await;
    let payments = service.state.payments().clone();
    service.orders.mark_down.store(true, Ordering::SeqCst);
    let payment = paid(&service.pay(BUYER, ORDER, "tok_visa", "key-1").await);
    assert_eq!(payment["status"], "SUCCEEDED", "the charge stands");
    let id = id_of(&payment);
    assert!(service.orders.marked().is_empty());
    let stored = service.repo.find_payment(&id).await.expect("reads");
    assert!(!stored.expect("stored").order_notified);

    let report = payments.sweep().await.expect("sweeps");
    assert_eq!((report.seen, report.left), (1, 1), "orders is still down");
    service.orders.mark_down.store(false, Ordering::SeqCst);
    let report = payments.sweep().await.expect("sweeps");
    assert_eq!((report.seen, report.finished), (1, 1));
    assert_eq!(service.orders.marked(), vec![(ORDER.to_owned(), id)]);
    let report = payments.sweep().await.expect("sweeps");
    assert_eq!(report.seen, 0, "nothing is left to do");
    assert_eq!(service.sandbox.total_charges(), 1);
}

#[tokio::test]
async fn a_payment_orders_refuses_is_refunded() {
    let service = service_with_order().await;
    service.orders.refuse_payment.store(true, Ordering::SeqCst);
    let payment = paid(&service.pay(BUYER, ORDER, "tok_visa", "key-1").await);
    assert_eq!(payment["status"], "REFUNDED");
    let id = id_of(&payment);
    assert_eq!(service.sandbox.charges_for(&id), 1);
    assert_eq!(service.sandbox.refunds_for(&refund_key(&id)), 1);
    let report = service.state.payments().sweep().await.expect("sweeps");
    assert_eq!(report.seen, 0, "a refunded payment needs no notification");
}

#[tokio::test]
async fn refund_order_payment_needs_the_service_credential_and_is_idempotent() {
    let service = service_with_order().await;
    let payment = paid(&service.pay(BUYER, ORDER, "tok_visa", "key-1").await);
    let id = id_of(&payment);

    let as_buyer = service
        .execute(
            REFUND,
            json!({ "orderId": ORDER }),
            Some(&service.token(BUYER)),
        )
        .await;
    assert_eq!(single_error(&as_buyer).0, "UNAUTHENTICATED");

    for _ in 0..2 {
        let response = service
            .execute_as_service(REFUND, json!({ "orderId": ORDER }))
            .await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert_eq!(
            json(&response)["data"]["refundOrderPayment"]["refunded"],
            true
        );
    }
    assert_eq!(service.sandbox.refunds_for(&refund_key(&id)), 1);
    let stored = service.repo.find_payment(&id).await.expect("reads");
    assert_eq!(stored.expect("stored").state, PaymentState::Refunded);

    let none = service
        .execute_as_service(REFUND, json!({ "orderId": "order-without-payment" }))
        .await;
    assert_eq!(json(&none)["data"]["refundOrderPayment"]["refunded"], false);
}

#[tokio::test]
async fn fifty_concurrent_requests_with_one_key_charge_once_and_answer_alike() {
    let service = Arc::new(service_with_order().await);
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let service = Arc::clone(&service);
            tokio::spawn(async move {
                let response = service.pay(BUYER, ORDER, "tok_visa", "one-key").await;
                paid(&response)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for call in calls {
        answers.push(call.await.expect("the call finishes"));
    }
    let first = &answers[0];
    assert_eq!(first["status"], "SUCCEEDED");
    for answer in &answers {
        assert_eq!(answer["id"], first["id"]);
        assert_eq!(answer["status"], first["status"]);
    }
    assert_eq!(service.sandbox.total_charges(), 1, "exactly one charge");
    assert_eq!(service.orders.marked().len(), 1);
}
