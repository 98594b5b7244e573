//! `graphql-transport-ws` on `/graphql`.

use std::time::Duration;

use serde_json::json;
use storefront_router::settings::RouterSettings;

use crate::{Client, Router};

const WATCH: &str =
    "subscription Watch($id: ID!) { orderUpdated(id: $id) { id status payment { status } } }";

#[tokio::test]
async fn each_event_runs_the_entity_fetches_and_arrives_in_order() {
    let (router, orders, payments) = Router::with_shop(RouterSettings::default()).await;
    let mut client =
        Client::ready(&router.ws_url(), json!({ "Authorization": "Bearer t0k" })).await;
    client.subscribe("1", WATCH, json!({ "id": "o1" })).await;
    orders.wait_for_live(1).await;
    for status in ["PAID", "SHIPPED", "DELIVERED"] {
        orders.publish("o1", status);
    }
    orders.publish("o2", "PAID");
    for status in ["PAID", "SHIPPED", "DELIVERED"] {
        assert_eq!(
            client.json().await,
            json!({ "id": "1", "type": "next", "payload": { "data": { "orderUpdated": {
                "id": "o1", "status": status, "payment": { "status": "SUCCEEDED" }
            } } } })
        );
    }
    // Every event went to payments for the payment.
    let entity_fetches = payments
        .received()
        .iter()
        .filter(|r| {
            r.body["query"]
                .as_str()
                .unwrap_or_default()
                .contains("_entities")
        })
        .count();
    assert_eq!(entity_fetches, 3);
    // The token reached the subgraph in the init payload and on the upgrade.
    let inits = orders.inits.lock().unwrap().clone();
    assert_eq!(inits[0].0["Authorization"], "Bearer t0k");
    assert_eq!(inits[0].1.as_deref(), Some("Bearer t0k"));
    // `complete` from the client ends the subgraph's subscription too.
    client.send(json!({ "id": "1", "type": "complete" })).await;
    orders.wait_for_live(0).await;
}

#[tokio::test]
async fn several_subscriptions_share_one_socket() {
    let (router, orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client.subscribe("a", WATCH, json!({ "id": "o1" })).await;
    client.subscribe("b", WATCH, json!({ "id": "o2" })).await;
    orders.wait_for_live(2).await;
    orders.publish("o2", "CANCELLED");
    let event = client.json().await;
    assert_eq!(event["id"], "b");
    assert_eq!(
        event["payload"]["data"]["orderUpdated"]["status"],
        "CANCELLED"
    );
    orders.publish("o1", "PAID");
    let event = client.json().await;
    assert_eq!(event["id"], "a");
    assert_eq!(event["payload"]["data"]["orderUpdated"]["status"], "PAID");
}

#[tokio::test]
async fn a_subscription_the_subgraph_completes_is_completed_for_the_client() {
    let (router, _orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client
        .subscribe("c", "subscription { countdown(from: 2) }", json!({}))
        .await;
    for n in [2, 1] {
        assert_eq!(
            client.json().await,
            json!({ "id": "c", "type": "next", "payload": { "data": { "countdown": n } } })
        );
    }
    assert_eq!(
        client.json().await,
        json!({ "id": "c", "type": "complete" })
    );
}

#[tokio::test]
async fn a_client_without_the_subprotocol_is_closed_with_4406() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let (router, _orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    // Only `graphql-ws` (the legacy subscriptions-transport-ws): the router
    // selects no subprotocol, so the client's handshake fails.
    let mut request = router.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "graphql-ws".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    assert!(
        matches!(
            refused,
            Err(tokio_tungstenite::tungstenite::Error::Protocol(
                tokio_tungstenite::tungstenite::error::ProtocolError::SecWebSocketSubProtocolError(
                    _
                )
            ))
        ),
        "{refused:?}"
    );
    // None at all: accepted, then closed with 4406.
    let mut client = Client::connect(&router.ws_url(), None, &[]).await;
    assert_eq!(client.close_code().await, 4406);
}

#[tokio::test]
async fn an_unknown_message_type_closes_with_4400() {
    let (router, _orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client.send(json!({ "type": "start", "id": "1" })).await;
    assert_eq!(client.close_code().await, 4400);
}

#[tokio::test]
async fn a_duplicate_subscription_id_closes_with_4409() {
    let (router, orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client.subscribe("1", WATCH, json!({ "id": "o1" })).await;
    orders.wait_for_live(1).await;
    client.subscribe("1", WATCH, json!({ "id": "o1" })).await;
    assert_eq!(client.close_code().await, 4409);
    // Closing the socket ends the subgraph's subscription.
    orders.wait_for_live(0).await;
}

#[tokio::test]
async fn subscribing_before_the_ack_closes_with_4401() {
    let (router, _orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let mut client = Client::connect(&router.ws_url(), Some("graphql-transport-ws"), &[]).await;
    client.subscribe("1", WATCH, json!({ "id": "o1" })).await;
    assert_eq!(client.close_code().await, 4401);
}

#[tokio::test]
async fn no_connection_init_in_time_closes_with_4408() {
    let mut settings = RouterSettings::default();
    settings.subscriptions.init_timeout = Duration::from_millis(200);
    let (router, _orders, _payments) = Router::with_shop(settings).await;
    let mut client = Client::connect(&router.ws_url(), Some("graphql-transport-ws"), &[]).await;
    assert_eq!(client.close_code().await, 4408);
}

#[tokio::test]
async fn a_second_connection_init_closes_with_4429() {
    let (router, _orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client.send(json!({ "type": "connection_init" })).await;
    assert_eq!(client.close_code().await, 4429);
}

#[tokio::test]
async fn an_invalid_operation_gets_an_error_message_and_the_socket_stays_open() {
    let (router, _orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client
        .subscribe(
            "1",
            "subscription { orderUpdated(id: \"o1\") { nope } }",
            json!({}),
        )
        .await;
    let error = client.json().await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["id"], "1");
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    client.send(json!({ "type": "ping" })).await;
    assert_eq!(client.json().await, json!({ "type": "pong" }));
}

#[tokio::test]
async fn a_query_over_the_socket_gets_one_next_and_complete() {
    let (router, _orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    client
        .subscribe(
            "q",
            "{ order(id: \"o7\") { status payment { status } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        client.json().await,
        json!({ "id": "q", "type": "next", "payload": { "data": { "order": {
            "status": "PENDING_PAYMENT", "payment": { "status": "SUCCEEDED" }
        } } } })
    );
    assert_eq!(
        client.json().await,
        json!({ "id": "q", "type": "complete" })
    );
}

#[tokio::test]
async fn a_subscription_over_plain_json_is_refused() {
    let (router, _orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", router.base))
        .json(&json!({ "query": "subscription { countdown(from: 1) }" }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("streaming transport"), "{body}");
}

#[tokio::test]
async fn the_router_pings_an_idle_socket() {
    let mut settings = RouterSettings::default();
    settings.subscriptions.heartbeat_interval = Duration::from_millis(100);
    let (router, _orders, _payments) = Router::with_shop(settings).await;
    let mut client = Client::ready(&router.ws_url(), json!({})).await;
    // `receive` skips pings; read the raw socket instead.
    let ping = tokio::time::timeout(
        Duration::from_secs(2),
        futures::StreamExt::next(&mut client.socket),
    )
    .await
    .expect("a ping within 2 s")
    .expect("open")
    .expect("a message");
    assert_eq!(ping.into_text().unwrap().as_str(), r#"{"type":"ping"}"#);
}
