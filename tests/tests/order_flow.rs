//! The order flow of DESIGN.md across the four real services, on the embedded
//! stores and on MongoDB: register, browse, order, pay, see it all through the
//! entities a router would join, cancel and get everything back; a declined
//! card, a provider timeout, and an unpaid order that expires.
//!
//! There is no router yet, so each test does what one would: it asks the
//! owning subgraph, then `_entities` on the next one.

use std::time::Duration;

use serde_json::json;
use storefront_e2e::shop::{Shop, ShopOptions, Store, USER_ORDERS};
use storefront_e2e::{error_code, eventually};
use storefront_orders::domain::OrderState;

async fn a_customer_buys_pays_sees_everything_and_gets_it_all_back_on_cancel(store: Store) {
    let Some(shop) = Shop::start(store).await else {
        return;
    };
    shop.add_product("E2E-MUG", 1250, 10).await;
    shop.add_product("E2E-TEE", 2000, 5).await;
    let ada = shop.register("ada@shop.test").await;

    let catalogue = shop
        .inventory
        .graphql(
            None,
            "{ products(first: 50, search: \"E2E\") { edges { node { sku stock price { amount currency } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        catalogue["data"]["products"]["edges"],
        json!([
            { "node": { "sku": "E2E-MUG", "stock": 10, "price": { "amount": 1250, "currency": "USD" } } },
            { "node": { "sku": "E2E-TEE", "stock": 5, "price": { "amount": 2000, "currency": "USD" } } },
        ]),
        "{catalogue}"
    );

    let created = shop
        .create_order(&ada, &[("E2E-MUG", 2), ("E2E-TEE", 1)])
        .await;
    let order = &created["data"]["createOrder"];
    assert_eq!(order["status"], "PENDING_PAYMENT", "{created}");
    assert_eq!(order["total"], json!({ "amount": 4500, "currency": "USD" }));
    let order_id = order["id"].as_str().expect("an order id").to_owned();
    assert_eq!(shop.stock("E2E-MUG").await, 8);
    assert_eq!(shop.stock("E2E-TEE").await, 4);

    let paid = shop.pay(&ada, &order_id, "tok_visa", "pay-1").await;
    assert_eq!(paid["data"]["payOrder"]["status"], "SUCCEEDED", "{paid}");
    assert_eq!(
        paid["data"]["payOrder"]["amount"],
        json!({ "amount": 4500, "currency": "USD" })
    );
    assert!(paid["data"]["payOrder"]["providerReference"].is_string());

    // me at users, then the User entity at orders, then the Order entities at payments.
    let me = shop
        .users
        .graphql(Some(&ada.token), "{ me { id email } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["email"], "ada@shop.test", "{me}");
    let user_id = me["data"]["me"]["id"].as_str().expect("an id").to_owned();
    assert_eq!(user_id, ada.id);
    let orders = shop
        .orders
        .graphql(
            Some(&ada.token),
            USER_ORDERS,
            json!({ "reps": [{ "__typename": "User", "id": user_id }] }),
        )
        .await;
    assert_eq!(
        orders["data"]["_entities"][0]["orders"]["edges"],
        json!([{ "node": {
            "id": order_id,
            "status": "PAID",
            "items": [
                { "product": { "sku": "E2E-MUG" }, "quantity": 2 },
                { "product": { "sku": "E2E-TEE" }, "quantity": 1 },
            ],
            "total": { "amount": 4500, "currency": "USD" },
        } }]),
        "{orders}"
    );
    let order_reps: Vec<_> = orders["data"]["_entities"][0]["orders"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| json!({ "__typename": "Order", "id": edge["node"]["id"] }))
        .collect();
    let payments = shop
        .payments
        .graphql(
            Some(&ada.token),
            storefront_e2e::shop::ORDER_PAYMENTS,
            json!({ "reps": order_reps }),
        )
        .await;
    assert_eq!(
        payments["data"]["_entities"][0]["payment"]["status"], "SUCCEEDED",
        "{payments}"
    );
    assert_eq!(
        payments["data"]["_entities"][0]["payment"]["id"],
        paid["data"]["payOrder"]["id"]
    );
    assert_eq!(shop.charges_for_order(&order_id).await, 1);
    assert_eq!(shop.product("E2E-MUG").await.sold, 2);
    assert_eq!(shop.stock("E2E-MUG").await, 8);
    shop.assert_invariants().await;
    shop.restock("E2E-MUG", 5).await;
    assert_eq!(shop.stock("E2E-MUG").await, 13);

    let cancelled = shop.cancel(&ada, &order_id).await;
    assert_eq!(
        cancelled["data"]["cancelOrder"]["status"], "CANCELLED",
        "{cancelled}"
    );
    assert_eq!(shop.order_status(&ada, &order_id).await, "CANCELLED");
    assert_eq!(shop.payment_status(&ada, &order_id).await, "REFUNDED");
    assert_eq!(
        shop.stock("E2E-MUG").await,
        15,
        "the start plus the restock"
    );
    assert_eq!(shop.stock("E2E-TEE").await, 5);
    assert_eq!(shop.product("E2E-MUG").await.sold, 0);
    shop.sweep().await;
    shop.assert_invariants().await;
}

async fn a_declined_card_leaves_the_order_payable_with_a_new_key(store: Store) {
    let Some(shop) = Shop::start(store).await else {
        return;
    };
    shop.add_product("E2E-MUG", 1250, 10).await;
    let ada = shop.register("ada@shop.test").await;
    let order_id = shop.place_order(&ada, &[("E2E-MUG", 3)]).await;

    let declined = shop
        .pay(&ada, &order_id, "tok_chargeDeclined", "try-1")
        .await;
    assert!(
        declined["errors"].is_null(),
        "a decline is no error: {declined}"
    );
    assert_eq!(declined["data"]["payOrder"]["status"], "DECLINED");
    assert_eq!(shop.order_status(&ada, &order_id).await, "PENDING_PAYMENT");
    assert_eq!(shop.payment_status(&ada, &order_id).await, "DECLINED");
    assert_eq!(shop.charges_for_order(&order_id).await, 0);
    assert_eq!(shop.stock("E2E-MUG").await, 7);

    let again = shop
        .pay(&ada, &order_id, "tok_chargeDeclined", "try-1")
        .await;
    assert_eq!(
        again["data"]["payOrder"], declined["data"]["payOrder"],
        "the same key answers the same decline"
    );

    let paid = shop.pay_status(&ada, &order_id, "tok_visa", "try-2").await;
    assert_eq!(paid, "SUCCEEDED");
    assert_eq!(shop.order_status(&ada, &order_id).await, "PAID");
    assert_eq!(shop.payment_status(&ada, &order_id).await, "SUCCEEDED");
    assert_eq!(shop.charges_for_order(&order_id).await, 1);
    assert_eq!(shop.stock("E2E-MUG").await, 7);
    shop.sweep().await;
    shop.assert_invariants().await;
}

async fn a_provider_timeout_then_a_retry_with_the_same_key_charges_once(store: Store) {
    let Some(shop) = Shop::start(store).await else {
        return;
    };
    shop.add_product("E2E-MUG", 1250, 10).await;
    let ada = shop.register("ada@shop.test").await;
    let order_id = shop.place_order(&ada, &[("E2E-MUG", 1)]).await;

    let timed_out = shop.pay(&ada, &order_id, "tok_timeout", "slow-1").await;
    assert_eq!(error_code(&timed_out), "SERVICE_UNAVAILABLE", "{timed_out}");
    assert_eq!(shop.order_status(&ada, &order_id).await, "PENDING_PAYMENT");

    let retried = shop.pay(&ada, &order_id, "tok_timeout", "slow-1").await;
    assert_eq!(
        retried["data"]["payOrder"]["status"], "SUCCEEDED",
        "{retried}"
    );
    let once_more = shop.pay(&ada, &order_id, "tok_timeout", "slow-1").await;
    assert_eq!(once_more["data"]["payOrder"], retried["data"]["payOrder"]);

    assert_eq!(shop.order_status(&ada, &order_id).await, "PAID");
    assert_eq!(shop.charges_for_order(&order_id).await, 1);
    assert_eq!(shop.sandbox().total_charges(), 1);
    shop.sweep().await;
    shop.assert_invariants().await;
}

async fn an_unpaid_order_expires_through_the_sweeper_and_releases_its_stock(store: Store) {
    let options = ShopOptions {
        order_ttl: Duration::from_millis(200),
        ..ShopOptions::default()
    };
    let Some(shop) = Shop::start_with(store, options).await else {
        return;
    };
    shop.add_product("E2E-MUG", 1250, 10).await;
    let ada = shop.register("ada@shop.test").await;
    let order_id = shop.place_order(&ada, &[("E2E-MUG", 4)]).await;
    assert_eq!(shop.stock("E2E-MUG").await, 6);

    eventually(
        "the orders sweeper expires the unpaid order",
        Duration::from_secs(10),
        || async {
            shop.order_ops().sweep().await.expect("the sweep runs");
            shop.stored_order(&order_id).await.state == OrderState::Cancelled
        },
    )
    .await;
    assert_eq!(shop.order_status(&ada, &order_id).await, "CANCELLED");
    assert_eq!(shop.stock("E2E-MUG").await, 10);
    let late = shop.pay(&ada, &order_id, "tok_visa", "late-1").await;
    assert_eq!(error_code(&late), "INVALID_STATE", "{late}");
    assert_eq!(shop.charges_for_order(&order_id).await, 0);
    shop.sweep().await;
    shop.assert_invariants().await;
}

/// Runs each case on the embedded stores and on MongoDB (when configured).
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Store::Embedded).await;
                }
            )*
        }

        mod mongo {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Store::Mongo).await;
                }
            )*
        }
    };
}

on_both_stores!(
    a_customer_buys_pays_sees_everything_and_gets_it_all_back_on_cancel,
    a_declined_card_leaves_the_order_payable_with_a_new_key,
    a_provider_timeout_then_a_retry_with_the_same_key_charges_once,
    an_unpaid_order_expires_through_the_sweeper_and_releases_its_stock,
);
