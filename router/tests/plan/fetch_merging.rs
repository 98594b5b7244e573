//! Sibling entity fetches to one subgraph at one path are sent as one: a
//! field without inputs joins the fetch of a `@requires` field of the same
//! entity when nothing else waits for it.

use storefront_router::core::plan::plan_text;

const GATEWAY: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/gateway.graphql")
);

fn plan(operation: &str) -> String {
    plan_text(GATEWAY, operation, None).expect("plans")
}

#[test]
fn a_field_without_inputs_joins_the_requires_fetch_of_its_entity() {
    let plan = plan("{ users { reviews { product { inStock shippingEstimate } } } }");
    assert_eq!(plan.matches("Fetch(service: \"inventory\")").count(), 1);
    insta::assert_snapshot!(plan);
}

#[test]
fn fetches_at_other_paths_stay_apart() {
    let plan = plan(
        "{ users { reviews { product { inStock } } } topProducts { reviews { product { inStock } } } }",
    );
    assert_eq!(plan.matches("Fetch(service: \"inventory\")").count(), 2);
    insta::assert_snapshot!(plan);
}

#[test]
fn the_gateway_benchmark_query_sends_thirteen_fetches() {
    let query = include_str!("../fixtures/plan/gateway-test-query.graphql");
    let plan = plan(query);
    // Before merging: 16 (an `inStock` fetch beside each of three
    // `shippingEstimate` fetches).
    assert_eq!(plan.matches("Fetch(service:").count(), 13);
}
