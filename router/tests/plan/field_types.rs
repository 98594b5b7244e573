//! A field a subgraph declares narrower than the supergraph
//! (`join__field(type:)`, e.g. a union field one subgraph types as one of its
//! members): the subgraph's operation keeps only the type conditions that
//! subgraph can answer there, and still asks for `__typename` because the
//! client sees the abstract type.

use storefront_router::core::plan::plan_text;

const NARROWED: &str = include_str!("../fixtures/plan/narrowed.graphql");

fn plan(operation: &str) -> String {
    plan_text(NARROWED, operation, None).expect("plans")
}

#[test]
fn fragments_on_other_members_are_dropped_where_the_field_is_an_object() {
    let plan = plan("{ shelf { __typename ... on Book { title } ... on Toy { name } } }");
    assert!(!plan.contains("Toy"), "{plan}");
    insta::assert_snapshot!(plan);
}

#[test]
fn the_union_typed_subgraph_keeps_every_member() {
    let plan = plan("{ bestseller { __typename ... on Book { title } ... on Toy { name } } }");
    assert!(plan.contains("... on Toy"), "{plan}");
    insta::assert_snapshot!(plan);
}

#[test]
fn narrowed_fields_still_request_typename() {
    let plan = plan("{ featured { ... on Book { isbn } ... on Toy { name } } }");
    assert!(plan.contains("__typename"), "{plan}");
    assert!(!plan.contains("Toy"), "{plan}");
    insta::assert_snapshot!(plan);
}
