//! The token of a WebSocket connection: from `connection_init`'s payload or
//! the upgrade's `Authorization`, verified by the router's JWT
//! authentication; a subscription ends when its token expires.

use serde_json::json;
use storefront_router::settings::{JwtSettings, RouterSettings};

use crate::common::jwt::{JwksServer, Signer, claims, jwks, now};
use crate::{Client, Router};

const WATCH: &str = "subscription { orderUpdated(id: \"o1\") { status } }";

async fn guarded() -> (JwksServer, Signer, RouterSettings) {
    let signer = Signer::ed25519("k1");
    let server = JwksServer::start(jwks(&[&signer])).await;
    let settings = RouterSettings {
        jwt: JwtSettings {
            jwks_urls: vec![server.url.clone()],
            issuers: vec!["storefront-users".into()],
            audiences: vec!["storefront".into()],
            required: true,
            ..JwtSettings::default()
        },
        ..RouterSettings::default()
    };
    (server, signer, settings)
}

#[tokio::test]
async fn a_token_in_the_init_payload_is_verified_and_a_forged_one_closes_with_4403() {
    let (_jwks, signer, settings) = guarded().await;
    let (router, orders, _payments) = Router::with_shop(settings).await;
    let token = signer.sign(&claims("u1", json!({})));
    let mut client = Client::ready(
        &router.ws_url(),
        json!({ "Authorization": format!("Bearer {token}") }),
    )
    .await;
    client.subscribe("1", WATCH, json!({})).await;
    orders.wait_for_live(1).await;
    // The subgraph saw the caller's token.
    let inits = orders.inits.lock().unwrap().clone();
    assert_eq!(inits[0].0["Authorization"], format!("Bearer {token}"));

    let forged = Signer::ed25519("k1").sign(&claims("u1", json!({})));
    let mut client = Client::connect(&router.ws_url(), Some("graphql-transport-ws"), &[]).await;
    client
        .send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {forged}") } }))
        .await;
    assert_eq!(client.close_code().await, 4403);

    let mut client = Client::connect(&router.ws_url(), Some("graphql-transport-ws"), &[]).await;
    client.send(json!({ "type": "connection_init" })).await;
    assert_eq!(client.close_code().await, 4403, "a token is required");
}

#[tokio::test]
async fn a_token_on_the_upgrade_request_is_accepted() {
    let (_jwks, signer, settings) = guarded().await;
    let (router, _orders, _payments) = Router::with_shop(settings).await;
    let token = signer.sign(&claims("u1", json!({})));
    let header = format!("Bearer {token}");
    let mut client = Client::connect(
        &router.ws_url(),
        Some("graphql-transport-ws"),
        &[("authorization", header.as_str())],
    )
    .await;
    client.send(json!({ "type": "connection_init" })).await;
    assert_eq!(client.json().await, json!({ "type": "connection_ack" }));
}

#[tokio::test]
async fn a_subscription_ends_when_its_token_expires() {
    let (_jwks, signer, settings) = guarded().await;
    let (router, orders, _payments) = Router::with_shop(settings).await;
    let token = signer.sign(&claims("u1", json!({ "exp": now() + 2 })));
    let mut client = Client::ready(
        &router.ws_url(),
        json!({ "Authorization": format!("Bearer {token}") }),
    )
    .await;
    client.subscribe("1", WATCH, json!({})).await;
    orders.wait_for_live(1).await;
    let last = client.json().await;
    assert_eq!(last["type"], "next");
    assert_eq!(
        last["payload"]["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert_eq!(
        client.json().await,
        json!({ "id": "1", "type": "complete" })
    );
    orders.wait_for_live(0).await;
}
