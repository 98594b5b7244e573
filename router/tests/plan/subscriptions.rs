//! Subscriptions: the root field's subgraph gets a `subscription` (the
//! primary fetch, with the keys the rest needs); the entity fetches to the
//! other subgraphs are the rest, run for every event.

use storefront_router::core::plan::{OperationKind, PlanNode, plan_text};

const LINK: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@external", "@requires"])"#;

/// orders: `Subscription.orderUpdated` → `Order @key(id)` with items whose
/// product is an `Product @key(sku)` stub; payments: `Order.payment`;
/// inventory: `Product.name`, `Product.stock`.
pub fn shop() -> String {
    crate::common::compose_inline(
        LINK,
        &[
            (
                "orders",
                r#"type Query { order(id: ID!): Order }
                   type Subscription { orderUpdated(id: ID!): Order! ping: Int! }
                   type Order @key(fields: "id") { id: ID! status: String! items: [Item!]! }
                   type Item { quantity: Int! product: Product! }
                   type Product @key(fields: "sku", resolvable: false) { sku: ID! }"#,
            ),
            (
                "payments",
                r#"type Order @key(fields: "id") { id: ID! payment: Payment }
                   type Payment { status: String! }"#,
            ),
            (
                "inventory",
                r#"type Query { product(sku: ID!): Product }
                   type Subscription { stockChanged(skus: [ID!]!): Product! }
                   type Product @key(fields: "sku") { sku: ID! name: String! stock: Int! }"#,
            ),
        ],
    )
}

fn plan(operation: &str) -> String {
    plan_text(&shop(), operation, None).expect("plans")
}

#[test]
fn a_subscription_with_fields_of_other_subgraphs_runs_entity_fetches_per_event() {
    let text = plan(
        "subscription Watch($id: ID!) { orderUpdated(id: $id) { status payment { status } items { quantity product { name } } } }",
    );
    insta::assert_snapshot!(text);
}

#[test]
fn a_subscription_its_subgraph_answers_alone_has_no_rest() {
    let text = plan("subscription { stockChanged(skus: [\"a\"]) { sku name stock } }");
    insta::assert_snapshot!(text);
    assert!(!text.contains("Rest"), "{text}");
}

#[test]
fn the_primary_fetch_is_a_subscription_with_the_clients_variables() {
    let supergraph =
        storefront_router::core::supergraph::Supergraph::parse(&shop()).expect("parses");
    let document = apollo_compiler::ExecutableDocument::parse_and_validate(
        &supergraph.api_schema,
        "subscription Watch($id: ID!) { orderUpdated(id: $id) { payment { status } } }",
        "op.graphql",
    )
    .expect("valid against the API schema, which keeps the Subscription root");
    let plan = storefront_router::core::plan::Planner::new(std::sync::Arc::new(supergraph))
        .plan(&document, None)
        .expect("plans");
    assert!(plan.node.is_none());
    let subscription = plan.subscription.expect("a subscription node");
    assert_eq!(subscription.primary.subgraph, "orders");
    assert_eq!(
        subscription.primary.operation_kind,
        OperationKind::Subscription
    );
    assert!(
        subscription
            .primary
            .operation
            .starts_with("subscription Watch__orders__0($id: ID!)"),
        "{}",
        subscription.primary.operation
    );
    assert_eq!(subscription.primary.variable_usages, ["id"]);
    let Some(rest) = subscription.rest.as_deref() else {
        panic!("payment comes from payments")
    };
    let PlanNode::Flatten(flatten) = rest else {
        panic!("one entity fetch: {rest:?}")
    };
    let PlanNode::Fetch(fetch) = flatten.node.as_ref() else {
        panic!("a fetch")
    };
    assert_eq!(fetch.subgraph, "payments");
    assert_eq!(fetch.operation_kind, OperationKind::Query);
}
