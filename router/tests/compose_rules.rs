//! Composition rules, one behaviour per test: inline subgraph SDL → a snapshot
//! of the supergraph, or the error codes it breaks.

use storefront_router::core::compose::{Composed, CompositionError, SubgraphSdl, compose};

const LINK: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@external", "@requires", "@provides", "@override", "@inaccessible", "@tag"])"#;

fn subgraphs(sdls: &[(&str, &str)]) -> Vec<SubgraphSdl> {
    sdls.iter()
        .map(|(name, sdl)| SubgraphSdl {
            name: (*name).to_owned(),
            url: format!("http://{name}.local/graphql"),
            sdl: format!("{LINK}\n{sdl}"),
        })
        .collect()
}

fn composes(sdls: &[(&str, &str)]) -> Composed {
    match compose(&subgraphs(sdls)) {
        Ok(composed) => composed,
        Err(errors) => {
            let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("expected to compose:\n{}", listed.join("\n"));
        }
    }
}

fn errors(sdls: &[(&str, &str)]) -> Vec<CompositionError> {
    match compose(&subgraphs(sdls)) {
        Ok(composed) => panic!("expected errors, got:\n{}", composed.supergraph_sdl),
        Err(errors) => errors,
    }
}

fn codes(sdls: &[(&str, &str)]) -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = errors(sdls).iter().map(|e| e.code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// The part of the supergraph from `type Name` to its closing brace.
fn type_block(sdl: &str, keyword_and_name: &str) -> String {
    let start = sdl
        .find(&format!("\n{keyword_and_name}\n"))
        .or_else(|| sdl.find(&format!("\n{keyword_and_name} ")))
        .unwrap_or_else(|| panic!("{keyword_and_name} is in the supergraph"));
    let rest = &sdl[start + 1..];
    let end = rest.find("\n}").map_or(rest.len(), |i| i + 2);
    // A union has no braces: it ends at the blank line after it.
    let end = rest.find("\n\n").map_or(end, |i| i.min(end));
    rest[..end].to_owned()
}

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
fn federation_definitions_and_renamed_imports_are_understood_and_dropped() {
    let sdl = r#"
        schema @link(url: "https://specs.apollo.dev/link/v1.0")
               @link(url: "https://specs.apollo.dev/federation/v2.3", import: [{name: "@key", as: "@primaryKey"}]) { query: RootQuery }
        directive @primaryKey(fields: federation__FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
        scalar federation__FieldSet
        scalar _Any
        type _Service { sdl: String }
        union _Entity = Thing
        type RootQuery { thing: Thing _service: _Service! _entities(representations: [_Any!]!): [_Entity]! }
        type Thing @primaryKey(fields: "id") { id: ID! }
    "#;
    let composed = compose(&[SubgraphSdl {
        name: "things".into(),
        url: "http://things.local/graphql".into(),
        sdl: sdl.into(),
    }])
    .expect("composes");
    let out = &composed.supergraph_sdl;
    assert!(
        out.contains(r#"@join__type(graph: THINGS, key: "id")"#),
        "{out}"
    );
    assert!(out.contains("type Query\n"), "{out}");
    for gone in [
        "_Service",
        "_Any",
        "_Entity",
        "_entities",
        "primaryKey",
        "FieldSet!",
    ] {
        assert!(!out.contains(gone), "{gone} should be dropped:\n{out}");
    }
}

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
fn join_version_follows_the_newest_federation_version() {
    let composed = compose(&[SubgraphSdl {
        name: "a".into(),
        url: "http://a.local/graphql".into(),
        sdl: r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.8", import: ["@key"])
                type Query { a: Int }"#
            .into(),
    }])
    .expect("composes");
    assert!(
        composed
            .supergraph_sdl
            .contains("https://specs.apollo.dev/join/v0.5")
    );
    assert!(
        composed
            .supergraph_sdl
            .contains("input join__ContextArgument")
    );
}

// Errors, by code.

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

#[test]
fn invalid_graphql_is_reported_per_subgraph() {
    let found = errors(&[
        ("a", "type Query { a: Int"),
        ("b", "type Query { b: Nope }"),
    ]);
    assert!(found.iter().all(|e| e.code == "INVALID_GRAPHQL"));
    assert!(found.iter().any(|e| e.subgraph.as_deref() == Some("a")));
    assert!(found.iter().any(|e| e.subgraph.as_deref() == Some("b")));
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

/// A subgraph linking federation v2.9 with every directive imported.
fn subgraph_v29(name: &str, sdl: &str) -> SubgraphSdl {
    let link = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@authenticated", "@requiresScopes", "@policy", "@context", "@fromContext", "@cost", "@listSize"])"#;
    SubgraphSdl {
        name: name.to_owned(),
        url: format!("http://{name}.local/graphql"),
        sdl: format!("{link}\n{sdl}"),
    }
}

#[test]
fn access_control_directives_are_refused_rather_than_dropped() {
    for (directive, sdl) in [
        (
            "@authenticated",
            r#"type Query { me: User @authenticated } type User @key(fields: "id") { id: ID! }"#,
        ),
        (
            "@requiresScopes",
            r#"type Query { me: User } type User @key(fields: "id") { id: ID! email: String @requiresScopes(scopes: [["read:email"]]) }"#,
        ),
        (
            "@policy",
            r#"type Query { me: User } type User @key(fields: "id") { id: ID! email: String @policy(policies: [["staff"]]) }"#,
        ),
    ] {
        let errors = compose(&[subgraph_v29("a", sdl)]).expect_err(directive);
        let error = errors
            .iter()
            .find(|e| e.code == "UNSUPPORTED_FEATURE" && e.message.contains(directive))
            .unwrap_or_else(|| panic!("{directive}: {errors:?}"));
        assert!(error.message.contains("not supported"), "{}", error.message);
        assert_eq!(error.subgraph.as_deref(), Some("a"));
    }
}

/// A subgraph linking federation v2.8 with `@key`, `@shareable` and the
/// context directives imported.
fn subgraph_v28(name: &str, sdl: &str) -> SubgraphSdl {
    let link = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.8", import: ["@key", "@shareable", "@context", "@fromContext"])"#;
    SubgraphSdl {
        name: name.to_owned(),
        url: format!("http://{name}.local/graphql"),
        sdl: format!("{link}\n{sdl}"),
    }
}

const USER_CONTEXT: &str = r#"type Query { me: User }
    type User @key(fields: "id") @context(name: "u") { id: ID! locale: String cart: Cart }"#;

#[test]
fn from_context_arguments_leave_the_field_for_join_field_context_arguments() {
    for sdl in [
        format!(
            r#"{USER_CONTEXT} type Cart @key(fields: "id") {{ id: ID! total(locale: String @fromContext(field: "$u {{ locale }}"), currency: String): Int }}"#
        ),
        // As `@federation__fromContext`, not imported.
        format!(
            r#"{USER_CONTEXT} type Cart @key(fields: "id") {{ id: ID! total(locale: String @federation__fromContext(field: "$u {{ locale }}"), currency: String): Int }}"#
        ),
    ] {
        let composed = compose(&[subgraph_v28("shop", &sdl)]).expect("composes");
        let sdl = &composed.supergraph_sdl;
        assert!(
            sdl.contains(r#"@link(url: "https://specs.apollo.dev/context/v0.1", for: SECURITY)"#),
            "{sdl}"
        );
        assert!(sdl.contains(r#"@context(name: "shop__u")"#), "{sdl}");
        assert!(
            sdl.contains(r#"total(currency: String): Int @join__field(graph: SHOP, contextArguments: [{context: "shop__u", name: "locale", type: "String", selection: " { locale }"}])"#),
            "{sdl}"
        );
        assert!(sdl.contains("scalar context__ContextFieldValue"), "{sdl}");
    }
}

#[test]
fn context_misuse_is_rejected_with_the_rule_broken() {
    let cart = |total: &str| {
        format!(r#"{USER_CONTEXT} type Cart @key(fields: "id") {{ id: ID! {total} }}"#)
    };
    for (expected, sdl) in [
        (
            "CONTEXT_NOT_SET",
            cart(r#"total(locale: String @fromContext(field: "$nobody { locale }")): Int"#),
        ),
        (
            "CONTEXT_NOT_SET",
            cart(r#"total(locale: String = "en" @fromContext(field: "$u { locale }")): Int"#),
        ),
        (
            "NO_CONTEXT_IN_SELECTION",
            cart(r#"total(locale: String @fromContext(field: "{ locale }")): Int"#),
        ),
        (
            "CONTEXT_INVALID_SELECTION",
            cart(r#"total(locale: String @fromContext(field: "$u { language }")): Int"#),
        ),
        (
            "CONTEXT_INVALID_SELECTION",
            cart(r#"total(locale: Int @fromContext(field: "$u { locale }")): Int"#),
        ),
        (
            "CONTEXT_INVALID_SELECTION",
            cart(r#"total(locale: String! @fromContext(field: "$u { locale }")): Int"#),
        ),
        (
            "CONTEXT_NAME_INVALID",
            USER_CONTEXT.replace(r#"name: "u""#, r#"name: "my_user""#),
        ),
        (
            "CONTEXT_NO_RESOLVABLE_KEY",
            format!(
                r#"{USER_CONTEXT} type Cart @key(fields: "id", resolvable: false) {{ id: ID! total(locale: String @fromContext(field: "$u {{ locale }}")): Int }}"#
            ),
        ),
    ] {
        let errors = compose(&[subgraph_v28("shop", &sdl)]).expect_err(expected);
        assert!(
            errors
                .iter()
                .any(|e| e.code == expected && e.subgraph.as_deref() == Some("shop")),
            "{expected}: {errors:?}"
        );
    }
}

#[test]
fn a_field_with_a_contextual_argument_needs_its_context_above_it_on_the_query_path() {
    let sdl = format!(
        r#"{USER_CONTEXT} extend type Query {{ carts: [Cart] }}
           type Cart @key(fields: "id") {{ id: ID! total(locale: String @fromContext(field: "$u {{ locale }}")): Int }}"#
    );
    let errors = compose(&[subgraph_v28("shop", &sdl)]).expect_err("Query.carts has no User above");
    let error = errors
        .iter()
        .find(|e| e.code == "SATISFIABILITY_ERROR")
        .unwrap_or_else(|| panic!("{errors:?}"));
    assert_eq!(error.coordinate.as_deref(), Some("Cart.total"));
    assert!(
        error.message.contains("{ carts { total } }"),
        "{}",
        error.message
    );
    assert!(error.message.contains("context"), "{}", error.message);
}

#[test]
fn a_contextual_argument_must_be_optional_where_another_subgraph_takes_it_plainly() {
    let shop = subgraph_v28(
        "shop",
        &format!(
            r#"{USER_CONTEXT} type Cart @key(fields: "id") {{ id: ID! total(locale: String @fromContext(field: "$u {{ locale }}")): Int @shareable }}"#
        ),
    );
    let pricing = |arg: &str| {
        subgraph_v28(
            "pricing",
            &format!(
                r#"type Query {{ ping: Int }} type Cart @key(fields: "id") {{ id: ID! total(locale: {arg}): Int @shareable }}"#
            ),
        )
    };
    let errors = compose(&[shop.clone(), pricing("String!")]).expect_err("required elsewhere");
    assert!(
        errors.iter().any(
            |e| e.code == "CONTEXTUAL_ARGUMENT_NOT_CONTEXTUAL_IN_ALL_SUBGRAPHS"
                && e.subgraph.as_deref() == Some("pricing")
        ),
        "{errors:?}"
    );
    let composed = compose(&[shop, pricing("String")]).expect("optional elsewhere");
    assert!(composed.supergraph_sdl.contains("  total: Int @join__field(graph: PRICING) @join__field(graph: SHOP, contextArguments: ["), "{}", composed.supergraph_sdl);
    assert!(
        composed
            .hints
            .iter()
            .any(|h| h.starts_with("CONTEXTUAL_ARGUMENT_NOT_CONTEXTUAL_IN_ALL_SUBGRAPHS")),
        "{:?}",
        composed.hints
    );
}

#[test]
fn demand_control_directives_are_dropped_with_a_hint() {
    let composed = compose(&[subgraph_v29(
        "a",
        r#"type Query { items(first: Int): [Int] @listSize(slicingArguments: ["first"]) @cost(weight: 2) }"#,
    )])
    .expect("composes");
    assert!(!composed.supergraph_sdl.contains("@cost"));
    for directive in ["@cost", "@listSize"] {
        assert!(
            composed.hints.iter().any(|h| h.contains(directive)),
            "{directive}: {:?}",
            composed.hints
        );
    }
}
