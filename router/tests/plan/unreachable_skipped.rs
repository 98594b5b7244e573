//! A selection `@skip`/`@include` removes may be one no subgraph can reach
//! from where it is asked (here `Notice.text`, only in an
//! `@interfaceObject` whose key is not resolvable). A literal condition
//! removes it before planning; under a condition on variables the rest of
//! the operation is planned, the selection is left out with its condition
//! (printed `Unplannable`), and a request whose variables would execute it
//! is refused as the operation without the condition is.

#![allow(clippy::unwrap_used)]

use crate::common::{FakeSubgraph, query, serving};
use serde_json::{Value, json};
use storefront_router::core::plan::plan_text;

const NOTICES: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/notices.graphql")
);

fn plan(operation: &str) -> String {
    plan_text(NOTICES, operation, None).expect("plans")
}

#[test]
fn an_unreachable_field_a_literal_condition_removes_is_not_planned() {
    insta::assert_snapshot!(plan(
        "{ pinned @include(if: false) { text } other: pinned @skip(if: true) { id text } }"
    ));
    insta::assert_snapshot!(plan("{ headline pinned @skip(if: true) { text } }"));
}

#[test]
fn an_object_whose_unreachable_field_is_skipped_selects_typename() {
    insta::assert_snapshot!(plan(
        "{ pinned { text @skip(if: true) __typename } latest { ... @include(if: false) { text } } }"
    ));
}

#[test]
fn an_unreachable_field_under_a_variable_condition_is_left_out_with_its_condition() {
    insta::assert_snapshot!(plan(
        "query($i: Boolean!, $s: Boolean!) { headline pinned @include(if: $i) { text } \
         latest { id text @skip(if: $s) ... @include(if: $i) { text } } }"
    ));
    // Where no condition may remove it, planning still fails.
    let error = plan_text(
        NOTICES,
        "query($i: Boolean!) { headline @include(if: $i) pinned { text } }",
        None,
    )
    .expect_err("unplannable");
    assert!(error.to_string().contains("Notice.text"), "{error}");
}

#[test]
fn conditions_around_an_unreachable_field_are_all_kept() {
    insta::assert_snapshot!(plan(
        "query($a: Boolean!, $b: Boolean!) { ... @include(if: $a) { pinned @skip(if: $b) { id text } } }"
    ));
}

/// Board: answers `headline`, and every notice as `Notice` with its id.
fn board(body: &Value) -> Value {
    let query = body["query"].as_str().unwrap();
    let mut data = serde_json::Map::new();
    if query.contains("headline") {
        data.insert("headline".into(), json!("Closed on Monday"));
    }
    if query.contains("pinned") {
        data.insert(
            "pinned".into(),
            json!({ "__typename": "Notice", "id": "n1" }),
        );
    }
    if query.contains("latest") {
        data.insert(
            "latest".into(),
            json!([{ "__typename": "Notice", "id": "n1" }, { "__typename": "Notice", "id": "n2" }]),
        );
    }
    json!({ "data": data })
}

fn notes(_: &Value) -> Value {
    json!({ "errors": [{ "message": "notes resolves no Notice by its key" }] })
}

async fn started() -> (FakeSubgraph, FakeSubgraph, storefront_router::AppState) {
    let board = FakeSubgraph::start(board).await;
    let notes = FakeSubgraph::start(notes).await;
    let state = serving(NOTICES, &[("board", &board.url), ("notes", &notes.url)]);
    (board, notes, state)
}

#[tokio::test]
async fn a_removed_unreachable_root_field_answers_empty_data() {
    let (board, notes, state) = started().await;
    for q in [
        "{ pinned @include(if: false) { text } }",
        "{ pinned @skip(if: true) { text } }",
    ] {
        let answered = query(&state, q, json!({})).await;
        assert_eq!(answered.body, json!({ "data": {} }), "{q}");
    }
    assert!(board.received().is_empty(), "board was called");
    assert!(notes.received().is_empty(), "notes was called");
}

#[tokio::test]
async fn a_skipped_unreachable_field_leaves_the_rest_of_its_object() {
    let (board, notes, state) = started().await;
    let answered = query(
        &state,
        "{ pinned { text @skip(if: true) __typename } }",
        json!({}),
    )
    .await;
    // Planned without `text`; board names the object by its interface, which
    // is no object type, and `__typename` asks for one: the object is null
    // with UNRESOLVED_ABSTRACT_TYPE (as Apollo answers null there), never
    // `{"__typename": "Notice"}`.
    assert_eq!(
        answered.body,
        json!({
            "errors": [{
                "message": "Could not resolve the object type of a Notice value",
                "path": ["pinned"],
                "extensions": { "code": "UNRESOLVED_ABSTRACT_TYPE" }
            }],
            "data": { "pinned": null }
        })
    );
    let answered = query(
        &state,
        "{ pinned { id text @include(if: false) } }",
        json!({}),
    )
    .await;
    assert_eq!(
        answered.body,
        json!({ "data": { "pinned": { "id": "n1" } } })
    );
    let sent: Vec<String> = board
        .received()
        .iter()
        .map(|r| r.body["query"].as_str().unwrap().to_owned())
        .collect();
    assert!(sent.iter().all(|q| !q.contains("text")), "{sent:?}");
    assert!(notes.received().is_empty(), "notes was called");
}

#[tokio::test]
async fn variables_that_leave_the_unreachable_field_out_get_the_rest_else_the_literals_refusal() {
    let (board, notes, state) = started().await;
    let q = "query($i: Boolean!, $s: Boolean!) { headline pinned @include(if: $i) { text } \
             latest { id text @skip(if: $s) } }";
    let answered = query(&state, q, json!({ "i": false, "s": true })).await;
    assert_eq!(
        answered.body,
        json!({ "data": { "headline": "Closed on Monday", "latest": [{ "id": "n1" }, { "id": "n2" }] } })
    );
    assert_eq!(board.received().len(), 1);
    // Variables that would execute `text` get what the operation without
    // the condition gets, and nothing is sent.
    let literal = query(&state, "{ headline pinned { text } }", json!({})).await;
    assert_eq!(
        literal.body["errors"][0]["extensions"]["code"],
        json!("INTERNAL_SERVER_ERROR"),
        "{}",
        literal.body
    );
    for variables in [
        json!({ "i": true, "s": true }),
        json!({ "i": false, "s": false }),
    ] {
        let refused = query(&state, q, variables.clone()).await;
        assert_eq!(refused.status, literal.status, "{variables}");
        assert_eq!(refused.body, literal.body, "{variables}");
    }
    assert_eq!(board.received().len(), 1, "board was called again");
    assert!(notes.received().is_empty(), "notes was called");
}
