//! Helpers for the payments subgraph's integration tests: a fake orders service
//! (axum on port 0) implementing the orders contract, and a payments service
//! over an embedded store and the sandbox provider (token signing and response
//! helpers come from `storefront_shared::testing`).
#![allow(dead_code, unused_imports)] // each test binary uses a different part

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::{Request, Response, Variables};
use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::post;
use serde_json::{Value, json};
use storefront_payments::AppState;
use storefront_payments::clients::OrdersClient;
use storefront_payments::domain::{IdempotencyRecord, Payment, PaymentState};
use storefront_payments::flow::{Payments, Timing};
use storefront_payments::provider::SandboxProvider;
use storefront_payments::store::{
    Change, Condition, EmbeddedPaymentRepository, GuardClaim, PaymentRepository, RepoResult,
    SharedRepository,
};
use storefront_shared::auth::{Authenticator, Role, SERVICE_TOKEN_HEADER, ServiceCaller};
use storefront_shared::client::ServiceClient;
use storefront_shared::settings::Secret;
use storefront_shared::testing::Counting;
pub use storefront_shared::testing::{
    SERVICE_TOKEN, TokenSigner, response_json as json, serve, single_error,
};

/// The provider timeout the tests use.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_millis(300);

pub const PAY: &str = "mutation($orderId: ID!, $token: String!, $key: String!) { payOrder(orderId: $orderId, paymentToken: $token, idempotencyKey: $key) { id status providerReference createdAt amount { amount currency } order { id } } }";
pub const REFUND: &str =
    "mutation($orderId: ID!) { refundOrderPayment(orderId: $orderId) { refunded } }";
pub const ORDER_PAYMENT: &str = "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Order { id payment { id status } } } }";

/// An order as the fake orders service keeps it.
#[derive(Clone, Debug)]
pub struct FakeOrder {
    pub buyer_id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
}

/// The fake orders service's state; tests change it and read what it was asked.
#[derive(Default)]
pub struct OrdersState {
    pub orders: Mutex<HashMap<String, FakeOrder>>,
    /// `(orderId, paymentId)` of every markOrderPaid call that was answered.
    pub marked: Mutex<Vec<(String, String)>>,
    /// Answer every request with HTTP 503 (orders is down).
    pub down: AtomicBool,
    /// Answer markOrderPaid (only) with HTTP 503, as if orders went down after the check.
    pub mark_down: AtomicBool,
    /// Answer markOrderPaid with INVALID_STATE.
    pub refuse_payment: AtomicBool,
    pub requests_without_credential: AtomicUsize,
    /// Stored into `repo` when orderForPayment is next asked, and the order shown
    /// PAID: a duplicate request with the same key paid it meanwhile.
    pub paid_meanwhile: Mutex<Option<(SharedRepository, Payment)>>,
}

impl OrdersState {
    pub fn add(&self, id: &str, buyer_id: &str, amount: i64) {
        self.orders.lock().expect("lock").insert(
            id.into(),
            FakeOrder {
                buyer_id: buyer_id.into(),
                status: "PENDING_PAYMENT".into(),
                amount,
                currency: "USD".into(),
            },
        );
    }

    pub fn set_status(&self, id: &str, status: &str) {
        if let Some(order) = self.orders.lock().expect("lock").get_mut(id) {
            order.status = status.into();
        }
    }

    pub fn status(&self, id: &str) -> String {
        self.orders.lock().expect("lock")[id].status.clone()
    }

    pub fn marked(&self) -> Vec<(String, String)> {
        self.marked.lock().expect("lock").clone()
    }
}

fn graphql_error(code: &str, message: &str) -> HttpResponse {
    axum::Json(
        json!({ "data": null, "errors": [{ "message": message, "extensions": { "code": code } }] }),
    )
    .into_response()
}

async fn orders_endpoint(
    State(state): State<Arc<OrdersState>>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> HttpResponse {
    if state.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "orders is down").into_response();
    }
    let credential = headers
        .get(SERVICE_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok());
    if credential != Some(SERVICE_TOKEN) {
        state
            .requests_without_credential
            .fetch_add(1, Ordering::SeqCst);
        return graphql_error("UNAUTHENTICATED", "service credential needed");
    }
    let query = body["query"].as_str().unwrap_or_default();
    let variables = &body["variables"];
    if query.contains("orderForPayment") {
        let id = variables["id"].as_str().unwrap_or_default();
        let meanwhile = state.paid_meanwhile.lock().expect("lock").take();
        if let Some((repo, payment)) = meanwhile {
            assert!(
                repo.insert_payment(&payment).await.expect("stores"),
                "inserted"
            );
            state.set_status(id, "PAID");
        }
        let order = state.orders.lock().expect("lock").get(id).cloned();
        let answer = order.map(|o| {
            json!({ "id": id, "buyerId": o.buyer_id, "status": o.status,
                    "total": { "amount": o.amount, "currency": o.currency } })
        });
        return axum::Json(json!({ "data": { "orderForPayment": answer } })).into_response();
    }
    if query.contains("markOrderPaid") {
        let order_id = variables["orderId"].as_str().unwrap_or_default().to_owned();
        let payment_id = variables["paymentId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if state.mark_down.load(Ordering::SeqCst) {
            return (StatusCode::SERVICE_UNAVAILABLE, "orders is down").into_response();
        }
        if state.refuse_payment.load(Ordering::SeqCst) {
            return graphql_error("INVALID_STATE", "the order was cancelled");
        }
        let mut orders = state.orders.lock().expect("lock");
        let Some(order) = orders.get_mut(&order_id) else {
            return graphql_error("NOT_FOUND", "no such order");
        };
        order.status = "PAID".into();
        drop(orders);
        state
            .marked
            .lock()
            .expect("lock")
            .push((order_id.clone(), payment_id));
        return axum::Json(
            json!({ "data": { "markOrderPaid": { "id": order_id, "status": "PAID" } } }),
        )
        .into_response();
    }
    graphql_error("BAD_REQUEST", "unknown operation")
}

/// Starts a fake orders service; its GraphQL URL and state.
pub async fn fake_orders() -> (String, Arc<OrdersState>) {
    let state = Arc::new(OrdersState::default());
    let app = Router::new()
        .route("/graphql", post(orders_endpoint))
        .with_state(Arc::clone(&state));
    let addr = serve(app).await;
    (format!("http://{addr}/graphql"), state)
}

/// A payments service over a fresh embedded store, the sandbox and a fake orders service.
pub struct TestService {
    pub state: AppState,
    pub repo: SharedRepository,
    pub sandbox: Arc<SandboxProvider>,
    pub orders: Arc<OrdersState>,
    pub signer: TokenSigner,
    pub authenticator: Authenticator,
    _dir: tempfile::TempDir,
}

impl TestService {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo: SharedRepository =
            Arc::new(EmbeddedPaymentRepository::open(dir.path()).expect("embedded store opens"));
        Self::over(repo, dir).await
    }

    pub async fn over(repo: SharedRepository, dir: tempfile::TempDir) -> Self {
        let (orders_url, orders) = fake_orders().await;
        let sandbox = Arc::new(SandboxProvider::new(PROVIDER_TIMEOUT));
        let client = ServiceClient::new(
            "orders",
            orders_url,
            Secret::new(SERVICE_TOKEN),
            Duration::from_secs(2),
        )
        .expect("orders client");
        let timing = Timing {
            wait_for_duplicate: Duration::from_secs(5),
            poll_interval: Duration::from_millis(10),
            resume_processing_after: Duration::ZERO,
        };
        let payments = Payments::new(
            Arc::clone(&repo),
            sandbox.clone(),
            OrdersClient::new(client),
            timing,
        );
        let signer = TokenSigner::new();
        let authenticator = signer.authenticator();
        let state = AppState::new(payments, authenticator.clone());
        TestService {
            state,
            repo,
            sandbox,
            orders,
            signer,
            authenticator,
            _dir: dir,
        }
    }

    pub fn token(&self, user: &str) -> String {
        self.signer.token(user, Role::Customer)
    }

    pub fn admin_token(&self, user: &str) -> String {
        self.signer.token(user, Role::Admin)
    }

    /// Runs `query` against the schema directly, as the caller with `token` (if any).
    pub async fn execute(&self, query: &str, variables: Value, token: Option<&str>) -> Response {
        let header = token.map(|t| format!("Bearer {t}"));
        let viewer = self.authenticator.viewer(header.as_deref()).await;
        let request = Request::new(query)
            .variables(Variables::from_json(variables))
            .data(viewer)
            .data(ServiceCaller(false));
        self.state.schema().execute(request).await
    }

    /// Runs `query` as another service (with the service credential).
    pub async fn execute_as_service(&self, query: &str, variables: Value) -> Response {
        let request = Request::new(query)
            .variables(Variables::from_json(variables))
            .data(ServiceCaller(true));
        self.state.schema().execute(request).await
    }

    /// `payOrder` as `user`.
    pub async fn pay(&self, user: &str, order_id: &str, token: &str, key: &str) -> Response {
        self.execute(
            PAY,
            json!({ "orderId": order_id, "token": token, "key": key }),
            Some(&self.token(user)),
        )
        .await
    }
}

/// `data.payOrder` of a successful call.
pub fn paid(response: &Response) -> Value {
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    json(response)["data"]["payOrder"].clone()
}

/// A settled payment straight into a store.
pub fn payment(id: &str, order_id: &str, state: PaymentState, created_at_ms: i64) -> Payment {
    Payment {
        id: id.into(),
        order_id: order_id.into(),
        buyer_id: "buyer-1".into(),
        amount: 1500,
        currency: "USD".into(),
        token: "tok_visa".into(),
        state,
        provider_reference: state.was_charged().then(|| format!("ch_{id}")),
        decline_reason: None,
        refund_reference: None,
        order_notified: true,
        attempt: 1,
        lease_until_ms: 0,
        created_at_ms,
        updated_at_ms: created_at_ms,
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
impl PaymentRepository for CountingRepository {
    async fn record_idempotency_key(
        &self,
        record: &IdempotencyRecord,
    ) -> RepoResult<Option<IdempotencyRecord>> {
        self.count().record_idempotency_key(record).await
    }

    async fn insert_payment(&self, payment: &Payment) -> RepoResult<bool> {
        self.count().insert_payment(payment).await
    }

    async fn find_payment(&self, id: &str) -> RepoResult<Option<Payment>> {
        self.count().find_payment(id).await
    }

    async fn find_payments(&self, ids: &[String]) -> RepoResult<Vec<Payment>> {
        self.count_batch().find_payments(ids).await
    }

    async fn payments_for_orders(&self, order_ids: &[String]) -> RepoResult<Vec<Payment>> {
        self.count_batch().payments_for_orders(order_ids).await
    }

    async fn update_payment(
        &self,
        id: &str,
        condition: &Condition,
        change: &Change,
    ) -> RepoResult<Option<Payment>> {
        self.count().update_payment(id, condition, change).await
    }

    async fn claim_order(
        &self,
        order_id: &str,
        payment_id: &str,
        expected_holder: &str,
    ) -> RepoResult<GuardClaim> {
        self.count()
            .claim_order(order_id, payment_id, expected_holder)
            .await
    }

    async fn release_order(&self, order_id: &str, payment_id: &str) -> RepoResult<bool> {
        self.count().release_order(order_id, payment_id).await
    }

    async fn payments_needing_attention(
        &self,
        processing_created_before_ms: i64,
        now_ms: i64,
    ) -> RepoResult<Vec<Payment>> {
        self.count()
            .payments_needing_attention(processing_created_before_ms, now_ms)
            .await
    }

    async fn ping(&self) -> RepoResult<()> {
        self.count().ping().await
    }
}
