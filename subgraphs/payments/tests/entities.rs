//! `_entities` for `Payment` and `Order` references: batched into one store
//! call, answered in representation order, null for unknown ids, and shown
//! only to the buyer or an ADMIN.

mod common;

use std::sync::Arc;

use common::{CountingRepository, ORDER_PAYMENT, TestService, json, payment, single_error};
use serde_json::{Value, json};
use storefront_payments::domain::PaymentState;
use storefront_payments::store::{EmbeddedPaymentRepository, SharedRepository};

const PAYMENTS: &str = "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Payment { id status amount { amount currency } order { id } } } }";

fn representations(typename: &str, ids: &[&str]) -> Value {
    let list: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "__typename": typename, "id": id }))
        .collect();
    json!({ "reps": list })
}

async fn counted_service() -> (TestService, Arc<CountingRepository>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let embedded: SharedRepository =
        Arc::new(EmbeddedPaymentRepository::open(dir.path()).expect("opens"));
    let counting = Arc::new(CountingRepository::new(embedded));
    let service = TestService::over(counting.clone(), dir).await;
    (service, counting)
}

#[tokio::test]
async fn five_payment_references_cost_one_store_call_in_representation_order() {
    let (service, counting) = counted_service().await;
    for n in 0..4 {
        let p = payment(
            &format!("pay-{n}"),
            &format!("order-{n}"),
            PaymentState::Succeeded,
            1_000 + n,
        );
        service.repo.insert_payment(&p).await.expect("inserts");
    }
    counting.reset();

    let wanted = ["pay-3", "pay-1", "pay-unknown", "pay-0", "pay-2"];
    let response = service
        .execute(
            PAYMENTS,
            representations("Payment", &wanted),
            Some(&service.token("buyer-1")),
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(counting.calls(), 1, "exactly one store call");
    assert_eq!(counting.batch_calls(), 1, "and it is a batch lookup");

    let entities = json(&response)["data"]["_entities"].clone();
    let got: Vec<Value> = entities
        .as_array()
        .expect("a list")
        .iter()
        .map(|entity| entity["id"].clone())
        .collect();
    let expected: Vec<Value> = [
        json!("pay-3"),
        json!("pay-1"),
        Value::Null,
        json!("pay-0"),
        json!("pay-2"),
    ]
    .into();
    assert_eq!(got, expected);
    assert_eq!(entities[0]["status"], "SUCCEEDED");
    assert_eq!(entities[0]["order"]["id"], "order-3");
    assert_eq!(entities[0]["amount"]["amount"], 1500);
}

#[tokio::test]
async fn order_payments_for_many_orders_cost_one_store_call() {
    let (service, counting) = counted_service().await;
    let rows = [
        ("pay-1", "order-1", PaymentState::Declined, 1_000),
        ("pay-2", "order-1", PaymentState::Succeeded, 2_000),
        ("pay-3", "order-1", PaymentState::Declined, 3_000),
        ("pay-4", "order-2", PaymentState::Declined, 1_000),
        ("pay-5", "order-2", PaymentState::Declined, 2_000),
    ];
    for (id, order, state, at) in rows {
        service
            .repo
            .insert_payment(&payment(id, order, state, at))
            .await
            .expect("inserts");
    }
    counting.reset();
    let response = service
        .execute(
            ORDER_PAYMENT,
            representations("Order", &["order-1", "order-2", "order-3"]),
            Some(&service.token("buyer-1")),
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(counting.batch_calls(), 1);
    assert_eq!(counting.calls(), 1);
    let entities = json(&response)["data"]["_entities"].clone();
    assert_eq!(
        entities[0]["payment"]["id"], "pay-2",
        "the succeeded one wins"
    );
    assert_eq!(
        entities[1]["payment"]["id"], "pay-5",
        "else the latest attempt"
    );
    assert_eq!(entities[2]["payment"], Value::Null, "no attempt yet");
}

#[tokio::test]
async fn an_orders_payment_is_visible_to_its_buyer_and_admins_only() {
    let service = TestService::new().await;
    let p = payment("pay-1", "order-1", PaymentState::Succeeded, 1_000);
    service.repo.insert_payment(&p).await.expect("inserts");
    let reps = representations("Order", &["order-1"]);

    let stranger = service
        .execute(
            ORDER_PAYMENT,
            reps.clone(),
            Some(&service.token("someone-else")),
        )
        .await;
    assert_eq!(single_error(&stranger).0, "FORBIDDEN");
    let admin = service
        .execute(
            ORDER_PAYMENT,
            reps.clone(),
            Some(&service.admin_token("admin-1")),
        )
        .await;
    assert!(admin.errors.is_empty(), "{:?}", admin.errors);
    assert_eq!(
        json(&admin)["data"]["_entities"][0]["payment"]["status"],
        "SUCCEEDED"
    );
    let anonymous = service.execute(ORDER_PAYMENT, reps.clone(), None).await;
    assert_eq!(single_error(&anonymous).0, "UNAUTHENTICATED");
    let payment_as_stranger = service
        .execute(
            PAYMENTS,
            representations("Payment", &["pay-1"]),
            Some(&service.token("someone-else")),
        )
        .await;
    assert_eq!(single_error(&payment_as_stranger).0, "FORBIDDEN");
}

#[tokio::test]
async fn a_payment_still_processing_is_not_shown() {
    let service = TestService::new().await;
    let p = payment("pay-1", "order-1", PaymentState::Processing, 1_000);
    service.repo.insert_payment(&p).await.expect("inserts");
    let response = service
        .execute(
            PAYMENTS,
            representations("Payment", &["pay-1"]),
            Some(&service.token("buyer-1")),
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(json(&response)["data"]["_entities"][0], Value::Null);
    let order = service
        .execute(
            ORDER_PAYMENT,
            representations("Order", &["order-1"]),
            Some(&service.token("buyer-1")),
        )
        .await;
    assert_eq!(json(&order)["data"]["_entities"][0]["payment"], Value::Null);
}
