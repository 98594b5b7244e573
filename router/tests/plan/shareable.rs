//! `@shareable`, `@override` and `@inaccessible`.

use crate::fixtures::{SHOP, shop_plan as plan};
use storefront_router::core::plan::plan_text;

#[test]
fn shareable_fields_stay_in_the_current_subgraph() {
    insta::assert_snapshot!(plan(
        "{ stockedProducts { category } topProducts { category } }"
    ));
}

#[test]
fn shareable_fields_join_an_existing_jump() {
    insta::assert_snapshot!(plan("{ reviews { product { inStock category } } }"));
}

#[test]
fn overridden_fields_come_from_the_overriding_subgraph() {
    insta::assert_snapshot!(plan("{ topProducts { discount } }"));
}

#[test]
fn inaccessible_fields_are_rejected_by_validation() {
    let err = plan_text(SHOP, "{ topProducts { internalCode } }", None).expect_err("hidden");
    assert!(err.to_string().contains("internalCode"), "{err}");
}
