//! The `stockChanged` subscription: through the schema (`execute_stream`) on
//! both stores, over a real WebSocket, and across two replicas on one
//! MongoDB database.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Request, Response, Variables};
use futures::stream::BoxStream;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use storefront_inventory::AppState;
use storefront_inventory::events::StockEvents;
use storefront_inventory::store::InventoryStore;
use storefront_inventory::store::mongo::MongoStore;
use storefront_shared::auth::Role;
use storefront_shared::events::OutboxSettings;
use storefront_shared::testing::{Served, response_json};
use tempfile::TempDir;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use common::{SERVICE_TOKEN, TokenSigner};

const STOCK_CHANGED: &str =
    "subscription($skus: [ID!]!) { stockChanged(skus: $skus) { sku stock inStock } }";
const RESERVE: &str = "mutation($orderId: ID!, $lines: [StockLineInput!]!) { reserveStock(orderId: $orderId, lines: $lines) { status } }";
const RELEASE: &str = "mutation($orderId: ID!) { releaseStock(orderId: $orderId) { status } }";
const RESTOCK: &str =
    "mutation($sku: ID!, $quantity: Int!) { restock(sku: $sku, quantity: $quantity) { stock } }";

/// How long an event may take to arrive (generous for a loaded CI machine).
const EVENT_DEADLINE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy)]
enum Backend {
    Embedded,
    Mongo,
}

struct Env {
    state: AppState,
    signer: TokenSigner,
    db: Option<mongodb::Database>,
    _dir: Option<TempDir>,
}

impl Env {
    /// MUG (10 units) and CAP (5) on `backend`; `None` without a MongoDB server.
    async fn on(backend: Backend) -> Option<Env> {
        let (signer, authenticator) = TokenSigner::new();
        let (store, events, db, dir): (Arc<dyn InventoryStore>, StockEvents, _, _) = match backend {
            Backend::Embedded => {
                let (dir, store) = common::embedded_store().await;
                (store, StockEvents::in_process(), None, Some(dir))
            }
            Backend::Mongo => {
                let (db, store) = common::mongo_store().await?;
                let events = storefront_inventory::events::outbox(&db, OutboxSettings::default())
                    .await
                    .expect("prepares the events collection");
                (store, events, Some(db), None)
            }
        };
        common::add(
            store.as_ref(),
            &[("MUG", "Mug", 1250, 10), ("CAP", "Cap", 900, 5)],
        )
        .await;
        let state = AppState {
            events,
            ..AppState::new(store, authenticator)
        };
        Some(Env {
            state,
            signer,
            db,
            _dir: dir,
        })
    }

    /// Another process on the same MongoDB database (its own client, store
    /// and event poller).
    async fn replica(&self) -> AppState {
        let db = self.db.as_ref().expect("a MongoDB env");
        let db = storefront_shared::testing::mongo_replica(db).await;
        let events = storefront_inventory::events::outbox(&db, OutboxSettings::default())
            .await
            .expect("prepares the events collection");
        let store = MongoStore::new(db).await.expect("prepares the store");
        AppState {
            events,
            ..AppState::new(Arc::new(store), self.state.authenticator.clone())
        }
    }

    async fn execute(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let response = self
            .state
            .schema()
            .execute(request(&self.state, query, variables, token).await)
            .await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        response_json(&response)
    }

    async fn reserve(&self, order: &str, sku: &str, quantity: i32) {
        let lines = json!([{ "sku": sku, "quantity": quantity }]);
        self.execute(
            RESERVE,
            json!({ "orderId": order, "lines": lines }),
            Some(SERVICE_TOKEN),
        )
        .await;
    }

    async fn restock(&self, sku: &str, quantity: i32) {
        let admin = self.signer.token(Role::Admin);
        self.execute(
            RESTOCK,
            json!({ "sku": sku, "quantity": quantity }),
            Some(&admin),
        )
        .await;
    }
}

/// A request as `token` (a user's token, or [`SERVICE_TOKEN`] for the service credential).
async fn request(state: &AppState, query: &str, variables: Value, token: Option<&str>) -> Request {
    let service = state.authenticator.service_caller(token.map(str::as_bytes));
    let header = token
        .filter(|t| *t != SERVICE_TOKEN)
        .map(|t| format!("Bearer {t}"));
    let viewer = state.authenticator.viewer(header.as_deref()).await;
    Request::new(query)
        .variables(Variables::from_json(variables))
        .data(viewer)
        .data(service)
}

/// Subscribes to `skus` through `state`'s schema and waits until it listens;
/// the events arrive on the receiver.
async fn watch(state: &AppState, skus: &[&str]) -> mpsc::Receiver<Value> {
    let before = state.events.subscribers();
    let request = request(state, STOCK_CHANGED, json!({ "skus": skus }), None).await;
    let mut stream: BoxStream<'static, Response> = state.schema().execute_stream(request).boxed();
    let (sender, receiver) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Some(response) = stream.next().await {
            if sender.send(response_json(&response)).await.is_err() {
                return;
            }
        }
    });
    let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
    while state.events.subscribers() <= before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the subscription never listened"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    receiver
}

async fn received(receiver: &mut mpsc::Receiver<Value>) -> Value {
    tokio::time::timeout(EVENT_DEADLINE, receiver.recv())
        .await
        .expect("an event within the deadline")
        .expect("the subscription goes on")
}

async fn reserve_restock_and_release_are_events_for_watched_skus_only(backend: Backend) {
    let Some(env) = Env::on(backend).await else {
        return;
    };
    let mut events = watch(&env.state, &["MUG"]).await;

    env.reserve("order-cap", "CAP", 2).await; // not watched: no event
    env.reserve("order-mug", "MUG", 3).await;
    let event = received(&mut events).await;
    assert_eq!(
        event["data"]["stockChanged"],
        json!({ "sku": "MUG", "stock": 7, "inStock": true })
    );

    env.restock("MUG", 5).await;
    assert_eq!(
        received(&mut events).await["data"]["stockChanged"]["stock"],
        12
    );

    let release = env
        .execute(
            RELEASE,
            json!({ "orderId": "order-mug" }),
            Some(SERVICE_TOKEN),
        )
        .await;
    assert_eq!(release["data"]["releaseStock"]["status"], "RELEASED");
    assert_eq!(
        received(&mut events).await["data"]["stockChanged"]["stock"],
        15
    );

    // A sale leaves available stock as it is: no event for it.
    env.reserve("order-2", "MUG", 15).await;
    let sold_out = received(&mut events).await;
    assert_eq!(
        sold_out["data"]["stockChanged"],
        json!({ "sku": "MUG", "stock": 0, "inStock": false })
    );
    env.execute(
        "mutation { commitStock(orderId: \"order-2\") { status } }",
        json!({}),
        Some(SERVICE_TOKEN),
    )
    .await;
    let more = tokio::time::timeout(Duration::from_millis(400), events.recv()).await;
    assert!(more.is_err(), "an unexpected event: {more:?}");
}

async fn unknown_or_too_many_skus_are_refused(backend: Backend) {
    let Some(env) = Env::on(backend).await else {
        return;
    };
    let cases = [
        (json!(["MUG", "NOPE"]), "NOT_FOUND"),
        (json!([]), "BAD_USER_INPUT"),
        (json!(["not a sku"]), "BAD_USER_INPUT"),
        (
            Value::from((0..101).map(|n| format!("S{n}")).collect::<Vec<_>>()),
            "BAD_USER_INPUT",
        ),
    ];
    for (skus, code) in cases {
        let request = request(&env.state, STOCK_CHANGED, json!({ "skus": skus }), None).await;
        let mut stream = env.state.schema().execute_stream(request);
        let response = tokio::time::timeout(EVENT_DEADLINE, stream.next())
            .await
            .expect("an answer")
            .expect("one response");
        let body = response_json(&response);
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "{skus}: {body}"
        );
    }
}

/// Runs each case on the embedded store and on MongoDB (when configured).
macro_rules! on_both_stores {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Backend::Embedded).await;
                }
            )*
        }

        mod mongo {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::Backend::Mongo).await;
                }
            )*
        }
    };
}

on_both_stores!(
    reserve_restock_and_release_are_events_for_watched_skus_only,
    unknown_or_too_many_skus_are_refused,
);

#[tokio::test]
async fn a_reservation_through_one_replica_reaches_a_subscriber_on_another() {
    let Some(env) = Env::on(Backend::Mongo).await else {
        return;
    };
    let other = env.replica().await;
    let mut events = watch(&other, &["MUG", "CAP"]).await;
    env.reserve("order-1", "CAP", 5).await;
    assert_eq!(
        received(&mut events).await["data"]["stockChanged"],
        json!({ "sku": "CAP", "stock": 0, "inStock": false })
    );
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn receive(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(EVENT_DEADLINE, socket.next())
            .await
            .expect("a message within the deadline")
            .expect("the socket stays open")
            .expect("a valid frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).expect("JSON");
        }
    }
}

#[tokio::test]
async fn over_a_websocket_an_anonymous_client_sees_a_restock() {
    let Some(env) = Env::on(Backend::Embedded).await else {
        return;
    };
    let state = env.state.clone();
    let served = Served::start(|listener, shutdown| {
        storefront_inventory::run(listener, state, Default::default(), shutdown)
    })
    .await;
    let mut request = format!("ws://{}/graphql", served.addr)
        .into_client_request()
        .expect("a WebSocket request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("a header value"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the upgrade succeeds");
    let send = |message: Value| Message::text(message.to_string());
    socket
        .send(send(json!({ "type": "connection_init" })))
        .await
        .expect("sends");
    assert_eq!(receive(&mut socket).await["type"], "connection_ack");
    socket
        .send(send(json!({
            "id": "s1",
            "type": "subscribe",
            "payload": { "query": STOCK_CHANGED, "variables": { "skus": ["MUG"] } },
        })))
        .await
        .expect("sends");
    let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
    while env.state.events.subscribers() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never subscribed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    env.restock("MUG", 1).await;
    let event = receive(&mut socket).await;
    assert_eq!(event["type"], "next", "{event}");
    assert_eq!(event["id"], "s1");
    assert_eq!(event["payload"]["data"]["stockChanged"]["stock"], 11);
}
