//! Fields of value types (no key) that live in several subgraphs: fetched
//! again from the nearest entity or from the shared root field.

use storefront_router::core::plan::plan_text;

const CATALOG: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/catalog.graphql")
);

fn plan(operation: &str) -> String {
    plan_text(CATALOG, operation, None).expect("plans")
}

#[test]
fn shared_root_fields_are_fetched_from_each_subgraph_that_resolves_part() {
    insta::assert_snapshot!(plan("{ deal { title price } }"));
}

#[test]
fn value_type_fields_elsewhere_are_fetched_through_the_parent_entity() {
    insta::assert_snapshot!(plan("{ items { info { label notes } } }"));
}

#[test]
fn external_key_fields_are_still_provided_by_their_subgraph() {
    insta::assert_snapshot!(plan("{ items { shelf { code size } } }"));
}
