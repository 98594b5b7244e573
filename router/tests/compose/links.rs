//! Reading each subgraph: its `@link` (imports under other names; the
//! federation version, which sets the join version), federation's own
//! definitions, which are dropped, GraphQL errors, reported per subgraph, and
//! the directives the router refuses (access control) or drops with a hint
//! (demand control).

use crate::errors;
use storefront_router::core::compose::{SubgraphSdl, compose};

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
fn access_control_directives_are_carried_to_the_supergraph_and_read_by_the_router() {
    for (directive, sdl, printed) in [
        (
            "@authenticated",
            r#"type Query { me: User @authenticated } type User @key(fields: "id") { id: ID! }"#,
            "me: User @authenticated",
        ),
        (
            "@requiresScopes",
            r#"type Query { me: User } type User @key(fields: "id") { id: ID! email: String @requiresScopes(scopes: [["read:email"]]) }"#,
            r#"email: String @requiresScopes(scopes: [["read:email"]])"#,
        ),
        (
            "@policy",
            r#"type Query { me: User } type User @key(fields: "id") { id: ID! email: String @policy(policies: [["staff"]]) }"#,
            r#"email: String @policy(policies: [["staff"]])"#,
        ),
    ] {
        let composed = compose(&[subgraph_v29("a", sdl)]).expect(directive);
        assert!(
            composed.supergraph_sdl.contains(printed),
            "{directive}: {}",
            composed.supergraph_sdl
        );
        let supergraph =
            storefront_router::core::supergraph::Supergraph::parse(&composed.supergraph_sdl)
                .expect("the router serves it");
        assert!(!supergraph.access.is_empty(), "{directive}: rules read");
        let api = supergraph.api_schema.serialize().to_string();
        assert!(
            !api.contains(directive),
            "{directive} stays out of the API schema"
        );
    }
}

#[test]
fn demand_control_directives_are_carried_as_the_cost_spec() {
    let composed = compose(&[subgraph_v29(
        "a",
        r#"type Query { items(first: Int): [Int] @listSize(slicingArguments: ["first"]) @cost(weight: 2) }"#,
    )])
    .expect("composes");
    let sdl = &composed.supergraph_sdl;
    assert!(
        sdl.contains(r#"@link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@listSize"])"#)
    );
    assert!(sdl.contains(
        r#"items(first: Int): [Int] @listSize(slicingArguments: ["first"]) @cost(weight: 2)"#
    ));
    assert!(
        !composed.hints.iter().any(|h| h.contains("@cost")),
        "{:?}",
        composed.hints
    );
    let api = storefront_router::core::supergraph::Supergraph::parse(sdl)
        .expect("the router loads it")
        .api_schema
        .to_string();
    assert!(
        !api.contains("@cost") && !api.contains("@listSize"),
        "{api}"
    );
}
