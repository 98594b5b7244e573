//! The four subgraphs of the graphql-gateways-benchmark workload, as real
//! Federation 2 subgraphs (`async-graphql`, `_service { sdl }` and
//! `_entities`), served over HTTP on one listener at `127.0.0.1:0` under
//! `/accounts`, `/inventory`, `/products` and `/reviews` (as the benchmark's
//! subgraph server does):
//!
//! ```graphql
//! # accounts
//! type Query { me: User  user(id: ID!): User  users: [User] }
//! type User @key(fields: "id") { id: ID!  name: String  username: String @shareable  birthday: Int }
//! # inventory
//! type Product @key(fields: "upc") {
//!   upc: String!  weight: Int @external  price: Int @external  inStock: Boolean
//!   shippingEstimate: Int @requires(fields: "price weight")
//! }
//! # products
//! type Query { topProducts(first: Int = 5): [Product] }
//! type Product @key(fields: "upc") { upc: String!  name: String  price: Int  weight: Int }
//! # reviews
//! type Review @key(fields: "id") { id: ID!  body: String  product: Product  author: User @provides(fields: "username") }
//! type User @key(fields: "id") { id: ID!  username: String @external  reviews: [Review] }
//! type Product @key(fields: "upc") { upc: String!  reviews: [Review] }
//! ```
//!
//! **Memoised**: each subgraph keeps the response to every distinct request
//! body it has answered (up to [`MEMO_ENTRIES`]) and answers the same body
//! again from memory. The workload repeats one query, so after the first
//! request the router's fetches cost the subgraphs — which share a core with
//! the load generator — a map lookup, and the figures measure the router.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use async_graphql::{
    ComplexObject, EmptyMutation, EmptySubscription, Executor, ID, Object, Schema, SimpleObject,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt as _;

use crate::data;

/// The most distinct request bodies a subgraph remembers; beyond that it
/// executes every new body (still correct, only slower).
pub const MEMO_ENTRIES: usize = 4096;

/// The subgraphs' names, as the router's `join__Graph` names them.
pub const NAMES: [&str; 4] = ["accounts", "inventory", "products", "reviews"];

mod accounts {
    use super::*;

    #[derive(SimpleObject)]
    pub struct User {
        id: ID,
        name: Option<String>,
        #[graphql(shareable)]
        username: Option<String>,
        birthday: Option<i32>,
    }

    impl From<&data::User> for User {
        fn from(user: &data::User) -> Self {
            User {
                id: ID(user.id.into()),
                name: Some(user.name.into()),
                username: Some(user.username.into()),
                birthday: Some(user.birthday),
            }
        }
    }

    pub struct Query;

    #[Object]
    impl Query {
        async fn me(&self) -> Option<User> {
            Some(data::AUTHOR.into())
        }

        async fn user(&self, id: ID) -> Option<User> {
            data::user_by_id(&id).map(User::from)
        }

        async fn users(&self) -> Option<Vec<Option<User>>> {
            Some(data::USERS.iter().map(|u| Some(u.into())).collect())
        }

        #[graphql(entity)]
        async fn find_user_by_id(&self, id: ID) -> Option<User> {
            data::user_by_id(&id).map(User::from)
        }
    }

    pub fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}

mod inventory {
    use super::*;

    #[derive(SimpleObject)]
    #[graphql(complex)]
    pub struct Product {
        upc: String,
        #[graphql(external)]
        weight: Option<i64>,
        #[graphql(external)]
        price: Option<i64>,
        in_stock: Option<bool>,
    }

    #[ComplexObject]
    impl Product {
        #[graphql(requires = "price weight")]
        async fn shipping_estimate(&self) -> Option<i64> {
            data::shipping_estimate(self.price, self.weight)
        }
    }

    pub struct Query;

    #[Object]
    impl Query {
        /// `price` and `weight` come from the representation (`@requires`).
        #[graphql(entity)]
        async fn find_product_by_upc(
            &self,
            #[graphql(key)] upc: String,
            price: Option<i64>,
            weight: Option<i64>,
        ) -> Option<Product> {
            data::product_by_upc(&upc).map(|p| Product {
                upc: p.upc.into(),
                weight,
                price,
                in_stock: Some(p.in_stock),
            })
        }
    }

    pub fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}

mod products {
    use super::*;

    #[derive(SimpleObject)]
    pub struct Product {
        upc: String,
        name: Option<String>,
        price: Option<i64>,
        weight: Option<i64>,
    }

    impl From<&data::Product> for Product {
        fn from(p: &data::Product) -> Self {
            Product {
                upc: p.upc.into(),
                name: Some(p.name.into()),
                price: Some(p.price),
                weight: Some(p.weight),
            }
        }
    }

    pub struct Query;

    #[Object]
    impl Query {
        async fn top_products(
            &self,
            #[graphql(default = 5)] first: Option<i32>,
        ) -> Option<Vec<Option<Product>>> {
            let first = first.unwrap_or(data::TOP_PRODUCTS_DEFAULT).max(0);
            Some(
                data::PRODUCTS
                    .iter()
                    .take(usize::try_from(first).unwrap_or(0))
                    .map(|p| Some(p.into()))
                    .collect(),
            )
        }

        #[graphql(entity)]
        async fn find_product_by_upc(&self, upc: String) -> Option<Product> {
            data::product_by_upc(&upc).map(Product::from)
        }
    }

    pub fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}

mod reviews {
    use super::*;

    #[derive(SimpleObject)]
    #[graphql(complex)]
    pub struct Review {
        id: ID,
        body: Option<String>,
        #[graphql(skip)]
        product_upc: String,
    }

    impl From<&data::Review> for Review {
        fn from(r: &data::Review) -> Self {
            Review {
                id: ID(r.id.into()),
                body: Some(r.body.into()),
                product_upc: r.product_upc.into(),
            }
        }
    }

    #[ComplexObject]
    impl Review {
        async fn product(&self) -> Option<Product> {
            Some(Product {
                upc: self.product_upc.clone(),
            })
        }

        #[graphql(provides = "username")]
        async fn author(&self) -> Option<User> {
            Some(User {
                id: ID(data::AUTHOR.id.into()),
                username: Some(data::AUTHOR.username.into()),
            })
        }
    }

    #[derive(SimpleObject)]
    #[graphql(complex)]
    pub struct User {
        id: ID,
        #[graphql(external)]
        username: Option<String>,
    }

    #[ComplexObject]
    impl User {
        async fn reviews(&self) -> Option<Vec<Option<Review>>> {
            Some(
                data::reviews_of_user()
                    .iter()
                    .map(|r| Some(r.into()))
                    .collect(),
            )
        }
    }

    #[derive(SimpleObject)]
    #[graphql(complex)]
    pub struct Product {
        upc: String,
    }

    #[ComplexObject]
    impl Product {
        async fn reviews(&self) -> Option<Vec<Option<Review>>> {
            Some(
                data::reviews_of_product(&self.upc)
                    .map(|r| Some(r.into()))
                    .collect(),
            )
        }
    }

    pub struct Query;

    #[Object]
    impl Query {
        #[graphql(entity)]
        async fn find_review_by_id(&self, id: ID) -> Option<Review> {
            data::review_by_id(&id).map(Review::from)
        }

        #[graphql(entity)]
        async fn find_user_by_id(&self, id: ID) -> User {
            User { id, username: None }
        }

        #[graphql(entity)]
        async fn find_product_by_upc(&self, upc: String) -> Product {
            Product { upc }
        }
    }

    pub fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}

type Execute = dyn Fn(async_graphql::Request) -> Pin<Box<dyn Future<Output = async_graphql::Response> + Send>>
    + Send
    + Sync;

/// One subgraph behind its path: its schema and its memo.
struct Subgraph {
    execute: Box<Execute>,
    memo: Mutex<HashMap<Bytes, Bytes>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Subgraph {
    fn new<E: Executor + Clone>(schema: E) -> Arc<Self> {
        Arc::new(Subgraph {
            execute: Box::new(move |request| {
                let schema = schema.clone();
                Box::pin(async move { schema.execute(request).await })
            }),
            memo: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    fn remembered(&self, body: &Bytes) -> Option<Bytes> {
        let memo = self
            .memo
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        memo.get(body).cloned()
    }

    fn remember(&self, body: Bytes, answer: Bytes) {
        let mut memo = self
            .memo
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if memo.len() < MEMO_ENTRIES {
            memo.insert(body, answer);
        }
    }
}

/// The running subgraphs.
pub struct Subgraphs {
    addr: SocketAddr,
    subgraphs: Vec<(&'static str, Arc<Subgraph>)>,
}

/// How often the subgraphs answered from memory, and how often they executed.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoStats {
    pub hits: u64,
    pub misses: u64,
}

impl Subgraphs {
    /// Starts the four subgraphs on `127.0.0.1:0` (on the current runtime).
    pub async fn start() -> anyhow::Result<Self> {
        let subgraphs = vec![
            ("accounts", Subgraph::new(accounts::schema())),
            ("inventory", Subgraph::new(inventory::schema())),
            ("products", Subgraph::new(products::schema())),
            ("reviews", Subgraph::new(reviews::schema())),
        ];
        let mut app = Router::new();
        for (name, subgraph) in &subgraphs {
            app = app.route(
                &format!("/{name}"),
                post(graphql).with_state(subgraph.clone()),
            );
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind the subgraphs' listener")?;
        let addr = listener.local_addr().context("the subgraphs' address")?;
        // Without TCP_NODELAY a small answer can wait for the router's delayed ACK.
        let listener = listener.tap_io(|stream| {
            let _ = stream.set_nodelay(true);
        });
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("gateway bench: the subgraph server stopped: {error}");
            }
        });
        Ok(Subgraphs { addr, subgraphs })
    }

    /// Each subgraph's name and GraphQL URL.
    pub fn urls(&self) -> Vec<(String, String)> {
        NAMES
            .iter()
            .map(|name| (name.to_string(), format!("http://{}/{name}", self.addr)))
            .collect()
    }

    /// The memo counters, summed over the four subgraphs.
    pub fn memo_stats(&self) -> MemoStats {
        self.subgraphs
            .iter()
            .fold(MemoStats::default(), |stats, (_, s)| MemoStats {
                hits: stats.hits + s.hits.load(Ordering::Relaxed),
                misses: stats.misses + s.misses.load(Ordering::Relaxed),
            })
    }
}

/// `POST /<subgraph>`: a GraphQL request in JSON, answered from the memo or
/// by executing it.
async fn graphql(State(subgraph): State<Arc<Subgraph>>, body: Bytes) -> Response {
    if let Some(answer) = subgraph.remembered(&body) {
        subgraph.hits.fetch_add(1, Ordering::Relaxed);
        return json(answer);
    }
    subgraph.misses.fetch_add(1, Ordering::Relaxed);
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not a GraphQL request: {error}"),
            )
                .into_response();
        }
    };
    let response = (subgraph.execute)(request).await;
    match serde_json::to_vec(&response) {
        Ok(answer) => {
            let answer = Bytes::from(answer);
            subgraph.remember(body, answer.clone());
            json(answer)
        }
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

fn json(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
