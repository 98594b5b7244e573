//! Entities: one `@join__type` per key and subgraph, the fields a `@key` may
//! select, and `@override` (what the overridden subgraph keeps, and which
//! subgraph it may name).

use crate::{codes, composes, type_block};

#[test]
fn entity_gets_one_join_type_per_key_and_subgraph() {
    let composed = composes(&[
        (
            "accounts",
            r#"type Query { me: User }
               type User @key(fields: "id") @key(fields: "email") { id: ID! email: String! org: Org @shareable }
               type Org @key(fields: "id") { id: ID! name: String }"#,
        ),
        (
            "reviews",
            r#"type User @key(fields: "id org { id }") { id: ID! org: Org @shareable reviews: [String!]! }
               type Org @key(fields: "id", resolvable: false) { id: ID! }"#,
        ),
    ]);
    insta::assert_snapshot!(composed.supergraph_sdl);
}

#[test]
fn overridden_field_keeps_used_overridden_only_where_a_key_still_uses_it() {
    let composed = composes(&[
        (
            "a",
            r#"type Query { u: User }
               type User @key(fields: "id") { id: ID! price: Int! @override(from: "b") name: String! @override(from: "b") }"#,
        ),
        (
            "b",
            r#"type User @key(fields: "id price") { id: ID! price: Int! name: String! }"#,
        ),
    ]);
    insta::assert_snapshot!(type_block(&composed.supergraph_sdl, "type User"), @r#"
    type User
      @join__type(graph: A, key: "id")
      @join__type(graph: B, key: "id price")
    {
      id: ID!
      price: Int! @join__field(graph: A, override: "b") @join__field(graph: B, usedOverridden: true)
      name: String! @join__field(graph: A, override: "b")
    }
    "#);
}

#[test]
fn key_must_select_existing_argument_free_non_abstract_fields() {
    assert_eq!(
        codes(&[(
            "a",
            r#"type Query { p: P } type P @key(fields: "nope") { id: ID! }"#
        )]),
        ["KEY_INVALID_FIELDS"]
    );
    assert_eq!(
        codes(&[(
            "a",
            r#"type Query { p: P } type P @key(fields: "id {") { id: ID! }"#
        )]),
        ["KEY_INVALID_FIELDS"]
    );
    assert_eq!(
        codes(&[(
            "a",
            r#"type Query { p: P } type P @key(fields: "id") { id(x: Int): ID! }"#
        )]),
        ["KEY_FIELDS_HAS_ARGS"]
    );
    assert_eq!(
        codes(&[(
            "a",
            r#"type Query { p: P } interface I { x: Int } type P @key(fields: "i { x }") { i: I }"#
        )]),
        ["KEY_FIELDS_SELECT_INVALID_TYPE"]
    );
}

#[test]
fn override_must_name_another_subgraph_that_does_not_override_itself() {
    assert_eq!(
        codes(&[("a", r#"type Query { p: Int @override(from: "a") }"#)]),
        ["OVERRIDE_FROM_SELF_ERROR"]
    );
    assert_eq!(
        codes(&[
            (
                "a",
                r#"type Query { p: P } type P @key(fields: "id") { id: ID! f: Int @override(from: "b") }"#
            ),
            (
                "b",
                r#"type P @key(fields: "id") { id: ID! f: Int @override(from: "c") }"#
            ),
            ("c", r#"type P @key(fields: "id") { id: ID! f: Int }"#),
        ]),
        ["INVALID_FIELD_SHARING", "OVERRIDE_SOURCE_HAS_OVERRIDE"]
    );
}
