//! One response key at two types whose subgraph types differ (`Article.id:
//! ID!`, `Video.id: ID` in one subgraph): the subgraph would reject the
//! operation ("fields conflict because they return conflicting types"), so
//! the planner aliases the later field and the fetch renames it back before
//! merging. The same holds for fields that meet only when fields of one
//! response key under different types merge their selections (`profiles`).
#![allow(clippy::unwrap_used)]

use crate::common::*;
use serde_json::{Value, json};
use storefront_router::core::plan::plan_text;

const HITS: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/hits.graphql")
);

const PROFILES: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/profiles.graphql")
);

fn plan(operation: &str) -> String {
    plan_text(HITS, operation, None).expect("plans")
}

/// `peers` on `Staff` and on `Person` merge; below them `id` on `Staff`
/// (`ID`) and on `Person` (`ID!` in social) meet.
const MERGED: &str = "{ profiles { ... on Staff { peers { ... on Staff { peers { \
    ... on Staff { peers { ... on Staff { id } } } \
    ... on Person { peers COND { ... on Person { id } } } } } } } } }";

fn merged(condition: &str) -> String {
    MERGED.replace("COND", condition)
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

#[test]
fn fields_that_meet_where_selections_merge_are_aliased() {
    insta::assert_snapshot!(plan_text(PROFILES, &merged(""), None).expect("plans"));
}

#[test]
fn a_field_a_literal_skip_removes_is_not_sent_and_needs_no_alias() {
    insta::assert_snapshot!(plan_text(PROFILES, &merged("@skip(if: true)"), None).expect("plans"));
}

#[test]
fn fields_under_a_variable_condition_that_meet_are_aliased() {
    let operation = format!("query($s: Boolean!) {}", merged("@skip(if: $s)"));
    let text = plan_text(PROFILES, &operation, None).expect("plans");
    assert!(text.contains("id__sf0: id"), "{text}");
    assert!(
        text.contains("rename profiles.peers.peers.peers ... on Person id__sf0 -> id"),
        "{text}"
    );
}

/// Social: the same tree whatever was asked (`Person`s' `id` under the
/// alias the router used); a document where `id` meets with two types is
/// refused, as a GraphQL server refuses it.
fn social(body: &Value) -> Value {
    let query = body["query"].as_str().unwrap();
    let alias = query
        .split_whitespace()
        .find(|w| w.starts_with("id__sf"))
        .map(|w| w.trim_end_matches(':'));
    if alias.is_none()
        && query.contains("... on Person { id }")
        && query.contains("... on Staff { id }")
    {
        return json!({ "data": null, "errors": [{
            "message": "Fields \"peers\" conflict because subfields \"id\" conflict because they return conflicting types \"ID\" and \"ID!\"."
        }] });
    }
    let person = |peers: Value| json!({ "__typename": "Person", alias.unwrap_or("id"): "p1", "peers": peers });
    let staff = |peers: Value| json!({ "__typename": "Staff", "id": "s1", "peers": peers });
    let leaves = json!([person(json!([])), staff(json!([]))]);
    let third = json!([person(leaves.clone()), staff(leaves)]);
    let second = json!([person(third.clone()), staff(third)]);
    json!({ "data": { "profiles": [person(json!([])), staff(second)] } })
}

#[tokio::test]
async fn merged_selections_answer_under_the_clients_keys() {
    let subgraph = FakeSubgraph::start(social).await;
    let state = serving(PROFILES, &[("social", &subgraph.url)]);
    let skipped = query(&state, &merged("@skip(if: true)"), json!({})).await;
    assert_eq!(
        skipped.body,
        json!({ "data": { "profiles": [{}, { "peers": [{}, { "peers": [
            {},
            { "peers": [{}, { "id": "s1" }] },
        ] }] }] } })
    );
    let both = query(&state, &merged(""), json!({})).await;
    assert_eq!(
        both.body,
        json!({ "data": { "profiles": [{}, { "peers": [{}, { "peers": [
            { "peers": [{ "id": "p1" }, {}] },
            { "peers": [{}, { "id": "s1" }] },
        ] }] }] } })
    );
    let q = format!("query($s: Boolean!) {}", merged("@skip(if: $s)"));
    let kept = query(&state, &q, json!({ "s": false })).await;
    assert_eq!(kept.body, both.body);
    let skipped_by_variable = query(&state, &q, json!({ "s": true })).await;
    assert_eq!(skipped_by_variable.body, skipped.body);
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
