//! The supergraph as a whole, and how problems are reported: the output does
//! not depend on the order of the subgraphs and is valid GraphQL; every
//! problem is reported, each with its code, subgraph and coordinate.

use crate::{codes, composes, errors};

#[test]
fn the_order_of_the_subgraphs_does_not_change_the_output() {
    let a = (
        "a",
        r#"type Query { a: T } type T @key(fields: "id") { id: ID! x: Int }"#,
    );
    let b = ("b", r#"type T @key(fields: "id") { id: ID! y: Int }"#);
    assert_eq!(composes(&[a, b]), composes(&[b, a]));
}

#[test]
fn supergraph_is_valid_graphql_with_join_definitions() {
    let composed = composes(&[
        (
            "a",
            r#"type Query { a: T } type T @key(fields: "id") { id: ID! x: Int }"#,
        ),
        (
            "b",
            r#"type T @key(fields: "id") { id: ID! y: Int @inaccessible }"#,
        ),
    ]);
    apollo_compiler::Schema::parse_and_validate(composed.supergraph_sdl, "supergraph.graphql")
        .expect("the supergraph validates");
}

#[test]
fn reports_every_problem_not_just_the_first() {
    let found = codes(&[
        (
            "a",
            "type Query { me: String a: T @shareable } type T @shareable { x: Int }",
        ),
        (
            "b",
            "type Query { me: String a: T @shareable } type T @shareable { x: String }",
        ),
    ]);
    assert_eq!(found, ["FIELD_TYPE_MISMATCH", "INVALID_FIELD_SHARING"]);
}

#[test]
fn errors_name_the_rule_the_subgraph_and_the_coordinate() {
    let found = errors(&[
        ("a", "type Query { me: String }"),
        ("b", "type Query { me: String }"),
    ]);
    assert_eq!(found[0].code, "INVALID_FIELD_SHARING");
    assert_eq!(found[0].subgraph.as_deref(), Some("a"));
    assert_eq!(found[0].coordinate.as_deref(), Some("Query.me"));
    assert!(
        found[0]
            .to_string()
            .starts_with("[INVALID_FIELD_SHARING] subgraph \"a\" at Query.me")
    );
}
