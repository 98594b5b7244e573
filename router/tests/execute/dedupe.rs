//! Deduplication: identical subgraph queries in flight at once are sent once
//! (on by default), identical client queries share one execution (opt-in);
//! mutations and requests with other credentials are never shared.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use serde_json::{Value, json};
use storefront_router::AppState;
use storefront_router::settings::RouterSettings;

const ME_QUERY: &str = "{ me { id name } }";
const SLOW: Duration = Duration::from_millis(300);

fn users_me(_: &Value) -> Value {
    json!({ "data": { "me": { "__typename": "User", "id": "u1", "name": "Ada" } } })
}

fn settings(fetch_dedupe: bool, request_dedupe: bool) -> RouterSettings {
    RouterSettings {
        dedupe_subgraph_fetches: fetch_dedupe,
        dedupe_requests: request_dedupe,
        ..RouterSettings::default()
    }
}

/// `n` concurrent POSTs of `body`, each with its own `x-request-id` and the
/// given extra headers.
async fn concurrently(
    state: &storefront_router::AppState,
    body: Value,
    n: usize,
    headers: impl Fn(usize) -> Vec<(String, String)>,
) -> Vec<Answered> {
    let requests = (0..n).map(|i| {
        let mut extra = headers(i);
        extra.push(("x-request-id".into(), format!("request-{i}")));
        let body = body.clone();
        async move {
            let extra: Vec<(&str, &str)> = extra
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            post(state, body, &extra).await
        }
    });
    futures::future::join_all(requests).await
}

#[tokio::test]
async fn identical_subgraph_queries_in_flight_are_sent_once() {
    let users = FakeSubgraph::start_with_delay(users_me, SLOW).await;
    let state = serving(&SUPERGRAPH, &[("users", &users.url)]);
    let answers = concurrently(&state, json!({ "query": ME_QUERY }), 5, |_| vec![]).await;
    for answer in &answers {
        assert_eq!(
            answer.body,
            json!({ "data": { "me": { "id": "u1", "name": "Ada" } } })
        );
    }
    assert_eq!(
        users.received().len(),
        1,
        "five requests, one subgraph call"
    );
    // The one request sent carries one of the clients' request ids.
    let sent = &users.received()[0].headers["x-request-id"];
    assert!(sent.to_str().unwrap().starts_with("request-"));

    // Once it has answered, the next request is sent again (nothing cached).
    let again = query(&state, ME_QUERY, json!({})).await;
    assert_eq!(again.body["data"]["me"]["id"], "u1");
    assert_eq!(users.received().len(), 2);
}

#[tokio::test]
async fn subgraph_queries_with_other_credentials_are_not_shared() {
    let users = FakeSubgraph::start_with_delay(users_me, SLOW).await;
    let state = serving(&SUPERGRAPH, &[("users", &users.url)]);
    let answers = concurrently(&state, json!({ "query": ME_QUERY }), 3, |i| {
        vec![("authorization".into(), format!("Bearer token-{}", i % 2))]
    })
    .await;
    assert!(answers.iter().all(|a| a.body["data"]["me"]["id"] == "u1"));
    let mut tokens: Vec<String> = users
        .received()
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    tokens.sort();
    assert_eq!(tokens, ["Bearer token-0", "Bearer token-1"]);
}

#[tokio::test]
async fn fetch_dedupe_can_be_turned_off() {
    let users = FakeSubgraph::start_with_delay(users_me, SLOW).await;
    let state = AppState::new(settings(false, false)).unwrap();
    install_with_urls(&state, &[("users", &users.url)]);
    concurrently(&state, json!({ "query": ME_QUERY }), 3, |_| vec![]).await;
    assert_eq!(users.received().len(), 3);
}

#[tokio::test]
async fn mutations_always_reach_the_subgraph() {
    let users = FakeSubgraph::start_with_delay(
        |_| json!({ "data": { "updateProfile": { "__typename": "User", "id": "u1", "name": "Bo" } } }),
        SLOW,
    )
    .await;
    for request_dedupe in [false, true] {
        let state = AppState::new(settings(true, request_dedupe)).unwrap();
        install_with_urls(&state, &[("users", &users.url)]);
        let body = json!({ "query": "mutation { updateProfile(name: \"Bo\") { id name } }" });
        let answers = concurrently(&state, body, 3, |_| vec![]).await;
        assert!(
            answers
                .iter()
                .all(|a| a.body["data"]["updateProfile"]["name"] == "Bo")
        );
    }
    assert_eq!(users.received().len(), 6, "three mutations, twice");
}

#[tokio::test]
async fn identical_client_queries_share_one_execution_when_asked() {
    let users = FakeSubgraph::start_with_delay(users_me, SLOW).await;
    let state = AppState::new(settings(false, true)).unwrap();
    install_with_urls(&state, &[("users", &users.url)]);
    let answers = concurrently(&state, json!({ "query": ME_QUERY }), 4, |_| vec![]).await;
    // Fetch dedupe is off, so one subgraph call means one execution.
    assert_eq!(users.received().len(), 1);
    for answer in &answers {
        assert_eq!(
            answer.body,
            json!({ "data": { "me": { "id": "u1", "name": "Ada" } } })
        );
    }
    // Other variables are another request.
    let body = |first: i64| json!({ "query": "query($n: Int) { products(first: $n) { edges { cursor } } }", "variables": { "n": first } });
    let inventory = FakeSubgraph::start_with_delay(
        |_| json!({ "data": { "products": { "edges": [] } } }),
        SLOW,
    )
    .await;
    let state = AppState::new(settings(false, true)).unwrap();
    install_with_urls(&state, &[("inventory", &inventory.url)]);
    let (a, b, c) = tokio::join!(
        post(&state, body(1), &[]),
        post(&state, body(1), &[]),
        post(&state, body(2), &[]),
    );
    for answer in [a, b, c] {
        assert_eq!(
            answer.body,
            json!({ "data": { "products": { "edges": [] } } })
        );
    }
    assert_eq!(inventory.received().len(), 2);
}

#[tokio::test]
async fn request_dedupe_is_off_by_default() {
    assert!(!RouterSettings::default().dedupe_requests);
    assert!(RouterSettings::default().dedupe_subgraph_fetches);
}

#[tokio::test]
async fn entity_answers_shared_by_several_requests_reach_each_of_them() {
    let users = FakeSubgraph::start_with_delay(users_me, SLOW).await;
    let orders = FakeSubgraph::start_with_delay(
        |_| {
            json!({ "data": { "_entities": [
                { "orders": { "edges": [{ "node": { "id": "o1" } }, { "node": { "id": "o2" } }] } }
            ] } })
        },
        SLOW,
    )
    .await;
    let state = serving(
        &SUPERGRAPH,
        &[("users", &users.url), ("orders", &orders.url)],
    );
    let query = "{ me { name orders { edges { node { id } } } } }";
    let answers = concurrently(&state, json!({ "query": query }), 4, |_| vec![]).await;
    let expected = json!({ "data": { "me": { "name": "Ada", "orders": { "edges": [
        { "node": { "id": "o1" } }, { "node": { "id": "o2" } }
    ] } } } });
    for answer in &answers {
        assert_eq!(answer.body, expected);
    }
    assert_eq!(users.received().len(), 1);
    assert_eq!(
        orders.received().len(),
        1,
        "one entity fetch for four requests"
    );
}
