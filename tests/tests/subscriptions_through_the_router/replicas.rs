//! Two `orders` replicas as real OS processes on one MongoDB-compatible
//! store (nx-27017 in CI): a subscription on one replica sees the writes made
//! through the other (`markOrderPaid` as payments sends it, `cancelOrder` as
//! the buyer sends it), carried by the `events` collection both poll.
//!
//! The processes are the workspace's `orders` binary, built by cargo into
//! this test's own target directory (an integration test of another crate
//! has no `CARGO_BIN_EXE_orders`); users and inventory run in-process (the
//! [`Shop`]) for tokens and stock. The binary names its database after the
//! service (`orders`), so both processes share that database on the test
//! server; the test's order ids are fresh, so nothing else there matters.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use storefront_e2e::SERVICE_TOKEN;
use storefront_e2e::shop::{Shop, Store};
use storefront_shared::testing::{ServiceProcess, TEST_MONGODB_URI, free_port};

use crate::clients::{Protocol, Subscription};

const ORDER_UPDATED: &str = "subscription($id: ID!) { orderUpdated(id: $id) { id status } }";
const CREATE: &str =
    "mutation($items: [OrderItemInput!]!) { createOrder(items: $items) { id status } }";
const CANCEL: &str = "mutation($id: ID!) { cancelOrder(id: $id) { id status } }";
const MARK_PAID: &str = "mutation($orderId: ID!, $paymentId: ID!) { markOrderPaid(orderId: $orderId, paymentId: $paymentId) { id status } }";

/// How long a replica may take to answer `/ready`.
const READY: Duration = Duration::from_secs(60);

/// Builds the `orders` binary (a no-op when it is current) into the target
/// directory this test runs from; its path.
fn orders_binary() -> PathBuf {
    storefront_e2e::binaries::build(&[("storefront-orders", "orders")])
        .expect("cargo builds the orders binary")
        .join("orders")
}

/// One `orders` replica process, talking to the shop's users and inventory.
async fn replica(binary: &Path, shop: &Shop, mongodb_uri: &str) -> ServiceProcess {
    let binary = binary.to_str().expect("a UTF-8 path");
    let env = [
        ("MONGODB_URI", mongodb_uri),
        ("USERS_URL", shop.users.graphql_url.as_str()),
        ("INVENTORY_URL", shop.inventory.graphql_url.as_str()),
        ("PAYMENTS_URL", shop.payments.graphql_url.as_str()),
        ("SERVICE_TOKEN", SERVICE_TOKEN),
        ("EVENT_POLL_INTERVAL", "100ms"),
    ];
    let mut process = ServiceProcess::spawn(binary, free_port(), &env);
    process.wait_ready(READY).await;
    process
}

async fn graphql(
    process: &ServiceProcess,
    headers: &[(&str, &str)],
    query: &str,
    variables: Value,
) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("{}/graphql", process.url()))
        .json(&json!({ "query": query, "variables": variables }));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .send()
        .await
        .expect("the replica answers")
        .json()
        .await
        .expect("a JSON answer")
}

#[tokio::test]
async fn a_write_through_one_orders_process_reaches_a_subscriber_on_another() {
    let Some(shop) = Shop::start(Store::Mongo).await else {
        return;
    };
    let uri = std::env::var(TEST_MONGODB_URI).expect("set when the shop runs on MongoDB");
    shop.add_product("E2E-REPLICA", 900, 20).await;
    let binary = orders_binary();
    let subscribed_to = replica(&binary, &shop, &uri).await;
    let written_through = replica(&binary, &shop, &uri).await;
    let buyer = shop.register("replicas@example.com").await;
    let bearer = format!("Bearer {}", buyer.token);
    let buyer_header = [("authorization", bearer.as_str())];
    let service_header = [("x-service-token", SERVICE_TOKEN)];
    let subscribed_url = format!("{}/graphql", subscribed_to.url());

    for write in ["pay", "cancel"] {
        let created = graphql(
            &written_through,
            &buyer_header,
            CREATE,
            json!({ "items": [{ "sku": "E2E-REPLICA", "quantity": 1 }] }),
        )
        .await;
        let id = created["data"]["createOrder"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("an order: {created}"))
            .to_owned();
        let mut events = Subscription::start(
            Protocol::WebSocket,
            &subscribed_url,
            Some(&buyer.token),
            ORDER_UPDATED,
            json!({ "id": id }),
        )
        .await;
        let first = events.event().await;
        assert_eq!(
            first["data"]["orderUpdated"]["status"], "PENDING_PAYMENT",
            "{first}"
        );

        let (answer, expected) = if write == "pay" {
            let answer = graphql(
                &written_through,
                &service_header,
                MARK_PAID,
                json!({ "orderId": id, "paymentId": format!("pay-{id}") }),
            )
            .await;
            (answer["data"]["markOrderPaid"]["status"].clone(), "PAID")
        } else {
            let answer =
                graphql(&written_through, &buyer_header, CANCEL, json!({ "id": id })).await;
            (answer["data"]["cancelOrder"]["status"].clone(), "CANCELLED")
        };
        assert_eq!(answer, expected, "the write went through the other replica");
        let event = events.event().await;
        assert_eq!(event["data"]["orderUpdated"]["id"], id.as_str(), "{event}");
        assert_eq!(event["data"]["orderUpdated"]["status"], expected, "{event}");
    }
}
