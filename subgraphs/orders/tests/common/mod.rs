//! Helpers for the orders subgraph's integration tests: a real inventory served
//! in-process on port 0 (behind a switch that can take it down), a fake payments
//! service, and an orders service over either store (token signing and response
//! helpers come from `storefront_shared::testing`).
#![allow(dead_code, unused_imports)] // each test binary uses a different part

pub mod fakes;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Request, Response, Variables};
use async_trait::async_trait;
use serde_json::{Value, json};
use storefront_inventory::domain::{NewProduct, OrderId as InventoryOrderId, Sku};
use storefront_inventory::store::InventoryStore;
use storefront_orders::AppState;
use storefront_orders::cart::Cart;
use storefront_orders::discount::DiscountCode;
use storefront_orders::domain::{
    Order, OrderId, OrderPage, OrderStatus, PageRequest, Transition, Unfinished,
};
use storefront_orders::settings::OrdersSettings;
use storefront_orders::store::{
    CheckoutRecord, EmbeddedOrderRepository, MongoOrderRepository, OrderRepository, RepoResult,
    SharedRepository, ShopRepository,
};
use storefront_shared::auth::{Role, Viewer};
use storefront_shared::settings::Secret;
use storefront_shared::testing::Counting;
pub use storefront_shared::testing::{
    SERVICE_TOKEN, TokenSigner, response_json as json_of, single_error,
};
use tempfile::TempDir;

pub use fakes::{FakePayments, Switch, serve_inventory};

pub const CREATE: &str = "mutation($items: [OrderItemInput!]!) { createOrder(items: $items) { id status buyer { id } total { amount currency } createdAt updatedAt expiresAt items { product { sku } quantity unitPrice { amount currency } subtotal { amount currency } } } }";
pub const CANCEL: &str = "mutation($id: ID!) { cancelOrder(id: $id) { id status } }";
pub const ORDER: &str =
    "query($id: ID!) { order(id: $id) { id status total { amount currency } buyer { id } } }";
pub const MY_ORDERS: &str = "query($first: Int, $after: String) { myOrders(first: $first, after: $after) { edges { cursor node { id status } } pageInfo { hasNextPage endCursor } } }";
pub const MARK_PAID: &str = "mutation($orderId: ID!, $paymentId: ID!) { markOrderPaid(orderId: $orderId, paymentId: $paymentId) { id status } }";
pub const FOR_PAYMENT: &str =
    "query($id: ID!) { orderForPayment(id: $id) { id buyerId status total { amount currency } } }";

/// Which stores a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Mongo,
}

/// An orders service wired to a real inventory and a fake payments service.
pub struct TestEnv {
    pub state: AppState,
    pub repo: SharedRepository,
    pub signer: TokenSigner,
    pub inventory: Arc<dyn InventoryStore>,
    pub inventory_switch: Switch,
    pub payments: FakePayments,
    pub settings: OrdersSettings,
    /// Where the orders service calls inventory and payments.
    pub peers: storefront_orders::Peers,
    /// The orders database (MongoDB only), for a second replica.
    pub orders_db: Option<mongodb::Database>,
    _dirs: Vec<TempDir>,
}

impl TestEnv {
    /// Everything on the embedded stores, default settings.
    pub async fn new() -> Self {
        Self::with(Backend::Embedded, OrdersSettings::default())
            .await
            .expect("the embedded backend is always available")
    }

    /// Embedded stores with these settings.
    pub async fn with_settings(settings: OrdersSettings) -> Self {
        Self::with(Backend::Embedded, settings)
            .await
            .expect("the embedded backend is always available")
    }

    /// Orders and inventory on `backend`; `None` when MongoDB is not configured.
    pub async fn with(backend: Backend, settings: OrdersSettings) -> Option<Self> {
        init_logs();
        let mut dirs = Vec::new();
        let mut orders_db = None;
        let (repo, inventory): (SharedRepository, Arc<dyn InventoryStore>) = match backend {
            Backend::Embedded => {
                let dir = tempfile::tempdir().expect("temp dir");
                let repo = EmbeddedOrderRepository::open(&dir.path().join("orders"))
                    .expect("opens the embedded order store");
                let db = storefront_shared::store::open_embedded(&dir.path().join("inventory"))
                    .expect("opens the embedded inventory store");
                let inventory = storefront_inventory::store::embedded::EmbeddedStore::new(db)
                    .await
                    .expect("prepares the embedded inventory store");
                dirs.push(dir);
                (Arc::new(repo), Arc::new(inventory))
            }
            Backend::Mongo => {
                let db = storefront_shared::testing::mongo_database("orders").await?;
                orders_db = Some(db.clone());
                let repo = MongoOrderRepository::new(db)
                    .await
                    .expect("prepares the orders collection");
                let db = storefront_shared::testing::mongo_database("inventory").await?;
                let inventory = storefront_inventory::store::mongo::MongoStore::new(db)
                    .await
                    .expect("prepares the MongoDB inventory store");
                (Arc::new(repo), Arc::new(inventory))
            }
        };
        let signer = TokenSigner::new();
        let (inventory_url, inventory_switch) =
            serve_inventory(Arc::clone(&inventory), signer.authenticator()).await;
        let payments = FakePayments::start().await;
        let peers = storefront_orders::Peers {
            inventory_url,
            payments_url: payments.url.clone(),
        };
        let mut state = AppState::new(
            Arc::clone(&repo),
            &settings,
            &peers,
            Secret::new(SERVICE_TOKEN),
            signer.authenticator(),
        )
        .expect("builds the orders state");
        if let Some(db) = &orders_db {
            let events = storefront_orders::events::outbox(db, settings.outbox())
                .await
                .expect("prepares the events collection");
            state = state.with_events(events);
        }
        Some(TestEnv {
            state,
            repo,
            signer,
            inventory,
            inventory_switch,
            payments,
            settings,
            peers,
            orders_db,
            _dirs: dirs,
        })
    }

    /// A second orders process on the same MongoDB database (its own client,
    /// store and event poller), as another replica of the service; `None` on
    /// the embedded store, which one process owns.
    pub async fn replica(&self) -> Option<AppState> {
        let db = storefront_shared::testing::mongo_replica(self.orders_db.as_ref()?).await;
        let events = storefront_orders::events::outbox(&db, self.settings.outbox())
            .await
            .expect("prepares the events collection");
        let repo = MongoOrderRepository::new(db)
            .await
            .expect("prepares the orders collection");
        let state = AppState::new(
            Arc::new(repo),
            &self.settings,
            &self.peers,
            Secret::new(SERVICE_TOKEN),
            self.signer.authenticator(),
        )
        .expect("builds the replica's state")
        .with_events(events);
        Some(state)
    }

    /// Reads saved addresses from the users service at `url`.
    pub fn use_users(&mut self, url: &str) {
        self.state = self
            .state
            .clone()
            .with_users_url(url, Secret::new(SERVICE_TOKEN), Duration::from_secs(5))
            .expect("a users client");
    }

    /// Adds a product in USD.
    pub async fn product(&self, sku: &str, price: i64, stock: i64) {
        self.product_in(sku, price, "USD", stock).await;
    }

    pub async fn product_in(&self, sku: &str, price: i64, currency: &str, stock: i64) {
        let product = NewProduct::parse(sku, sku, "A test product.", price, currency, stock)
            .expect("valid test product");
        self.inventory
            .insert(product)
            .await
            .expect("inserts the product");
    }

    /// Units of `sku` available to buy now.
    pub async fn stock(&self, sku: &str) -> i64 {
        let sku = Sku::parse(sku).expect("valid sku");
        self.inventory
            .get(&sku)
            .await
            .expect("reads the product")
            .expect("the product exists")
            .available
    }

    /// Inventory's reservation status for an order (`None`: no reservation).
    pub async fn reservation_status(&self, order_id: &str) -> Option<String> {
        let id = InventoryOrderId::parse(order_id).expect("valid order id");
        self.inventory
            .reservation(&id)
            .await
            .expect("reads the reservation")
            .map(|r| format!("{:?}", r.status))
    }

    /// A token for a customer with this id.
    pub fn customer(&self, id: &str) -> String {
        self.signer.token(id, Role::Customer)
    }

    /// A token for an ADMIN.
    pub fn admin(&self) -> String {
        self.signer.token("admin-1", Role::Admin)
    }

    /// Runs `query` against the schema directly, as a user with `token` (if any).
    pub async fn execute(&self, query: &str, variables: Value, token: Option<&str>) -> Response {
        self.run(query, variables, token, None).await
    }

    /// Runs `query` as another service (with the service credential).
    pub async fn as_service(&self, query: &str, variables: Value) -> Response {
        self.run(query, variables, None, Some(SERVICE_TOKEN)).await
    }

    async fn run(
        &self,
        query: &str,
        variables: Value,
        token: Option<&str>,
        service_token: Option<&str>,
    ) -> Response {
        let authenticator = self.state.authenticator();
        let header = token.map(|t| format!("Bearer {t}"));
        let viewer: Viewer = authenticator.viewer(header.as_deref()).await;
        let service = authenticator.service_caller(service_token.map(str::as_bytes));
        let request = Request::new(query)
            .variables(Variables::from_json(variables))
            .data(viewer)
            .data(service);
        self.state.schema().execute(request).await
    }

    /// Places an order of `(sku, quantity)` lines as `token`'s user; the response.
    pub async fn create(&self, token: &str, lines: &[(&str, i64)]) -> Response {
        let items: Vec<Value> = lines
            .iter()
            .map(|(sku, quantity)| json!({ "sku": sku, "quantity": quantity }))
            .collect();
        self.execute(CREATE, json!({ "items": items }), Some(token))
            .await
    }

    /// Places an order that must succeed; its JSON.
    pub async fn create_ok(&self, token: &str, lines: &[(&str, i64)]) -> Value {
        let response = self.create(token, lines).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        json_of(&response)["data"]["createOrder"].clone()
    }

    /// Marks an order paid as payments would.
    pub async fn mark_paid(&self, order_id: &str, payment_id: &str) -> Response {
        self.as_service(
            MARK_PAID,
            json!({ "orderId": order_id, "paymentId": payment_id }),
        )
        .await
    }

    /// The stored order, in any state.
    pub async fn stored(&self, order_id: &str) -> Order {
        let id = OrderId::parse(order_id).expect("valid id");
        self.repo
            .find_by_id(&id)
            .await
            .expect("reads the order")
            .expect("the order is stored")
    }
}

/// Test logs (`RUST_LOG`, warnings by default), captured per test.
pub fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// Polls `check` until it holds, for at most five seconds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Counts every call that reaches the wrapped repository.
pub struct CountingRepository(Counting<SharedRepository>);

impl CountingRepository {
    pub fn new(inner: SharedRepository) -> Self {
        CountingRepository(Counting::new(inner))
    }
}

impl std::ops::Deref for CountingRepository {
    type Target = Counting<SharedRepository>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

#[async_trait]
impl OrderRepository for CountingRepository {
    async fn insert(&self, order: &Order) -> RepoResult<()> {
        self.count().insert(order).await
    }

    async fn find_by_id(&self, id: &OrderId) -> RepoResult<Option<Order>> {
        self.count().find_by_id(id).await
    }

    async fn find_by_ids(&self, ids: &[OrderId]) -> RepoResult<Vec<Order>> {
        self.count_batch().find_by_ids(ids).await
    }

    async fn list_by_buyer_in(
        &self,
        buyer_id: &str,
        page: &PageRequest,
        status: Option<OrderStatus>,
    ) -> RepoResult<OrderPage> {
        self.count().list_by_buyer_in(buyer_id, page, status).await
    }

    async fn transition(&self, id: &OrderId, change: &Transition) -> RepoResult<Option<Order>> {
        self.count().transition(id, change).await
    }

    async fn find_unfinished(&self, which: Unfinished, limit: usize) -> RepoResult<Vec<Order>> {
        self.count().find_unfinished(which, limit).await
    }

    async fn ping(&self) -> RepoResult<()> {
        self.count().ping().await
    }
}

#[async_trait]
impl ShopRepository for CountingRepository {
    async fn find_cart(&self, id: &str) -> RepoResult<Option<Cart>> {
        self.count().find_cart(id).await
    }

    async fn save_cart(&self, cart: &Cart) -> RepoResult<bool> {
        self.count().save_cart(cart).await
    }

    async fn delete_cart(&self, id: &str, version: i64) -> RepoResult<bool> {
        self.count().delete_cart(id, version).await
    }

    async fn delete_stale_carts(&self, before_ms: i64, limit: usize) -> RepoResult<usize> {
        self.count().delete_stale_carts(before_ms, limit).await
    }

    async fn insert_discount(&self, code: &DiscountCode) -> RepoResult<()> {
        self.count().insert_discount(code).await
    }

    async fn find_discount(&self, code: &str) -> RepoResult<Option<DiscountCode>> {
        self.count().find_discount(code).await
    }

    async fn list_discounts(&self) -> RepoResult<Vec<DiscountCode>> {
        self.count().list_discounts().await
    }

    async fn deactivate_discount(&self, code: &str) -> RepoResult<Option<DiscountCode>> {
        self.count().deactivate_discount(code).await
    }

    async fn claim_discount(&self, code: &str, order_id: &str) -> RepoResult<bool> {
        self.count().claim_discount(code, order_id).await
    }

    async fn release_discount(&self, code: &str, order_id: &str) -> RepoResult<bool> {
        self.count().release_discount(code, order_id).await
    }

    async fn find_checkout(&self, id: &str) -> RepoResult<Option<CheckoutRecord>> {
        self.count().find_checkout(id).await
    }

    async fn insert_checkout(&self, record: &CheckoutRecord) -> RepoResult<Option<CheckoutRecord>> {
        self.count().insert_checkout(record).await
    }

    async fn renew_checkout(
        &self,
        id: &str,
        old_order_id: &str,
        new_order_id: &str,
    ) -> RepoResult<bool> {
        self.count()
            .renew_checkout(id, old_order_id, new_order_id)
            .await
    }
}
