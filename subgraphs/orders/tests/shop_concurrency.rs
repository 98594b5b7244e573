//! Checkouts under concurrency, on both stores: fifty buyers racing for a
//! code with ten uses (exactly ten orders carry it), checkouts racing a
//! restock, and a checkout racing the cancellation that frees its stock. The
//! invariants: no use beyond the limit, nothing oversold, every placed order's
//! total adds up.

mod common;

use std::sync::Arc;

use common::{Backend, CANCEL, TestEnv, json_of};
use serde_json::{Value, json};
use storefront_inventory::domain::{Quantity, Sku};
use storefront_orders::settings::OrdersSettings;

const ADD: &str =
    "mutation($sku: ID!, $quantity: Int!) { addToCart(sku: $sku, quantity: $quantity) { id } }";
const CHECKOUT: &str = "mutation($input: CheckoutInput!) { checkout(input: $input) { id subtotal { amount } total { amount } shipping { price { amount } } discount { amount { amount } } items { subtotal { amount } } } }";

fn settings() -> OrdersSettings {
    OrdersSettings {
        call_timeout: std::time::Duration::from_secs(60),
        ..OrdersSettings::default()
    }
}

fn input(key: &str, code: Option<&str>) -> Value {
    json!({ "input": {
        "address": { "name": "Buyer", "line1": "1 Main St", "city": "Springfield", "postalCode": "62701", "country": "US" },
        "shippingMethod": "STANDARD", "discountCode": code, "idempotencyKey": key,
    } })
}

fn assert_adds_up(order: &Value) {
    let lines: i64 = order["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["subtotal"]["amount"].as_i64().expect("amount"))
        .sum();
    let discount = order["discount"]["amount"]["amount"].as_i64().unwrap_or(0);
    let shipping = order["shipping"]["price"]["amount"].as_i64().unwrap_or(0);
    assert_eq!(order["subtotal"]["amount"].as_i64(), Some(lines));
    assert_eq!(
        order["total"]["amount"].as_i64(),
        Some(lines - discount + shipping),
        "{order}"
    );
}

/// Fills `buyer`'s cart with `quantity` of `sku`.
async fn fill(env: &TestEnv, buyer: &str, sku: &str, quantity: i64) {
    let response = env
        .execute(
            ADD,
            json!({ "sku": sku, "quantity": quantity }),
            Some(&env.customer(buyer)),
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
}

/// Checks out `buyer`'s cart; `Ok(order)` or `Err(code)`.
async fn checkout(env: &TestEnv, buyer: &str, code: Option<&str>) -> Result<Value, String> {
    let response = env
        .execute(
            CHECKOUT,
            input(&format!("{buyer}-key"), code),
            Some(&env.customer(buyer)),
        )
        .await;
    let body = json_of(&response);
    match response.errors.first() {
        None => Ok(body["data"]["checkout"].clone()),
        Some(_) => Err(body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()),
    }
}

async fn fifty_checkouts_with_a_code_limited_to_ten_give_exactly_ten(backend: Backend) {
    let Some(env) = TestEnv::with(backend, settings()).await else {
        return;
    };
    let env = Arc::new(env);
    env.product("HOT", 1000, 1000).await;
    let create = "mutation { createDiscountCode(input: { code: \"TEN\", percentage: 20, usageLimit: 10 }) { code } }";
    let created = env.execute(create, json!({}), Some(&env.admin())).await;
    assert!(created.errors.is_empty(), "{:?}", created.errors);
    for n in 0..50 {
        fill(&env, &format!("buyer-{n}"), "HOT", 1).await;
    }
    let attempts: Vec<_> = (0..50)
        .map(|n| {
            let env = Arc::clone(&env);
            tokio::spawn(async move { checkout(&env, &format!("buyer-{n}"), Some("TEN")).await })
        })
        .collect();
    let mut placed = 0;
    for attempt in attempts {
        match attempt.await.expect("the task finishes") {
            Ok(order) => {
                assert_eq!(order["discount"]["amount"]["amount"], 200);
                assert_adds_up(&order);
                placed += 1;
            }
            Err(code) => assert_eq!(code, "BAD_USER_INPUT"),
        }
    }
    assert_eq!(placed, 10, "exactly the usage limit");
    assert_eq!(
        env.stock("HOT").await,
        990,
        "only the placed orders hold stock"
    );
    let codes = env
        .execute(
            "{ discountCodes { timesUsed } }",
            json!({}),
            Some(&env.admin()),
        )
        .await;
    assert_eq!(json_of(&codes)["data"]["discountCodes"][0]["timesUsed"], 10);
}

async fn checkouts_racing_a_restock_never_oversell(backend: Backend) {
    let Some(env) = TestEnv::with(backend, settings()).await else {
        return;
    };
    let env = Arc::new(env);
    env.product("RARE", 700, 5).await;
    for n in 0..12 {
        fill(&env, &format!("buyer-{n}"), "RARE", 1).await;
    }
    let attempts: Vec<_> = (0..12)
        .map(|n| {
            let env = Arc::clone(&env);
            tokio::spawn(async move { checkout(&env, &format!("buyer-{n}"), None).await })
        })
        .collect();
    let sku = Sku::parse("RARE").expect("valid");
    let quantity = Quantity::parse_field(5, "quantity").expect("valid");
    env.inventory
        .restock(&sku, quantity)
        .await
        .expect("restocks");
    let mut placed = 0;
    for attempt in attempts {
        match attempt.await.expect("the task finishes") {
            Ok(order) => {
                assert_adds_up(&order);
                placed += 1;
            }
            Err(code) => assert_eq!(code, "INSUFFICIENT_STOCK"),
        }
    }
    assert!(placed >= 5, "at least the first five units sold: {placed}");
    assert_eq!(
        placed + env.stock("RARE").await,
        10,
        "every unit sold or on hand, once"
    );
}

async fn a_checkout_racing_the_cancellation_that_frees_its_stock_never_oversells(backend: Backend) {
    let Some(env) = TestEnv::with(backend, settings()).await else {
        return;
    };
    let env = Arc::new(env);
    for round in 0..5 {
        let sku = format!("LAST-{round}");
        env.product(&sku, 900, 1).await;
        let holder = env.create_ok(&env.customer("holder"), &[(&sku, 1)]).await;
        let buyer = format!("buyer-{round}");
        fill(&env, &buyer, &sku, 1).await;
        let cancel = {
            let env = Arc::clone(&env);
            let id = holder["id"].clone();
            tokio::spawn(async move {
                env.execute(CANCEL, json!({ "id": id }), Some(&env.customer("holder")))
                    .await
            })
        };
        let bought = checkout(&env, &buyer, None).await;
        let cancelled = cancel.await.expect("the task finishes");
        assert!(cancelled.errors.is_empty(), "{:?}", cancelled.errors);
        let sold = match bought {
            Ok(order) => {
                assert_adds_up(&order);
                1
            }
            Err(code) => {
                assert_eq!(code, "INSUFFICIENT_STOCK");
                0
            }
        };
        assert_eq!(
            env.stock(&sku).await + sold,
            1,
            "round {round}: the unit is sold once or on hand"
        );
    }
}

macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(super::Backend::Embedded).await;
                }
            )*
        }

        mod mongo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(super::Backend::Mongo).await;
                }
            )*
        }
    };
}

on_both_stores!(
    fifty_checkouts_with_a_code_limited_to_ten_give_exactly_ten,
    checkouts_racing_a_restock_never_oversell,
    a_checkout_racing_the_cancellation_that_frees_its_stock_never_oversells,
);
