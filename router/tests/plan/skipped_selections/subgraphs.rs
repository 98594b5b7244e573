//! The four Storefront subgraphs, cut down to the fields these tests ask
//! for, as real async-graphql schemas (the engine of our subgraphs) served
//! over HTTP on port 0. Each records the request bodies it received.
//!
//! Data: products `p1` "Lamp" and `p2` "Desk" (one page); user `u1` "Ada"
//! (or no one signed in); order `o1` (PAID, 1200 EUR, paid by `pay1`) and
//! `o2` (no payment); `u1`'s orders are `o1` and `o2`.

use std::sync::{Arc, Mutex};

use async_graphql::{EmptyMutation, EmptySubscription, ID, Object, ObjectType, Schema};
use axum::Json;
use axum::Router;
use axum::routing::post;
use serde_json::Value;

/// One subgraph listening on `127.0.0.1:0`.
pub struct Served {
    /// Its GraphQL URL.
    pub url: String,
    received: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Served {
    /// The `query` text of every request received so far.
    pub fn queries(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|body| body["query"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// Serves `schema` at `/graphql`.
pub async fn serve<Q: ObjectType + 'static>(
    schema: Schema<Q, EmptyMutation, EmptySubscription>,
) -> Served {
    let received = Arc::new(Mutex::new(Vec::new()));
    let recorded = received.clone();
    let app = Router::new().route(
        "/graphql",
        post(move |Json(body): Json<Value>| {
            let (schema, recorded) = (schema.clone(), recorded.clone());
            async move {
                recorded.lock().unwrap().push(body.clone());
                let request: async_graphql::Request = serde_json::from_value(body).unwrap();
                Json(schema.execute(request).await)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Served {
        url,
        received,
        task,
    }
}

/// `Money` (inventory, orders and payments).
#[derive(Clone, async_graphql::SimpleObject)]
pub struct Money {
    amount: i32,
    currency: String,
}

fn euros(amount: i32) -> Money {
    Money {
        amount,
        currency: "EUR".into(),
    }
}

/// `PageInfo` (inventory and orders).
#[derive(Clone, async_graphql::SimpleObject)]
pub struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

fn last_page(end: &str) -> PageInfo {
    PageInfo {
        has_next_page: false,
        end_cursor: Some(end.into()),
    }
}

pub mod inventory {
    use super::*;

    #[derive(Clone, async_graphql::SimpleObject)]
    pub struct Product {
        sku: ID,
        name: String,
    }

    #[derive(async_graphql::SimpleObject)]
    pub struct ProductEdge {
        cursor: String,
        node: Product,
    }

    #[derive(async_graphql::SimpleObject)]
    pub struct ProductConnection {
        edges: Vec<ProductEdge>,
        page_info: PageInfo,
    }

    pub struct Query;

    #[Object]
    impl Query {
        async fn products(
            &self,
            #[graphql(default = 20)] first: i32,
            after: Option<String>,
            search: Option<String>,
        ) -> ProductConnection {
            let _ = (first, after, search);
            let edges = [("p1", "Lamp"), ("p2", "Desk")]
                .into_iter()
                .map(|(sku, name)| ProductEdge {
                    cursor: sku.into(),
                    node: Product {
                        sku: ID(sku.into()),
                        name: name.into(),
                    },
                })
                .collect();
            ProductConnection {
                edges,
                page_info: last_page("p2"),
            }
        }
    }

    pub fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}

pub mod users {
    use super::*;

    #[derive(async_graphql::SimpleObject)]
    pub struct User {
        id: ID,
        name: String,
    }

    /// `signed_in`: whether `me` is `u1` or null.
    pub struct Query {
        pub signed_in: bool,
    }

    #[Object]
    impl Query {
        async fn me(&self) -> Option<User> {
            self.signed_in.then(|| User {
                id: ID("u1".into()),
                name: "Ada".into(),
            })
        }
    }

    pub fn schema(signed_in: bool) -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query { signed_in }, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}

pub mod orders {
    use super::*;

    #[derive(Clone, async_graphql::SimpleObject)]
    pub struct Order {
        id: ID,
        status: String,
        total: Money,
    }

    fn order(id: &str) -> Order {
        Order {
            id: ID(id.into()),
            status: "PAID".into(),
            total: euros(1200),
        }
    }

    #[derive(async_graphql::SimpleObject)]
    pub struct OrderEdge {
        cursor: String,
        node: Order,
    }

    #[derive(async_graphql::SimpleObject)]
    pub struct OrderConnection {
        edges: Vec<OrderEdge>,
        page_info: PageInfo,
    }

    pub struct User {
        id: ID,
    }

    #[Object]
    impl User {
        async fn id(&self) -> &ID {
            &self.id
        }

        async fn orders(
            &self,
            #[graphql(default = 20)] first: i32,
            after: Option<String>,
        ) -> OrderConnection {
            let _ = (first, after);
            OrderConnection {
                edges: ["o1", "o2"]
                    .into_iter()
                    .map(|id| OrderEdge {
                        cursor: id.into(),
                        node: order(id),
                    })
                    .collect(),
                page_info: last_page("o2"),
            }
        }
    }

    pub struct Query;

    #[Object]
    impl Query {
        async fn order(&self, id: ID) -> Option<Order> {
            Some(order(&id))
        }

        #[graphql(entity)]
        async fn find_user_by_id(&self, id: ID) -> User {
            User { id }
        }
    }

    pub fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}

pub mod payments {
    use super::*;

    #[derive(async_graphql::SimpleObject)]
    pub struct Payment {
        id: ID,
        status: String,
        amount: Money,
    }

    pub struct Order {
        id: ID,
    }

    #[Object]
    impl Order {
        async fn id(&self) -> &ID {
            &self.id
        }

        /// `o1` is paid by `pay1`; other orders have no payment.
        async fn payment(&self) -> Option<Payment> {
            (self.id.as_str() == "o1").then(|| Payment {
                id: ID("pay1".into()),
                status: "SUCCEEDED".into(),
                amount: euros(1200),
            })
        }
    }

    pub struct Query;

    #[Object]
    impl Query {
        #[graphql(entity)]
        async fn find_order_by_id(&self, id: ID) -> Order {
            Order { id }
        }
    }

    pub fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}
