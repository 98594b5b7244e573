//! `@provides` and `@external`: provided fields are read without a jump,
//! external ones are fetched from their owner.

use storefront_router::core::plan::plan_text;

const SHOP: &str = concat!(
    include_str!("fixtures/plan/join-preamble.graphql"),
    include_str!("fixtures/plan/shop.graphql")
);

fn plan(operation: &str) -> String {
    plan_text(SHOP, operation, None).expect("plans")
}

#[test]
fn uses_provided_fields_without_a_jump() {
    insta::assert_snapshot!(plan("{ reviews { author { username } product { name } } }"));
}

#[test]
fn external_fields_not_provided_are_fetched_from_their_owner() {
    insta::assert_snapshot!(plan(
        "{ me { reviews { author { name } product { price } } } }"
    ));
}
