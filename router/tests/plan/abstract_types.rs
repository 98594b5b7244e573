//! Interfaces and unions whose member types live in different subgraphs.

use storefront_router::core::plan::plan_text;

const MEDIA: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/media.graphql")
);

fn plan(operation: &str) -> String {
    plan_text(MEDIA, operation, None).expect("plans")
}

#[test]
fn interface_fields_the_subgraph_resolves_stay_on_the_interface() {
    insta::assert_snapshot!(plan("{ search(text: \"x\") { __typename id title } }"));
}

#[test]
fn type_conditions_on_members_of_other_subgraphs_jump_per_type() {
    insta::assert_snapshot!(plan(
        "{ search(text: \"x\") { id ... on Book { pages } ... on Movie { duration } } }"
    ));
}

#[test]
fn interface_fields_resolved_elsewhere_expand_to_every_object_type() {
    insta::assert_snapshot!(plan("{ search(text: \"x\") { title rating } }"));
}

#[test]
fn union_members_keep_their_type_conditions() {
    insta::assert_snapshot!(plan(
        "{ anything(text: \"x\") { ... on Author { name } ... on Book { title pages } } }"
    ));
}

#[test]
fn fragments_on_an_interface_inside_a_union_apply_to_each_member() {
    insta::assert_snapshot!(plan(
        "{ anything(text: \"x\") { ... on Media { id rating } } }"
    ));
}

#[test]
fn abstract_fields_request_typename() {
    insta::assert_snapshot!(plan("{ featured { id } books { id title } }"));
}

/// Two subgraphs answer `Page.panel { blocks }` (shareable), each with its
/// own members of `Block`; `sidePanel` only `b` answers.
fn partial_union_supergraph() -> String {
    use storefront_router::core::compose::{SubgraphSdl, compose};
    let link = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable"])"#;
    let subgraph = |name: &str, sdl: &str| SubgraphSdl {
        name: name.to_owned(),
        url: format!("http://{name}.local/graphql"),
        sdl: format!("{link}\n{sdl}"),
    };
    compose(&[
        subgraph(
            "a",
            r#"type Query { homeA: Page shared: Page @shareable }
               type Page @key(fields: "id") { id: ID! panel: Panel @shareable }
               type Panel @shareable { blocks: [Block!]! @shareable }
               union Block = Text | Chart
               type Text @shareable { body: String }
               type Chart { points: Int }"#,
        ),
        subgraph(
            "b",
            r#"type Query { homeB: Page shared: Page @shareable }
               type Page @key(fields: "id") { id: ID! panel: Panel @shareable sidePanel: Panel }
               type Panel @shareable { blocks: [Block!]! @shareable }
               union Block = Text | Video
               type Text @shareable { body: String }
               type Video { length: Int }"#,
        ),
    ])
    .expect("composes")
    .supergraph_sdl
}

#[test]
fn a_union_below_a_shareable_path_asks_only_for_members_every_answering_subgraph_has() {
    let supergraph = partial_union_supergraph();
    let text = plan_text(
        &supergraph,
        "{ homeA { panel { blocks { __typename ... on Text { body } ... on Chart { points } } } } }",
        None,
    )
    .expect("plans");
    insta::assert_snapshot!(text);
    assert!(!text.contains("Chart"), "{text}");
}

#[test]
fn a_union_after_a_jump_to_one_subgraph_keeps_that_subgraphs_members() {
    let supergraph = partial_union_supergraph();
    let text = plan_text(
        &supergraph,
        "{ homeA { sidePanel { blocks { ... on Text { body } ... on Video { length } } } } }",
        None,
    )
    .expect("plans");
    assert!(text.contains("... on Video"), "{text}");
    assert!(text.contains("Fetch(service: \"b\")"), "{text}");
}
