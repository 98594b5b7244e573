//! Many clients at once across the real services: no oversell under a rush of
//! orders, one charge for a burst of payment requests, a payment racing a
//! cancel; and two races pinned down with the proxies' `Fault::Hold`.

use std::collections::HashMap;
use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};
use storefront_e2e::eventually;
use storefront_e2e::proxy::Fault;
use storefront_e2e::shop::{Buyer, Shop, ShopOptions, Store, USER_ORDERS};
use storefront_orders::domain::OrderState;

const SKU: &str = "E2E-LIMITED";

/// A shop with [`SKU`] in stock and one customer whose token every service knows.
async fn shop_with(store: Store, options: ShopOptions, stock: i64) -> Option<(Shop, Buyer)> {
    let shop = Shop::start_with(store, options).await?;
    shop.add_product(SKU, 990, stock).await;
    let ada = shop.register("ada@shop.test").await;
    Some((shop, ada))
}

/// The status of a payload, or the code of its first error.
fn outcome(answer: &Value, field: &str) -> String {
    match answer["data"][field]["status"].as_str() {
        Some(status) => status.to_owned(),
        None => answer["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("a payload or an error code: {answer}"))
            .to_owned(),
    }
}

fn tally(answers: &[Value], field: &str) -> HashMap<String, usize> {
    let mut outcomes = HashMap::new();
    for answer in answers {
        *outcomes.entry(outcome(answer, field)).or_default() += 1;
    }
    outcomes
}

async fn a_hundred_concurrent_orders_for_thirty_units_place_exactly_thirty(store: Store) {
    let Some((shop, ada)) = shop_with(store, ShopOptions::default(), 30).await else {
        return;
    };
    let answers = join_all((0..100).map(|_| shop.create_order(&ada, &[(SKU, 1)]))).await;
    assert_eq!(
        tally(&answers, "createOrder"),
        HashMap::from([
            ("PENDING_PAYMENT".to_owned(), 30),
            ("INSUFFICIENT_STOCK".to_owned(), 70)
        ]),
        "every unit sold once, the rest refused"
    );
    assert_eq!(shop.stock(SKU).await, 0);

    let orders = shop
        .orders
        .graphql(
            Some(&ada.token),
            USER_ORDERS
                .replace("orders {", "orders(first: 100) {")
                .as_str(),
            json!({ "reps": [{ "__typename": "User", "id": ada.id }] }),
        )
        .await;
    let visible = orders["data"]["_entities"][0]["orders"]["edges"]
        .as_array()
        .map(Vec::len);
    assert_eq!(visible, Some(30), "{orders}");
    shop.sweep().await;
    shop.assert_invariants().await;
}

/// Duplicates wait up to the provider timeout + 2 s for the first request.
fn patient() -> ShopOptions {
    ShopOptions {
        provider_timeout: Duration::from_secs(3),
        ..ShopOptions::default()
    }
}

async fn fifty_concurrent_payments_with_one_key_charge_exactly_once(store: Store) {
    let Some((shop, ada)) = shop_with(store, patient(), 30).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;

    let answers = join_all((0..50).map(|_| shop.pay(&ada, &order_id, "tok_visa", "burst-1"))).await;
    let payments: Vec<&Value> = answers
        .iter()
        .map(|answer| &answer["data"]["payOrder"])
        .filter(|payment| !payment.is_null())
        .collect();
    assert!(!payments.is_empty(), "{answers:?}");
    assert_eq!(payments[0]["status"], "SUCCEEDED");
    assert!(
        payments.iter().all(|payment| payment == &payments[0]),
        "every answered payment is the same: {payments:?}"
    );
    assert_eq!(shop.charges_for_order(&order_id).await, 1);
    assert_eq!(shop.sandbox().total_charges(), 1);
    assert_eq!(shop.payments_of(&order_id).await.len(), 1);
    assert_eq!(shop.order_status(&ada, &order_id).await, "PAID");
    shop.sweep().await;
    shop.assert_invariants().await;
}

async fn fifty_concurrent_payments_with_one_key_all_answer_the_same_payment(store: Store) {
    let Some((shop, ada)) = shop_with(store, patient(), 30).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;

    let answers = join_all((0..50).map(|_| shop.pay(&ada, &order_id, "tok_visa", "burst-1"))).await;
    let first = &answers[0]["data"]["payOrder"];
    assert_eq!(first["status"], "SUCCEEDED", "{}", answers[0]);
    for answer in &answers {
        assert_eq!(&answer["data"]["payOrder"], first, "{answer}");
    }
    assert_eq!(shop.charges_for_order(&order_id).await, 1);
}

/// Two requests with one key both pass the idempotency record before either
/// stored its payment; the first is let through and pays the order, then the
/// second checks the order. It must answer the payment that paid it.
async fn a_duplicate_payment_request_that_sees_the_order_already_paid_answers_that_payment(
    store: Store,
) {
    let Some((shop, ada)) = shop_with(store, patient(), 30).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    shop.payments_to_orders
        .set_for("orderForPayment", Fault::Hold);

    let first = shop.pay(&ada, &order_id, "tok_visa", "dup-1");
    let second = shop.pay(&ada, &order_id, "tok_visa", "dup-1");
    let conductor = async {
        eventually(
            "both requests wait for orderForPayment",
            Duration::from_secs(10),
            || async { shop.payments_to_orders.held() == 2 },
        )
        .await;
        shop.payments_to_orders.release(1);
        eventually(
            "the first request pays the order",
            Duration::from_secs(10),
            || async { shop.stored_order(&order_id).await.state == OrderState::Paid },
        )
        .await;
        shop.payments_to_orders.pass();
    };
    let (first, second, ()) = tokio::join!(first, second, conductor);
    let answers = [first, second];
    let paid: Vec<_> = answers
        .iter()
        .filter(|answer| answer["data"]["payOrder"]["status"] == "SUCCEEDED")
        .collect();
    assert!(!paid.is_empty(), "one request paid: {answers:?}");
    assert_eq!(shop.charges_for_order(&order_id).await, 1);
    assert_eq!(
        answers[0]["data"]["payOrder"], answers[1]["data"]["payOrder"],
        "the same key gets the same payment: {answers:?}"
    );
}

async fn ten_concurrent_payments_with_different_keys_charge_the_order_once(store: Store) {
    let Some((shop, ada)) = shop_with(store, patient(), 30).await else {
        return;
    };
    let order_id = shop.place_order(&ada, &[(SKU, 2)]).await;
    let keys: Vec<String> = (0..10).map(|i| format!("key-{i}")).collect();
    let answers = join_all(
        keys.iter()
            .map(|key| shop.pay(&ada, &order_id, "tok_visa", key)),
    )
    .await;
    let outcomes = tally(&answers, "payOrder");
    assert_eq!(outcomes.get("SUCCEEDED"), Some(&1), "{outcomes:?}");
    assert!(
        outcomes
            .keys()
            .all(|o| ["SUCCEEDED", "CONFLICT", "INVALID_STATE"].contains(&o.as_str())),
        "the others are refused: {outcomes:?}"
    );
    assert_eq!(shop.charges_for_order(&order_id).await, 1);
    assert_eq!(shop.order_status(&ada, &order_id).await, "PAID");
    shop.sweep().await;
    shop.assert_invariants().await;
}

async fn a_payment_racing_a_cancel_never_keeps_the_money_of_a_cancelled_order(store: Store) {
    let Some((shop, ada)) = shop_with(store, ShopOptions::default(), 30).await else {
        return;
    };
    let mut orders = Vec::new();
    for _ in 0..5 {
        orders.push(shop.place_order(&ada, &[(SKU, 2)]).await);
    }
    let races = orders.iter().enumerate().map(|(i, order_id)| {
        let key = format!("race-{i}");
        let ada = &ada;
        let shop = &shop;
        async move {
            tokio::join!(
                shop.pay(ada, order_id, "tok_visa", &key),
                shop.cancel(ada, order_id)
            )
        }
    });
    join_all(races).await;
    shop.sweep().await;
    shop.assert_invariants().await;
    for order_id in &orders {
        let status = shop.order_status(&ada, order_id).await;
        assert!(
            ["PAID", "CANCELLED"].contains(&status.as_str()),
            "order {order_id} ended {status}"
        );
    }
}

/// The first request a service sees with a token of an unknown key makes it
/// fetch the users service's JWKS; a second request arriving during that fetch
/// must not be turned away as UNAUTHENTICATED.
async fn a_request_during_the_first_jwks_fetch_is_not_rejected(store: Store) {
    let Some(shop) = Shop::start(store).await else {
        return;
    };
    let ada = shop.register("ada@shop.test").await;
    shop.services_to_users
        .set_for("/.well-known/jwks.json", Fault::Hold);
    let query = "{ myOrders(first: 1) { edges { node { id } } } }";
    let first = shop.orders.graphql(Some(&ada.token), query, json!({}));
    let second_while_the_first_fetches = async {
        eventually(
            "the first request fetches the JWKS",
            Duration::from_secs(10),
            || async { shop.services_to_users.held() == 1 },
        )
        .await;
        let second = shop.orders.graphql(Some(&ada.token), query, json!({}));
        tokio::pin!(second);
        // A correct verifier waits for the fetch in flight; give a wrong one
        // the time to answer before the fetch is let through.
        let early = tokio::time::timeout(Duration::from_millis(500), &mut second).await;
        shop.services_to_users.pass();
        match early {
            Ok(answer) => answer,
            Err(_) => second.await,
        }
    };
    let (first, second) = tokio::join!(first, second_while_the_first_fetches);
    assert!(first["errors"].is_null(), "{first}");
    assert!(second["errors"].is_null(), "{second}");
}

/// Runs each case on the embedded stores and on MongoDB (when configured).
macro_rules! on_both_stores {
    ($($(#[$attr:meta])* $case:ident),* $(,)?) => {
        mod embedded {
            $(
                $(#[$attr])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Store::Embedded).await;
                }
            )*
        }

        mod mongo {
            $(
                $(#[$attr])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Store::Mongo).await;
                }
            )*
        }
    };
}

on_both_stores!(
    a_hundred_concurrent_orders_for_thirty_units_place_exactly_thirty,
    fifty_concurrent_payments_with_one_key_charge_exactly_once,
    fifty_concurrent_payments_with_one_key_all_answer_the_same_payment,
    a_duplicate_payment_request_that_sees_the_order_already_paid_answers_that_payment,
    ten_concurrent_payments_with_different_keys_charge_the_order_once,
    a_payment_racing_a_cancel_never_keeps_the_money_of_a_cancelled_order,
    a_request_during_the_first_jwks_fetch_is_not_rejected,
);
