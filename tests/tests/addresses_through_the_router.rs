//! Saved addresses and login throttling as a client of the
//! router sees them: the four real subgraphs in this process (embedded
//! stores), the router composing them.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use storefront_e2e::{Service, composed_router, error_code, listen, register, start_subgraphs};

async fn serve(state: storefront_router::AppState) -> Service {
    let (listener, url) = listen().await;
    let task = tokio::spawn(storefront_router::run(
        listener,
        state,
        std::future::pending(),
    ));
    Service::new(url, task)
}

const ADD: &str =
    "mutation($i: AddressInput!) { addAddress(input: $i) { id isDefault country postalCode } }";

fn home() -> Value {
    json!({ "i": { "name": "Ada", "line1": "10 Downing St", "city": "London", "postalCode": "sw1a 2aa", "country": "gb" } })
}

#[tokio::test]
async fn a_user_saves_and_lists_addresses_through_the_router_and_nobody_else_reaches_them() {
    let dir = tempfile::tempdir().unwrap();
    let subgraphs = start_subgraphs(dir.path()).await;
    let router = serve(composed_router(&subgraphs).await).await;
    let ada = register(&router, "ada@example.com").await;
    let eve = register(&router, "eve@example.com").await;

    let added = router.graphql(Some(&ada), ADD, home()).await;
    let address = &added["data"]["addAddress"];
    assert_eq!(address["isDefault"], true, "{added}");
    assert_eq!(address["postalCode"], "SW1A 2AA");
    let id = address["id"].as_str().unwrap().to_owned();

    let mine = router
        .graphql(
            Some(&ada),
            "{ me { addresses { id isDefault country } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        mine["data"]["me"]["addresses"],
        json!([{ "id": id, "isDefault": true, "country": "GB" }])
    );

    let stolen = router
        .graphql(
            Some(&eve),
            "mutation($id: ID!) { setDefaultAddress(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&stolen), "NOT_FOUND", "{stolen}");

    let bad = router
        .graphql(
            Some(&ada),
            ADD,
            json!({ "i": { "name": "Ada", "line1": "1 Main St", "city": "X", "country": "US" } }),
        )
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT", "{bad}");
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("postalCode"),
        "{bad}"
    );

    // The checkout lookup is for the orders service only: not in the API.
    let internal = router
        .graphql(
            Some(&ada),
            "query($u: ID!, $a: ID!) { addressForCheckout(userId: $u, addressId: $a) { line1 } }",
            json!({ "u": "x", "a": id }),
        )
        .await;
    assert_eq!(
        error_code(&internal),
        "GRAPHQL_VALIDATION_FAILED",
        "{internal}"
    );
}

#[tokio::test]
async fn a_throttled_login_reaches_the_client_with_its_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let subgraphs = start_subgraphs(dir.path()).await;
    let router = serve(composed_router(&subgraphs).await).await;
    register(&router, "ada@example.com").await;

    const LOGIN: &str =
        "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
    let wrong = json!({ "e": "ada@example.com", "p": "not the password" });
    let mut answers = Vec::new();
    for _ in 0..7 {
        answers.push(router.graphql(None, LOGIN, wrong.clone()).await);
    }
    let codes: Vec<&str> = answers.iter().map(error_code).collect();
    assert_eq!(
        codes[..6],
        ["UNAUTHENTICATED"; 6],
        "5 free failures, then the 6th is checked: {answers:?}"
    );
    assert_eq!(codes[6], "TOO_MANY_REQUESTS", "{answers:?}");
    let retry = answers[6]["errors"][0]["extensions"]["retryAfter"].as_u64();
    assert_eq!(retry, Some(1), "{}", answers[6]);
}
