//! `@requires`, `@provides` and `@external`: kept per subgraph, the external
//! fields they must select and that must be used, `@external` on a type,
//! `@provides` under interface fields, and `@requires` inputs reached through
//! a key jump.

use crate::{codes, composes, type_block};

#[test]
fn requires_and_provides_are_kept_per_subgraph_with_external() {
    let composed = composes(&[
        (
            "products",
            r#"type Query { top: [Product!]! }
               type Product @key(fields: "upc") { upc: ID! name: String @shareable weight: Int }"#,
        ),
        (
            "shipping",
            r#"type Product @key(fields: "upc") { upc: ID! weight: Int @external estimate: Int @requires(fields: "weight") }"#,
        ),
        (
            "reviews",
            r#"type Query { reviews: [Review!]! }
               type Review { id: ID! product: Product @provides(fields: "name") }
               type Product @key(fields: "upc") { upc: ID! name: String @external }"#,
        ),
    ]);
    insta::assert_snapshot!(composed.supergraph_sdl);
}

#[test]
fn requires_and_provides_must_select_external_fields() {
    assert_eq!(
        codes(&[
            (
                "a",
                r#"type Query { p: P @provides(fields: "name") } type P @key(fields: "id") { id: ID! name: String @shareable w: Int @shareable }"#
            ),
            (
                "b",
                r#"type P @key(fields: "id") { id: ID! name: String @shareable w: Int @shareable ship: Int @requires(fields: "w") }"#
            ),
        ]),
        [
            "PROVIDES_FIELDS_MISSING_EXTERNAL",
            "REQUIRES_FIELDS_MISSING_EXTERNAL"
        ]
    );
}

#[test]
fn external_field_must_be_defined_somewhere_and_used() {
    assert_eq!(
        codes(&[
            (
                "a",
                r#"type Query { p: P } type P @key(fields: "id") { id: ID! }"#
            ),
            (
                "b",
                r#"type P @key(fields: "id") { id: ID! w: Int @external x: Int @requires(fields: "w") }"#
            ),
        ]),
        ["EXTERNAL_MISSING_ON_BASE"]
    );
    assert_eq!(
        codes(&[
            (
                "a",
                r#"type Query { p: P } type P @key(fields: "id") { id: ID! w: Int @external }"#
            ),
            ("b", r#"type P @key(fields: "id") { id: ID! w: Int }"#),
        ]),
        ["EXTERNAL_UNUSED"]
    );
}

#[test]
fn requires_may_take_its_fields_through_a_key_jump() {
    composes(&[
        (
            "c",
            r#"type Query { threads: [Thread] } type Thread @key(fields: "id") { id: ID! }
               type Reply @key(fields: "id") { id: ID! writerId: ID body: String! }"#,
        ),
        (
            "d",
            r#"type Thread @key(fields: "id") {
                 id: ID!
                 starter: Writer @requires(fields: "replies(limit: 1) { writerId }")
                 replies(limit: Int!): [Reply]
               }
               type Reply @key(fields: "id") { id: ID! sentAt: String writerId: ID @external }
               type Writer { id: ID! name: String }"#,
        ),
    ]);
}

#[test]
fn external_on_a_type_makes_each_of_its_fields_external() {
    let composed = composes(&[
        (
            "a",
            r#"type Product @key(fields: "upc") {
                 upc: String!
                 category: Category @external
                 premium: Boolean @requires(fields: "category { averagePrice(currency: \"EUR\") }")
               }
               type Category @external { averagePrice(currency: String!): Int }"#,
        ),
        (
            "b",
            r#"type Query { products: [Product] }
               type Product @key(fields: "upc") { upc: String! category: Category }
               type Category { averagePrice(currency: String!): Int }"#,
        ),
    ]);
    insta::assert_snapshot!(type_block(&composed.supergraph_sdl, "type Category"));
}

#[test]
fn fields_external_through_their_type_must_still_be_used() {
    assert_eq!(
        codes(&[
            (
                "a",
                r#"type Product @key(fields: "upc") {
                     upc: String!
                     category: Category @external
                     label: String @requires(fields: "category { id }")
                   }
                   type Category @external { id: ID! name: String }"#,
            ),
            (
                "b",
                r#"type Query { products: [Product] }
                   type Product @key(fields: "upc") { upc: String! category: Category }
                   type Category { id: ID! name: String }"#,
            ),
        ]),
        ["EXTERNAL_UNUSED"]
    );
}

#[test]
fn provides_may_select_under_an_interface_field_an_implementation_has_external() {
    let composed = composes(&[
        (
            "a",
            r#"type Query { shelf: Shelf @shareable @provides(fields: "items { id label }") }
               interface Shelf { id: ID! items: [Item] }
               interface Item { id: ID! label: String }
               type WoodShelf implements Shelf { id: ID! @shareable items: [Item] @external }
               type Book implements Item { id: ID! @external label: String @external }"#,
        ),
        (
            "b",
            r#"interface Shelf { id: ID! items: [Item] }
               interface Item { id: ID! label: String }
               type WoodShelf implements Shelf @key(fields: "id") { id: ID! items: [Item] @shareable }
               type Book implements Item @key(fields: "id") { id: ID! label: String @shareable pages: Int }"#,
        ),
    ]);
    insta::assert_snapshot!(type_block(&composed.supergraph_sdl, "type Query"));
}

#[test]
fn provides_under_an_interface_field_no_implementation_has_external_is_rejected() {
    assert_eq!(
        codes(&[
            (
                "a",
                r#"type Query { shelf: Shelf @shareable @provides(fields: "items { label }") }
                   interface Shelf { id: ID! items: [Item] }
                   interface Item { id: ID! label: String }
                   type WoodShelf implements Shelf @key(fields: "id") { id: ID! items: [Item] @shareable }
                   type Book implements Item @key(fields: "id") { id: ID! label: String @shareable }"#,
            ),
            (
                "b",
                r#"interface Shelf { id: ID! items: [Item] }
                   interface Item { id: ID! label: String }
                   type WoodShelf implements Shelf @key(fields: "id") { id: ID! items: [Item] @shareable }
                   type Book implements Item @key(fields: "id") { id: ID! label: String @shareable }"#,
            ),
        ]),
        ["PROVIDES_FIELDS_MISSING_EXTERNAL"]
    );
}
