//! Entity fetches that become ready together and send the same operation
//! to the same subgraph go as one request: representations concatenated and
//! deduplicated, every entity merged back where it came from, errors at the
//! right member's paths.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use serde_json::{Value, json};
use storefront_router::core::plan::PlanNode;
use storefront_router::settings::RouterSettings;

const QUERY: &str = "{ myOrders { edges { node { items { product { name } } } } } order(id: \"o9\") { items { product { name } } } }";

const NAMES: &str = "($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { name } } }";

/// An inventory fetch of the products' names at `path`, under its own
/// operation name (as the planner names every fetch).
fn names_at(path: &str, index: usize) -> PlanNode {
    let name = format!("Page__inventory__{index}");
    let mut node = flatten(
        path,
        "inventory",
        "Product",
        &["sku"],
        &format!("query {name}{NAMES}"),
    );
    if let PlanNode::Flatten(flatten) = &mut node
        && let PlanNode::Fetch(fetch) = flatten.node.as_mut()
    {
        fetch.operation_name = Some(name);
    }
    node
}

/// orders (both lists) → inventory at both paths, in parallel.
fn page_plan() -> PlanNode {
    PlanNode::Sequence(vec![
        fetch(
            "orders",
            "{ myOrders { edges { node { items { product { __typename sku } } } } } order(id: \"o9\") { items { product { __typename sku } } } }",
            &[],
        ),
        PlanNode::Parallel(vec![
            names_at("myOrders.edges.@.node.items.@.product", 1),
            names_at("order.items.@.product", 2),
        ]),
    ])
}

fn orders_answer(_: &Value) -> Value {
    let item = |sku: &str| json!({ "product": { "__typename": "Product", "sku": sku } });
    json!({ "data": {
        "myOrders": { "edges": [
            { "node": { "items": [item("A"), item("B")] } },
            { "node": { "items": [item("B")] } },
        ] },
        "order": { "items": [item("C"), item("A")] },
    } })
}

fn names(body: &Value) -> Vec<Value> {
    body["variables"]["representations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rep| json!({ "name": format!("Product {}", rep["sku"].as_str().unwrap()) }))
        .collect()
}

async fn run(
    inventory: impl Fn(&Value) -> Value + Send + Sync + 'static,
) -> (Answered, FakeSubgraph) {
    let orders = FakeSubgraph::start(orders_answer).await;
    let inventory = FakeSubgraph::start(inventory).await;
    let state = router(
        RouterSettings::default(),
        &[("orders", &orders.url), ("inventory", &inventory.url)],
        vec![(None, plan(page_plan()))],
    );
    (query(&state, QUERY, json!({})).await, inventory)
}

#[tokio::test]
async fn parallel_fetches_of_one_operation_to_one_subgraph_share_a_request() {
    let (answer, inventory) = run(|body| json!({ "data": { "_entities": names(body) } })).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body.to_string(),
        r#"{"data":{"myOrders":{"edges":[{"node":{"items":[{"product":{"name":"Product A"}},{"product":{"name":"Product B"}}]}},{"node":{"items":[{"product":{"name":"Product B"}}]}}]},"order":{"items":[{"product":{"name":"Product C"}},{"product":{"name":"Product A"}}]}}}"#
    );
    let received = inventory.received();
    assert_eq!(received.len(), 1, "one request for both fetches");
    assert_eq!(
        received[0].body["variables"]["representations"],
        json!([
            { "__typename": "Product", "sku": "A" },
            { "__typename": "Product", "sku": "B" },
            { "__typename": "Product", "sku": "C" },
        ]),
        "the first fetch's representations, then the second's new ones"
    );
    assert_eq!(received[0].body["operationName"], "Page__inventory__1");
}

#[tokio::test]
async fn an_entity_error_in_a_shared_request_is_reported_at_every_place_that_asked_for_it() {
    // C is only the second fetch's; A is both fetches'.
    let (answer, _) = run(|body| {
        json!({
            "data": { "_entities": names(body) },
            "errors": [
                { "message": "A is gone", "path": ["_entities", 0, "name"] },
                { "message": "C is gone", "path": ["_entities", 2, "name"] },
                { "message": "slow catalogue" },
            ]
        })
    })
    .await;
    let errors = answer.body["errors"].as_array().unwrap();
    let at = |message: &str| -> Vec<Value> {
        errors
            .iter()
            .filter(|e| e["message"] == message)
            .map(|e| e["path"].clone())
            .collect()
    };
    assert_eq!(
        at("A is gone"),
        [
            json!([
                "myOrders", "edges", 0, "node", "items", 0, "product", "name"
            ]),
            json!(["order", "items", 1, "product", "name"]),
        ]
    );
    assert_eq!(
        at("C is gone"),
        [json!(["order", "items", 0, "product", "name"])]
    );
    assert_eq!(at("slow catalogue").len(), 1, "an error of no entity, once");
    assert_eq!(
        answer.body["data"]["order"]["items"][0]["product"]["name"], "Product C",
        "the data that came with the errors is merged"
    );
}

#[tokio::test]
async fn a_shared_request_that_fails_fails_every_fetch_in_it() {
    let inventory = FakeSubgraph::start(|_| json!({})).await;
    let orders = FakeSubgraph::start(orders_answer).await;
    let state = router(
        RouterSettings::default(),
        &[("orders", &orders.url), ("inventory", &dead_url())],
        vec![(None, plan(page_plan()))],
    );
    let answer = query(&state, QUERY, json!({})).await;
    let errors = answer.body["errors"].as_array().unwrap();
    let unavailable = errors
        .iter()
        .filter(|e| e["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE")
        .count();
    assert_eq!(unavailable, 2, "{}", answer.body);
    assert_eq!(
        answer.body["data"]["order"]["items"][0]["product"],
        Value::Null
    );
    assert!(inventory.received().is_empty());
}
