//! Root fields spread over several subgraphs.

use crate::fixtures::shop_plan as plan;

#[test]
fn root_fields_of_different_subgraphs_run_in_parallel() {
    insta::assert_snapshot!(plan("{ me { name } topProducts { upc } shippingZones }"));
}

#[test]
fn root_fields_of_one_subgraph_share_one_fetch() {
    insta::assert_snapshot!(plan("{ me { name } user(id: \"1\") { id } }"));
}

#[test]
fn shareable_root_field_goes_to_a_subgraph_already_fetched() {
    insta::assert_snapshot!(plan("{ topProducts { upc } hello }"));
}

#[test]
fn only_typename_needs_no_fetch() {
    insta::assert_snapshot!(plan("{ __typename }"));
}
