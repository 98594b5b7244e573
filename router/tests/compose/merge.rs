//! Merging types and fields: field types per subgraph, interface
//! implementations and union members, enums (union for output, intersection
//! for input), input types, and the mismatches merging rejects (type kinds,
//! enum values, empty inputs, field arguments, interface fields an
//! implementation lacks).

use crate::{codes, composes, type_block};

#[test]
fn shared_value_type_fields_with_different_nullability_get_their_type_per_subgraph() {
    let composed = composes(&[
        (
            "a",
            "type Query { a: Money } type Money @shareable { amount: Int! currency: String! }",
        ),
        (
            "b",
            "type Query { b: Money } type Money @shareable { amount: Int currency: String! }",
        ),
    ]);
    insta::assert_snapshot!(type_block(&composed.supergraph_sdl, "type Money"), @r#"
    type Money
      @join__type(graph: A)
      @join__type(graph: B)
    {
      amount: Int @join__field(graph: A, type: "Int!") @join__field(graph: B, type: "Int")
      currency: String!
    }
    "#);
}

#[test]
fn interfaces_and_unions_record_implementations_and_members_per_subgraph() {
    let composed = composes(&[
        (
            "a",
            r#"type Query { node(id: ID!): Node search: [Result!]! }
               interface Node { id: ID! }
               type Book implements Node @key(fields: "id") { id: ID! title: String }
               union Result = Book"#,
        ),
        (
            "b",
            r#"interface Node { id: ID! }
               type Movie implements Node @key(fields: "id") { id: ID! director: String }
               type Book implements Node @key(fields: "id") { id: ID! pages: Int }
               union Result = Book | Movie"#,
        ),
    ]);
    insta::assert_snapshot!(composed.supergraph_sdl);
}

#[test]
fn enums_merge_by_use_union_for_output_intersection_for_input() {
    let composed = composes(&[
        (
            "a",
            "type Query { status: Status byColor(c: Color): Int } enum Status { ON OFF } enum Color { RED GREEN BLUE }",
        ),
        (
            "b",
            "type Query { status2: Status byColor2(c: Color): Int } enum Status { ON UNKNOWN } enum Color { RED GREEN }",
        ),
    ]);
    let status = type_block(&composed.supergraph_sdl, "enum Status");
    assert!(
        status.contains("OFF @join__enumValue(graph: A)\n"),
        "{status}"
    );
    assert!(
        status.contains("UNKNOWN @join__enumValue(graph: B)\n"),
        "{status}"
    );
    let color = type_block(&composed.supergraph_sdl, "enum Color");
    assert!(!color.contains("BLUE"), "{color}");
    assert!(color.contains("RED @join__enumValue(graph: A) @join__enumValue(graph: B)"));
    assert!(composed.hints.iter().any(|h| h.contains("Color.BLUE")));
}

#[test]
fn input_types_keep_only_fields_every_subgraph_defines() {
    let composed = composes(&[
        (
            "a",
            "type Query { a(w: Where): Int } input Where { name: String age: Int }",
        ),
        (
            "b",
            "type Query { b(w: Where): Int } input Where { name: String }",
        ),
    ]);
    let block = type_block(&composed.supergraph_sdl, "input Where");
    assert!(
        block.contains("name: String") && !block.contains("age"),
        "{block}"
    );
    assert!(composed.hints.iter().any(|h| h.contains("Where.age")));
}

#[test]
fn type_defined_with_different_kinds_is_a_kind_mismatch() {
    assert_eq!(
        codes(&[
            ("a", "type Query { a: T } type T { x: Int }"),
            ("b", "type Query { b: T } interface T { x: Int }")
        ]),
        ["TYPE_KIND_MISMATCH"]
    );
}

#[test]
fn enum_used_as_input_and_output_must_have_the_same_values() {
    assert_eq!(
        codes(&[
            ("a", "type Query { a(e: E): E } enum E { X Y }"),
            ("b", "type Query { b(e: E): E } enum E { X Z }"),
        ]),
        ["ENUM_VALUE_MISMATCH"]
    );
}

#[test]
fn input_type_with_no_common_field_is_empty_when_merged() {
    assert_eq!(
        codes(&[
            ("a", "type Query { a(i: I): Int } input I { x: Int }"),
            ("b", "type Query { b(i: I): Int } input I { y: Int }"),
        ]),
        ["EMPTY_MERGED_INPUT_TYPE"]
    );
}

#[test]
fn shared_field_arguments_must_agree() {
    assert_eq!(
        codes(&[
            ("a", "type Query { f(x: Int!): Int @shareable }"),
            ("b", "type Query { f: Int @shareable }")
        ]),
        ["REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH"]
    );
    assert_eq!(
        codes(&[
            ("a", "type Query { f(x: Int): Int @shareable }"),
            ("b", "type Query { f(x: String): Int @shareable }")
        ]),
        ["FIELD_ARGUMENT_TYPE_MISMATCH"]
    );
    assert_eq!(
        codes(&[
            ("a", "type Query { f(x: Int = 1): Int @shareable }"),
            ("b", "type Query { f(x: Int = 2): Int @shareable }")
        ]),
        ["FIELD_ARGUMENT_DEFAULT_MISMATCH"]
    );
}

#[test]
fn interface_field_missing_on_an_implementation_is_reported() {
    assert_eq!(
        codes(&[
            (
                "a",
                "type Query { i: I } interface I { x: Int } type T implements I { x: Int }"
            ),
            ("b", "type Query { j: I } interface I { x: Int y: Int }"),
        ]),
        ["INTERFACE_FIELD_NO_IMPLEM"]
    );
}
