use super::*;

const STOREFRONT: &str = concat!(
    include_str!("../../../tests/fixtures/plan/join-preamble.graphql"),
    include_str!("../../../tests/fixtures/plan/storefront.graphql")
);

#[test]
fn reads_subgraphs_with_names_and_urls() {
    let sg = Supergraph::parse(STOREFRONT).expect("parses");
    let names: Vec<&str> = sg.subgraphs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["inventory", "orders", "payments", "users"]);
    assert_eq!(sg.subgraphs[3].url, "http://localhost:4001/graphql");
    assert_eq!(sg.subgraphs[3].id, "USERS");
}

#[test]
fn reads_keys_and_resolvable_per_subgraph() {
    let sg = Supergraph::parse(STOREFRONT).expect("parses");
    let product = sg.type_model("Product").expect("Product");
    assert_eq!(
        product.graphs["orders"].keys,
        vec![Key {
            fields: "sku".into(),
            resolvable: false
        }]
    );
    assert!(product.graphs["inventory"].keys[0].resolvable);
}

#[test]
fn fields_without_join_field_belong_to_every_subgraph_of_the_type() {
    let sg = Supergraph::parse(STOREFRONT).expect("parses");
    let id = sg.field("Order", "id").expect("Order.id");
    assert_eq!(id.graphs.keys().collect::<Vec<_>>(), ["orders", "payments"]);
    assert!(sg.resolves("payments", "Order", "payment"));
    assert!(!sg.resolves("orders", "Order", "payment"));
}

#[test]
fn api_schema_drops_join_machinery_and_inaccessible_elements() {
    let sg = Supergraph::parse(STOREFRONT).expect("parses");
    let api = sg.api_schema.to_string();
    for gone in [
        "join__",
        "link__",
        "@link",
        "inaccessible",
        "reserveStock",
        "Reservation",
        "PayableOrder",
        "StockLineInput",
    ] {
        assert!(!api.contains(gone), "{gone} left in the API schema:\n{api}");
    }
    assert!(api.contains("\"\"\"The caller's account; null without a token.\"\"\""));
    assert!(api.contains("payOrder("));
}

#[test]
fn reads_enum_values_per_subgraph() {
    let sg = Supergraph::parse(STOREFRONT).expect("parses");
    assert_eq!(sg.enums["Role"]["ADMIN"], ["users"]);
}

#[test]
fn rejects_a_supergraph_without_the_join_spec() {
    let err = Supergraph::parse("type Query { a: Int }").expect_err("no join");
    assert!(matches!(err, SupergraphError::Unsupported(_)), "{err}");
}

#[test]
fn rejects_unsupported_join_versions() {
    let sdl = STOREFRONT.replace("join/v0.5", "join/v9.9");
    let err = Supergraph::parse(&sdl).expect_err("v9.9");
    assert!(err.to_string().contains("v9.9"), "{err}");
}

#[test]
fn rejects_security_and_execution_features_it_does_not_apply() {
    for (url, purpose) in [
        ("https://example.com/entitlements/v0.1", "SECURITY"),
        ("https://specs.apollo.dev/unknown/v0.1", "SECURITY"),
        ("https://example.com/batching/v1.0", "EXECUTION"),
    ] {
        let sdl = STOREFRONT.replace(
            "@link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY)",
            &format!(
                "@link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY)\n  @link(url: \"{url}\", for: {purpose})"
            ),
        );
        assert!(sdl.contains(url), "the fixture has the inaccessible link");
        let err = Supergraph::parse(&sdl).expect_err(url);
        assert!(matches!(err, SupergraphError::Unsupported(_)), "{err}");
        assert!(err.to_string().contains(url), "{err}");
    }
    // Features linked without a purpose (or for documentation) are fine.
    let tagged = STOREFRONT.replace(
        "@link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY)",
        "@link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY)\n  @link(url: \"https://specs.apollo.dev/tag/v0.3\")",
    );
    assert!(tagged.contains("tag/v0.3"));
    Supergraph::parse(&tagged).expect("tag needs no support");
}

#[test]
fn reads_a_join_spec_linked_under_another_name() {
    let sdl = STOREFRONT.replace("join__", "j__").replace(
        "join/v0.5\", for: EXECUTION",
        "join/v0.5\", as: \"j\", for: EXECUTION",
    );
    let sg = Supergraph::parse(&sdl).expect("parses");
    assert_eq!(sg.subgraphs.len(), 4);
    assert!(sg.resolves("payments", "Order", "payment"));
    assert!(!sg.api_schema.to_string().contains("j__"));
}

#[test]
fn api_schema_drops_tags_and_keeps_deprecations() {
    let sdl = STOREFRONT
        .replace(
            "@link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY)",
            "@link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY)\n  @link(url: \"https://specs.apollo.dev/tag/v0.3\")",
        )
        .replace(
            "directive @inaccessible",
            "directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA\n\ndirective @inaccessible",
        )
        .replace(
            "  role: Role! @join__field(graph: USERS)",
            "  role: Role! @join__field(graph: USERS) @tag(name: \"admin\") @deprecated(reason: \"ask the admin\")",
        );
    let sg = Supergraph::parse(&sdl).expect("parses");
    let api = sg.api_schema.to_string();
    assert!(!api.contains("@tag"), "{api}");
    assert!(
        api.contains("@deprecated(reason: \"ask the admin\")"),
        "{api}"
    );
}

#[test]
fn possible_types_follow_join_implements_and_union_members_per_subgraph() {
    let sdl = concat!(
        include_str!("../../../tests/fixtures/plan/join-preamble.graphql"),
        include_str!("../../../tests/fixtures/plan/media.graphql")
    );
    let sg = Supergraph::parse(sdl).expect("parses");
    assert_eq!(sg.possible_types_in("books", "Media"), ["Book"]);
    assert_eq!(sg.possible_types_in("search", "Media"), ["Book", "Movie"]);
    assert_eq!(
        sg.possible_types_in("search", "SearchResult"),
        ["Book", "Movie", "Author"]
    );
    assert!(sg.possible_types_in("movies", "SearchResult").is_empty());
}

/// The directive definition named `name` in `schema`, printed.
fn directive_definition(schema: &apollo_compiler::Schema, name: &str) -> Option<String> {
    schema
        .directive_definitions
        .get(name)
        .map(|d| d.serialize().no_indent().to_string())
}

#[test]
fn api_schema_declares_defer_on_fragments_and_not_stream() {
    let sg = Supergraph::parse(STOREFRONT).expect("parses");
    let defer = directive_definition(&sg.api_schema, "defer").expect("@defer is declared");
    assert!(
        defer.ends_with(
            "directive @defer(\"The fragment may be deferred only when this is true.\" \
             if: Boolean! = true, \"Names the deferred fragment in the increments; unique in \
             the document and a string literal.\" label: String) \
             on FRAGMENT_SPREAD | INLINE_FRAGMENT"
        ),
        "{defer}"
    );
    assert!(!sg.schema.directive_definitions.contains_key("defer"));
    assert!(!sg.api_schema.directive_definitions.contains_key("stream"));
}

#[test]
fn a_supergraph_that_defines_defer_keeps_its_own_definition() {
    let own =
        "directive @defer(label: String, if: Boolean! = true) on FRAGMENT_SPREAD | INLINE_FRAGMENT";
    let sdl = STOREFRONT.replace(
        "directive @inaccessible",
        &format!("{own}\n\ndirective @inaccessible"),
    );
    let sg = Supergraph::parse(&sdl).expect("parses");
    assert_eq!(
        directive_definition(&sg.api_schema, "defer").as_deref(),
        Some(own)
    );
    let printed = sg.api_schema.to_string();
    assert_eq!(printed.matches("directive @defer").count(), 1, "{printed}");
}
