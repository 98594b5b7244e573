//! Subscriptions share WebSockets to the subgraph: counted at the subgraph
//! (its `connection_init`s and open sockets).

use std::time::Duration;

use serde_json::{Value, json};
use storefront_router::settings::RouterSettings;

use crate::{Client, Router, common, subgraphs};

const WATCH: &str = "subscription($id: ID!) { orderUpdated(id: $id) { id status } }";

fn settings(max_per_socket: usize, linger: Duration) -> RouterSettings {
    let mut settings = RouterSettings::default();
    settings.subscriptions.max_per_subgraph_socket = max_per_socket;
    settings.subscriptions.subgraph_socket_linger = linger;
    settings
}

/// The next `next` payload's status for subscription `id`, skipping others.
async fn status_of(client: &mut Client) -> (String, Value) {
    let message = client.json().await;
    assert_eq!(message["type"], "next", "{message}");
    (
        message["id"].as_str().unwrap().to_owned(),
        message["payload"]["data"]["orderUpdated"]["status"].clone(),
    )
}

#[tokio::test]
async fn many_subscriptions_from_many_clients_share_one_subgraph_socket() {
    let (router, orders, _payments) =
        Router::with_shop(settings(100, Duration::from_secs(2))).await;
    let mut clients = Vec::new();
    for n in 0..4 {
        let mut client =
            Client::ready(&router.ws_url(), json!({ "Authorization": "Bearer same" })).await;
        for k in 0..5 {
            client
                .subscribe(&format!("s{k}"), WATCH, json!({ "id": format!("o{n}") }))
                .await;
        }
        clients.push(client);
    }
    orders.wait_for_live(20).await;
    assert_eq!(orders.sockets(), 1);
    assert_eq!(orders.inits.lock().unwrap().len(), 1);
    assert_eq!(router.state.subscriptions().upstreams().sockets(), 1);
    // Every subscription gets its own events, in order.
    for n in 0..4 {
        orders.publish(&format!("o{n}"), "PAID");
        orders.publish(&format!("o{n}"), "SHIPPED");
    }
    for client in &mut clients {
        let mut seen = std::collections::BTreeMap::<String, Vec<Value>>::new();
        for _ in 0..10 {
            let (id, status) = status_of(client).await;
            seen.entry(id).or_default().push(status);
        }
        assert_eq!(seen.len(), 5);
        for statuses in seen.values() {
            assert_eq!(statuses, &vec![json!("PAID"), json!("SHIPPED")]);
        }
    }
}

#[tokio::test]
async fn a_full_socket_makes_the_next_subscription_open_another() {
    let (router, orders, _payments) = Router::with_shop(settings(2, Duration::from_secs(2))).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    for k in 0..5 {
        client
            .subscribe(&format!("s{k}"), WATCH, json!({ "id": "o1" }))
            .await;
    }
    orders.wait_for_live(5).await;
    orders.wait_for_sockets(3).await;
    assert_eq!(orders.inits.lock().unwrap().len(), 3);
    orders.publish("o1", "PAID");
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (id, status) = status_of(&mut client).await;
        assert_eq!(status, "PAID");
        ids.push(id);
    }
    ids.sort();
    assert_eq!(ids, ["s0", "s1", "s2", "s3", "s4"]);
}

#[tokio::test]
async fn two_tokens_never_share_a_socket() {
    let (router, orders, _payments) =
        Router::with_shop(settings(100, Duration::from_secs(2))).await;
    let mut ada = Client::ready(&router.ws_url(), json!({ "Authorization": "Bearer ada" })).await;
    let mut bob = Client::ready(&router.ws_url(), json!({ "Authorization": "Bearer bob" })).await;
    let mut ada_again =
        Client::ready(&router.ws_url(), json!({ "Authorization": "Bearer ada" })).await;
    ada.subscribe("1", WATCH, json!({ "id": "o1" })).await;
    bob.subscribe("1", WATCH, json!({ "id": "o1" })).await;
    ada_again.subscribe("1", WATCH, json!({ "id": "o1" })).await;
    orders.wait_for_live(3).await;
    orders.wait_for_sockets(2).await;
    let mut inits: Vec<(Value, Option<String>)> = orders.inits.lock().unwrap().clone();
    inits.sort_by_key(|(_, upgrade)| upgrade.clone());
    assert_eq!(inits.len(), 2);
    assert_eq!(inits[0].0["Authorization"], "Bearer ada");
    assert_eq!(inits[0].1.as_deref(), Some("Bearer ada"));
    assert_eq!(inits[1].0["Authorization"], "Bearer bob");
    assert_eq!(inits[1].1.as_deref(), Some("Bearer bob"));
}

#[tokio::test]
async fn a_socket_that_dies_ends_every_subscription_on_it_with_an_error_naming_the_subgraph() {
    let (router, orders, _payments) =
        Router::with_shop(settings(100, Duration::from_secs(2))).await;
    let mut first = Client::ready(&router.ws_url(), json!({})).await;
    let mut second = Client::ready(&router.ws_url(), json!({})).await;
    first.subscribe("a", WATCH, json!({ "id": "o1" })).await;
    first.subscribe("b", WATCH, json!({ "id": "o2" })).await;
    second.subscribe("c", WATCH, json!({ "id": "o3" })).await;
    orders.wait_for_live(3).await;
    assert_eq!(orders.sockets(), 1);
    orders.die();
    let mut ended = Vec::new();
    let mut clients = [first, second];
    for which in [0, 0, 1] {
        let client = &mut clients[which];
        let last = client.json().await;
        assert_eq!(last["type"], "next", "{last}");
        let error = &last["payload"]["errors"][0];
        assert_eq!(error["extensions"]["code"], "SUBGRAPH_SUBSCRIPTION_CLOSED");
        assert_eq!(error["extensions"]["serviceName"], "orders");
        assert!(
            error["message"].as_str().unwrap().contains("`orders`"),
            "{error}"
        );
        let complete = client.json().await;
        assert_eq!(complete["type"], "complete");
        assert_eq!(complete["id"], last["id"]);
        ended.push(last["id"].as_str().unwrap().to_owned());
    }
    ended.sort();
    assert_eq!(ended, ["a", "b", "c"]);
    assert_eq!(router.state.subscriptions().upstreams().sockets(), 0);
}

#[tokio::test]
async fn a_client_complete_reaches_the_subgraph_and_the_idle_socket_closes_after_the_linger() {
    let (router, orders, _payments) =
        Router::with_shop(settings(100, Duration::from_millis(300))).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client.subscribe("a", WATCH, json!({ "id": "o1" })).await;
    client.subscribe("b", WATCH, json!({ "id": "o1" })).await;
    orders.wait_for_live(2).await;
    client.send(json!({ "id": "a", "type": "complete" })).await;
    orders.wait_for_live(1).await;
    // The other subscription on the socket goes on.
    orders.publish("o1", "PAID");
    assert_eq!(
        status_of(&mut client).await,
        ("b".to_owned(), json!("PAID"))
    );
    assert_eq!(orders.sockets(), 1);
    client.send(json!({ "id": "b", "type": "complete" })).await;
    orders.wait_for_live(0).await;
    orders.wait_for_sockets(0).await;
    assert_eq!(router.state.subscriptions().upstreams().sockets(), 0);
    // A new subscription opens a new socket.
    client.subscribe("c", WATCH, json!({ "id": "o1" })).await;
    orders.wait_for_live(1).await;
    assert_eq!(orders.inits.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_subscription_within_the_linger_reuses_the_idle_socket() {
    let (router, orders, _payments) =
        Router::with_shop(settings(100, Duration::from_secs(30))).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client.subscribe("a", WATCH, json!({ "id": "o1" })).await;
    orders.wait_for_live(1).await;
    client.send(json!({ "id": "a", "type": "complete" })).await;
    orders.wait_for_live(0).await;
    client.subscribe("b", WATCH, json!({ "id": "o1" })).await;
    orders.wait_for_live(1).await;
    assert_eq!(orders.inits.lock().unwrap().len(), 1);
    assert_eq!(orders.sockets(), 1);
    orders.publish("o1", "PAID");
    assert_eq!(
        status_of(&mut client).await,
        ("b".to_owned(), json!("PAID"))
    );
}

#[tokio::test]
async fn a_subscription_that_falls_behind_its_socket_ends_alone_and_the_others_go_on() {
    let orders = subgraphs::Orders::start().await;
    // Each payment entity fetch takes 400 ms: the subscription that asks for
    // `payment` cannot keep up with an event every 30 ms.
    let payments = common::FakeSubgraph::start_with_delay(
        |_| json!({ "data": { "_entities": [{ "__typename": "Order", "payment": { "status": "SUCCEEDED" } }] } }),
        Duration::from_millis(400),
    )
    .await;
    let mut settings = settings(100, Duration::from_secs(2));
    settings.subscriptions.buffer = 4;
    let router = Router::start(
        settings,
        &subgraphs::supergraph(),
        &[("orders", &orders.url), ("payments", &payments.url)],
    )
    .await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client
        .subscribe(
            "slow",
            "subscription { orderUpdated(id: \"o1\") { status payment { status } } }",
            json!({}),
        )
        .await;
    client.subscribe("fast", WATCH, json!({ "id": "o1" })).await;
    orders.wait_for_live(2).await;
    assert_eq!(orders.sockets(), 1);
    let statuses: Vec<String> = (0..12).map(|n| format!("S{n}")).collect();
    for status in &statuses {
        orders.publish("o1", status);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let mut fast = Vec::new();
    let mut slow_error = None;
    while fast.len() < statuses.len() || slow_error.is_none() {
        let message = client.json().await;
        match (message["id"].as_str(), message["type"].as_str()) {
            (Some("fast"), Some("next")) => fast.push(
                message["payload"]["data"]["orderUpdated"]["status"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
            (Some("slow"), Some("next")) => {
                if let Some(error) = message["payload"]["errors"].get(0) {
                    slow_error = Some(error.clone());
                }
            }
            (Some("slow"), Some("complete")) => {}
            _ => panic!("unexpected {message}"),
        }
    }
    assert_eq!(
        fast, statuses,
        "the fast subscription gets every event, in order"
    );
    let error = slow_error.unwrap();
    assert_eq!(
        error["extensions"]["code"], "SUBSCRIPTION_BUFFER_FULL",
        "{error}"
    );
    assert_eq!(error["extensions"]["serviceName"], "orders");
    // The router told the subgraph the slow one is over.
    orders.wait_for_live(1).await;
}
