//! Entity jumps through `@key`: single, several, compound and nested keys.

use crate::fixtures::shop_plan as plan;

#[test]
fn jumps_through_a_single_key() {
    insta::assert_snapshot!(plan("{ me { name reviews { body } } }"));
}

#[test]
fn jumps_with_the_compound_nested_key_the_target_resolves() {
    insta::assert_snapshot!(plan("{ topProducts { name inStock } }"));
}

#[test]
fn picks_the_key_the_source_can_provide_among_several() {
    insta::assert_snapshot!(plan("{ stockedProducts { inStock name } }"));
}

#[test]
fn groups_fields_of_one_subgraph_at_one_path_into_one_fetch() {
    insta::assert_snapshot!(plan(
        "{ topProducts { reviews { body } name upc reviews { id } } }"
    ));
}

#[test]
fn chains_jumps_through_nested_entities() {
    insta::assert_snapshot!(plan(
        "{ reviews { product { inStock reviews { author { name } } } } }"
    ));
}
