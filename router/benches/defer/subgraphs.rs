//! The bench's two subgraphs (`async-graphql`), served by this bench binary
//! run again as `defer --serve-subgraphs <port> <payments delay in ms>`:
//!
//! ```graphql
//! # orders (POST /orders): answers at once
//! type Query { order(id: ID!): Order }
//! type Order @key(fields: "id") { id: ID!  status: String!  total: Int! }
//! # payments (POST /payments): every `_entities` answer waits the delay
//! type Order @key(fields: "id") { id: ID!  payment: Payment }
//! type Payment { status: String!  amount: Int! }
//! ```
//!
//! `GET /health` answers `ok`. The process serves until its stdin closes (the
//! bench ended) or it is killed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use async_graphql::{EmptyMutation, EmptySubscription, ID, Object, Schema, SimpleObject};
use axum::Router;
use axum::routing::{get, post};

use crate::execute::execute;
use crate::process::{self, Process};

/// The argument that makes the bench binary serve the subgraphs.
pub const SERVE_FLAG: &str = "--serve-subgraphs";

/// The subgraphs' names, which are also their paths.
pub const NAMES: [&str; 2] = ["orders", "payments"];

/// How long the subgraphs may take to answer `/health`.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// The status `orders` gives every order.
pub const ORDER_STATUS: &str = "PAID";

/// The status `payments` gives every order's payment.
pub const PAYMENT_STATUS: &str = "SUCCEEDED";

/// The total (and payment amount) of order `id`.
pub fn order_total(id: &str) -> i32 {
    id.bytes()
        .fold(11i32, |acc, b| {
            acc.wrapping_mul(31).wrapping_add(i32::from(b))
        })
        .rem_euclid(100_000)
}

mod orders {
    use super::*;

    #[derive(SimpleObject)]
    pub struct Order {
        id: ID,
        status: String,
        total: i32,
    }

    impl Order {
        fn new(id: ID) -> Self {
            Order {
                total: order_total(&id),
                status: ORDER_STATUS.to_owned(),
                id,
            }
        }
    }

    pub struct Query;

    #[Object]
    impl Query {
        async fn order(&self, id: ID) -> Option<Order> {
            Some(Order::new(id))
        }

        #[graphql(entity)]
        async fn find_order_by_id(&self, id: ID) -> Order {
            Order::new(id)
        }
    }

    pub fn schema() -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}

mod payments {
    use super::*;

    #[derive(SimpleObject)]
    pub struct Payment {
        status: String,
        amount: i32,
    }

    #[derive(SimpleObject)]
    pub struct Order {
        id: ID,
        payment: Option<Payment>,
    }

    pub struct Query {
        pub delay: Duration,
    }

    #[Object]
    impl Query {
        /// Not used by the bench's query; a subgraph needs a root field.
        async fn payments_version(&self) -> i32 {
            1
        }

        /// The slow subgraph: every order's payment arrives `delay` late.
        #[graphql(entity)]
        async fn find_order_by_id(&self, id: ID) -> Order {
            tokio::time::sleep(self.delay).await;
            Order {
                payment: Some(Payment {
                    status: PAYMENT_STATUS.to_owned(),
                    amount: order_total(&id),
                }),
                id,
            }
        }
    }

    pub fn schema(delay: Duration) -> Schema<Query, EmptyMutation, EmptySubscription> {
        Schema::build(Query { delay }, EmptyMutation, EmptySubscription)
            .enable_federation()
            .finish()
    }
}

/// The subgraphs' process (`--serve-subgraphs <port> <delay ms>`).
pub fn serve(args: &[String]) -> anyhow::Result<()> {
    let [port, delay_ms] = args else {
        bail!("usage: defer {SERVE_FLAG} <port> <payments delay in ms>");
    };
    let port: u16 = port
        .parse()
        .with_context(|| format!("`{port}` is not a port"))?;
    let delay = Duration::from_millis(
        delay_ms
            .parse()
            .with_context(|| format!("`{delay_ms}` is not a number of milliseconds"))?,
    );
    process::serve_until_stdin_closes(port, move || app(delay))
}

fn app(delay: Duration) -> Router {
    let orders = orders::schema();
    let payments = payments::schema(delay);
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/orders",
            post(move |body: axum::body::Bytes| execute(orders.clone(), body)),
        )
        .route(
            "/payments",
            post(move |body: axum::body::Bytes| execute(payments.clone(), body)),
        )
}

/// The bench's handle on the subgraphs' process.
pub struct Subgraphs {
    pub process: Process,
    pub addr: SocketAddr,
}

impl Subgraphs {
    /// Starts them (payments `delay` late) and waits until they answer.
    pub async fn start(
        delay: Duration,
        stderr: PathBuf,
        client: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let args = |port: u16| {
            vec![
                SERVE_FLAG.into(),
                port.to_string().into(),
                delay.as_millis().to_string().into(),
            ]
        };
        let (process, addr) =
            process::start_serving(args, None, stderr, client, START_DEADLINE).await?;
        Ok(Subgraphs { process, addr })
    }

    /// The supergraph of both, composed by this tree's composition from
    /// their `_service { sdl }`.
    pub async fn supergraph(&self) -> anyhow::Result<String> {
        let urls: Vec<(String, String)> = NAMES
            .iter()
            .map(|name| ((*name).to_owned(), format!("http://{}/{name}", self.addr)))
            .collect();
        let client = storefront_router::client::SubgraphClient::new(
            storefront_router::settings::Timeouts::default(),
        )
        .context("cannot build the subgraph client")?;
        storefront_router::source::compose_live(&client, &urls)
            .await
            .context("cannot compose the subgraphs")
    }
}
