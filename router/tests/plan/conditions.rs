//! `@skip`/`@include` that remove every top-level selection of a fetch: the
//! fetch carries the condition (printed `if:`), or leaves the plan when the
//! condition is a literal, and the executor does not send it when the
//! variables say so. A field whose selections they may all remove selects
//! `__typename` as well (answers: `skipped_selections`).

#![allow(clippy::unwrap_used)]

use crate::common::{FakeSubgraph, SUPERGRAPH, query, serving};
use serde_json::{Value, json};
use storefront_router::core::plan::plan_text;

fn plan(operation: &str) -> String {
    plan_text(&SUPERGRAPH, operation, None).expect("plans")
}

#[test]
fn a_root_field_under_include_makes_its_fetch_conditional() {
    insta::assert_snapshot!(plan(
        "query($withMe: Boolean!) { me @include(if: $withMe) { id name } product(sku: \"p1\") { name } }"
    ));
}

#[test]
fn root_fields_of_one_fetch_with_different_conditions_send_it_when_either_holds() {
    insta::assert_snapshot!(plan(
        "query($a: Boolean!, $b: Boolean!) { ... @include(if: $a) { product(sku: \"p1\") { name } } p2: product(sku: \"p2\") @skip(if: $b) { name } }"
    ));
}

#[test]
fn an_entity_fetch_whose_fields_are_all_skipped_is_conditional() {
    insta::assert_snapshot!(plan(
        "query($s: Boolean!) { order(id: \"o1\") { status payment @skip(if: $s) { id } } }"
    ));
}

#[test]
fn literal_skips_leave_the_fetch_out_of_the_plan() {
    insta::assert_snapshot!(plan(
        "{ me @skip(if: true) { id } order(id: \"o1\") { status payment @include(if: false) { id } } }"
    ));
}

#[test]
fn a_field_whose_selections_may_all_be_skipped_also_selects_typename() {
    // Literal and variable conditions, through fragments, in an entity
    // fetch; `edges` and `node` always select something and get nothing.
    insta::assert_snapshot!(plan(
        "query($s: Boolean!) { products { pageInfo { hasNextPage @skip(if: $s) } \
         edges { node { ... @include(if: $s) { name } sku } cursor @skip(if: true) } } \
         me { orders { edges @skip(if: true) { __typename } } } }"
    ));
}

#[test]
fn an_unconditional_field_beside_a_skipped_one_keeps_the_fetch_unconditional() {
    let text = plan("query($s: Boolean!) { me @skip(if: $s) { id } me2: me { name } }");
    assert!(text.contains("Fetch(service: \"users\") {"), "{text}");
}

fn answer_users(_: &Value) -> Value {
    json!({ "data": { "me": { "id": "u1", "name": "Ada" } } })
}

fn answer_orders(_: &Value) -> Value {
    json!({ "data": { "order": { "__typename": "Order", "id": "o1", "status": "PAID" } } })
}

fn answer_payments(_: &Value) -> Value {
    json!({ "data": { "_entities": [{ "__typename": "Order", "payment": { "id": "pay1" } }] } })
}

#[tokio::test]
async fn a_skipped_root_field_sends_nothing_to_its_subgraph() {
    let users = FakeSubgraph::start(answer_users).await;
    let state = serving(&SUPERGRAPH, &[("users", &users.url)]);
    let q = "query($withMe: Boolean!) { me @include(if: $withMe) { id name } }";
    let skipped = query(&state, q, json!({ "withMe": false })).await;
    assert_eq!(skipped.body, json!({ "data": {} }));
    assert!(users.received().is_empty(), "users was called");
    let included = query(&state, q, json!({ "withMe": true })).await;
    assert_eq!(
        included.body,
        json!({ "data": { "me": { "id": "u1", "name": "Ada" } } })
    );
    assert_eq!(users.received().len(), 1);
}

#[tokio::test]
async fn a_literal_skip_sends_nothing() {
    let users = FakeSubgraph::start(answer_users).await;
    let state = serving(&SUPERGRAPH, &[("users", &users.url)]);
    let answered = query(&state, "{ me @skip(if: true) { id } }", json!({})).await;
    assert_eq!(answered.body, json!({ "data": {} }));
    assert!(users.received().is_empty(), "users was called");
}

#[tokio::test]
async fn a_skipped_entity_field_sends_no_entity_fetch() {
    let orders = FakeSubgraph::start(answer_orders).await;
    let payments = FakeSubgraph::start(answer_payments).await;
    let state = serving(
        &SUPERGRAPH,
        &[("orders", &orders.url), ("payments", &payments.url)],
    );
    let q = "query($s: Boolean!) { order(id: \"o1\") { status payment @skip(if: $s) { id } } }";
    let skipped = query(&state, q, json!({ "s": true })).await;
    assert_eq!(
        skipped.body,
        json!({ "data": { "order": { "status": "PAID" } } })
    );
    assert!(payments.received().is_empty(), "payments was called");
    assert_eq!(orders.received().len(), 1);
    let included = query(&state, q, json!({ "s": false })).await;
    assert_eq!(
        included.body,
        json!({ "data": { "order": { "status": "PAID", "payment": { "id": "pay1" } } } })
    );
    assert_eq!(payments.received().len(), 1);
}
