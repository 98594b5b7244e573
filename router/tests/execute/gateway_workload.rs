//! The load benchmark's workload (`benches/gateway`): its four subgraphs
//! compose, the router answers its `TestQuery` with the response the bench
//! expects (nested entity fetches, `@requires` inputs, `@provides`), real
//! subgraphs execute every fetch and memoised ones answer repeated fetches
//! from memory, a wrong answer is reported at the path where it differs, and
//! a supergraph file's subgraph URLs are read and rewritten. The bench itself
//! only runs under `cargo bench`.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use storefront_router::client::SubgraphClient;
use storefront_router::settings::{RouterSettings, Timeouts};
use storefront_router::{AppState, app};
use tower::ServiceExt as _;

use crate::{server, supergraph, workload};

/// The bench's subgraph server, in this process on a port of its own.
async fn serve(memo: bool) -> (SocketAddr, Arc<server::Counters>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (app, counters) = server::app(memo);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, counters)
}

async fn router_over(addr: SocketAddr) -> AppState {
    let urls: Vec<(String, String)> = server::NAMES
        .iter()
        .map(|name| (name.to_string(), format!("http://{addr}/{name}")))
        .collect();
    let client = SubgraphClient::new(Timeouts::default()).unwrap();
    let sdl = storefront_router::source::compose_live(&client, &urls)
        .await
        .expect("the four subgraphs compose");
    assert!(sdl.contains(r#"@join__field(graph: INVENTORY, requires: "price weight")"#));
    assert!(sdl.contains(r#"@join__field(graph: REVIEWS, provides: "username")"#));
    // Every fetch sent, however the fetches of a request overlap in time.
    let settings = RouterSettings {
        dedupe_subgraph_fetches: false,
        ..RouterSettings::default()
    };
    let state = AppState::new(settings).unwrap();
    state.install_sdl(&sdl).unwrap();
    state
}

async fn ask(state: &AppState) -> (StatusCode, Value) {
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from(workload::request_body()))
        .unwrap();
    let response = app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn the_router_answers_the_test_query_with_the_expected_response() {
    let (addr, counters) = serve(false).await;
    let state = router_over(addr).await;
    let expected = workload::expected_response();

    let composed = counters.requests();
    let (status, answer) = ask(&state).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(workload::first_difference(&expected, &answer), None);
    // Spot checks of the expected response itself: 6 users, 5 top products,
    // no shipping estimate (the benchmark's inventory answers null).
    assert_eq!(expected["data"]["users"].as_array().unwrap().len(), 6);
    assert_eq!(expected["data"]["topProducts"].as_array().unwrap().len(), 5);
    assert_eq!(
        expected["data"]["topProducts"][0]["shippingEstimate"],
        Value::Null
    );
    assert_eq!(expected["data"]["topProducts"][0]["inStock"], true);
    assert_eq!(expected["data"]["topProducts"][1]["inStock"], false);
    assert_eq!(
        expected["data"]["topProducts"][0]["reviews"][0]["author"]["name"],
        "Uri Goldshtein"
    );

    let fetches = counters.requests() - composed;
    assert!(fetches > 0);
    let (status, again) = ask(&state).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, answer);
    assert_eq!(
        counters.requests(),
        composed + 2 * fetches,
        "every fetch is executed again"
    );
    assert_eq!(counters.memo_hits(), 0);
}

#[tokio::test]
async fn memoised_subgraphs_answer_repeated_fetches_from_memory() {
    let (addr, counters) = serve(true).await;
    let state = router_over(addr).await;

    let (_, answer) = ask(&state).await;
    let first = counters.requests();
    assert_eq!(counters.memo_hits(), 0);
    let (status, again) = ask(&state).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, answer);
    assert_eq!(
        counters.memo_hits(),
        counters.requests() - first,
        "every fetch of the second query is answered from the memo"
    );
    assert!(counters.memo_hits() > 0);
}

#[tokio::test]
async fn inventory_wants_the_fields_shipping_estimate_requires() {
    let (addr, _) = serve(false).await;
    let entities = |representation: Value| async move {
        let body = json!({
            "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { inStock shippingEstimate } } }",
            "variables": { "r": [representation] },
        });
        reqwest::Client::new()
            .post(format!("http://{addr}/inventory"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };

    let with_inputs =
        entities(json!({ "__typename": "Product", "upc": "1", "price": 899, "weight": 100 })).await;
    assert_eq!(
        with_inputs,
        json!({ "data": { "_entities": [{ "inStock": true, "shippingEstimate": null }] } })
    );

    let without = entities(json!({ "__typename": "Product", "upc": "1" })).await;
    let message = without["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("price and weight"), "{without}");
}

#[test]
fn a_supergraph_file_names_its_subgraphs_and_their_urls_can_be_pointed_elsewhere() {
    let sdl = r#"
schema @link(url: "https://specs.apollo.dev/link/v1.0") { query: Query }
enum join__Graph {
  ACCOUNTS @join__graph(name: "accounts", url: "http://0.0.0.0:4200/accounts")
  REVIEWS @join__graph(url: "http://0.0.0.0:4200/reviews", name: "reviews")
}
type Query { a: Int }
"#;
    let graphs: Vec<(String, String)> = supergraph::join_graphs(sdl)
        .unwrap()
        .into_iter()
        .map(|g| (g.name, g.url))
        .collect();
    assert_eq!(
        graphs,
        [
            ("accounts".into(), "http://0.0.0.0:4200/accounts".into()),
            ("reviews".into(), "http://0.0.0.0:4200/reviews".into()),
        ]
    );

    let rewritten =
        supergraph::with_urls(sdl, |name| Ok(format!("http://127.0.0.1:9/{name}"))).unwrap();
    assert_eq!(rewritten, sdl.replace("0.0.0.0:4200", "127.0.0.1:9"));

    let unknown = supergraph::with_urls(sdl, |name| anyhow::bail!("no subgraph {name}"));
    assert_eq!(unknown.unwrap_err().to_string(), "no subgraph accounts");
}

#[test]
fn a_wrong_answer_is_reported_where_it_differs() {
    let expected = workload::expected_response();
    assert_eq!(workload::first_difference(&expected, &expected), None);

    let mut renamed = expected.clone();
    renamed["data"]["users"][2]["reviews"][1]["product"]["name"] = "Stool".into();
    assert_eq!(
        workload::first_difference(&expected, &renamed).unwrap(),
        r#"data.users[2].reviews[1].product.name: expected "Table", got "Stool""#
    );

    let mut estimated = expected.clone();
    estimated["data"]["topProducts"][3]["shippingEstimate"] = 50.into();
    assert_eq!(
        workload::first_difference(&expected, &estimated).unwrap(),
        "data.topProducts[3].shippingEstimate: expected null, got 50"
    );

    let mut with_errors = expected.clone();
    with_errors["errors"] = serde_json::json!([{ "message": "boom" }]);
    assert_eq!(
        workload::first_difference(&expected, &with_errors).unwrap(),
        r#"errors: not expected, got [{"message":"boom"}]"#
    );

    let mut shorter = expected.clone();
    shorter["data"]["users"].as_array_mut().unwrap().pop();
    assert!(
        workload::first_difference(&expected, &shorter)
            .unwrap()
            .starts_with("data.users: expected [")
    );
}
