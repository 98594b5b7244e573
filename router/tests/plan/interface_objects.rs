//! `@interfaceObject`: the ratings subgraph declares the `Media` interface as
//! an object and resolves `averageRating` for every kind of media without
//! knowing the kinds. Entity fetches there send `__typename: "Media"`; objects
//! it returns are typed by the interface until the concrete type is needed,
//! which catalog (where `Media` is an interface with a key) tells. When
//! nobody tells it, an object whose selection depends on its type is null:
//! `__typename` is never the interface's name.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use serde_json::{Value, json};
use storefront_router::AppState;
use storefront_router::core::plan::plan_text;

const RATINGS: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/ratings.graphql")
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

/// The shape of the audit's `typename` and `simple-interface-object`:
/// `crew` knows the kinds of seats (`Seat` is an interface with a key there);
/// `roster` lists seats and `status` tells whether one is active, both
/// declaring `Seat` as an `@interfaceObject`. `Pilot` has its own
/// `isActive` in `crew`; `Guest` gets it from `status` only.
fn seats_supergraph() -> String {
    let link = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@interfaceObject"])"#;
    crate::common::compose_inline(
        link,
        &[
            (
                "crew",
                r#"type Query { crewSize: Int }
               interface Seat @key(fields: "id") { id: ID! }
               type Pilot implements Seat @key(fields: "id") { id: ID! isLead: Boolean! isActive: Boolean! @shareable }
               type Guest implements Seat @key(fields: "id") { id: ID! isLead: Boolean! }"#,
            ),
            (
                "roster",
                r#"type Query { seats: [Seat] @shareable }
               type Seat @key(fields: "id") @interfaceObject { id: ID! label: String! }"#,
            ),
            (
                "status",
                r#"type Seat @key(fields: "id") @interfaceObject { id: ID! isActive: Boolean! @shareable }"#,
            ),
        ],
    )
}

/// Roster: three seats, typed by the interface (as an `@interfaceObject`
/// subgraph answers).
fn roster(_: &Value) -> Value {
    json!({ "data": { "seats": [
        { "__typename": "Seat", "id": "s1" },
        { "__typename": "Seat", "id": "s2" },
        { "__typename": "Seat", "id": "s3" },
    ] } })
}

/// Crew's answer to an entity fetch: the concrete types (two pilots, one
/// guest) with their ids.
fn crew(body: &Value) -> Value {
    let entities: Vec<Value> = body["variables"]["representations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let kind = if r["id"] == "s3" { "Guest" } else { "Pilot" };
            json!({ "__typename": kind, "id": r["id"] })
        })
        .collect();
    json!({ "data": { "_entities": entities } })
}

/// Status: every seat is inactive; it knows no kinds of seat.
fn status(body: &Value) -> Value {
    let entities: Vec<Value> = body["variables"]["representations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["__typename"], "Seat", "{r}");
            json!({ "__typename": "Seat", "isActive": false })
        })
        .collect();
    json!({ "data": { "_entities": entities } })
}

/// The three fakes (crew answering with `crew_answer`) and a router on them.
async fn seats_started(
    crew_answer: impl Fn(&Value) -> Value + Send + Sync + 'static,
) -> (FakeSubgraph, FakeSubgraph, FakeSubgraph, AppState) {
    let crew = FakeSubgraph::start(crew_answer).await;
    let roster = FakeSubgraph::start(roster).await;
    let status = FakeSubgraph::start(status).await;
    let state = serving(
        &seats_supergraph(),
        &[
            ("crew", &crew.url),
            ("roster", &roster.url),
            ("status", &status.url),
        ],
    );
    (crew, roster, status, state)
}

const LEAD_TYPENAMES: &str = "{ seats { ... on Pilot { isLead __typename } __typename } }";

#[tokio::test]
async fn an_object_whose_type_lookup_failed_is_null_rather_than_typed_by_its_interface() {
    // Like a subgraph whose interface reference resolver leaves out a
    // non-null field: each entity is null, with an error below it.
    let (_crew, _roster, _status, state) = seats_started(|body: &Value| {
        let count = body["variables"]["representations"]
            .as_array()
            .map_or(0, Vec::len);
        let errors: Vec<Value> = (0..count)
            .map(|i| json!({ "message": "Cannot return null for non-nullable field Pilot.isLead.", "path": ["_entities", i, "isLead"] }))
            .collect();
        json!({ "data": { "_entities": vec![Value::Null; count] }, "errors": errors })
    })
    .await;
    let answered = query(&state, LEAD_TYPENAMES, json!({})).await;
    assert_eq!(
        answered.body["data"],
        json!({ "seats": [null, null, null] }),
        "{}",
        answered.body
    );
    let errors = answered.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 3, "{}", answered.body);
    assert_eq!(errors[0]["path"], json!(["seats", 0, "isLead"]));
}

#[tokio::test]
async fn an_object_no_subgraph_gave_a_type_is_null_with_an_error() {
    let (_crew, _roster, _status, state) = seats_started(|body: &Value| {
        let count = body["variables"]["representations"]
            .as_array()
            .map_or(0, Vec::len);
        json!({ "data": { "_entities": vec![Value::Null; count] } })
    })
    .await;
    let answered = query(&state, LEAD_TYPENAMES, json!({})).await;
    assert_eq!(
        answered.body["data"],
        json!({ "seats": [null, null, null] }),
        "{}",
        answered.body
    );
    let errors = answered.body["errors"].as_array().expect("errors");
    let paths: Vec<&Value> = errors.iter().map(|e| &e["path"]).collect();
    assert_eq!(
        paths,
        [
            &json!(["seats", 0]),
            &json!(["seats", 1]),
            &json!(["seats", 2])
        ]
    );
    assert!(
        errors
            .iter()
            .all(|e| e["extensions"]["code"] == "UNRESOLVED_ABSTRACT_TYPE"),
        "{}",
        answered.body
    );
}

#[tokio::test]
async fn typenames_are_the_concrete_types_when_the_lookup_succeeds() {
    let (_crew, _roster, _status, state) = seats_started(|body: &Value| {
        let mut answer = crew(body);
        if let Some(entities) = answer["data"]["_entities"].as_array_mut() {
            for entity in entities {
                entity["isLead"] = json!(entity["id"] == "s1");
            }
        }
        answer
    })
    .await;
    let answered = query(&state, LEAD_TYPENAMES, json!({})).await;
    assert_eq!(
        answered.body,
        json!({ "data": { "seats": [
            { "isLead": true, "__typename": "Pilot" },
            { "isLead": false, "__typename": "Pilot" },
            { "__typename": "Guest" },
        ] } })
    );
}

/// `@interfaceObject` adds its fields to every implementation of the
/// interface, and only the subgraph where the interface has its key tells an
/// object's type: a fragment on one implementation selects the interface
/// object's fields for the objects of that type, and for those only.
#[test]
fn an_implementations_type_condition_is_resolved_before_interface_object_fields() {
    insta::assert_snapshot!(
        plan_text(
            &seats_supergraph(),
            "{ seats { ... on Guest { isActive __typename } } }",
            None
        )
        .expect("plans")
    );
}

#[tokio::test]
async fn an_implementation_gets_interface_object_fields_under_its_own_type_condition() {
    let (crew, _roster, status, state) = seats_started(crew).await;
    let answered = query(
        &state,
        "{ seats { ... on Guest { isActive __typename } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        answered.body,
        json!({ "data": { "seats": [
            {},
            {},
            { "isActive": false, "__typename": "Guest" },
        ] } })
    );
    assert_eq!(crew.received().len(), 1);
    let sent = status.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].body["variables"]["representations"],
        json!([{ "__typename": "Seat", "id": "s3" }])
    );
}
