//! `@inaccessible`: one subgraph's mark hides the element in the supergraph,
//! no accessible element may need an inaccessible one, and an inaccessible
//! enum value may be missing in other subgraphs.

use crate::{codes, composes, type_block};

#[test]
fn inaccessible_in_one_subgraph_hides_the_element_in_the_supergraph() {
    let composed = composes(&[
        (
            "a",
            r#"type Query { items: [Item!]! } type Item @key(fields: "id") { id: ID! kind: Kind! }
               enum Kind { BOOK MOVIE @inaccessible }"#,
        ),
        (
            "b",
            r#"type Item @key(fields: "id") { id: ID! cost: Int @inaccessible @tag(name: "internal") }
               enum Kind { BOOK MOVIE }"#,
        ),
    ]);
    let sdl = &composed.supergraph_sdl;
    assert!(
        sdl.contains(r#"@link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)"#)
    );
    assert!(sdl.contains(r#"@link(url: "https://specs.apollo.dev/tag/v0.3")"#));
    assert!(
        sdl.contains(r#"cost: Int @inaccessible @join__field(graph: B) @tag(name: "internal")"#)
    );
    assert!(
        sdl.contains("MOVIE @inaccessible @join__enumValue(graph: A) @join__enumValue(graph: B)")
    );
}

#[test]
fn accessible_elements_must_not_need_inaccessible_ones() {
    assert_eq!(
        codes(&[(
            "a",
            "type Query { s: Secret } type Secret @inaccessible { x: Int }"
        )]),
        ["REFERENCED_INACCESSIBLE"]
    );
    assert_eq!(
        codes(&[("a", "type Query { f(x: Int! @inaccessible): Int }")]),
        ["REQUIRED_INACCESSIBLE"]
    );
    assert_eq!(
        codes(&[(
            "a",
            "type Query { t: T } type T { a: Int @inaccessible b: Int @inaccessible }"
        )]),
        ["ONLY_INACCESSIBLE_CHILDREN"]
    );
}

#[test]
fn an_inaccessible_enum_value_may_be_missing_in_other_subgraphs() {
    let account = |tier_values: &str| {
        format!(
            r#"type Account @key(fields: "id") {{ id: ID! tier: Tier @shareable }} enum Tier {{ {tier_values} }}"#
        )
    };
    let a = format!("type Query {{ accounts: [Account] }} {}", account("FREE"));
    let b = format!(
        "type Query {{ byTier(tier: Tier!): [Account!] }} {}",
        account("FREE TRIAL @inaccessible")
    );
    let composed = composes(&[("a", &a), ("b", &b)]);
    insta::assert_snapshot!(type_block(&composed.supergraph_sdl, "enum Tier"));
    // The same value, accessible, has to be everywhere (input and output).
    let b = format!(
        "type Query {{ byTier(tier: Tier!): [Account!] }} {}",
        account("FREE TRIAL")
    );
    assert_eq!(codes(&[("a", &a), ("b", &b)]), ["ENUM_VALUE_MISMATCH"]);
}
