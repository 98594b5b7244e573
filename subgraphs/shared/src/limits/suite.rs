//! The limits' checks as every subgraph's suite runs them (feature
//! `testing`): each sends one hostile (or legitimate) request through a
//! subgraph's whole HTTP app, as a client on its port would, and asserts the
//! answer. A subgraph's `tests/limits.rs` calls each with its own app.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use super::documents;
use super::{RequestLimits, codes};
use crate::testing::send;

/// Posts `body` (a GraphQL request in JSON) to `app`'s `/graphql`.
pub async fn post(app: Router, body: &Value) -> (StatusCode, Value) {
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("a valid request");
    send(app, request).await
}

/// Posts `query` and asserts that it is refused with `code`, no data, and a
/// message that contains `says`; returns the message.
pub async fn assert_refused(app: Router, query: &str, code: &str, says: &str) -> String {
    let (status, body) = post(app, &json!({ "query": query })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["data"].is_null(),
        "no data for a refused request: {body}"
    );
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], code, "{body}");
    let message = error["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains(says), "{message:?} should say {says:?}");
    message
}

/// Asserts that no error in `body` is one of the limits' or a request error.
pub fn assert_no_request_error(body: &Value) {
    for error in body["errors"].as_array().into_iter().flatten() {
        let code = error["extensions"]["code"].as_str().unwrap_or_default();
        assert!(
            ![
                codes::PARSE_FAILED,
                codes::VALIDATION_FAILED,
                codes::BAD_REQUEST,
                codes::QUERY_TOO_COMPLEX,
                codes::UNKNOWN_OPERATION_NAME,
            ]
            .contains(&code),
            "a request error: {body}"
        );
    }
}

/// The fragment bomb of 30 levels (2^30 fields once expanded, 1.2 KB) gets
/// `QUERY_TOO_COMPLEX` instead of being expanded.
pub async fn fragment_bomb_is_refused(app: Router) {
    assert_refused(
        app,
        &documents::fragment_bomb(30),
        codes::QUERY_TOO_COMPLEX,
        "selections once its fragments are expanded",
    )
    .await;
}

/// Fields nested one level deeper than the default limit (through
/// fragments) get `BAD_REQUEST`; at the limit they are answered.
pub async fn deep_nesting_is_refused(app: Router) {
    let limit = RequestLimits::default().max_depth;
    let (_, body) = post(
        app.clone(),
        &json!({ "query": documents::deep_introspection(limit) }),
    )
    .await;
    assert_no_request_error(&body);
    assert!(body["data"]["__schema"]["queryType"].is_object(), "{body}");
    let message = assert_refused(
        app,
        &documents::deep_introspection(limit + 1),
        codes::BAD_REQUEST,
        "levels deep",
    )
    .await;
    assert!(message.contains(&format!("limit is {limit}")), "{message}");
}

/// One alias more than the default limit gets `BAD_REQUEST`; at the limit
/// the request is answered.
pub async fn too_many_aliases_are_refused(app: Router) {
    let limit = RequestLimits::default().max_aliases;
    let (_, body) = post(app.clone(), &json!({ "query": documents::aliases(limit) })).await;
    assert_no_request_error(&body);
    assert!(
        body["data"]["__schema"]["queryType"]["a0"].is_string(),
        "{body}"
    );
    assert_refused(
        app,
        &documents::aliases(limit + 1),
        codes::BAD_REQUEST,
        "aliases",
    )
    .await;
}

/// One token more than the default limit fails to parse
/// (`GRAPHQL_PARSE_FAILED`), and so do brackets nested far deeper than the
/// parser could follow.
pub async fn too_many_tokens_are_refused(app: Router) {
    let limits = RequestLimits::default();
    assert_refused(
        app.clone(),
        &documents::tokens(limits.parser_max_tokens + 1),
        codes::PARSE_FAILED,
        "tokens",
    )
    .await;
    assert_refused(
        app,
        &documents::nested_brackets(100_000),
        codes::PARSE_FAILED,
        "brackets",
    )
    .await;
}

/// The subgraph's own parse and validation errors carry Apollo's codes.
pub async fn request_errors_are_coded(app: Router) {
    assert_refused(app.clone(), "{ __typename ", codes::PARSE_FAILED, "").await;
    assert_refused(
        app.clone(),
        "{ noSuchField }",
        codes::VALIDATION_FAILED,
        "noSuchField",
    )
    .await;
    let (_, body) = post(
        app,
        &json!({ "query": "query A { __typename }", "operationName": "B" }),
    )
    .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        codes::UNKNOWN_OPERATION_NAME,
        "{body}"
    );
}

/// An `_entities` call with `count` representations of `typename` (key
/// `key` = `<prefix><n>`), as the router batches them, meets no limit:
/// representations are variables, not fields. Returns the response.
pub async fn many_representations_pass(
    app: Router,
    typename: &str,
    key: &str,
    count: usize,
    headers: &[(&str, &str)],
) -> Value {
    let representations: Vec<Value> = (0..count)
        .map(|n| json!({ "__typename": typename, key: format!("{typename}-{n}") }))
        .collect();
    let query = format!(
        "query($representations: [_Any!]!) {{ _entities(representations: $representations) \
         {{ __typename ... on {typename} {{ {key} }} }} }}"
    );
    let mut request = Request::post("/graphql").header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = json!({ "query": query, "variables": { "representations": representations } });
    let (status, body) = send(
        app,
        request
            .body(Body::from(body.to_string()))
            .expect("a valid request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_no_request_error(&body);
    body
}

/// The six limits tests, each a `#[tokio::test]`, for a subgraph's
/// `tests/limits.rs`: `$make` evaluates (inside each test's async body) to
/// `(whatever must outlive the app, the app's Router)`, and `$typename` with
/// its key field `$key` is the entity the `_entities` batch asks for.
#[macro_export]
macro_rules! limits_tests {
    ($make:expr, $typename:literal, $key:literal) => {
        #[tokio::test]
        async fn a_fragment_bomb_is_refused_before_it_is_expanded() {
            let (_keep, app) = $make;
            $crate::limits::suite::fragment_bomb_is_refused(app).await;
        }

        #[tokio::test]
        async fn fields_nested_deeper_than_the_limit_are_refused() {
            let (_keep, app) = $make;
            $crate::limits::suite::deep_nesting_is_refused(app).await;
        }

        #[tokio::test]
        async fn more_aliases_than_the_limit_are_refused() {
            let (_keep, app) = $make;
            $crate::limits::suite::too_many_aliases_are_refused(app).await;
        }

        #[tokio::test]
        async fn more_tokens_than_the_limit_fail_to_parse() {
            let (_keep, app) = $make;
            $crate::limits::suite::too_many_tokens_are_refused(app).await;
        }

        #[tokio::test]
        async fn parse_validation_and_operation_name_errors_carry_codes() {
            let (_keep, app) = $make;
            $crate::limits::suite::request_errors_are_coded(app).await;
        }

        #[tokio::test]
        async fn an_entities_batch_of_two_thousand_representations_passes_the_limits() {
            let (_keep, app) = $make;
            $crate::limits::suite::many_representations_pass(app, $typename, $key, 2000, &[]).await;
        }
    };
}
