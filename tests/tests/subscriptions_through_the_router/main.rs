//! Issue 20's done criterion in Rust, on the embedded stores and on MongoDB:
//! a buyer subscribes through the router to `orderUpdated` with fields from
//! all four subgraphs (orders, users, inventory, payments), pays through the
//! router, and gets PENDING_PAYMENT then PAID with every field filled — over
//! WebSocket (`graphql-transport-ws`, the token in `connection_init`),
//! Server-Sent Events and multipart. Another customer is FORBIDDEN;
//! `myOrderUpdates` sees a new order; `stockChanged` sees an ADMIN's restock.
//! Faults across the boundary: the orders subgraph gone mid-subscription
//! ends every client's stream with an error naming it; payments slower than
//! the router's timeout gives an event with partial data and an error.
//!
//! ```text
//! test clients ─ ws / sse / multipart ─▶ router ─ HTTP ─▶ Proxy(each subgraph) ─▶ subgraph
//!                                          ├─ ws ─▶ Relay ─▶ orders    (cut: orders "dies")
//!                                          └─ ws ─▶ inventory
//! ```
//!
//! # Layout
//! - this file: the shop with the router in front ([`Live`]) and the cases.
//! - `clients.rs`: a small client per protocol behind one [`Subscription`].
//! - `relay.rs`: the TCP [`Relay`] the router reaches orders' WebSocket through.
//! - `replicas.rs`: two `orders` processes on one nx-27017 store: a write
//!   through one reaches a subscriber on the other.

mod clients;
mod relay;
mod replicas;

use std::time::Duration;

use serde_json::{Value, json};
use storefront_e2e::eventually;
use storefront_e2e::proxy::Fault;
use storefront_e2e::shop::{Buyer, CREATE_ORDER, PAY_ORDER, Routed, Shop, Store};

use clients::{PROTOCOLS, Protocol, Subscription};
use relay::Relay;

/// The order with fields from orders, users (`buyer`), inventory
/// (`product { name }`) and payments (`payment`).
const ORDER_UPDATED: &str = "subscription($id: ID!) { orderUpdated(id: $id) {
    id status total { amount currency }
    buyer { name email }
    items { quantity product { name } }
    payment { status }
} }";

const MY_ORDER_UPDATES: &str = "subscription { myOrderUpdates {
    id status buyer { email } items { quantity product { name } }
} }";

const STOCK_CHANGED: &str =
    "subscription($skus: [ID!]!) { stockChanged(skus: $skus) { sku name stock inStock } }";

/// The router's timeout for payments in these tests; the slow-payments case
/// holds payments' entity fetches longer than this.
const PAYMENTS_TIMEOUT: Duration = Duration::from_millis(800);

/// The shop, the router in front of it, and the relay to orders' WebSocket.
struct Live {
    shop: Shop,
    routed: Routed,
    orders_relay: Relay,
}

impl Live {
    /// `None` when `store` is MongoDB and none is configured.
    async fn start(store: Store) -> Option<Live> {
        let shop = Shop::start(store).await?;
        shop.add_product("E2E-MUG", 1250, 50).await;
        shop.add_product("E2E-TEE", 2000, 50).await;
        let orders_relay = Relay::start(&shop.orders.graphql_url).await;
        let orders_ws = orders_relay.ws_url.clone();
        let inventory_ws = shop.inventory.graphql_url.replacen("http://", "ws://", 1);
        let routed = shop
            .routed_with(|settings| {
                let urls = &mut settings.subscriptions.subgraph_urls;
                urls.insert("orders".to_owned(), orders_ws);
                urls.insert("inventory".to_owned(), inventory_ws);
                settings
                    .timeouts
                    .subgraphs
                    .insert("payments".to_owned(), PAYMENTS_TIMEOUT);
            })
            .await;
        Some(Live {
            shop,
            routed,
            orders_relay,
        })
    }

    fn url(&self) -> &str {
        &self.routed.router.graphql_url
    }

    /// Places an order (a mug and two tees) through the router; its id.
    async fn place_order(&self, buyer: &Buyer) -> String {
        let items =
            json!([{ "sku": "E2E-MUG", "quantity": 1 }, { "sku": "E2E-TEE", "quantity": 2 }]);
        let order = self
            .routed
            .router
            .data(
                Some(&buyer.token),
                CREATE_ORDER,
                json!({ "items": items }),
                "createOrder",
            )
            .await;
        assert_eq!(order["status"], "PENDING_PAYMENT", "{order}");
        order["id"].as_str().expect("an order id").to_owned()
    }

    /// Pays `order_id` with `tok_visa` through the router.
    async fn pay(&self, buyer: &Buyer, order_id: &str) {
        let paid = self
            .routed
            .router
            .data(
                Some(&buyer.token),
                PAY_ORDER,
                json!({ "orderId": order_id, "token": "tok_visa", "key": format!("pay-{order_id}") }),
                "payOrder",
            )
            .await;
        assert_eq!(paid["status"], "SUCCEEDED", "{paid}");
    }

    async fn subscribe_to(
        &self,
        protocol: Protocol,
        buyer: &Buyer,
        order_id: &str,
    ) -> Subscription {
        Subscription::start(
            protocol,
            self.url(),
            Some(&buyer.token),
            ORDER_UPDATED,
            json!({ "id": order_id }),
        )
        .await
    }
}

/// Asserts `event` is `order_id` in `status` with every field filled from
/// every subgraph (`payment` only once there is one: `paid`).
fn assert_whole_order(event: &Value, order_id: &str, email: &str, status: &str, paid: bool) {
    assert!(event["errors"].is_null(), "no errors: {event}");
    let order = &event["data"]["orderUpdated"];
    assert_eq!(order["id"], order_id, "{event}");
    assert_eq!(order["status"], status, "{event}");
    assert_eq!(
        order["total"],
        json!({ "amount": 5250, "currency": "USD" }),
        "{event}"
    );
    assert_eq!(
        order["buyer"],
        json!({ "name": "Tester", "email": email }),
        "users: {event}"
    );
    assert_eq!(
        order["items"],
        json!([
            { "quantity": 1, "product": { "name": "E2E-MUG" } },
            { "quantity": 2, "product": { "name": "E2E-TEE" } },
        ]),
        "inventory: {event}"
    );
    if paid {
        assert_eq!(
            order["payment"],
            json!({ "status": "SUCCEEDED" }),
            "payments: {event}"
        );
    }
}

/// The next event that is not `skipped` (a change that leaves the status as
/// it was, e.g. the payment starting).
async fn next_status_change(subscription: &mut Subscription, skipped: &str) -> Value {
    loop {
        let event = subscription.event().await;
        if event["data"]["orderUpdated"]["status"] != skipped {
            return event;
        }
    }
}

async fn a_buyer_sees_pending_payment_then_paid_with_every_subgraph_over_each_protocol(
    store: Store,
) {
    let Some(live) = Live::start(store).await else {
        return;
    };
    for protocol in PROTOCOLS {
        let email = format!("{protocol:?}@shop.test").to_lowercase();
        let buyer = live.shop.register(&email).await;
        let order_id = live.place_order(&buyer).await;
        let mut updates = live.subscribe_to(protocol, &buyer, &order_id).await;

        let first = updates.event().await;
        assert_whole_order(&first, &order_id, &email, "PENDING_PAYMENT", false);
        assert!(
            first["data"]["orderUpdated"]["payment"].is_null(),
            "{protocol:?}: no payment yet: {first}"
        );

        live.pay(&buyer, &order_id).await;
        let paid = next_status_change(&mut updates, "PENDING_PAYMENT").await;
        assert_whole_order(&paid, &order_id, &email, "PAID", true);
    }
}

async fn another_customer_is_forbidden_over_each_protocol(store: Store) {
    let Some(live) = Live::start(store).await else {
        return;
    };
    let ada = live.shop.register("ada@shop.test").await;
    let eve = live.shop.register("eve@shop.test").await;
    let order_id = live.place_order(&ada).await;
    for protocol in PROTOCOLS {
        let mut snooping = live.subscribe_to(protocol, &eve, &order_id).await;
        let refused = snooping.event().await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{protocol:?}: {refused}"
        );
        assert!(
            refused["data"]["orderUpdated"].is_null(),
            "{protocol:?}: nothing of ada's order: {refused}"
        );
        snooping.assert_ends().await;
    }
}

async fn my_order_updates_sees_a_new_order(store: Store) {
    let Some(live) = Live::start(store).await else {
        return;
    };
    let ada = live.shop.register("ada@shop.test").await;
    let mut mine = Subscription::start(
        Protocol::WebSocket,
        live.url(),
        Some(&ada.token),
        MY_ORDER_UPDATES,
        json!({}),
    )
    .await;
    // No first event says when the subgraph listens: place orders until one
    // is seen (the first placed after the subscription reached orders).
    let mut placed = Vec::new();
    let mut seen = None;
    for _ in 0..20 {
        placed.push(live.place_order(&ada).await);
        if let Ok(event) = tokio::time::timeout(Duration::from_millis(500), mine.event()).await {
            seen = Some(event);
            break;
        }
    }
    let event = seen.expect("an order placed after subscribing is seen within 20 orders");
    assert!(event["errors"].is_null(), "{event}");
    let order = &event["data"]["myOrderUpdates"];
    assert!(placed.iter().any(|id| order["id"] == *id), "{event}");
    assert_eq!(order["status"], "PENDING_PAYMENT", "{event}");
    assert_eq!(order["buyer"]["email"], "ada@shop.test", "users: {event}");
    assert_eq!(
        order["items"][1]["product"]["name"], "E2E-TEE",
        "inventory: {event}"
    );
}

async fn stock_changed_sees_an_admin_restock(store: Store) {
    let Some(live) = Live::start(store).await else {
        return;
    };
    let mut stock = Subscription::start(
        Protocol::Sse,
        live.url(),
        None,
        STOCK_CHANGED,
        json!({ "skus": ["E2E-MUG"] }),
    )
    .await;
    // No first event either: restock (through the router, as the ADMIN)
    // until a change is seen.
    let mut seen = None;
    for _ in 0..20 {
        let restocked = live
            .routed
            .router
            .data(
                Some(live.shop.admin_token()),
                "mutation { restock(sku: \"E2E-MUG\", quantity: 5) { stock } }",
                json!({}),
                "restock",
            )
            .await;
        if let Ok(event) = tokio::time::timeout(Duration::from_millis(500), stock.event()).await {
            seen = Some((restocked, event));
            break;
        }
    }
    let (restocked, event) = seen.expect("a restock after subscribing is seen within 20");
    assert!(event["errors"].is_null(), "{event}");
    let product = &event["data"]["stockChanged"];
    assert_eq!(product["sku"], "E2E-MUG", "{event}");
    assert_eq!(product["inStock"], true, "{event}");
    let stock = product["stock"].as_i64().expect("a stock");
    assert!(stock > 50 && stock % 5 == 0, "restocked by 5s: {event}");
    assert!(
        stock <= restocked["stock"].as_i64().expect("a stock"),
        "no stock the restocks did not make: {event}"
    );
}

async fn the_orders_subgraph_gone_ends_every_stream_with_an_error_naming_it(store: Store) {
    let Some(live) = Live::start(store).await else {
        return;
    };
    let ada = live.shop.register("ada@shop.test").await;
    let order_id = live.place_order(&ada).await;
    let mut streams = Vec::new();
    for protocol in PROTOCOLS {
        let mut updates = live.subscribe_to(protocol, &ada, &order_id).await;
        let first = updates.event().await;
        assert_eq!(
            first["data"]["orderUpdated"]["status"], "PENDING_PAYMENT",
            "{first}"
        );
        streams.push((protocol, updates));
    }

    live.orders_relay.cut();
    for (protocol, mut updates) in streams {
        let ended = updates.event().await;
        let error = &ended["errors"][0];
        assert_eq!(
            error["extensions"]["code"], "SUBGRAPH_SUBSCRIPTION_CLOSED",
            "{protocol:?}: {ended}"
        );
        assert_eq!(
            error["extensions"]["serviceName"], "orders",
            "{protocol:?}: {ended}"
        );
        updates.assert_ends().await;
    }
}

async fn payments_slower_than_its_timeout_gives_an_event_with_partial_data_and_an_error(
    store: Store,
) {
    let Some(live) = Live::start(store).await else {
        return;
    };
    let ada = live.shop.register("ada@shop.test").await;
    let order_id = live.place_order(&ada).await;
    let mut streams = Vec::new();
    for protocol in PROTOCOLS {
        let mut updates = live.subscribe_to(protocol, &ada, &order_id).await;
        let first = updates.event().await;
        assert_whole_order(&first, &order_id, "ada@shop.test", "PENDING_PAYMENT", false);
        streams.push((protocol, updates));
    }

    // payOrder passes; the router's entity fetches to payments come too late.
    live.routed
        .payments
        .set_for("_entities", Fault::Slow(PAYMENTS_TIMEOUT * 3));
    live.pay(&ada, &order_id).await;
    for (protocol, updates) in &mut streams {
        let event = next_status_change(updates, "PENDING_PAYMENT").await;
        let order = &event["data"]["orderUpdated"];
        assert_eq!(
            order["status"], "PAID",
            "{protocol:?}: the rest of the data: {event}"
        );
        assert_eq!(
            order["buyer"]["email"], "ada@shop.test",
            "{protocol:?}: {event}"
        );
        assert_eq!(
            order["items"][0]["product"]["name"], "E2E-MUG",
            "{protocol:?}: {event}"
        );
        assert!(
            order["payment"].is_null(),
            "{protocol:?}: no payment: {event}"
        );
        let error = &event["errors"][0];
        assert_eq!(
            error["extensions"]["code"], "SUBGRAPH_UNAVAILABLE",
            "{protocol:?}: {event}"
        );
        assert_eq!(
            error["extensions"]["serviceName"], "payments",
            "{protocol:?}: {event}"
        );
    }

    // The subscriptions go on: once payments is back, a refund on cancel
    // arrives whole.
    live.routed.payments.pass();
    let cancelled = live
        .routed
        .router
        .data(
            Some(&ada.token),
            "mutation($id: ID!) { cancelOrder(id: $id) { status } }",
            json!({ "id": order_id }),
            "cancelOrder",
        )
        .await;
    assert_eq!(cancelled["status"], "CANCELLED", "{cancelled}");
    for (protocol, updates) in &mut streams {
        let event = next_status_change(updates, "PAID").await;
        assert!(event["errors"].is_null(), "{protocol:?}: {event}");
        assert_eq!(
            event["data"]["orderUpdated"]["status"], "CANCELLED",
            "{event}"
        );
        assert!(
            event["data"]["orderUpdated"]["payment"]["status"].is_string(),
            "{protocol:?}: payments answers again: {event}"
        );
    }
    eventually(
        "the slow entity fetches drain",
        Duration::from_secs(10),
        || async { live.routed.payments.in_flight() == 0 },
    )
    .await;
}

/// Runs each case on the embedded stores and on MongoDB (when configured).
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Store::Embedded).await;
                }
            )*
        }

        mod mongo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Store::Mongo).await;
                }
            )*
        }
    };
}

on_both_stores!(
    a_buyer_sees_pending_payment_then_paid_with_every_subgraph_over_each_protocol,
    another_customer_is_forbidden_over_each_protocol,
    my_order_updates_sees_a_new_order,
    stock_changed_sees_an_admin_restock,
    the_orders_subgraph_gone_ends_every_stream_with_an_error_naming_it,
    payments_slower_than_its_timeout_gives_an_event_with_partial_data_and_an_error,
);
