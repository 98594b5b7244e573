//! End to end through the router: the four real subgraphs run in this process
//! on port 0 with embedded stores, the router composes their SDLs, plans with
//! the core planner and executes against them: the API flow, partial data when
//! a subgraph stops, error paths, introspection, and a composition error.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use storefront_e2e::{Service, composed_router, listen, start_subgraphs};
use storefront_router::AppState;
use storefront_router::settings::RouterSettings;
use storefront_router::source;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Serves `state` on port 0.
async fn serve(state: AppState) -> Service {
    let (listener, url) = listen().await;
    let task = tokio::spawn(storefront_router::run(
        listener,
        state,
        std::future::pending(),
    ));
    Service::new(url, task)
}

const MY_ORDERS: &str = "{ me { name orders { edges { node { items { product { name } quantity } total { amount currency } payment { status } } } } } }";

/// Registers, picks a product, orders it and pays; returns the token.
async fn buy_something(router: &Service) -> String {
    let answer = router.graphql(
        None,
        "mutation($input: RegisterInput!) { register(input: $input) { token user { id name } } }",
        json!({ "input": { "email": "ada@example.com", "password": "a long password", "name": "Ada" } }),
    )
    .await;
    let token = answer["data"]["register"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned();

    let answer = router.graphql(
        None,
        "{ products(first: 50) { edges { node { sku name price { amount currency } stock inStock } } } }",
        json!({}),
    )
    .await;
    let sku = answer["data"]["products"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .find(|edge| edge["node"]["stock"].as_i64().unwrap_or(0) >= 2)
        .and_then(|edge| edge["node"]["sku"].as_str())
        .unwrap_or_else(|| panic!("a product in stock: {answer}"))
        .to_owned();

    let answer = router.graphql(
        Some(&token),
        "mutation($items: [OrderItemInput!]!) { createOrder(items: $items) { id status total { amount } items { product { sku name } } } }",
        json!({ "items": [{ "sku": sku, "quantity": 2 }] }),
    )
    .await;
    assert_eq!(
        answer["data"]["createOrder"]["status"], "PENDING_PAYMENT",
        "{answer}"
    );
    assert_eq!(
        answer["data"]["createOrder"]["items"][0]["product"]["sku"],
        Value::from(sku.clone())
    );
    let order_id = answer["data"]["createOrder"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let answer = router.graphql(
        Some(&token),
        "mutation($id: ID!) { payOrder(orderId: $id, paymentToken: \"tok_visa\", idempotencyKey: \"k-1\") { status order { id status } } }",
        json!({ "id": order_id }),
    )
    .await;
    assert_eq!(
        answer["data"]["payOrder"]["status"], "SUCCEEDED",
        "{answer}"
    );
    token
}

#[tokio::test]
async fn the_api_flow_runs_through_the_router() {
    let dir = tempfile::tempdir().unwrap();
    let subgraphs = start_subgraphs(dir.path()).await;
    let state = composed_router(&subgraphs).await;
    let router = serve(state).await;
    let token = buy_something(&router).await;

    let answer = router.graphql(Some(&token), MY_ORDERS, json!({})).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let node = &answer["data"]["me"]["orders"]["edges"][0]["node"];
    assert_eq!(node["items"][0]["quantity"], 2);
    assert!(node["items"][0]["product"]["name"].is_string(), "{answer}");
    assert_eq!(node["payment"]["status"], "SUCCEEDED");
    assert_eq!(node["total"]["currency"], "USD");
    let keys: Vec<&String> = node.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["items", "total", "payment"],
        "exactly the client's fields, in its order"
    );

    let answer = router.graphql(None, "{ me { id } }", json!({})).await;
    assert_eq!(answer["data"]["me"], Value::Null, "{answer}");
}

#[tokio::test]
async fn returns_partial_data_naming_payments_when_it_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let mut subgraphs = start_subgraphs(dir.path()).await;
    let composed = composed_router(&subgraphs).await;
    let router = serve(composed.clone()).await;
    let token = buy_something(&router).await;

    subgraphs.stop("payments");
    // A router with a fresh connection pool, on the same supergraph.
    let users = subgraphs
        .urls()
        .into_iter()
        .find(|(name, _)| name == "users");
    let settings = storefront_e2e::router_settings(&users.unwrap().1);
    let fresh = AppState::new(settings).unwrap();
    fresh.install_sdl(&composed.engine().unwrap().sdl).unwrap();
    let router = serve(fresh).await;

    let answer = router.graphql(Some(&token), MY_ORDERS, json!({})).await;
    let node = &answer["data"]["me"]["orders"]["edges"][0]["node"];
    assert!(node["items"][0]["product"]["name"].is_string(), "{answer}");
    assert_eq!(node["payment"], Value::Null);
    let error = &answer["errors"][0];
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("payments subgraph is unavailable"),
        "{answer}"
    );
    assert_eq!(error["extensions"]["code"], "SUBGRAPH_UNAVAILABLE");
    assert_eq!(error["extensions"]["serviceName"], "payments");
}

#[tokio::test]
async fn introspection_shows_the_api_schema_without_internal_operations() {
    let dir = tempfile::tempdir().unwrap();
    let subgraphs = start_subgraphs(dir.path()).await;
    let router = serve(composed_router(&subgraphs).await).await;
    let answer = router.graphql(None,
        "{ __schema { queryType { name } mutationType { name } } mutations: __type(name: \"Mutation\") { fields { name } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        answer["data"]["__schema"]["queryType"]["name"], "Query",
        "{answer}"
    );
    assert_eq!(
        answer["data"]["__schema"]["mutationType"]["name"],
        "Mutation"
    );
    let mutations: Vec<&str> = answer["data"]["mutations"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    for public in [
        "register",
        "login",
        "createOrder",
        "payOrder",
        "cancelOrder",
    ] {
        assert!(mutations.contains(&public), "{public} in {mutations:?}");
    }
    for internal in [
        "reserveStock",
        "releaseStock",
        "commitStock",
        "markOrderPaid",
    ] {
        assert!(
            !mutations.contains(&internal),
            "{internal} in {mutations:?}"
        );
    }
}

#[tokio::test]
async fn errors_keep_their_codes_and_paths_through_the_router() {
    let dir = tempfile::tempdir().unwrap();
    let subgraphs = start_subgraphs(dir.path()).await;
    let router = serve(composed_router(&subgraphs).await).await;

    // Invalid GraphQL: a validation error with its location, no data.
    let answer = router
        .graphql(None, "{ products { edges { nodes } } }", json!({}))
        .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "{answer}"
    );
    assert!(
        answer["errors"][0]["locations"][0]["line"].is_number(),
        "{answer}"
    );
    assert!(answer.get("data").is_none(), "{answer}");

    // Wrong credentials.
    let answer = router.graphql(None,
        "mutation { login(email: \"nobody@example.com\", password: \"a long password\") { token } }",
        json!({}),
    )
    .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{answer}"
    );
    assert_eq!(answer["errors"][0]["path"], json!(["login"]), "{answer}");

    // A malformed order id, then an unknown one: the orders subgraph's codes
    // at the client's path.
    let token = buy_something(&router).await;
    let order = "query($id: ID!) { order(id: $id) { id status } }";
    let answer = router
        .graphql(Some(&token), order, json!({ "id": "no-such-order" }))
        .await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{answer}"
    );
    assert_eq!(
        answer["errors"][0]["extensions"]["serviceName"], "orders",
        "{answer}"
    );
    let unknown = json!({ "id": "0190d5a0-0000-7000-8000-000000000000" });
    let answer = router.graphql(Some(&token), order, unknown).await;
    assert_eq!(answer["data"]["order"], Value::Null, "{answer}");
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{answer}"
    );
    assert_eq!(answer["errors"][0]["path"], json!(["order"]), "{answer}");
}

/// A fifth subgraph whose `Product.price` contradicts inventory's.
async fn conflicting_subgraph() -> (String, JoinHandle<()>) {
    const SDL: &str = r#"
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
        type Product @key(fields: "sku") { sku: ID! price: Int @shareable }
    "#;
    let app = axum::Router::new().route(
        "/graphql",
        axum::routing::post(|| async {
            axum::Json(json!({ "data": { "_service": { "sdl": SDL } } }))
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/graphql", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

#[tokio::test]
async fn a_composition_error_names_the_subgraph_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let subgraphs = start_subgraphs(dir.path()).await;
    let (reviews, _task) = conflicting_subgraph().await;
    let mut urls = subgraphs.urls();
    urls.push(("reviews".to_owned(), reviews));
    let state = AppState::new(RouterSettings::default()).unwrap();
    let error = source::compose_live(state.client(), &urls)
        .await
        .expect_err("the subgraphs do not compose")
        .to_string();
    assert!(error.starts_with("composition failed"), "{error}");
    assert!(error.contains("Product.price"), "{error}");
    assert!(error.contains("reviews"), "{error}");
    assert!(
        state.engine().is_none(),
        "nothing is served from a failed composition"
    );
}
