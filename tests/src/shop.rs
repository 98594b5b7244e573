//! The whole Storefront in-process: users, inventory, orders and payments on
//! port 0, on the embedded stores (a temp dir) or on MongoDB (a fresh database
//! per service), talking real HTTP to each other.
//!
//! ```text
//!            test client (what a router would do: owning subgraph, then _entities)
//!     ┌────────────┬───────────┴──────┬──────────────────┐
//!   users      inventory            orders            payments
//!     ▲            ▲     orders_to_inventory ─┘ │   ▲ │        │
//!     │            └──────────[Proxy]───────────┘   │ └[Proxy]─┘ payments_to_orders
//!     │                        orders_to_payments [Proxy]
//!     └─[Proxy]─ JWKS (inventory, orders, payments verify tokens with users' key)
//! ```
//!
//! Every service-to-service call goes through a [`Proxy`] the test can break,
//! and payments calls the sandbox provider through a [`SlowProvider`] that can
//! answer late. The services' sweepers do not run on their own; [`Shop::sweep`]
//! runs each service's `sweep` once (orders, payments, inventory),
//! [`Shop::run_sweepers`] in the background as the binaries do, and
//! [`Shop::assert_invariants`] checks the order flow's promises in the stores.
//!
//! # Layout
//! - this file: starting the shop, and the client calls the tests make.
//! - `provider.rs`: [`SlowProvider`], the sandbox with answers that can be slowed.
//! - `sweepers.rs`: the sweepers, once or in the background, and waiting for
//!   slowed work to land.
//! - `invariants.rs`: the promises of the order flow.
//! - `routed.rs`: the router in front of the shop ([`Shop::routed`]), counting
//!   its requests to each subgraph, and catalogue seeding (categories).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use storefront_inventory::domain::{
    OrderId as ReservationOrderId, Product, ReservationStatus, Sku,
};
use storefront_inventory::store::InventoryStore;
use storefront_orders::domain::{Order, OrderId};
use storefront_orders::flow::Orders;
use storefront_orders::settings::OrdersSettings;
use storefront_payments::clients::OrdersClient;
use storefront_payments::domain::Payment;
use storefront_payments::flow::{Payments, Timing};
use storefront_payments::provider::{PaymentProvider, SandboxProvider};
use storefront_shared::auth::{Authenticator, JwksVerifier};
use storefront_shared::client::ServiceClient;
use storefront_shared::server::Timeouts;
use storefront_shared::settings::Secret;
use tempfile::TempDir;

mod invariants;
mod provider;
mod routed;
mod sweepers;

pub use provider::SlowProvider;
pub use routed::Routed;
pub use sweepers::Sweepers;

use crate::proxy::Proxy;
use crate::{SERVICE_TOKEN, Service, error_code, listen};

/// The email that registers as ADMIN.
pub const ADMIN_EMAIL: &str = "admin@shop.test";
/// The password every test account uses.
pub const PASSWORD: &str = "a long password";

/// `createOrder`, with what the tests look at.
pub const CREATE_ORDER: &str = "mutation($items: [OrderItemInput!]!) { createOrder(items: $items) { id status total { amount currency } items { product { sku } quantity unitPrice { amount currency } } } }";
/// `payOrder`.
pub const PAY_ORDER: &str = "mutation($orderId: ID!, $token: String!, $key: String!) { payOrder(orderId: $orderId, paymentToken: $token, idempotencyKey: $key) { id status providerReference amount { amount currency } } }";
/// `cancelOrder`.
pub const CANCEL_ORDER: &str = "mutation($id: ID!) { cancelOrder(id: $id) { id status } }";
/// `order(id)`.
pub const ORDER: &str = "query($id: ID!) { order(id: $id) { id status } }";
/// A user's orders through the orders subgraph's `User` entity.
pub const USER_ORDERS: &str = "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { orders { edges { node { id status items { product { sku } quantity } total { amount currency } } } } } } }";
/// Orders' payments through the payments subgraph's `Order` entity.
pub const ORDER_PAYMENTS: &str = "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Order { id payment { id status } } } }";

/// Which store every service of a [`Shop`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// The embedded (`redb`) stores, in a temp dir.
    Embedded,
    /// MongoDB at `STOREFRONT_TEST_MONGODB_URI`, a fresh database per service.
    Mongo,
}

/// The knobs the tests turn.
#[derive(Debug, Clone)]
pub struct ShopOptions {
    /// How long an unpaid order lives (orders' `order_ttl`).
    pub order_ttl: Duration,
    /// How long an order may stay CREATING before the sweeper gives it up.
    pub creating_timeout: Duration,
    /// How long orders' and payments' calls to other services may take.
    pub call_timeout: Duration,
    /// The sandbox provider's timeout (`tok_timeout` stalls past it).
    pub provider_timeout: Duration,
    /// How old a PROCESSING payment must be before the payments sweep resumes it.
    pub resume_processing_after: Duration,
}

impl Default for ShopOptions {
    fn default() -> Self {
        ShopOptions {
            order_ttl: Duration::from_secs(30 * 60),
            creating_timeout: Duration::from_secs(60),
            call_timeout: Duration::from_secs(3),
            provider_timeout: Duration::from_millis(300),
            resume_processing_after: Duration::ZERO,
        }
    }
}

/// A registered customer.
#[derive(Debug, Clone)]
pub struct Buyer {
    /// The user id.
    pub id: String,
    /// A bearer token.
    pub token: String,
}

/// The four services, the proxies between them and handles on their internals.
pub struct Shop {
    /// The store kind in use.
    pub store: Store,
    /// The users subgraph.
    pub users: Service,
    /// The inventory subgraph.
    pub inventory: Service,
    /// The orders subgraph.
    pub orders: Service,
    /// The payments subgraph.
    pub payments: Service,
    /// What orders calls inventory through.
    pub orders_to_inventory: Proxy,
    /// What orders calls payments through.
    pub orders_to_payments: Proxy,
    /// What payments calls orders through.
    pub payments_to_orders: Proxy,
    /// What inventory, orders and payments fetch the users service's JWKS through
    /// (and what orders reads buyers' saved addresses through at checkout).
    pub services_to_users: Proxy,
    order_ops: Orders,
    payment_ops: Payments,
    sandbox: Arc<SandboxProvider>,
    provider: Arc<SlowProvider>,
    stock: Arc<dyn InventoryStore>,
    admin_token: String,
    buyers: Mutex<Vec<String>>,
    skus: Mutex<Vec<String>>,
    _dir: TempDir,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

struct Repositories {
    users: storefront_users::store::SharedRepository,
    stock: Arc<dyn InventoryStore>,
    orders: storefront_orders::store::SharedRepository,
    payments: storefront_payments::store::SharedRepository,
}

async fn embedded_repositories(dir: &std::path::Path) -> Repositories {
    let users = storefront_users::store::EmbeddedUserRepository::open(&dir.join("users"))
        .expect("opens the embedded users store");
    let db = storefront_shared::store::open_embedded(&dir.join("inventory"))
        .expect("opens the embedded inventory store");
    let stock = storefront_inventory::store::embedded::EmbeddedStore::new(db)
        .await
        .expect("prepares the embedded inventory store");
    let orders = storefront_orders::store::EmbeddedOrderRepository::open(&dir.join("orders"))
        .expect("opens the embedded orders store");
    let payments =
        storefront_payments::store::EmbeddedPaymentRepository::open(&dir.join("payments"))
            .expect("opens the embedded payments store");
    Repositories {
        users: Arc::new(users),
        stock: Arc::new(stock),
        orders: Arc::new(orders),
        payments: Arc::new(payments),
    }
}

async fn mongo_repositories() -> Option<Repositories> {
    use storefront_shared::testing::mongo_database;
    let users = storefront_users::store::MongoUserRepository::new(mongo_database("users").await?)
        .await
        .expect("prepares the users collection");
    let stock =
        storefront_inventory::store::mongo::MongoStore::new(mongo_database("inventory").await?)
            .await
            .expect("prepares the inventory collections");
    let orders =
        storefront_orders::store::MongoOrderRepository::new(mongo_database("orders").await?)
            .await
            .expect("prepares the orders collection");
    let payments =
        storefront_payments::store::MongoPaymentRepository::new(mongo_database("payments").await?)
            .await
            .expect("prepares the payments collections");
    Some(Repositories {
        users: Arc::new(users),
        stock: Arc::new(stock),
        orders: Arc::new(orders),
        payments: Arc::new(payments),
    })
}

fn jwks_authenticator(users_url: &str) -> Authenticator {
    let verifier = JwksVerifier::for_users_url(users_url).expect("a valid users URL");
    Authenticator::new(Arc::new(verifier), Secret::new(SERVICE_TOKEN))
}

impl Shop {
    /// Starts everything on `store` with default options; `None` when `store` is
    /// MongoDB and no test server is configured (the test is then skipped).
    pub async fn start(store: Store) -> Option<Shop> {
        Self::start_with(store, ShopOptions::default()).await
    }

    /// Starts everything on `store` with `options`.
    pub async fn start_with(store: Store, options: ShopOptions) -> Option<Shop> {
        crate::init_logs();
        let dir = tempfile::tempdir().expect("temp dir");
        let repos = match store {
            Store::Embedded => embedded_repositories(dir.path()).await,
            Store::Mongo => mongo_repositories().await?,
        };
        let secret = Secret::new(SERVICE_TOKEN);

        let (users_listener, users_url) = listen().await;
        let (inventory_listener, inventory_url) = listen().await;
        let (orders_listener, orders_url) = listen().await;
        let (payments_listener, payments_url) = listen().await;
        let (listener, url) = listen().await;
        let orders_to_inventory = Proxy::start(listener, url, &inventory_url);
        let (listener, url) = listen().await;
        let orders_to_payments = Proxy::start(listener, url, &payments_url);
        let (listener, url) = listen().await;
        let payments_to_orders = Proxy::start(listener, url, &orders_url);
        let (listener, url) = listen().await;
        let services_to_users = Proxy::start(listener, url, &users_url);
        let jwks_url = services_to_users.graphql_url.clone();

        // users: signs with a key kept in the temp dir.
        let key = storefront_users::tokens::load_signing_key(
            &storefront_users::settings::UsersSettings::default(),
            &dir.path().join("users-key"),
        )
        .expect("creates a signing key");
        let issuer = storefront_users::tokens::TokenIssuer::new(&key, Duration::from_secs(3600))
            .expect("a token issuer");
        let admin = storefront_users::domain::Email::parse(ADMIN_EMAIL).expect("a valid email");
        let users_state =
            storefront_users::AppState::new(repos.users, issuer, vec![admin], secret.clone());
        let users_task = tokio::spawn(storefront_users::run(
            users_listener,
            users_state,
            Timeouts::default(),
            std::future::pending(),
        ));

        // inventory
        let inventory_state = storefront_inventory::AppState::new(
            Arc::clone(&repos.stock),
            jwks_authenticator(&jwks_url),
        );
        let inventory_task = tokio::spawn(storefront_inventory::run(
            inventory_listener,
            inventory_state,
            Timeouts::default(),
            std::future::pending(),
        ));

        // orders, calling inventory and payments through the proxies
        let orders_settings = OrdersSettings {
            order_ttl: options.order_ttl,
            creating_timeout: options.creating_timeout,
            call_timeout: options.call_timeout,
            ..OrdersSettings::default()
        };
        let peers = storefront_orders::Peers {
            inventory_url: orders_to_inventory.graphql_url.clone(),
            payments_url: orders_to_payments.graphql_url.clone(),
        };
        let orders_state = storefront_orders::AppState::new(
            Arc::clone(&repos.orders),
            &orders_settings,
            &peers,
            secret.clone(),
            jwks_authenticator(&jwks_url),
        )
        .and_then(|state| {
            // Saved addresses at checkout, as the binary reads them (`USERS_URL`).
            state.with_users_url(&jwks_url, secret.clone(), options.call_timeout)
        })
        .expect("builds the orders state");
        let order_ops = orders_state.orders().clone();
        let orders_task = tokio::spawn(storefront_orders::run(
            orders_listener,
            orders_state,
            Timeouts::default(),
            std::future::pending(),
        ));

        // payments, on the sandbox, calling orders through its proxy
        let sandbox = Arc::new(SandboxProvider::new(options.provider_timeout));
        let slow_provider = Arc::new(SlowProvider::new(Arc::clone(&sandbox)));
        let provider: Arc<dyn PaymentProvider> = slow_provider.clone();
        let orders_client = ServiceClient::new(
            "orders",
            payments_to_orders.graphql_url.clone(),
            secret.clone(),
            options.call_timeout,
        )
        .expect("an HTTP client for orders");
        let timing = Timing {
            resume_processing_after: options.resume_processing_after,
            ..Timing::for_provider(provider.as_ref())
        };
        let payment_ops = Payments::new(
            Arc::clone(&repos.payments),
            provider,
            OrdersClient::new(orders_client),
            timing,
        );
        let payments_state =
            storefront_payments::AppState::new(payment_ops.clone(), jwks_authenticator(&jwks_url));
        let payments_task = tokio::spawn(storefront_payments::run(
            payments_listener,
            payments_state,
            Timeouts::default(),
            std::future::pending(),
        ));

        let users = Service::new(users_url, users_task);
        let admin_token = register_account(&users, ADMIN_EMAIL).await.token;
        Some(Shop {
            store,
            users,
            inventory: Service::new(inventory_url, inventory_task),
            orders: Service::new(orders_url, orders_task),
            payments: Service::new(payments_url, payments_task),
            orders_to_inventory,
            orders_to_payments,
            payments_to_orders,
            services_to_users,
            order_ops,
            payment_ops,
            sandbox,
            provider: slow_provider,
            stock: repos.stock,
            admin_token,
            buyers: Mutex::new(Vec::new()),
            skus: Mutex::new(Vec::new()),
            _dir: dir,
        })
    }

    /// The orders service's operations (for its sweeper).
    pub fn order_ops(&self) -> &Orders {
        &self.order_ops
    }

    /// The payments service's operations (for its sweep).
    pub fn payment_ops(&self) -> &Payments {
        &self.payment_ops
    }

    /// The sandbox provider (its ledger counts real charges).
    pub fn sandbox(&self) -> &SandboxProvider {
        &self.sandbox
    }

    /// The provider payments calls (the sandbox, answers can be slowed).
    pub fn provider(&self) -> &SlowProvider {
        &self.provider
    }

    /// Inventory's store.
    pub fn stock_store(&self) -> &Arc<dyn InventoryStore> {
        &self.stock
    }

    /// Registers a customer; their orders are covered by [`Shop::assert_invariants`].
    pub async fn register(&self, email: &str) -> Buyer {
        let buyer = register_account(&self.users, email).await;
        locked(&self.buyers).push(buyer.id.clone());
        buyer
    }

    /// Creates a product (as the ADMIN); covered by [`Shop::assert_invariants`].
    pub async fn add_product(&self, sku: &str, price: i64, stock: i64) {
        let answer = self
            .inventory
            .graphql(
                Some(&self.admin_token),
                "mutation($input: CreateProductInput!) { createProduct(input: $input) { sku stock } }",
                json!({ "input": { "sku": sku, "name": sku, "description": "An end-to-end test product.", "price": price, "currency": "USD", "stock": stock } }),
            )
            .await;
        assert_eq!(
            answer["data"]["createProduct"]["stock"], stock,
            "created {sku}: {answer}"
        );
        locked(&self.skus).push(sku.to_owned());
    }

    /// Adds units of `sku` (as the ADMIN).
    pub async fn restock(&self, sku: &str, quantity: i64) {
        let answer = self
            .inventory
            .graphql(
                Some(&self.admin_token),
                "mutation($sku: ID!, $quantity: Int!) { restock(sku: $sku, quantity: $quantity) { sku stock } }",
                json!({ "sku": sku, "quantity": quantity }),
            )
            .await;
        assert!(answer["errors"].is_null(), "restocked {sku}: {answer}");
    }

    /// Units of `sku` available now, as inventory's `product { stock }` says.
    pub async fn stock(&self, sku: &str) -> i64 {
        let answer = self
            .inventory
            .graphql(
                None,
                "query($sku: ID!) { product(sku: $sku) { stock } }",
                json!({ "sku": sku }),
            )
            .await;
        answer["data"]["product"]["stock"]
            .as_i64()
            .unwrap_or_else(|| panic!("the stock of {sku}: {answer}"))
    }

    /// Inventory's counters for `sku`, from its store.
    pub async fn product(&self, sku: &str) -> Product {
        let sku = Sku::parse(sku).expect("a valid sku");
        self.stock
            .get(&sku)
            .await
            .expect("inventory's store answers")
            .unwrap_or_else(|| panic!("product {sku} exists"))
    }

    /// Inventory's reservation status for an order (`None`: it holds nothing and never did).
    pub async fn reservation(&self, order_id: &str) -> Option<ReservationStatus> {
        let id = ReservationOrderId::parse(order_id).expect("a valid order id");
        self.stock
            .reservation(&id)
            .await
            .expect("inventory's store answers")
            .map(|reservation| reservation.status)
    }

    /// `createOrder` of `(sku, quantity)` lines as `buyer`; the whole answer.
    pub async fn create_order(&self, buyer: &Buyer, lines: &[(&str, i64)]) -> Value {
        let items: Vec<Value> = lines
            .iter()
            .map(|(sku, quantity)| json!({ "sku": sku, "quantity": quantity }))
            .collect();
        self.orders
            .graphql(Some(&buyer.token), CREATE_ORDER, json!({ "items": items }))
            .await
    }

    /// `createOrder` that must succeed; the order id.
    pub async fn place_order(&self, buyer: &Buyer, lines: &[(&str, i64)]) -> String {
        let answer = self.create_order(buyer, lines).await;
        assert_eq!(
            answer["data"]["createOrder"]["status"], "PENDING_PAYMENT",
            "{answer}"
        );
        answer["data"]["createOrder"]["id"]
            .as_str()
            .expect("an order id")
            .to_owned()
    }

    /// `payOrder` as `buyer`; the whole answer.
    pub async fn pay(&self, buyer: &Buyer, order_id: &str, card: &str, key: &str) -> Value {
        self.payments
            .graphql(
                Some(&buyer.token),
                PAY_ORDER,
                json!({ "orderId": order_id, "token": card, "key": key }),
            )
            .await
    }

    /// `payOrder` that must answer a payment; its status.
    pub async fn pay_status(&self, buyer: &Buyer, order_id: &str, card: &str, key: &str) -> String {
        let answer = self.pay(buyer, order_id, card, key).await;
        answer["data"]["payOrder"]["status"]
            .as_str()
            .unwrap_or_else(|| panic!("payOrder answered a payment: {answer}"))
            .to_owned()
    }

    /// `cancelOrder` as `buyer`; the whole answer.
    pub async fn cancel(&self, buyer: &Buyer, order_id: &str) -> Value {
        self.orders
            .graphql(Some(&buyer.token), CANCEL_ORDER, json!({ "id": order_id }))
            .await
    }

    /// The order's status as its buyer sees it at orders, or the error code.
    pub async fn order_status(&self, buyer: &Buyer, order_id: &str) -> String {
        let answer = self
            .orders
            .graphql(Some(&buyer.token), ORDER, json!({ "id": order_id }))
            .await;
        match answer["data"]["order"]["status"].as_str() {
            Some(status) => status.to_owned(),
            None => error_code(&answer).to_owned(),
        }
    }

    /// The order's `payment { status }` as its buyer sees it through payments'
    /// `Order` entity (`null` when there is none).
    pub async fn payment_status(&self, buyer: &Buyer, order_id: &str) -> Value {
        let answer = self
            .payments
            .graphql(
                Some(&buyer.token),
                ORDER_PAYMENTS,
                json!({ "reps": [{ "__typename": "Order", "id": order_id }] }),
            )
            .await;
        assert!(answer["errors"].is_null(), "{answer}");
        answer["data"]["_entities"][0]["payment"]["status"].clone()
    }

    /// The stored order, in any state.
    pub async fn stored_order(&self, order_id: &str) -> Order {
        let id = OrderId::parse(order_id).expect("a valid order id");
        self.order_ops
            .repository()
            .find_by_id(&id)
            .await
            .expect("orders' store answers")
            .unwrap_or_else(|| panic!("order {order_id} is stored"))
    }

    /// The payments recorded for an order, oldest first.
    pub async fn payments_of(&self, order_id: &str) -> Vec<Payment> {
        self.payment_ops
            .repository()
            .payments_for_orders(&[order_id.to_owned()])
            .await
            .expect("payments' store answers")
    }

    /// Real charges the sandbox made for an order, over all its payments.
    pub async fn charges_for_order(&self, order_id: &str) -> usize {
        self.payments_of(order_id)
            .await
            .iter()
            .map(|payment| self.sandbox.charges_for(&payment.id))
            .sum()
    }
}

async fn register_account(users: &Service, email: &str) -> Buyer {
    let answer = users
        .graphql(
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { token user { id } } }",
            json!({ "input": { "email": email, "password": PASSWORD, "name": "Tester" } }),
        )
        .await;
    let payload = &answer["data"]["register"];
    match (payload["token"].as_str(), payload["user"]["id"].as_str()) {
        (Some(token), Some(id)) => Buyer {
            id: id.to_owned(),
            token: token.to_owned(),
        },
        _ => panic!("registered {email}: {answer}"),
    }
}
