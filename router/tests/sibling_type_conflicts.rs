//! One response key at two types whose subgraph types differ (`Article.id:
//! ID!`, `Video.id: ID` in one subgraph): the subgraph would reject the
//! operation ("fields conflict because they return conflicting types"), so
//! the planner aliases the later field and the fetch renames it back before
//! merging.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::{Value, json};
use storefront_router::core::plan::plan_text;

const HITS: &str = concat!(
    include_str!("fixtures/plan/join-preamble.graphql"),
    include_str!("fixtures/plan/hits.graphql")
);

fn plan(operation: &str) -> String {
    plan_text(HITS, operation, None).expect("plans")
}

#[test]
fn the_later_field_is_aliased_and_renamed_back() {
    insta::assert_snapshot!(plan(
        r#"{ search(text: "x") { ... on Article { id headline } ... on Video { id title } } }"#
    ));
}

#[test]
fn nested_levels_rename_under_the_clients_keys() {
    insta::assert_snapshot!(plan(
        r#"{ search(text: "x") {
            ... on Article { id related { ... on Article { id } ... on Video { id } } }
            ... on Video { id related { ... on Article { id } ... on Video { id } } }
        } }"#
    ));
}

#[test]
fn fields_of_one_type_at_a_level_need_no_alias() {
    let text = plan(r#"{ search(text: "x") { ... on Video { id title } ... on Video { id } } }"#);
    assert!(!text.contains("__sf"), "{text}");
}

/// The media subgraph: answers under whatever key the router asked `Video.id` as.
fn media(body: &Value) -> Value {
    let query = body["query"].as_str().unwrap();
    let alias = query
        .split_whitespace()
        .find(|w| w.starts_with("id__sf"))
        .map(|w| w.trim_end_matches(':'))
        .unwrap_or("id");
    json!({ "data": { "search": [
        { "__typename": "Article", "id": "a1" },
        { "__typename": "Video", alias: "v1", "title": "Launch" },
        { "__typename": "Video", alias: null, "title": "Untitled" },
    ] } })
}

#[tokio::test]
async fn clients_get_the_value_under_their_own_key() {
    let subgraph = FakeSubgraph::start(media).await;
    let state = serving(HITS, &[("*", &subgraph.url)]);
    let answered = query(
        &state,
        r#"{ search(text: "x") { ... on Article { id } ... on Video { id title } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        answered.body,
        json!({ "data": { "search": [
            { "id": "a1" },
            { "id": "v1", "title": "Launch" },
            { "id": null, "title": "Untitled" },
        ] } })
    );
    let sent = subgraph.received()[0].body["query"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(sent.contains("id__sf0: id"), "{sent}");
}
