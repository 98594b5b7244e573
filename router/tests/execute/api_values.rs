//! Subgraph values the API schema cannot show complete as null: an enum value
//! that is `@inaccessible` (or unknown), and an object whose `__typename` is an
//! `@inaccessible` (or unknown) type. A non-null position propagates the null
//! to the nearest nullable parent, with an error.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use serde_json::{Value, json};
use storefront_router::AppState;

const SUPERGRAPH: &str = include_str!("../fixtures/api-values-supergraph.graphql");

/// The shelf subgraph: answers by the root field the router asks for.
fn shelf(body: &Value) -> Value {
    let query = body["query"].as_str().unwrap();
    if query.contains("books") {
        json!({ "data": { "books": [
            { "id": "b1", "status": "ON_LOAN", "state": "IN_STOCK" },
            { "id": "b2", "status": "WITHDRAWN", "state": "IN_STOCK" },
            { "id": "b3", "status": "LOST", "state": "IN_STOCK" },
        ] } })
    } else if query.contains("entries") {
        json!({ "data": { "entries": [
            { "__typename": "Book", "id": "b1" },
            { "__typename": "Draft", "id": "d1" },
            { "__typename": "Pamphlet", "id": "p1" },
        ] } })
    } else {
        json!({ "data": { "entry": { "__typename": "Draft", "id": "d1" } } })
    }
}

async fn router(url: &str) -> AppState {
    serving(SUPERGRAPH, &[("*", url)])
}

#[tokio::test]
async fn enum_values_outside_the_api_schema_are_null() {
    let subgraph = FakeSubgraph::start(shelf).await;
    let state = router(&subgraph.url).await;
    let answered = query(&state, "{ books { id status } }", json!({})).await;
    assert_eq!(
        answered.body,
        json!({ "data": { "books": [
            { "id": "b1", "status": "ON_LOAN" },
            { "id": "b2", "status": null },
            { "id": "b3", "status": null },
        ] } })
    );
}

#[tokio::test]
async fn a_hidden_enum_value_in_a_non_null_position_propagates() {
    let subgraph = FakeSubgraph::start(|_: &Value| {
        json!({ "data": { "books": [
            { "id": "b1", "state": "IN_STOCK" },
            { "id": "b2", "state": "WITHDRAWN" },
        ] } })
    })
    .await;
    let state = router(&subgraph.url).await;
    let answered = query(&state, "{ books { id state } }", json!({})).await;
    assert_eq!(answered.body["data"], Value::Null);
    let errors = answered.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["path"], json!(["books", 1, "state"]));
    assert_eq!(
        errors[0]["extensions"]["code"],
        "NON_NULLABLE_FIELD_WAS_NULL"
    );
}

#[tokio::test]
async fn objects_of_hidden_or_unknown_types_are_null() {
    let subgraph = FakeSubgraph::start(shelf).await;
    let state = router(&subgraph.url).await;
    let answered = query(
        &state,
        "{ entries { __typename ... on Book { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        answered.body,
        json!({ "data": { "entries": [
            { "__typename": "Book", "id": "b1" },
            null,
            null,
        ] } })
    );
}

#[tokio::test]
async fn a_hidden_type_in_a_non_null_position_propagates() {
    let subgraph = FakeSubgraph::start(shelf).await;
    let state = router(&subgraph.url).await;
    let answered = query(&state, "{ entry { __typename } }", json!({})).await;
    assert_eq!(answered.body["data"], Value::Null);
    let errors = answered.body["errors"].as_array().unwrap();
    assert_eq!(errors[0]["path"], json!(["entry"]));
}
