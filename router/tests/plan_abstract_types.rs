//! Interfaces and unions whose member types live in different subgraphs.

use storefront_router::core::plan::plan_text;

const MEDIA: &str = concat!(
    include_str!("fixtures/plan/join-preamble.graphql"),
    include_str!("fixtures/plan/media.graphql")
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
