//! Request size limits line up along the path client → router → subgraph:
//! whatever variables the router accepts (its `limits.max_body_bytes`,
//! 2 MiB by default) it forwards to a subgraph that accepts them (the
//! subgraphs' `[common.limits] max_body_bytes`, 4 MiB by default), so the
//! subgraph answers for the value itself instead of refusing the request.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use storefront_e2e::{Service, composed_router, listen, start_subgraphs};

#[tokio::test]
async fn variables_as_large_as_the_router_accepts_reach_the_subgraph() {
    let dir = tempfile::tempdir().unwrap();
    let subgraphs = start_subgraphs(dir.path()).await;
    let state = composed_router(&subgraphs).await;
    let (listener, url) = listen().await;
    let router = Service::new(
        url,
        tokio::spawn(storefront_router::run(
            listener,
            state,
            std::future::pending(),
        )),
    );
    // Just under the router's 2 MiB body limit, JSON and query included.
    let search = "x".repeat(2 * 1024 * 1024 - 1024);
    let answer = router
        .graphql(
            None,
            "query($search: String) { products(search: $search) { edges { node { sku } } } }",
            json!({ "search": search }),
        )
        .await;
    // Inventory got the whole request and refused the value, by its own rule.
    let error = &answer["errors"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{answer}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("search must be at most 200 characters"),
        "{message}"
    );
}
