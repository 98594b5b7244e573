//! `@requires`: the required fields are fetched first and sent in the
//! representation.

use crate::fixtures::shop_plan as plan;
use storefront_router::core::plan::plan_text;

#[test]
fn fetches_required_fields_from_other_subgraphs_before_the_requiring_one() {
    insta::assert_snapshot!(plan("{ topProducts { name shippingEstimate } }"));
}

#[test]
fn required_fields_local_to_the_source_need_one_fetch_before() {
    insta::assert_snapshot!(plan("{ product(upc: \"1\") { price shippingEstimate } }"));
}

const MEDIA: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/media.graphql")
);

#[test]
fn required_abstract_fields_are_sent_with_typename_and_object_type_fragments() {
    insta::assert_snapshot!(plan_text(MEDIA, "{ library { summary } }", None).expect("plans"));
}
