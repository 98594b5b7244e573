//! The inventory's GraphQL API, executed against the schema directly (with the caller
//! in the request data) and over HTTP through `app(state)` with signed test tokens.

#[path = "../common/mod.rs"]
mod common;

mod catalogue;
mod categories;
mod http;
mod internal;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::{Request, Variables};
use async_trait::async_trait;
use axum::body::Body;
use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use storefront_inventory::domain::{
    ListRequest, NewProduct, Product, ProductFilter, ProductPage, ProductPatch, Quantity, Sku,
};
use storefront_inventory::graphql::InventorySchema;
use storefront_inventory::store::{ProductRepository, StoreResult};
use storefront_inventory::{AppState, app};
use storefront_shared::auth::{AUDIENCE, Claims, ISSUER, Role, ServiceCaller, Viewer};
use storefront_shared::testing::send;
use tempfile::TempDir;

/// Counts the calls that reach the catalogue store.
struct CountingProducts {
    inner: Arc<dyn ProductRepository>,
    get_many_calls: AtomicUsize,
    get_calls: AtomicUsize,
}

#[async_trait]
impl ProductRepository for CountingProducts {
    async fn insert(&self, product: NewProduct) -> StoreResult<Product> {
        self.inner.insert(product).await
    }
    async fn get(&self, sku: &Sku) -> StoreResult<Option<Product>> {
        self.get_calls.fetch_add(1, Ordering::SeqCst);
        self.inner.get(sku).await
    }
    async fn get_many(&self, skus: &[Sku]) -> StoreResult<Vec<Product>> {
        self.get_many_calls.fetch_add(1, Ordering::SeqCst);
        self.inner.get_many(skus).await
    }
    async fn list(&self, request: &ListRequest) -> StoreResult<ProductPage> {
        self.inner.list(request).await
    }
    async fn count(&self, filter: &ProductFilter) -> StoreResult<u64> {
        self.inner.count(filter).await
    }
    async fn update(&self, sku: &Sku, patch: &ProductPatch) -> StoreResult<Product> {
        self.inner.update(sku, patch).await
    }
    async fn set_archived(&self, sku: &Sku, archived: bool) -> StoreResult<Product> {
        self.inner.set_archived(sku, archived).await
    }
    async fn restock(&self, sku: &Sku, quantity: Quantity) -> StoreResult<Product> {
        self.inner.restock(sku, quantity).await
    }
    async fn is_empty(&self) -> StoreResult<bool> {
        self.inner.is_empty().await
    }
    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }
}

struct Harness {
    _dir: TempDir,
    state: AppState,
    counting: Arc<CountingProducts>,
    schema: InventorySchema,
    signer: common::TokenSigner,
}

async fn harness() -> Harness {
    let (dir, store) = common::embedded_store().await;
    common::add(
        store.as_ref(),
        &[
            ("MUG-1", "Blue Coffee Mug", 1250, 10),
            ("MUG-2", "Travel Mug", 2400, 0),
            ("TEE-1", "Organic T-Shirt", 2900, 5),
            ("CAP-1", "Baseball Cap", 1900, 3),
            ("SOCK-1", "Wool Socks", 900, 20),
        ],
    )
    .await;
    let counting = Arc::new(CountingProducts {
        inner: store.clone(),
        get_many_calls: AtomicUsize::new(0),
        get_calls: AtomicUsize::new(0),
    });
    let (signer, authenticator) = common::TokenSigner::new();
    let state = AppState {
        products: counting.clone(),
        categories: store.clone(),
        stock: store,
        authenticator,
        limits: Default::default(),
        events: storefront_inventory::events::StockEvents::in_process(),
    };
    let schema = state.schema();
    Harness {
        _dir: dir,
        state,
        counting,
        schema,
        signer,
    }
}

#[derive(Clone, Copy)]
enum Caller {
    Anonymous,
    Customer,
    Admin,
    Service,
}

fn claims(role: Role) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: "u-1".into(),
        role,
        iat: now,
        exp: now + 600,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        jti: "t-1".into(),
        ver: 0,
    }
}

impl Harness {
    /// Executes against the schema directly; returns the whole response as JSON.
    async fn execute(&self, caller: Caller, query: &str, variables: Value) -> Value {
        let viewer = match caller {
            Caller::Customer => Viewer::User(claims(Role::Customer)),
            Caller::Admin => Viewer::User(claims(Role::Admin)),
            Caller::Anonymous | Caller::Service => Viewer::Anonymous,
        };
        let request = Request::new(query)
            .variables(Variables::from_json(variables))
            .data(viewer)
            .data(ServiceCaller(matches!(caller, Caller::Service)));
        let response = self.schema.execute(request).await;
        serde_json::to_value(&response).expect("the response serializes")
    }

    /// Posts to `/graphql` with optional headers; returns status and JSON body.
    async fn post(&self, body: &str, headers: &[(&str, String)]) -> (StatusCode, Value) {
        let mut request =
            axum::http::Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request.body(Body::from(body.to_owned())).expect("request");
        send(app(self.state.clone()), request).await
    }
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<no error>")
}

fn message(response: &Value) -> &str {
    response["errors"][0]["message"].as_str().unwrap_or("")
}

const PRODUCTS: &str = "query($first: Int, $after: String, $search: String) {
  products(first: $first, after: $after, search: $search) {
    edges { cursor node { sku name stock inStock price { amount currency } } }
    pageInfo { hasNextPage endCursor }
  }
}";

const CREATE: &str = "mutation($input: CreateProductInput!) {
  createProduct(input: $input) { sku name description stock inStock price { amount currency } }
}";

const RESTOCK: &str = "mutation($sku: ID!, $quantity: Int!) { restock(sku: $sku, quantity: $quantity) { sku stock inStock } }";

const RESERVE: &str = "mutation($orderId: ID!, $lines: [StockLineInput!]!) {
  reserveStock(orderId: $orderId, lines: $lines) { orderId status lines { sku quantity unitPrice { amount currency } } }
}";

fn skus(response: &Value) -> Vec<String> {
    response["data"]["products"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"]["sku"].as_str().expect("sku").to_owned())
        .collect()
}

fn create_input(sku: &str) -> Value {
    json!({ "input": { "sku": sku, "name": "Linen Apron", "description": "Stone-washed linen.", "price": 3400, "currency": "USD", "stock": 12 } })
}
