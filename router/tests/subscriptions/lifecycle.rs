//! How subscriptions end: a subgraph that dies, a failed entity fetch (an
//! event with partial data), limits, router shutdown.

use serde_json::json;
use storefront_router::settings::RouterSettings;

use crate::{Client, Router, common, subgraphs};

const WATCH: &str = "subscription { orderUpdated(id: \"o1\") { status payment { status } } }";

#[tokio::test]
async fn a_subgraph_that_dies_ends_the_subscription_with_an_error_naming_it() {
    let (router, orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client.subscribe("1", WATCH, json!({})).await;
    orders.wait_for_live(1).await;
    orders.die();
    let last = client.json().await;
    assert_eq!(last["id"], "1");
    assert_eq!(last["type"], "next");
    let error = &last["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "SUBGRAPH_SUBSCRIPTION_CLOSED");
    assert_eq!(error["extensions"]["serviceName"], "orders");
    assert!(
        error["message"].as_str().unwrap().contains("`orders`"),
        "{error}"
    );
    assert_eq!(
        client.json().await,
        json!({ "id": "1", "type": "complete" })
    );
}

#[tokio::test]
async fn a_subgraph_that_cannot_be_reached_ends_the_subscription_with_an_error() {
    let payments = subgraphs::payments().await;
    let router = Router::start(
        RouterSettings::default(),
        &subgraphs::supergraph(),
        &[("orders", &common::dead_url()), ("payments", &payments.url)],
    )
    .await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client.subscribe("1", WATCH, json!({})).await;
    let last = client.json().await;
    assert_eq!(
        last["payload"]["errors"][0]["extensions"]["serviceName"],
        "orders"
    );
    assert_eq!(
        client.json().await,
        json!({ "id": "1", "type": "complete" })
    );
}

#[tokio::test]
async fn an_event_whose_entity_fetch_fails_arrives_with_partial_data_and_an_error() {
    let orders = subgraphs::Orders::start().await;
    let router = Router::start(
        RouterSettings::default(),
        &subgraphs::supergraph(),
        &[("orders", &orders.url), ("payments", &common::dead_url())],
    )
    .await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client.subscribe("1", WATCH, json!({})).await;
    orders.wait_for_live(1).await;
    orders.publish("o1", "PAID");
    let event = client.json().await;
    assert_eq!(event["type"], "next");
    assert_eq!(
        event["payload"]["data"],
        json!({ "orderUpdated": { "status": "PAID", "payment": null } })
    );
    assert_eq!(
        event["payload"]["errors"][0]["extensions"]["code"],
        "SUBGRAPH_UNAVAILABLE"
    );
    assert_eq!(
        event["payload"]["errors"][0]["extensions"]["serviceName"],
        "payments"
    );
    // The subscription goes on.
    orders.publish("o1", "CANCELLED");
    let event = client.json().await;
    assert_eq!(
        event["payload"]["data"]["orderUpdated"]["status"],
        "CANCELLED"
    );
}

#[tokio::test]
async fn a_connection_holds_at_most_max_per_connection_subscriptions() {
    let mut settings = RouterSettings::default();
    settings.subscriptions.max_per_connection = 1;
    let (router, orders, _payments) = Router::with_shop(settings).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client.subscribe("1", WATCH, json!({})).await;
    orders.wait_for_live(1).await;
    client.subscribe("2", WATCH, json!({})).await;
    let refused = client.json().await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["id"], "2");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "SUBSCRIPTION_LIMIT"
    );
}

#[tokio::test]
async fn the_router_holds_at_most_max_total_subscriptions() {
    let mut settings = RouterSettings::default();
    settings.subscriptions.max_total = 1;
    let (router, orders, _payments) = Router::with_shop(settings).await;
    let mut first = Client::ready(&router.ws_url(), json!({})).await;
    first.subscribe("1", WATCH, json!({})).await;
    orders.wait_for_live(1).await;
    let mut second = Client::ready(&router.ws_url(), json!({})).await;
    second.subscribe("1", WATCH, json!({})).await;
    let refused = second.json().await;
    assert_eq!(refused["type"], "error");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "SUBSCRIPTION_LIMIT"
    );
    // Completing the first gives its place back.
    first.send(json!({ "id": "1", "type": "complete" })).await;
    orders.wait_for_live(0).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while router.state.subscriptions().active() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the place was not given back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    second.subscribe("2", WATCH, json!({})).await;
    orders.wait_for_live(1).await;
}

#[tokio::test]
async fn shutdown_completes_every_subscription_then_closes_the_socket() {
    let (mut router, orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client.subscribe("1", WATCH, json!({})).await;
    client.subscribe("2", WATCH, json!({})).await;
    orders.wait_for_live(2).await;
    router.shut_down();
    let mut completed = Vec::new();
    for _ in 0..2 {
        let message = client.json().await;
        assert_eq!(message["type"], "complete", "{message}");
        completed.push(message["id"].as_str().unwrap().to_owned());
    }
    completed.sort();
    assert_eq!(completed, ["1", "2"]);
    assert_eq!(client.close_code().await, 1001);
    orders.wait_for_live(0).await;
}

#[tokio::test]
async fn a_supergraph_swap_keeps_running_subscriptions_on_the_schema_they_started_with() {
    use storefront_router::core::supergraph::Supergraph;
    let (router, orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client.subscribe("1", WATCH, json!({})).await;
    orders.wait_for_live(1).await;
    // The new supergraph routes orders elsewhere (nowhere) and has no payments URL that works.
    let sdl = subgraphs::supergraph();
    let mut swapped = Supergraph::parse(&sdl).unwrap();
    for subgraph in &mut swapped.subgraphs {
        subgraph.url = common::dead_url();
    }
    router.state.install(swapped, sdl).unwrap();
    orders.publish("o1", "PAID");
    let event = client.json().await;
    assert_eq!(
        event["payload"],
        json!({ "data": { "orderUpdated": { "status": "PAID", "payment": { "status": "SUCCEEDED" } } } })
    );
    // A new subscription uses the new supergraph.
    client.subscribe("2", WATCH, json!({})).await;
    let refused = client.json().await;
    assert_eq!(refused["id"], "2");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["serviceName"],
        "orders"
    );
}

#[tokio::test]
async fn a_subgraph_subscription_url_from_the_settings_wins_over_the_routing_url() {
    let orders = subgraphs::Orders::start().await;
    let payments = subgraphs::payments().await;
    let mut settings = RouterSettings::default();
    settings
        .subscriptions
        .subgraph_urls
        .insert("orders".into(), orders.url.replacen("http", "ws", 1));
    // Queries would go nowhere; subscriptions go to the named URL.
    let router = Router::start(
        settings,
        &subgraphs::supergraph(),
        &[("orders", &common::dead_url()), ("payments", &payments.url)],
    )
    .await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client.subscribe("1", WATCH, json!({})).await;
    orders.wait_for_live(1).await;
    orders.publish("o1", "PAID");
    let event = client.json().await;
    assert_eq!(event["payload"]["data"]["orderUpdated"]["status"], "PAID");
}
