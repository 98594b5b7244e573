//! Internal aliases: key and `@requires` fields the planner adds get an alias
//! when their own name is taken as a response key — by a client alias, by the
//! client asking the same field with other arguments, or by another
//! `@requires` of the same field with other arguments. Representations read
//! the value from the alias and send it under the field's name; two
//! requirements that need one field with different arguments go to separate
//! entity fetches.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use crate::fixtures::SHOP;
use serde_json::{Value, json};
use storefront_router::core::plan::plan_text;

const LISTINGS: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/listings.graphql")
);
fn plan(operation: &str) -> String {
    plan_text(LISTINGS, operation, None).expect("plans")
}

#[test]
fn requirements_of_one_field_with_different_arguments_get_separate_fetches() {
    insta::assert_snapshot!(plan("{ listings { title shippingUsd shippingEur } }"));
}

#[test]
fn a_client_field_with_other_arguments_keeps_its_key() {
    insta::assert_snapshot!(plan(
        "{ listings { shippingUsd price(currency: \"GBP\") } }"
    ));
}

#[test]
fn entity_jumps_below_an_aliased_requirement_follow_its_alias() {
    insta::assert_snapshot!(plan(
        "{ listings { featuredAuthor reviews(first: 1) { body } } }"
    ));
}

#[test]
fn a_client_field_equal_to_the_requirement_is_shared() {
    let text = plan("{ listings { price(currency: \"USD\") shippingUsd } }");
    assert!(!text.contains("__sf"), "{text}");
}

#[test]
fn a_client_alias_taking_a_key_fields_name_moves_the_key() {
    insta::assert_snapshot!(plan("{ listings { id: title shippingUsd } }"));
}

#[test]
fn a_client_alias_taking_a_key_fields_name_in_a_jump_through_a_key() {
    let text = plan_text(SHOP, "{ me { id: name reviews { body } } }", None).expect("plans");
    assert!(text.contains("id__sf0: id"), "{text}");
}

#[test]
fn internal_aliases_avoid_the_clients_response_keys() {
    let text = plan("{ listings { id: title id__sf0: weightGrams shippingUsd } }");
    assert!(text.contains("id__sf1: id"), "{text}");
    assert!(!text.contains("id__sf0: id"), "{text}");
}

/// The catalog: two listings with every key the plans above may ask for
/// (extra keys are ignored by the router).
fn catalog(_body: &Value) -> Value {
    json!({ "data": { "listings": [
        { "__typename": "Listing", "id": "l1", "title": "Lamp",
          "price": 100, "price__sf0": 90, "weightGrams": 2000 },
        { "__typename": "Listing", "id": "l2", "title": "Rug",
          "price": 300, "price__sf0": 270, "weightGrams": 500 },
    ] } })
}

/// Shipping: a cost computed from the representation (price per kilogram),
/// so a price read from the wrong key shows in the answer.
fn shipping(body: &Value) -> Value {
    let query = body["query"].as_str().unwrap();
    let field = if query.contains("shippingEur") {
        "shippingEur"
    } else {
        "shippingUsd"
    };
    let entities: Vec<Value> = body["variables"]["representations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let cost = r["price"].as_i64().unwrap() * r["weightGrams"].as_i64().unwrap() / 1000;
            json!({ "__typename": "Listing", field: cost })
        })
        .collect();
    json!({ "data": { "_entities": entities } })
}

#[tokio::test]
async fn each_requirement_reads_its_own_arguments_value() {
    let catalog = FakeSubgraph::start(catalog).await;
    let shipping = FakeSubgraph::start(shipping).await;
    let state = serving(
        LISTINGS,
        &[("catalog", &catalog.url), ("shipping", &shipping.url)],
    );
    let answered = query(
        &state,
        "{ listings { title shippingUsd shippingEur } }",
        json!({}),
    )
    .await;
    assert_eq!(
        answered.body,
        json!({ "data": { "listings": [
            { "title": "Lamp", "shippingUsd": 200, "shippingEur": 180 },
            { "title": "Rug", "shippingUsd": 150, "shippingEur": 135 },
        ] } })
    );
    let mut sent: Vec<Value> = shipping
        .received()
        .iter()
        .map(|r| r.body["variables"]["representations"][0].clone())
        .collect();
    sent.sort_by_key(|r| r["price"].as_i64());
    assert_eq!(
        sent,
        [
            json!({ "__typename": "Listing", "id": "l1", "price": 90, "weightGrams": 2000 }),
            json!({ "__typename": "Listing", "id": "l1", "price": 100, "weightGrams": 2000 }),
        ]
    );
}

#[tokio::test]
async fn a_key_read_from_its_alias_reaches_the_other_subgraph() {
    let catalog = FakeSubgraph::start(|_: &Value| {
        json!({ "data": { "listings": [
            { "__typename": "Listing", "id": "Lamp", "id__sf0": "l1",
              "price": 100, "weightGrams": 2000 },
        ] } })
    })
    .await;
    let shipping = FakeSubgraph::start(shipping).await;
    let state = serving(
        LISTINGS,
        &[("catalog", &catalog.url), ("shipping", &shipping.url)],
    );
    let answered = query(&state, "{ listings { id: title shippingUsd } }", json!({})).await;
    assert_eq!(
        answered.body,
        json!({ "data": { "listings": [ { "id": "Lamp", "shippingUsd": 200 } ] } })
    );
    let received = shipping.received();
    assert_eq!(
        received[0].body["variables"]["representations"][0]["id"],
        json!("l1")
    );
}
