//! Two small subgraphs as real async-graphql schemas, served on port 0:
//! `orders` (HTTP and `graphql-transport-ws` on `/graphql`, the way
//! async-graphql serves subscriptions) and `payments` (HTTP).
//!
//! - orders: `Query.order(id)`, `Subscription.orderUpdated(id)` (an event
//!   each time the test [`Orders::publish`]es a status for that id),
//!   `Subscription.countdown(from)` (`from` … 1, then complete),
//!   `Order @key(id) { id status }`.
//! - payments: `Order @key(id) { payment: Payment }`, `Payment { status }`
//!   (`SUCCEEDED` when the order is PAID, else `null`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::http::{
    WebSocket as GraphqlWebSocket, WebSocketProtocols as Protocols, WsMessage,
};
use async_graphql::{
    Context, Data, EmptyMutation, EmptySubscription, ID, Object, Schema, Subscription,
};
use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::routing::get;
use futures::{SinkExt, Stream, StreamExt};
use serde_json::Value;
use tokio::sync::{broadcast, watch};

/// The federation link every SDL starts with.
pub const LINK: &str =
    r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])"#;

/// The orders SDL (as composed by the router's tests).
pub const ORDERS_SDL: &str = r#"type Query { order(id: ID!): Order }
type Subscription { orderUpdated(id: ID!): Order! countdown(from: Int!): Int! }
type Order @key(fields: "id") { id: ID! status: String! }"#;

/// The payments SDL.
pub const PAYMENTS_SDL: &str = r#"type Query { paymentsVersion: Int! }
type Order @key(fields: "id") { id: ID! payment: Payment }
type Payment { status: String! }"#;

/// The supergraph of both, composed by the router.
pub fn supergraph() -> String {
    crate::common::compose_inline(LINK, &[("orders", ORDERS_SDL), ("payments", PAYMENTS_SDL)])
}

#[derive(Clone, async_graphql::SimpleObject)]
struct Order {
    id: ID,
    status: String,
}

#[derive(Clone)]
struct Feed(broadcast::Sender<(String, String)>);

/// Counts live `orderUpdated` streams.
#[derive(Clone, Default)]
struct Live(Arc<AtomicUsize>);

struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct OrdersQuery;

#[Object]
impl OrdersQuery {
    async fn order(&self, id: ID) -> Option<Order> {
        Some(Order {
            id,
            status: "PENDING_PAYMENT".into(),
        })
    }

    #[graphql(entity)]
    async fn find_order_by_id(&self, id: ID) -> Order {
        Order {
            id,
            status: "PENDING_PAYMENT".into(),
        }
    }
}

struct OrdersSubscription;

#[Subscription]
impl OrdersSubscription {
    async fn order_updated(&self, ctx: &Context<'_>, id: ID) -> impl Stream<Item = Order> {
        let feed = ctx.data_unchecked::<Feed>().0.subscribe();
        let live = ctx.data_unchecked::<Live>().0.clone();
        live.fetch_add(1, Ordering::SeqCst);
        let guard = Counted(live);
        futures::stream::unfold((feed, guard, id), |(mut feed, guard, id)| async move {
            loop {
                match feed.recv().await {
                    Ok((order, status)) if order == id.as_str() => {
                        let event = Order {
                            id: id.clone(),
                            status,
                        };
                        return Some((event, (feed, guard, id)));
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }

    async fn countdown(&self, from: i32) -> impl Stream<Item = i32> {
        futures::stream::iter((1..=from).rev())
    }
}

struct PaymentsQuery;

#[Object]
impl PaymentsQuery {
    async fn payments_version(&self) -> i32 {
        1
    }

    #[graphql(entity)]
    async fn find_order_by_id(&self, id: ID) -> PaidOrder {
        PaidOrder { id }
    }
}

struct PaidOrder {
    id: ID,
}

#[derive(async_graphql::SimpleObject)]
struct Payment {
    status: String,
}

#[Object(name = "Order")]
impl PaidOrder {
    async fn id(&self) -> &ID {
        &self.id
    }

    async fn payment(&self) -> Option<Payment> {
        (!self.id.as_str().starts_with("unpaid")).then(|| Payment {
            status: "SUCCEEDED".into(),
        })
    }
}

/// What each `connection_init` carried, with the upgrade's `Authorization`.
pub type Inits = Arc<Mutex<Vec<(Value, Option<String>)>>>;

/// The orders subgraph, listening.
pub struct Orders {
    /// Its routing URL (`http://…/graphql`).
    pub url: String,
    feed: broadcast::Sender<(String, String)>,
    live: Live,
    /// What each `connection_init` carried, and each upgrade's
    /// `Authorization` header.
    pub inits: Inits,
    /// Open WebSockets.
    sockets: Arc<AtomicUsize>,
    kill: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Orders {
    fn drop(&mut self) {
        self.kill.send_replace(true);
        self.task.abort();
    }
}

impl Orders {
    /// Starts the orders subgraph on port 0.
    pub async fn start() -> Self {
        let (feed, _) = broadcast::channel(64);
        let live = Live::default();
        let schema = Schema::build(OrdersQuery, EmptyMutation, OrdersSubscription)
            .enable_federation()
            .enable_subscription_in_federation()
            .data(Feed(feed.clone()))
            .data(live.clone())
            .finish();
        let inits = Arc::new(Mutex::new(Vec::new()));
        let (kill, killed) = watch::channel(false);
        let recorded = inits.clone();
        let sockets = Arc::new(AtomicUsize::new(0));
        let open = sockets.clone();
        let http_schema = schema.clone();
        let app = Router::new().route(
            "/graphql",
            get(move |headers: HeaderMap, upgrade: WebSocketUpgrade| {
                let (schema, recorded, killed) = (schema.clone(), recorded.clone(), killed.clone());
                let open = open.clone();
                async move {
                    let authorization = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    upgrade
                        .protocols(["graphql-transport-ws"])
                        .on_upgrade(move |socket| {
                            open.fetch_add(1, Ordering::SeqCst);
                            let counted = Counted(open);
                            async move {
                                serve_socket(socket, schema, recorded, authorization, killed).await;
                                drop(counted);
                            }
                        })
                }
            })
            .post(move |axum::Json(body): axum::Json<Value>| {
                let schema = http_schema.clone();
                async move {
                    let request: async_graphql::Request = serde_json::from_value(body).unwrap();
                    axum::Json(schema.execute(request).await)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/graphql", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Orders {
            url,
            feed,
            live,
            inits,
            sockets,
            kill,
            task,
        }
    }

    /// How many WebSockets are open.
    pub fn sockets(&self) -> usize {
        self.sockets.load(Ordering::SeqCst)
    }

    /// Waits until `count` WebSockets are open (5 s at most).
    pub async fn wait_for_sockets(&self, count: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while self.sockets() != count {
            assert!(
                std::time::Instant::now() < deadline,
                "expected {count} open sockets at the subgraph, got {}",
                self.sockets()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Publishes a status change of order `id`.
    pub fn publish(&self, id: &str, status: &str) {
        let _ = self.feed.send((id.to_owned(), status.to_owned()));
    }

    /// How many `orderUpdated` streams are open.
    pub fn live(&self) -> usize {
        self.live.0.load(Ordering::SeqCst)
    }

    /// Waits until `count` `orderUpdated` streams are open (5 s at most).
    pub async fn wait_for_live(&self, count: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while self.live() != count {
            assert!(
                std::time::Instant::now() < deadline,
                "expected {count} live subscriptions at the subgraph, got {}",
                self.live()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Drops every WebSocket at once, without a close frame: the subgraph
    /// "dies" for its subscribers.
    pub fn die(&self) {
        self.kill.send_replace(true);
    }
}

async fn serve_socket(
    socket: axum::extract::ws::WebSocket,
    schema: Schema<OrdersQuery, EmptyMutation, OrdersSubscription>,
    recorded: Inits,
    authorization: Option<String>,
    mut killed: watch::Receiver<bool>,
) {
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|message| futures::future::ready(message.is_ok()))
        .filter_map(|message| async move {
            match message {
                Ok(Message::Text(text)) => Some(text.to_string()),
                _ => None,
            }
        });
    let input = Box::pin(input);
    let protocol = GraphqlWebSocket::new(schema, input, Protocols::GraphQLWS).on_connection_init(
        move |payload| {
            recorded
                .lock()
                .unwrap()
                .push((payload, authorization.clone()));
            async { Ok(Data::default()) }
        },
    );
    let mut protocol = Box::pin(protocol);
    loop {
        tokio::select! {
            () = killed_signal(&mut killed) => return,
            message = protocol.next() => match message {
                Some(WsMessage::Text(text)) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Some(WsMessage::Close(code, reason)) => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame { code, reason: reason.into() })))
                        .await;
                    return;
                }
                None => return,
            },
        }
    }
}

async fn killed_signal(killed: &mut watch::Receiver<bool>) {
    let _ = killed.wait_for(|k| *k).await;
}

/// The payments subgraph (HTTP only).
pub async fn payments() -> crate::common::FakeSubgraph {
    let schema = Schema::build(PaymentsQuery, EmptyMutation, EmptySubscription)
        .enable_federation()
        .finish();
    // Answers synchronously through a blocking executor: the fake takes a
    // plain function.
    crate::common::FakeSubgraph::start(move |body| {
        let request: async_graphql::Request = serde_json::from_value(body.clone()).unwrap();
        let schema = schema.clone();
        let response = futures::executor::block_on(schema.execute(request));
        serde_json::to_value(response).unwrap()
    })
    .await
}
