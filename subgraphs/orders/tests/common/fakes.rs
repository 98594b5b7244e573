//! The services around orders in tests: the real inventory app on port 0 behind
//! a [`Switch`], and a small fake payments service that records refunds.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use storefront_inventory::store::InventoryStore;
use storefront_shared::auth::{Authenticator, SERVICE_TOKEN_HEADER};

use super::SERVICE_TOKEN;

const UP: u8 = 0;
const DOWN: u8 = 1;
const LOSES_ANSWERS: u8 = 2;

/// Takes a served app down, or makes it do the work but lose the answer.
#[derive(Clone, Default)]
pub struct Switch(Arc<AtomicU8>);

impl Switch {
    /// Requests are served.
    pub fn up(&self) {
        self.0.store(UP, Ordering::SeqCst);
    }

    /// Requests fail with 503 before any work is done.
    pub fn down(&self) {
        self.0.store(DOWN, Ordering::SeqCst);
    }

    /// Requests are served, but the caller gets a 503 instead of the answer.
    pub fn lose_answers(&self) {
        self.0.store(LOSES_ANSWERS, Ordering::SeqCst);
    }

    fn state(&self) -> u8 {
        self.0.load(Ordering::SeqCst)
    }
}

async fn switched(State(switch): State<Switch>, request: Request, next: Next) -> Response {
    match switch.state() {
        DOWN => (StatusCode::SERVICE_UNAVAILABLE, "down for the test").into_response(),
        LOSES_ANSWERS => {
            drop(next.run(request).await);
            (StatusCode::SERVICE_UNAVAILABLE, "answer lost for the test").into_response()
        }
        _ => next.run(request).await,
    }
}

/// Serves `app` on a fresh port; its GraphQL URL.
pub async fn serve(app: Router) -> String {
    let addr = storefront_shared::testing::serve(app).await;
    format!("http://{addr}/graphql")
}

/// The real inventory app over `store`, served on port 0 behind a switch.
pub async fn serve_inventory(
    store: Arc<dyn InventoryStore>,
    authenticator: Authenticator,
) -> (String, Switch) {
    let state = storefront_inventory::AppState::new(store, authenticator);
    let switch = Switch::default();
    let app = storefront_inventory::app(state)
        .layer(middleware::from_fn_with_state(switch.clone(), switched));
    (serve(app).await, switch)
}

/// A stand-in for the payments service: answers `refundOrderPayment` and records
/// which orders it refunded (once per order, however often it is asked).
#[derive(Clone)]
pub struct FakePayments {
    pub url: String,
    pub switch: Switch,
    refunds: Arc<Mutex<Vec<String>>>,
}

impl FakePayments {
    pub async fn start() -> Self {
        let refunds = Arc::new(Mutex::new(Vec::new()));
        let switch = Switch::default();
        let recorded = Arc::clone(&refunds);
        let app = Router::new()
            .route(
                "/graphql",
                post(move |headers: axum::http::HeaderMap, body: axum::Json<Value>| {
                    let recorded = Arc::clone(&recorded);
                    async move {
                        let credential = headers
                            .get(SERVICE_TOKEN_HEADER)
                            .and_then(|v| v.to_str().ok());
                        if credential != Some(SERVICE_TOKEN) {
                            return axum::Json(json!({ "data": null, "errors": [{ "message": "no credential", "extensions": { "code": "UNAUTHENTICATED" } }] }));
                        }
                        let query = body["query"].as_str().unwrap_or_default();
                        if !query.contains("refundOrderPayment") {
                            return axum::Json(json!({ "data": null, "errors": [{ "message": "unknown operation" }] }));
                        }
                        let order_id = body["variables"]["orderId"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        // Idempotent per order, like payments: asking again is the same refund.
                        let mut refunded = recorded.lock().expect("not poisoned");
                        if !refunded.contains(&order_id) {
                            refunded.push(order_id);
                        }
                        axum::Json(json!({ "data": { "refundOrderPayment": { "refunded": true } } }))
                    }
                }),
            )
            .layer(middleware::from_fn_with_state(switch.clone(), switched));
        FakePayments {
            url: serve(app).await,
            switch,
            refunds,
        }
    }

    /// The orders refunded so far, in the order of their first refund.
    pub fn refunds(&self) -> Vec<String> {
        self.refunds.lock().expect("not poisoned").clone()
    }
}

/// A stand-in for the users service: answers `addressForCheckout` with one
/// saved address, `adas-address` of user `ada` (null for anything else).
pub struct FakeUsers {
    pub url: String,
}

impl FakeUsers {
    pub async fn start() -> Self {
        let app = Router::new().route(
            "/graphql",
            post(|headers: axum::http::HeaderMap, body: axum::Json<Value>| async move {
                let credential = headers
                    .get(SERVICE_TOKEN_HEADER)
                    .and_then(|v| v.to_str().ok());
                if credential != Some(SERVICE_TOKEN) {
                    return axum::Json(json!({ "data": null, "errors": [{ "message": "no credential", "extensions": { "code": "UNAUTHENTICATED" } }] }));
                }
                let variables = &body["variables"];
                let found = variables["userId"] == "ada" && variables["addressId"] == "adas-address";
                let address = found.then(|| json!({ "name": "Ada Lovelace", "line1": "12 St James's Square", "line2": null, "city": "London", "region": null, "postalCode": "SW1Y 4JH", "country": "GB", "phone": null }));
                axum::Json(json!({ "data": { "addressForCheckout": address } }))
            }),
        );
        FakeUsers {
            url: serve(app).await,
        }
    }
}
