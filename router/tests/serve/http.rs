//! GraphQL over HTTP at the router: methods, media types, request errors with
//! locations and codes, limits, introspection of the API schema, probes.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use storefront_router::AppState;
use storefront_router::settings::RouterSettings;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

async fn with_users() -> (FakeSubgraph, AppState) {
    let users =
        FakeSubgraph::start(|_| json!({ "data": { "me": { "__typename": "User", "id": "u1" } } }))
            .await;
    let state = router(
        RouterSettings::default(),
        &[("users", &users.url)],
        vec![(None, plan(fetch("users", "{ me { __typename id } }", &[])))],
    );
    (users, state)
}

/// A `GET` as scripts send it: with the header that lets it through CSRF
/// prevention.
fn get(uri: &str, accept: Option<&str>) -> Request<Body> {
    let mut request = Request::get(uri).header("apollo-require-preflight", "true");
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn post_answers_application_json_by_default_and_graphql_response_json_when_accepted() {
    let (_users, state) = with_users().await;
    let answer = query(&state, "{ me { id } }", json!({})).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["content-type"], "application/json");
    assert_eq!(answer.body, json!({ "data": { "me": { "id": "u1" } } }));

    let answer = post(
        &state,
        json!({ "query": "{ me { id } }" }),
        &[("accept", GRAPHQL_RESPONSE_JSON)],
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["content-type"], GRAPHQL_RESPONSE_JSON);
}

#[tokio::test]
async fn get_runs_queries_and_refuses_mutations_with_405_allow_post() {
    let (users, state) = with_users().await;
    let answer = send(
        &state,
        get("/graphql?query=%7B%20me%20%7B%20id%20%7D%20%7D", None),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["data"]["me"]["id"], "u1");

    let mutation =
        "/graphql?query=mutation%20%7B%20updateProfile(name%3A%20%22x%22)%20%7B%20id%20%7D%20%7D";
    let answer = send(&state, get(mutation, None)).await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.headers["allow"], "POST");
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "BAD_REQUEST"
    );
    assert_eq!(
        users.received().len(),
        1,
        "the mutation reached no subgraph"
    );
}

#[tokio::test]
async fn malformed_json_and_a_missing_query_are_400_with_a_graphql_error() {
    let (_users, state) = with_users().await;
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from("{ not json"))
        .unwrap();
    let answer = send(&state, request).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "BAD_REQUEST"
    );

    let answer = post(&state, json!({ "variables": {} }), &[]).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("query")
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let (_users, state) = with_users().await;
    let request = Request::post("/graphql")
        .header("content-type", "text/plain")
        .header("apollo-require-preflight", "true")
        .body(Body::from("{ me { id } }"))
        .unwrap();
    let answer = send(&state, request).await;
    assert_eq!(answer.status, 415);
    assert!(answer.body["errors"].is_array());
}

#[tokio::test]
async fn an_unacceptable_accept_header_is_406() {
    let (_users, state) = with_users().await;
    let answer = post(
        &state,
        json!({ "query": "{ me { id } }" }),
        &[("accept", "text/html")],
    )
    .await;
    assert_eq!(answer.status, 406);
}

#[tokio::test]
async fn validation_errors_have_locations_and_a_code_and_call_no_subgraph() {
    let (users, state) = with_users().await;
    let body = json!({ "query": "{\n  me { id nope }\n}" });
    let answer = post(&state, body.clone(), &[("accept", GRAPHQL_RESPONSE_JSON)]).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body.get("data").is_none(),
        "a request error has no data"
    );
    let error = &answer.body["errors"][0];
    assert_eq!(error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
    assert_eq!(error["locations"], json!([{ "line": 2, "column": 11 }]));

    let answer = post(&state, body, &[("accept", "application/json")]).await;
    assert_eq!(
        answer.status, 200,
        "application/json answers request errors with 200"
    );
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    assert!(users.received().is_empty());
}

#[tokio::test]
async fn syntax_errors_are_graphql_parse_failed() {
    let (_users, state) = with_users().await;
    let answer = post(
        &state,
        json!({ "query": "{ me { id " }),
        &[("accept", GRAPHQL_RESPONSE_JSON)],
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "GRAPHQL_PARSE_FAILED"
    );
    assert!(answer.body["errors"][0]["locations"].is_array());
}

#[tokio::test]
async fn the_operation_is_chosen_by_operation_name() {
    let (_users, state) = with_users().await;
    let document = "query A { me { id } } query B { __typename }";
    let answer = post(
        &state,
        json!({ "query": document, "operationName": "B" }),
        &[],
    )
    .await;
    assert_eq!(answer.body, json!({ "data": { "__typename": "Query" } }));
    let answer = post(&state, json!({ "query": document }), &[]).await;
    assert!(answer.body.get("data").is_none());
    assert!(answer.body["errors"][0]["message"].as_str().is_some());
    let answer = post(
        &state,
        json!({ "query": document, "operationName": "C" }),
        &[],
    )
    .await;
    assert!(answer.body.get("data").is_none());
}

#[tokio::test]
async fn inaccessible_fields_are_invalid_and_hidden_from_introspection() {
    let (_users, state) = with_users().await;
    let answer = query(&state, "{ orderForPayment(id: \"1\") { id } }", json!({})).await;
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );

    let answer = query(
        &state,
        "{ __typename mutation: __type(name: \"Mutation\") { fields { name } } __schema { types { name } } }",
        json!({}),
    )
    .await;
    assert_eq!(answer.body["data"]["__typename"], "Query");
    let fields: Vec<&str> = answer.body["data"]["mutation"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"payOrder"));
    assert!(!fields.contains(&"reserveStock"), "{fields:?}");
    let types: Vec<&str> = answer.body["data"]["__schema"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"Product"));
    assert!(!types.contains(&"PayableOrder"));
    assert!(!types.iter().any(|t| t.starts_with("join__")));
}

#[tokio::test]
async fn bad_variables_are_bad_user_input() {
    let (_users, state) = with_users().await;
    let answer = query(
        &state,
        "query($sku: ID!) { product(sku: $sku) { name } }",
        json!({}),
    )
    .await;
    assert!(answer.body.get("data").is_none());
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn operations_deeper_than_the_limit_are_rejected_before_planning() {
    let mut settings = RouterSettings::default();
    settings.limits.max_depth = 2;
    let state = router(settings, &[], vec![]);
    let answer = query(&state, "{ me { orders { edges { cursor } } } }", json!({})).await;
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "BAD_REQUEST"
    );
    assert!(
        answer.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("limit is 2")
    );
}

#[tokio::test]
async fn the_query_plan_is_shown_only_when_exposed_and_asked_for() {
    let users = FakeSubgraph::start(|_| json!({ "data": { "me": null } })).await;
    let settings = RouterSettings {
        expose_query_plan: true,
        ..RouterSettings::default()
    };
    let state = router(
        settings,
        &[("users", &users.url)],
        vec![(None, plan(fetch("users", "{ me { __typename id } }", &[])))],
    );
    let answer = post(
        &state,
        json!({ "query": "{ me { id } }" }),
        &[("x-storefront-query-plan", "true")],
    )
    .await;
    assert!(
        answer.body["extensions"]["queryPlan"]
            .as_str()
            .unwrap()
            .contains("users")
    );
    let answer = post(
        &state,
        json!({ "query": "{ me { id } }", "extensions": { "queryPlan": true } }),
        &[],
    )
    .await;
    assert!(answer.body["extensions"]["queryPlan"].is_string());
    let answer = post(&state, json!({ "query": "{ me { id } }" }), &[]).await;
    assert!(answer.body.get("extensions").is_none());

    let (_users, hidden) = with_users().await;
    let answer = post(
        &hidden,
        json!({ "query": "{ me { id } }" }),
        &[("x-storefront-query-plan", "true")],
    )
    .await;
    assert!(answer.body.get("extensions").is_none());
}

#[tokio::test]
async fn ready_is_503_until_a_supergraph_is_loaded_and_health_is_always_200() {
    let empty = AppState::new(RouterSettings::default()).unwrap();
    assert_eq!(send(&empty, get("/ready", None)).await.status, 503);
    assert_eq!(send(&empty, get("/health", None)).await.status, 200);
    let answer = query(&empty, "{ me { id } }", json!({})).await;
    assert_eq!(answer.status, 503);
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "SUPERGRAPH_NOT_LOADED"
    );

    let (_users, state) = with_users().await;
    let answer = send(&state, get("/ready", None)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], Value::from("ready"));
}

#[tokio::test]
async fn prepared_operations_are_cached_per_document_and_operation_name() {
    let (_users, state) = with_users().await;
    for _ in 0..3 {
        query(&state, "{ me { id } }", json!({})).await;
    }
    query(&state, "query Q { me { id } }", json!({})).await;
    assert_eq!(state.engine().unwrap().cached_operations(), 2);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let mut settings = RouterSettings::default();
    settings.limits.max_body_bytes = 64;
    let state = router(settings, &[], vec![]);
    let query = format!("{{ me {{ id }} }} # {}", "x".repeat(200));
    let answer = post(&state, json!({ "query": query }), &[]).await;
    assert_eq!(answer.status, 413);
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "BAD_REQUEST"
    );
}

struct FailingPlanner;

impl storefront_router::pipeline::QueryPlanner for FailingPlanner {
    fn plan(
        &self,
        _operation: &storefront_router::core::normalize::Normalized,
    ) -> Result<storefront_router::core::plan::QueryPlan, storefront_router::core::plan::PlanError>
    {
        Err(storefront_router::core::plan::PlanError::Internal(
            "secret planner detail".into(),
        ))
    }
}

#[tokio::test]
async fn internal_errors_are_masked_for_the_client() {
    let planner: std::sync::Arc<dyn storefront_router::pipeline::QueryPlanner> =
        std::sync::Arc::new(FailingPlanner);
    let state = AppState::with_planner(
        RouterSettings::default(),
        std::sync::Arc::new(move |_| Ok(planner.clone())),
    )
    .unwrap();
    state.install_sdl(&SUPERGRAPH).unwrap();
    let answer = query(&state, "{ me { id } }", json!({})).await;
    let error = &answer.body["errors"][0];
    assert_eq!(error["extensions"]["code"], "INTERNAL_SERVER_ERROR");
    assert!(
        !answer.body.to_string().contains("secret"),
        "{}",
        answer.body
    );
}
