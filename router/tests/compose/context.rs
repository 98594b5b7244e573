//! `@context` and `@fromContext` (Federation 2.8): a contextual argument
//! leaves the field for `@join__field(contextArguments:)`, misuse is rejected
//! with the rule it breaks, the context must be above the field on every
//! query path, and a subgraph that takes the argument plainly must take it as
//! optional.

use storefront_router::core::compose::{SubgraphSdl, compose};

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
