//! Satisfiability (`SATISFIABILITY_ERROR`): every field can be reached from
//! the roots, through chains of key jumps, shared root fields and value types,
//! union members and interface implementations; a shared mutation field's
//! selection must come from one subgraph alone.

use crate::{composes, errors, type_block};

#[test]
fn value_type_field_missing_in_a_returning_subgraph_is_unsatisfiable() {
    let found = errors(&[
        (
            "a",
            "type Query { a: V @shareable } type V @shareable { x: Int }",
        ),
        (
            "b",
            "type Query { b: V } type V @shareable { x: Int y: Int }",
        ),
    ]);
    assert_eq!(found[0].code, "SATISFIABILITY_ERROR");
    assert_eq!(found[0].subgraph.as_deref(), Some("a"));
    assert_eq!(found[0].coordinate.as_deref(), Some("V.y"));
}

#[test]
fn entity_field_elsewhere_is_satisfiable_through_a_resolvable_key() {
    composes(&[
        (
            "a",
            r#"type Query { a: T } type T @key(fields: "id", resolvable: false) { id: ID! }"#,
        ),
        ("b", r#"type T @key(fields: "id") { id: ID! y: Int }"#),
    ]);
}

#[test]
fn an_entity_is_reached_through_a_chain_of_keys() {
    let composed = composes(&[
        (
            "a",
            r#"type Query { shelves: [Shelf] } type Shelf { item: Item }
               type Item @key(fields: "sku") { sku: ID! }"#,
        ),
        (
            "b",
            r#"type Item @key(fields: "id") @key(fields: "sku") { id: ID! sku: ID! }"#,
        ),
        (
            "c",
            r#"type Item @key(fields: "id") { id: ID! maker: String }"#,
        ),
    ]);
    insta::assert_snapshot!(type_block(&composed.supergraph_sdl, "type Item"));
}

#[test]
fn a_chain_of_keys_with_a_missing_link_is_unsatisfiable() {
    let found = errors(&[
        (
            "a",
            r#"type Query { shelves: [Shelf] } type Shelf { item: Item }
               type Item @key(fields: "sku") { sku: ID! }"#,
        ),
        ("b", r#"type Item @key(fields: "id") { id: ID! code: ID! }"#),
        (
            "c",
            r#"type Item @key(fields: "id") { id: ID! maker: String }"#,
        ),
    ]);
    let maker = found
        .iter()
        .find(|e| e.coordinate.as_deref() == Some("Item.maker"))
        .expect("Item.maker is reported");
    assert_eq!(maker.code, "SATISFIABILITY_ERROR");
    assert_eq!(maker.subgraph.as_deref(), Some("a"));
    assert!(
        maker.message.contains("{ shelves { item { maker } } }"),
        "{}",
        maker.message
    );
}

#[test]
fn nested_key_fields_may_come_from_a_further_key_jump() {
    // `pricing` needs `items { id serial }`; `shop` has only the ids, and
    // `parts` gives the serials.
    let composed = composes(&[
        (
            "shop",
            r#"type Query { featured: Bundle! }
               type Bundle @key(fields: "items { id }") { items: [Part!]! }
               type Part @key(fields: "id") { id: ID! }"#,
        ),
        (
            "parts",
            r#"type Part @key(fields: "id") @key(fields: "id serial") { id: ID! serial: String! }"#,
        ),
        (
            "pricing",
            r#"type Bundle @key(fields: "items { id serial }") { items: [Part!]! discount: Int }
               type Part @key(fields: "id serial") { id: ID! serial: String! }"#,
        ),
    ]);
    insta::assert_snapshot!(type_block(&composed.supergraph_sdl, "type Bundle"));
}

#[test]
fn a_value_type_field_is_answered_by_another_subgraph_of_its_parent_entity() {
    let composed = composes(&[
        (
            "a",
            r#"type Query { products: [Product!]! }
               type Product @key(fields: "id") { id: ID! info: Info @shareable }
               type Info { weight: Int @shareable }"#,
        ),
        (
            "b",
            r#"type Product @key(fields: "id") { id: ID! info: Info @shareable }
               type Info { weight: Int @shareable color: String }"#,
        ),
    ]);
    insta::assert_snapshot!(type_block(&composed.supergraph_sdl, "type Info"));
}

#[test]
fn a_value_type_jumps_to_an_entity_with_a_key_a_sibling_subgraph_has() {
    // Only `b`'s Customer has the id that `c`'s key needs; `a` and `b` both
    // answer Order.customer.
    composes(&[
        (
            "a",
            r#"type Order @key(fields: "id") { id: ID! @external customer: Customer @shareable }
               type Customer { note: String }"#,
        ),
        (
            "b",
            r#"type Order @key(fields: "id") { id: ID! @external customer: Customer @shareable }
               type Customer { id: ID! @shareable }"#,
        ),
        (
            "c",
            r#"type Customer @key(fields: "id") { id: ID! name: String }"#,
        ),
        (
            "d",
            r#"type Query { order(id: ID!): Order }
               type Order @key(fields: "id") { id: ID! total: Int }"#,
        ),
    ]);
}

#[test]
fn shared_root_fields_answer_a_value_type_from_every_subgraph() {
    let composed = composes(&[
        (
            "a",
            "type Query { item: Item! @shareable } type Item { id: ID! @shareable size: Int! }",
        ),
        (
            "b",
            "type Query { item: Item! @shareable } type Item { id: ID! @shareable tag: String! }",
        ),
    ]);
    insta::assert_snapshot!(type_block(&composed.supergraph_sdl, "type Item"));
}

#[test]
fn union_members_a_subgraph_does_not_know_need_no_check_there() {
    let composed = composes(&[
        (
            "a",
            r#"union Result = Photo | Video
               type Query { result: Result @shareable photo: Photo @shareable }
               type Photo @key(fields: "id") { id: ID! title: String! @shareable aOnly: Int }
               type Video @key(fields: "id") { id: ID! title: String! @shareable }"#,
        ),
        (
            "b",
            r#"union Result = Photo | Note
               type Query { result: Result @shareable photo: Result @shareable }
               type Photo @key(fields: "id") { id: ID! title: String! @shareable bOnly: Int }
               type Note @key(fields: "id") { id: ID! title: String! @shareable }"#,
        ),
    ]);
    insta::assert_snapshot!(type_block(&composed.supergraph_sdl, "union Result"));
}

#[test]
fn a_union_member_missing_a_field_where_it_is_returned_is_unsatisfiable() {
    let found = errors(&[
        (
            "a",
            "union Result = Photo | Video type Query { result: Result }
             type Photo @shareable { id: ID! } type Video { id: ID! }",
        ),
        (
            "b",
            "type Query { photos: [Photo] } type Photo @shareable { id: ID! extra: Int }",
        ),
    ]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].code, "SATISFIABILITY_ERROR");
    assert_eq!(found[0].coordinate.as_deref(), Some("Photo.extra"));
    assert!(
        found[0]
            .message
            .contains("{ result { ... on Photo { extra } } }")
    );
}

#[test]
fn interface_fields_are_checked_on_each_implementation_from_every_subgraph() {
    // `a` cannot give Chat.id (external there, and its key needs it), `b`
    // cannot give Account.id: each is answered by the other shared root.
    composes(&[
        (
            "a",
            r#"type Query { node(id: ID!): Node @shareable account(id: ID!): Account }
               interface Node { id: ID! }
               type Account implements Node @key(fields: "id") { id: ID! name: String! }
               type Chat implements Node @key(fields: "id") { id: ID! @external owner: Account! }"#,
        ),
        (
            "b",
            r#"type Query { node(id: ID!): Node @shareable chat(id: ID!): Chat }
               interface Node { id: ID! }
               type Account implements Node @key(fields: "id") { id: ID! @external chats: [Chat!]! }
               type Chat implements Node @key(fields: "id") { id: ID! text: String! }"#,
        ),
    ]);
}

#[test]
fn a_shared_mutation_field_must_be_answered_below_by_one_subgraph_alone() {
    // Each subgraph runs `createNote` and has half of `Note`: a query could
    // take both halves only by running the mutation twice.
    let split = [
        (
            "a",
            r#"type Query { noop: Int } type Mutation { createNote: Note @shareable }
               type Note @shareable { id: ID! title: String }"#,
        ),
        (
            "b",
            r#"type Mutation { createNote: Note @shareable }
               type Note @shareable { id: ID! body: String }"#,
        ),
    ];
    let found = errors(&split);
    assert_eq!(found.len(), 1, "{found:?}");
    let error = &found[0];
    assert_eq!(error.code, "SATISFIABILITY_ERROR");
    assert_eq!(error.coordinate.as_deref(), Some("Mutation.createNote"));
    for part in [
        "from \"a\" alone",
        "{ createNote { body } }",
        "from \"b\" alone",
        "{ createNote { title } }",
    ] {
        assert!(error.message.contains(part), "{part}: {}", error.message);
    }
    // The same fields under a query root may come from both subgraphs.
    let query = split.map(|(name, sdl)| {
        (
            name,
            sdl.replace("Mutation", "Query")
                .replace("type Query { noop: Int } ", ""),
        )
    });
    let query: Vec<(&str, &str)> = query.iter().map(|(n, s)| (*n, s.as_str())).collect();
    composes(&query);
}
