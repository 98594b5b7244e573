//! Accounts and tokens through the router, with the four real subgraphs:
//! `changePassword` and `logoutEverywhere` revoke earlier tokens at orders and
//! payments too (within `TOKEN_VERSION_CACHE_TTL`), and the users subgraph's
//! `_entities` shows a user's private fields only to the owner, an ADMIN or a
//! service, while the router's own flows (an order's buyer) keep working.

use std::time::Duration;

use serde_json::{Value, json};
use storefront_e2e::{
    Service, Subgraphs, composed_router, eventually, init_logs, listen, start_subgraphs_with,
};
use storefront_shared::settings::DEFAULT_TOKEN_VERSION_CACHE_TTL;

const ADMIN: &str = "boss@shop.test";
const PASSWORD: &str = "a long password";
const NEW_PASSWORD: &str = "another long password";

/// How long after a revocation the other services may still accept a token:
/// the cache bound, plus a second for the requests themselves.
fn revocation_bound() -> Duration {
    DEFAULT_TOKEN_VERSION_CACHE_TTL + Duration::from_secs(1)
}

/// The four subgraphs (with [`ADMIN`] as an admin email) and a router composed
/// from them, serving on port 0.
async fn shop(dir: &std::path::Path) -> (Subgraphs, Service) {
    init_logs();
    let subgraphs = start_subgraphs_with(dir, |common| {
        common.admin_emails = vec![ADMIN.to_owned()];
    })
    .await;
    let state = composed_router(&subgraphs).await;
    let (listener, url) = listen().await;
    let task = tokio::spawn(storefront_router::run(
        listener,
        state,
        std::future::pending(),
    ));
    (subgraphs, Service::new(url, task))
}

/// The error code of the first error, if any.
fn code(answer: &Value) -> Option<&str> {
    answer["errors"][0]["extensions"]["code"].as_str()
}

/// Registers `email`; its token and id.
async fn register(router: &Service, email: &str) -> (String, String) {
    let answer = router
        .graphql(
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { token user { id } } }",
            json!({ "input": { "email": email, "password": PASSWORD, "name": "Tester" } }),
        )
        .await;
    let payload = &answer["data"]["register"];
    let token = payload["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    let id = payload["user"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    (token.to_owned(), id.to_owned())
}

async fn login(router: &Service, email: &str, password: &str) -> String {
    let answer = router
        .graphql(
            None,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
            json!({ "e": email, "p": password }),
        )
        .await;
    answer["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned()
}

/// A product with stock to spare.
async fn a_sku(router: &Service) -> String {
    let answer = router
        .graphql(
            None,
            "{ products(first: 50) { edges { node { sku stock } } } }",
            json!({}),
        )
        .await;
    answer["data"]["products"]["edges"]
        .as_array()
        .and_then(|edges| {
            edges
                .iter()
                .find(|edge| edge["node"]["stock"].as_i64().unwrap_or(0) >= 10)
        })
        .and_then(|edge| edge["node"]["sku"].as_str())
        .unwrap_or_else(|| panic!("a product in stock: {answer}"))
        .to_owned()
}

async fn create_order(router: &Service, token: &str, sku: &str) -> Value {
    router
        .graphql(
            Some(token),
            "mutation($items: [OrderItemInput!]!) { createOrder(items: $items) { id status } }",
            json!({ "items": [{ "sku": sku, "quantity": 1 }] }),
        )
        .await
}

async fn place_order(router: &Service, token: &str, sku: &str) -> String {
    let answer = create_order(router, token, sku).await;
    answer["data"]["createOrder"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned()
}

async fn my_orders(router: &Service, token: &str) -> Value {
    router
        .graphql(
            Some(token),
            "{ myOrders { edges { node { id } } } }",
            json!({}),
        )
        .await
}

async fn cancel(router: &Service, token: &str, order_id: &str) -> Value {
    router
        .graphql(
            Some(token),
            "mutation($id: ID!) { cancelOrder(id: $id) { status } }",
            json!({ "id": order_id }),
        )
        .await
}

async fn pay(router: &Service, token: &str, order_id: &str, card: &str, key: &str) -> Value {
    router
        .graphql(
            Some(token),
            "mutation($id: ID!, $card: String!, $key: String!) { payOrder(orderId: $id, paymentToken: $card, idempotencyKey: $key) { status } }",
            json!({ "id": order_id, "card": card, "key": key }),
        )
        .await
}

/// Before: `old` works at orders and payments (their caches now know it).
/// After `revoke` ran: within the bound, `old` is UNAUTHENTICATED for
/// myOrders, createOrder, cancelOrder and payOrder; a fresh login works for all.
async fn old_tokens_are_refused_everywhere_after(
    revoke: &str,
    revoke_variables: Value,
    new_password: &str,
) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_subgraphs, router) = shop(dir.path()).await;
    let (old, _) = register(&router, "ada@shop.test").await;
    let sku = a_sku(&router).await;
    let to_cancel = place_order(&router, &old, &sku).await;
    let to_pay = place_order(&router, &old, &sku).await;
    let paid = place_order(&router, &old, &sku).await;
    assert_eq!(code(&my_orders(&router, &old).await), None);
    let answer = pay(&router, &old, &paid, "tok_visa", "warm-up").await;
    assert_eq!(
        answer["data"]["payOrder"]["status"], "SUCCEEDED",
        "{answer}"
    );

    let answer = router.graphql(Some(&old), revoke, revoke_variables).await;
    assert_eq!(code(&answer), None, "{answer}");
    let me = router.graphql(Some(&old), "{ me { id } }", json!({})).await;
    assert_eq!(
        code(&me),
        Some("UNAUTHENTICATED"),
        "users refuses at once: {me}"
    );

    // Orders learns within the bound; from then on every operation refuses.
    eventually("orders refuses the old token", revocation_bound(), || {
        let router = &router;
        let old = &old;
        async move { code(&my_orders(router, old).await) == Some("UNAUTHENTICATED") }
    })
    .await;
    let answer = create_order(&router, &old, &sku).await;
    assert_eq!(
        code(&answer),
        Some("UNAUTHENTICATED"),
        "createOrder: {answer}"
    );
    let answer = cancel(&router, &old, &to_cancel).await;
    assert_eq!(
        code(&answer),
        Some("UNAUTHENTICATED"),
        "cancelOrder: {answer}"
    );

    // Payments too (a declining card, so an early acceptance costs nothing).
    let mut attempt = 0;
    eventually("payments refuses the old token", revocation_bound(), || {
        attempt += 1;
        let key = format!("after-revocation-{attempt}");
        let router = &router;
        let old = &old;
        let to_pay = &to_pay;
        async move {
            let answer = pay(router, old, to_pay, "tok_chargeDeclined", &key).await;
            code(&answer) == Some("UNAUTHENTICATED")
        }
    })
    .await;

    let fresh = login(&router, "ada@shop.test", new_password).await;
    let mine = my_orders(&router, &fresh).await;
    assert_eq!(
        mine["data"]["myOrders"]["edges"].as_array().map(Vec::len),
        Some(3),
        "{mine}"
    );
    let answer = cancel(&router, &fresh, &to_cancel).await;
    assert_eq!(
        answer["data"]["cancelOrder"]["status"], "CANCELLED",
        "{answer}"
    );
    let answer = pay(&router, &fresh, &to_pay, "tok_visa", "with-the-new-token").await;
    assert_eq!(
        answer["data"]["payOrder"]["status"], "SUCCEEDED",
        "{answer}"
    );
    let answer = create_order(&router, &fresh, &sku).await;
    assert_eq!(
        answer["data"]["createOrder"]["status"], "PENDING_PAYMENT",
        "{answer}"
    );
}

#[tokio::test]
async fn a_password_change_revokes_earlier_tokens_at_orders_and_payments() {
    old_tokens_are_refused_everywhere_after(
        "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }",
        json!({ "c": PASSWORD, "n": NEW_PASSWORD }),
        NEW_PASSWORD,
    )
    .await;
}

#[tokio::test]
async fn logout_everywhere_revokes_earlier_tokens_at_orders_and_payments() {
    old_tokens_are_refused_everywhere_after("mutation { logoutEverywhere }", json!({}), PASSWORD)
        .await;
}

const ENTITIES: &str =
    "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id email name role } } }";

#[tokio::test]
async fn users_entities_hide_private_fields_but_an_orders_buyer_still_resolves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (subgraphs, router) = shop(dir.path()).await;
    let (ada, ada_id) = register(&router, "ada@shop.test").await;
    let (bob, _) = register(&router, "bob@shop.test").await;
    let (admin, _) = register(&router, ADMIN).await;
    let sku = a_sku(&router).await;
    let order_id = place_order(&router, &ada, &sku).await;

    // Straight at the users subgraph, as anyone on its network could ask.
    let users_url = subgraphs
        .urls()
        .into_iter()
        .find(|(name, _)| name == "users")
        .map(|(_, url)| url)
        .expect("users runs");
    let users = reqwest::Client::new();
    let lookup = |token: Option<&str>| {
        let mut request = users
            .post(&users_url)
            .json(&json!({ "query": ENTITIES, "variables": { "r": [{ "__typename": "User", "id": ada_id }] } }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
    };
    for (token, expected) in [(None, "UNAUTHENTICATED"), (Some(bob.as_str()), "FORBIDDEN")] {
        let answer: Value = lookup(token)
            .send()
            .await
            .expect("users answers")
            .json()
            .await
            .expect("json");
        assert_eq!(code(&answer), Some(expected), "{answer}");
        let text = answer.to_string();
        assert!(!text.contains("ada@shop.test"), "no email leaks: {text}");
        assert!(!text.contains("Tester"), "no name leaks: {text}");
    }

    // Through the router, the buyer and an ADMIN see the buyer's details.
    const ORDER: &str = "query($id: ID!) { order(id: $id) { id buyer { id name email } } }";
    for token in [&ada, &admin] {
        let answer = router
            .graphql(Some(token), ORDER, json!({ "id": order_id }))
            .await;
        assert_eq!(code(&answer), None, "{answer}");
        assert_eq!(
            answer["data"]["order"]["buyer"]["email"], "ada@shop.test",
            "{answer}"
        );
        assert_eq!(
            answer["data"]["order"]["buyer"]["name"], "Tester",
            "{answer}"
        );
    }
    let me = router
        .graphql(
            Some(&ada),
            "{ me { email orders { edges { node { buyer { email } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&me), None, "{me}");
    assert_eq!(
        me["data"]["me"]["orders"]["edges"][0]["node"]["buyer"]["email"], "ada@shop.test",
        "{me}"
    );
    // Another customer still gets nothing of the order.
    let answer = router
        .graphql(Some(&bob), ORDER, json!({ "id": order_id }))
        .await;
    assert_eq!(code(&answer), Some("FORBIDDEN"), "{answer}");
    assert!(!answer.to_string().contains("ada@shop.test"), "{answer}");
}
