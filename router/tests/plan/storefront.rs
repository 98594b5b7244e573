//! Plans for the Storefront graph itself (users, orders, payments, inventory),
//! from the hand-written fixture, the committed supergraph our composer makes
//! and the one Apollo's composition makes: all three plan alike.

use storefront_router::core::plan::plan_text;

const FIXTURE: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/storefront.graphql")
);
const COMPOSED: &str = include_str!("../../../schema/supergraph.graphql");
const APOLLO: &str = include_str!("../fixtures/apollo-supergraph.graphql");

const MY_ORDERS: &str = "{ me { orders { edges { node { items { product { name } quantity } total { amount currency } payment { status } } } } } }";

fn plan(operation: &str) -> String {
    plan_text(FIXTURE, operation, None).expect("plans")
}

#[test]
fn my_orders_with_products_and_payments_jump_through_three_subgraphs() {
    insta::assert_snapshot!(plan(MY_ORDERS));
}

#[test]
fn apollos_and_our_composed_supergraphs_give_the_same_plans() {
    for operation in [
        MY_ORDERS,
        "{ products(first: 2) { edges { node { sku name price { amount } } } } }",
        "mutation($items: [OrderItemInput!]!) { createOrder(items: $items) { id status buyer { email } } }",
    ] {
        let expected = plan(operation);
        for (name, sdl) in [("composed", COMPOSED), ("apollo", APOLLO)] {
            let got = plan_text(sdl, operation, None).expect(name);
            assert_eq!(
                got, expected,
                "{name} supergraph plans {operation} differently"
            );
        }
    }
}

#[test]
fn catalogue_queries_need_only_inventory() {
    insta::assert_snapshot!(plan(
        "query($search: String) { products(first: 10, search: $search) { edges { cursor node { sku name inStock price { amount currency } } } pageInfo { hasNextPage endCursor } } }"
    ));
}

#[test]
fn an_order_with_its_buyer_and_payment_fans_out_in_parallel() {
    insta::assert_snapshot!(plan(
        "query($id: ID!) { order(id: $id) { id status buyer { name email } payment { status amount { amount currency } } } }"
    ));
}

#[test]
fn create_then_pay_runs_in_order() {
    insta::assert_snapshot!(plan(
        "mutation($items: [OrderItemInput!]!, $orderId: ID!, $token: String!, $key: String!) { createOrder(items: $items) { id total { amount } items { product { name } } } payOrder(orderId: $orderId, paymentToken: $token, idempotencyKey: $key) { status order { status } } }"
    ));
}

#[test]
fn internal_operations_are_not_part_of_the_api() {
    let err = plan_text(
        FIXTURE,
        "mutation { commitStock(orderId: \"1\") { orderId } }",
        None,
    )
    .expect_err("inaccessible");
    assert!(err.to_string().contains("commitStock"), "{err}");
}
