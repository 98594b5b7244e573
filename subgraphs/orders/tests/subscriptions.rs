//! The subscriptions `orderUpdated` and `myOrderUpdates`: through the schema
//! (`execute_stream`), over a real WebSocket (`graphql-transport-ws`), and
//! across two replicas of the service on one MongoDB database.

mod common;

use std::time::{Duration, Instant};

use async_graphql::{Request, Response, Variables};
use common::{Backend, CANCEL, TestEnv, eventually, json_of};
use futures::stream::BoxStream;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use storefront_orders::AppState;
use storefront_orders::settings::OrdersSettings;
use storefront_shared::auth::ServiceCaller;
use storefront_shared::testing::Served;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ORDER_UPDATED: &str =
    "subscription($id: ID!) { orderUpdated(id: $id) { id status buyer { id } total { amount } } }";
const MY_ORDER_UPDATES: &str = "subscription { myOrderUpdates { id status } }";

/// How long an event may take to arrive (across replicas: the poll interval
/// plus a store round trip; the bound is generous for a loaded CI machine).
const EVENT_DEADLINE: Duration = Duration::from_secs(5);

/// The events of `query` as `token`'s user, through `state`'s schema.
async fn subscribe(
    state: &AppState,
    query: &str,
    variables: Value,
    token: Option<&str>,
) -> BoxStream<'static, Response> {
    let header = token.map(|t| format!("Bearer {t}"));
    let viewer = state.authenticator().viewer(header.as_deref()).await;
    let request = Request::new(query)
        .variables(Variables::from_json(variables))
        .data(viewer)
        .data(ServiceCaller(false));
    state.schema().execute_stream(request).boxed()
}

/// The next event's JSON, within [`EVENT_DEADLINE`].
async fn next(stream: &mut BoxStream<'static, Response>) -> Value {
    let response = tokio::time::timeout(EVENT_DEADLINE, stream.next())
        .await
        .expect("an event within the deadline")
        .expect("the stream goes on");
    json_of(&response)
}

/// Drives `stream` in a task (subscriptions without a first event start
/// listening only when polled) and waits until `state` has one more
/// listener; the events arrive on the receiver.
async fn listen(state: &AppState, stream: BoxStream<'static, Response>) -> mpsc::Receiver<Value> {
    let before = state.orders().events().subscribers();
    let (sender, receiver) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut stream = stream;
        while let Some(response) = stream.next().await {
            if sender.send(json_of(&response)).await.is_err() {
                return;
            }
        }
    });
    eventually("the subscription listens", || async {
        state.orders().events().subscribers() > before
    })
    .await;
    receiver
}

async fn received(receiver: &mut mpsc::Receiver<Value>) -> Value {
    tokio::time::timeout(EVENT_DEADLINE, receiver.recv())
        .await
        .expect("an event within the deadline")
        .expect("the subscription goes on")
}

async fn placed(env: &TestEnv, buyer: &str) -> String {
    let order = env.create_ok(&env.customer(buyer), &[("MUG", 1)]).await;
    order["id"].as_str().expect("id").to_owned()
}

async fn env_on(backend: Backend) -> Option<TestEnv> {
    let env = TestEnv::with(backend, OrdersSettings::default()).await?;
    env.product("MUG", 1250, 100).await;
    Some(env)
}

async fn the_first_event_is_the_order_now_then_paid_arrives(backend: Backend) {
    let Some(env) = env_on(backend).await else {
        return;
    };
    let id = placed(&env, "ada").await;
    let token = env.customer("ada");
    let mut events = subscribe(&env.state, ORDER_UPDATED, json!({ "id": id }), Some(&token)).await;
    let first = next(&mut events).await;
    assert_eq!(first["data"]["orderUpdated"]["id"], id.as_str(), "{first}");
    assert_eq!(first["data"]["orderUpdated"]["status"], "PENDING_PAYMENT");
    assert_eq!(first["data"]["orderUpdated"]["buyer"]["id"], "ada");

    // Subscribed, then paid: the PAID event always arrives.
    let paid = env.mark_paid(&id, "pay-1").await;
    assert!(paid.errors.is_empty(), "{:?}", paid.errors);
    let event = next(&mut events).await;
    assert_eq!(event["data"]["orderUpdated"]["status"], "PAID", "{event}");
    assert_eq!(event["data"]["orderUpdated"]["total"]["amount"], 1250);
}

async fn a_cancel_is_an_event_and_nothing_is_sent_twice(backend: Backend) {
    let Some(env) = env_on(backend).await else {
        return;
    };
    let id = placed(&env, "ada").await;
    let token = env.customer("ada");
    let mut events = subscribe(&env.state, ORDER_UPDATED, json!({ "id": id }), Some(&token)).await;
    assert_eq!(
        next(&mut events).await["data"]["orderUpdated"]["status"],
        "PENDING_PAYMENT"
    );
    let cancelled = env.execute(CANCEL, json!({ "id": id }), Some(&token)).await;
    assert!(cancelled.errors.is_empty(), "{:?}", cancelled.errors);
    let event = next(&mut events).await;
    assert_eq!(
        event["data"]["orderUpdated"]["status"], "CANCELLED",
        "{event}"
    );
    // CANCELLING → CANCELLED changes nothing a client sees: no second event.
    let more = tokio::time::timeout(Duration::from_millis(500), events.next()).await;
    assert!(more.is_err(), "an unexpected event: {more:?}");
}

async fn only_the_buyer_or_an_admin_may_watch_an_order(backend: Backend) {
    let Some(env) = env_on(backend).await else {
        return;
    };
    let id = placed(&env, "ada").await;
    let cases = [
        (None, "UNAUTHENTICATED"),
        (Some(env.customer("bob")), "FORBIDDEN"),
        (Some("not-a-token".to_owned()), "UNAUTHENTICATED"),
    ];
    for (token, code) in cases {
        let mut events = subscribe(
            &env.state,
            ORDER_UPDATED,
            json!({ "id": id }),
            token.as_deref(),
        )
        .await;
        let event = next(&mut events).await;
        assert_eq!(event["errors"][0]["extensions"]["code"], code, "{event}");
        assert!(event["data"].is_null(), "{event}");
    }
    let unknown = json!({ "id": "0190a8f0-0000-7000-8000-000000000000" });
    let mut events = subscribe(
        &env.state,
        ORDER_UPDATED,
        unknown,
        Some(&env.customer("ada")),
    )
    .await;
    assert_eq!(
        next(&mut events).await["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
    let mut events = subscribe(
        &env.state,
        ORDER_UPDATED,
        json!({ "id": "nope" }),
        Some(&env.customer("ada")),
    )
    .await;
    assert_eq!(
        next(&mut events).await["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );

    let mut events = subscribe(
        &env.state,
        ORDER_UPDATED,
        json!({ "id": id }),
        Some(&env.admin()),
    )
    .await;
    assert_eq!(
        next(&mut events).await["data"]["orderUpdated"]["id"],
        id.as_str()
    );
}

async fn my_order_updates_sends_the_callers_changes_only(backend: Backend) {
    let Some(env) = env_on(backend).await else {
        return;
    };
    let stream = subscribe(
        &env.state,
        MY_ORDER_UPDATES,
        json!({}),
        Some(&env.customer("ada")),
    )
    .await;
    let mut mine = listen(&env.state, stream).await;

    let bobs = placed(&env, "bob").await;
    let adas = placed(&env, "ada").await;
    let event = received(&mut mine).await;
    assert_eq!(
        event["data"]["myOrderUpdates"]["id"],
        adas.as_str(),
        "{event}"
    );
    assert_eq!(event["data"]["myOrderUpdates"]["status"], "PENDING_PAYMENT");

    assert!(env.mark_paid(&bobs, "pay-b").await.errors.is_empty());
    assert!(env.mark_paid(&adas, "pay-a").await.errors.is_empty());
    let event = received(&mut mine).await;
    assert_eq!(
        event["data"]["myOrderUpdates"]["id"],
        adas.as_str(),
        "{event}"
    );
    assert_eq!(
        event["data"]["myOrderUpdates"]["status"], "PAID",
        "bob's order is not sent"
    );

    let anonymous = subscribe(&env.state, MY_ORDER_UPDATES, json!({}), None).await;
    let mut anonymous = anonymous;
    assert_eq!(
        next(&mut anonymous).await["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

/// Runs each case on the embedded stores and on MongoDB (when configured).
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
    the_first_event_is_the_order_now_then_paid_arrives,
    a_cancel_is_an_event_and_nothing_is_sent_twice,
    only_the_buyer_or_an_admin_may_watch_an_order,
    my_order_updates_sends_the_callers_changes_only,
);

// ---- two replicas on one MongoDB database ----

#[tokio::test]
async fn a_payment_through_one_replica_reaches_a_subscriber_on_another() {
    let Some(env) = env_on(Backend::Mongo).await else {
        return;
    };
    let other = env.replica().await.expect("a MongoDB replica");
    let token = env.customer("ada");
    let mut mine = listen(
        &other,
        subscribe(&other, MY_ORDER_UPDATES, json!({}), Some(&token)).await,
    )
    .await;
    let id = placed(&env, "ada").await;
    let event = received(&mut mine).await;
    assert_eq!(
        event["data"]["myOrderUpdates"]["id"],
        id.as_str(),
        "{event}"
    );
    assert_eq!(event["data"]["myOrderUpdates"]["status"], "PENDING_PAYMENT");
    let mut events = subscribe(&other, ORDER_UPDATED, json!({ "id": id }), Some(&token)).await;
    assert_eq!(
        next(&mut events).await["data"]["orderUpdated"]["status"],
        "PENDING_PAYMENT"
    );

    let paid_at = Instant::now();
    assert!(env.mark_paid(&id, "pay-1").await.errors.is_empty());
    let event = next(&mut events).await;
    let delay = paid_at.elapsed();
    assert_eq!(event["data"]["orderUpdated"]["status"], "PAID", "{event}");
    assert!(delay < EVENT_DEADLINE, "{delay:?}");
    let event = received(&mut mine).await;
    assert_eq!(event["data"]["myOrderUpdates"]["status"], "PAID", "{event}");
}

/// Prints the delay from a change's write to its event on a subscriber on
/// the same process and on another replica (p50 and max over 20 payments).
/// Run it with `--nocapture` to read the figures.
#[tokio::test]
async fn measures_the_delay_of_events_on_the_same_and_another_replica() {
    let Some(env) = env_on(Backend::Mongo).await else {
        return;
    };
    let other = env.replica().await.expect("a MongoDB replica");
    let token = env.customer("ada");
    let mut same = Vec::new();
    let mut remote = Vec::new();
    for n in 0..20 {
        let id = placed(&env, "ada").await;
        let mut here =
            subscribe(&env.state, ORDER_UPDATED, json!({ "id": id }), Some(&token)).await;
        let mut there = subscribe(&other, ORDER_UPDATED, json!({ "id": id }), Some(&token)).await;
        next(&mut here).await;
        next(&mut there).await;
        let payment = format!("pay-{n}");
        let start = Instant::now();
        let (paid, here_event, there_event) = tokio::join!(
            env.mark_paid(&id, &payment),
            async {
                let event = next(&mut here).await;
                (event, start.elapsed())
            },
            async {
                let event = next(&mut there).await;
                (event, start.elapsed())
            },
        );
        assert!(paid.errors.is_empty(), "{:?}", paid.errors);
        assert_eq!(here_event.0["data"]["orderUpdated"]["status"], "PAID");
        assert_eq!(there_event.0["data"]["orderUpdated"]["status"], "PAID");
        same.push(here_event.1);
        remote.push(there_event.1);
    }
    let figures = |name: &str, delays: &mut Vec<Duration>| {
        delays.sort();
        let p50 = delays[delays.len() / 2];
        let max = delays[delays.len() - 1];
        eprintln!("event delay, {name}: p50 {p50:?}, max {max:?} (from markOrderPaid's start)");
        max
    };
    figures("same process", &mut same);
    let max = figures(
        &format!(
            "another replica (poll interval {:?})",
            env.settings.event_poll_interval
        ),
        &mut remote,
    );
    assert!(max < EVENT_DEADLINE);
}

// ---- over a real WebSocket ----

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Serves `state` with the service's own `run` (the shared listener).
async fn serve(state: AppState) -> Served {
    serve_with(state, Default::default()).await
}

async fn serve_with(state: AppState, timeouts: storefront_shared::server::Timeouts) -> Served {
    Served::start(|listener, shutdown| storefront_orders::run(listener, state, timeouts, shutdown))
        .await
}

/// A `graphql-transport-ws` socket to `served`, with `authorization` on the upgrade.
async fn connect(served: &Served, authorization: Option<&str>) -> Socket {
    let mut request = format!("ws://{}/graphql", served.addr)
        .into_client_request()
        .expect("a WebSocket request");
    let headers = request.headers_mut();
    headers.insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().expect("a header value"),
    );
    if let Some(authorization) = authorization {
        headers.insert(
            "authorization",
            authorization.parse().expect("a header value"),
        );
    }
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the upgrade succeeds");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("graphql-transport-ws")
    );
    socket
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .expect("sends");
}

/// The next protocol message (pings answered on the way).
async fn receive(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(EVENT_DEADLINE, socket.next())
            .await
            .expect("a message within the deadline")
            .expect("the socket stays open")
            .expect("a valid frame");
        match message {
            Message::Text(text) => {
                let value: Value = serde_json::from_str(&text).expect("JSON");
                if value["type"] == "ping" {
                    send(socket, json!({ "type": "pong" })).await;
                    continue;
                }
                return value;
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

async fn init(socket: &mut Socket, payload: Value) {
    send(
        socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    assert_eq!(receive(socket).await["type"], "connection_ack");
}

#[tokio::test]
async fn over_a_websocket_the_token_in_connection_init_subscribes_and_paid_arrives() {
    let Some(env) = env_on(Backend::Embedded).await else {
        return;
    };
    let served = serve(env.state.clone()).await;
    let id = placed(&env, "ada").await;
    let mut socket = connect(&served, None).await;
    let token = format!("Bearer {}", env.customer("ada"));
    init(&mut socket, json!({ "Authorization": token })).await;
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": ORDER_UPDATED, "variables": { "id": id } } }),
    )
    .await;
    let first = receive(&mut socket).await;
    assert_eq!(first["type"], "next", "{first}");
    assert_eq!(first["id"], "1");
    assert_eq!(
        first["payload"]["data"]["orderUpdated"]["status"],
        "PENDING_PAYMENT"
    );

    assert!(env.mark_paid(&id, "pay-1").await.errors.is_empty());
    let paid = receive(&mut socket).await;
    assert_eq!(paid["type"], "next", "{paid}");
    assert_eq!(paid["payload"]["data"]["orderUpdated"]["status"], "PAID");

    // The client completes; the server stops listening for it.
    send(&mut socket, json!({ "id": "1", "type": "complete" })).await;
    eventually("the subscription ends", || async {
        env.state.orders().events().subscribers() == 0
    })
    .await;
}

#[tokio::test]
async fn over_a_websocket_the_upgrade_header_authenticates_and_no_token_is_unauthenticated() {
    let Some(env) = env_on(Backend::Embedded).await else {
        return;
    };
    let served = serve(env.state.clone()).await;
    let id = placed(&env, "ada").await;
    let subscribe = json!({ "id": "a", "type": "subscribe", "payload": { "query": ORDER_UPDATED, "variables": { "id": id } } });

    let header = format!("Bearer {}", env.customer("ada"));
    let mut socket = connect(&served, Some(&header)).await;
    init(&mut socket, json!({})).await;
    send(&mut socket, subscribe.clone()).await;
    let first = receive(&mut socket).await;
    assert_eq!(
        first["payload"]["data"]["orderUpdated"]["id"],
        id.as_str(),
        "{first}"
    );

    let mut anonymous = connect(&served, None).await;
    init(&mut anonymous, json!(null)).await;
    send(&mut anonymous, subscribe.clone()).await;
    let refused = receive(&mut anonymous).await;
    assert_eq!(refused["id"], "a", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused}"
    );

    // Someone else's token in connection_init wins over nothing on the upgrade.
    let mut bob = connect(&served, None).await;
    init(
        &mut bob,
        json!({ "authorization": format!("Bearer {}", env.customer("bob")) }),
    )
    .await;
    send(&mut bob, subscribe).await;
    let refused = receive(&mut bob).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
}

#[tokio::test]
async fn a_subscription_outlives_the_listeners_header_and_idle_timeouts() {
    let Some(env) = env_on(Backend::Embedded).await else {
        return;
    };
    let short = Duration::from_millis(200);
    let timeouts = storefront_shared::server::Timeouts {
        header_read: short,
        idle: short,
        body_read: short,
    };
    let served = serve_with(env.state.clone(), timeouts).await;
    let id = placed(&env, "ada").await;
    let mut socket = connect(&served, None).await;
    init(
        &mut socket,
        json!({ "Authorization": format!("Bearer {}", env.customer("ada")) }),
    )
    .await;
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": ORDER_UPDATED, "variables": { "id": id } } }),
    )
    .await;
    assert_eq!(receive(&mut socket).await["type"], "next");
    // Quiet for longer than both timeouts: an upgraded connection is the
    // subscription's, no longer the HTTP listener's to close.
    tokio::time::sleep(4 * short).await;
    assert!(env.mark_paid(&id, "pay-1").await.errors.is_empty());
    let paid = receive(&mut socket).await;
    assert_eq!(
        paid["payload"]["data"]["orderUpdated"]["status"], "PAID",
        "{paid}"
    );
}

#[tokio::test]
async fn a_plain_get_of_graphql_is_still_405() {
    let Some(env) = env_on(Backend::Embedded).await else {
        return;
    };
    let served = serve(env.state.clone()).await;
    let response = reqwest_free_get(&served).await;
    assert!(response.starts_with("HTTP/1.1 405"), "{response}");
}

/// A bare `GET /graphql` over TCP; the response head.
async fn reqwest_free_get(served: &Served) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(served.addr)
        .await
        .expect("connects");
    stream
        .write_all(b"GET /graphql HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("reads");
    response
}
