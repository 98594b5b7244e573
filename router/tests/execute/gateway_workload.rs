//! The load benchmark's workload (`benches/gateway`): its four subgraphs
//! compose, the router answers its `TestQuery` with the response the bench
//! expects (nested entity fetches, `@requires` inputs, `@provides`), the
//! subgraphs answer repeated fetches from their memo, and a wrong answer is
//! reported at the path where it differs. The bench itself only runs under
//! `cargo bench`.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::Value;
use storefront_router::client::SubgraphClient;
use storefront_router::settings::{RouterSettings, Timeouts};
use storefront_router::{AppState, app};
use tower::ServiceExt as _;

use crate::{subgraphs, workload};

async fn router_over(subgraphs: &subgraphs::Subgraphs) -> AppState {
    let client = SubgraphClient::new(Timeouts::default()).unwrap();
    let sdl = storefront_router::source::compose_live(&client, &subgraphs.urls())
        .await
        .expect("the four subgraphs compose");
    assert!(sdl.contains(r#"@join__field(graph: INVENTORY, requires: "price weight")"#));
    assert!(sdl.contains(r#"@join__field(graph: REVIEWS, provides: "username")"#));
    let state = AppState::new(RouterSettings::default()).unwrap();
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
    let subgraphs = subgraphs::Subgraphs::start().await.unwrap();
    let state = router_over(&subgraphs).await;
    let expected = workload::expected_response();

    let (status, answer) = ask(&state).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(workload::first_difference(&expected, &answer), None);
    // Spot checks of the expected response itself: 6 users, 5 top products,
    // a shipping estimate from the required price and weight.
    assert_eq!(expected["data"]["users"].as_array().unwrap().len(), 6);
    assert_eq!(expected["data"]["topProducts"].as_array().unwrap().len(), 5);
    assert_eq!(expected["data"]["topProducts"][0]["shippingEstimate"], 50);
    assert_eq!(expected["data"]["topProducts"][1]["shippingEstimate"], 0);
    assert_eq!(
        expected["data"]["topProducts"][0]["reviews"][0]["author"]["name"],
        "Uri Goldshtein"
    );

    let first = subgraphs.memo_stats();
    assert!(first.misses > 0);
    let (status, again) = ask(&state).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, answer);
    let second = subgraphs.memo_stats();
    assert_eq!(second.misses, first.misses, "the same fetches are memoised");
    assert!(second.hits > first.hits);
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

    let mut nulled = expected.clone();
    nulled["data"]["topProducts"][3]["shippingEstimate"] = Value::Null;
    assert_eq!(
        workload::first_difference(&expected, &nulled).unwrap(),
        "data.topProducts[3].shippingEstimate: expected 50, got null"
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
