//! `@interfaceObject`: the ratings subgraph declares the `Media` interface as
//! an object and resolves `averageRating` for every kind of media without
//! knowing the kinds. Entity fetches there send `__typename: "Media"`; objects
//! it returns are typed by the interface until the concrete type is needed,
//! which catalog (where `Media` is an interface with a key) tells.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use storefront_router::AppState;
use storefront_router::core::plan::plan_text;

const RATINGS: &str = concat!(
    include_str!("fixtures/plan/join-preamble.graphql"),
    include_str!("fixtures/plan/ratings.graphql")
);

fn plan(operation: &str) -> String {
    plan_text(RATINGS, operation, None).expect("plans")
}

#[test]
fn interface_fields_of_the_interface_object_need_one_fetch() {
    let text = plan("{ topRated { id averageRating } }");
    assert_eq!(text.matches("Fetch(").count(), 1, "{text}");
}

#[test]
fn implementations_reach_the_interface_object_under_the_interfaces_name() {
    insta::assert_snapshot!(plan("{ shelf { title averageRating } }"));
}

#[test]
fn the_concrete_type_is_fetched_where_the_interface_has_a_key() {
    insta::assert_snapshot!(plan(
        "{ topRated { __typename averageRating ... on Book { pages } } }"
    ));
}

#[test]
fn interface_fields_elsewhere_are_fetched_by_the_interfaces_key() {
    let text = plan("{ topRated { title } }");
    assert!(text.contains("Fetch(service: \"catalog\")"), "{text}");
    assert!(!text.contains("... on Book"), "{text}");
}

#[test]
fn a_field_no_key_leads_to_is_a_planning_error_not_a_silent_gap() {
    let err = plan_text(RATINGS, "{ featuredCreator { reputation } }", None).unwrap_err();
    assert!(err.to_string().contains("Creator.reputation"), "{err}");
}

/// Ratings: `topRated` typed by the interface, and ratings for any medium.
fn ratings(body: &Value) -> Value {
    let query = body["query"].as_str().unwrap();
    if query.contains("topRated") {
        return json!({ "data": { "topRated": [
            { "__typename": "Media", "id": "b1", "averageRating": 4.5 },
            { "__typename": "Media", "id": "f1", "averageRating": 3.0 },
        ] } });
    }
    let entities: Vec<Value> = body["variables"]["representations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            // The subgraph knows no Book or Film: only Media.
            assert_eq!(r["__typename"], "Media", "{r}");
            let rating = if r["id"] == "b1" { 4.5 } else { 3.0 };
            json!({ "__typename": "Media", "averageRating": rating })
        })
        .collect();
    json!({ "data": { "_entities": entities } })
}

/// Catalog: the shelf, and media by id with their concrete types.
fn catalog(body: &Value) -> Value {
    let book = json!({ "__typename": "Book", "id": "b1", "title": "Dune", "pages": 412 });
    let film = json!({ "__typename": "Film", "id": "f1", "title": "Alien", "minutes": 117 });
    let query = body["query"].as_str().unwrap();
    if query.contains("shelf") {
        return json!({ "data": { "shelf": [book, film] } });
    }
    let entities: Vec<Value> = body["variables"]["representations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            if r["id"] == "b1" {
                book.clone()
            } else {
                film.clone()
            }
        })
        .collect();
    json!({ "data": { "_entities": entities } })
}

/// Both fakes and a router on them.
async fn started() -> (FakeSubgraph, FakeSubgraph, AppState) {
    let catalog = FakeSubgraph::start(catalog).await;
    let ratings = FakeSubgraph::start(ratings).await;
    let state = serving(
        RATINGS,
        &[("catalog", &catalog.url), ("ratings", &ratings.url)],
    );
    (catalog, ratings, state)
}

#[tokio::test]
async fn implementations_get_fields_of_the_interface_object() {
    let (_catalog, _ratings, state) = started().await;
    let answered = query(
        &state,
        "{ shelf { __typename title averageRating } }",
        json!({}),
    )
    .await;
    assert_eq!(
        answered.body,
        json!({ "data": { "shelf": [
            { "__typename": "Book", "title": "Dune", "averageRating": 4.5 },
            { "__typename": "Film", "title": "Alien", "averageRating": 3.0 },
        ] } })
    );
}

#[tokio::test]
async fn objects_of_the_interface_object_get_their_concrete_types() {
    let (_catalog, _ratings, state) = started().await;
    let answered = query(
        &state,
        "{ topRated { __typename averageRating ... on Book { pages } ... on Film { minutes } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        answered.body,
        json!({ "data": { "topRated": [
            { "__typename": "Book", "averageRating": 4.5, "pages": 412 },
            { "__typename": "Film", "averageRating": 3.0, "minutes": 117 },
        ] } })
    );
}

#[tokio::test]
async fn interface_typed_objects_answer_interface_fields_without_a_concrete_type() {
    let (catalog, _ratings, state) = started().await;
    let answered = query(
        &state,
        "{ topRated { id averageRating ... on Media { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        answered.body,
        json!({ "data": { "topRated": [
            { "id": "b1", "averageRating": 4.5 },
            { "id": "f1", "averageRating": 3.0 },
        ] } })
    );
    assert!(catalog.received().is_empty());
}
