//! Entity fetches that become ready together and send the same operation
//! to the same subgraph go as one request: representations concatenated and
//! deduplicated, every entity merged back where it came from, errors at the
//! right member's paths.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use serde_json::{Value, json};
use std::time::Duration;
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

/// `order` comes from another subgraph than `myOrders`, `delay` late, so
/// the two inventory fetches (one level each) become ready at different times.
async fn run_split(order_items: Value, delay: Duration) -> (Answered, FakeSubgraph, FakeSubgraph) {
    let item = |sku: &str| json!({ "product": { "__typename": "Product", "sku": sku } });
    let my_orders = json!({ "data": { "myOrders": { "edges": [
        { "node": { "items": [item("A"), item("B")] } },
    ] } } });
    let orders = FakeSubgraph::start(move |_| my_orders.clone()).await;
    let order = json!({ "data": { "order": { "items": order_items } } });
    let payments = FakeSubgraph::start_with_delay(move |_| order.clone(), delay).await;
    let inventory =
        FakeSubgraph::start(|body| json!({ "data": { "_entities": names(body) } })).await;
    let plan_node = PlanNode::Parallel(vec![
        PlanNode::Sequence(vec![
            fetch(
                "orders",
                "{ myOrders { edges { node { items { product { __typename sku } } } } } }",
                &[],
            ),
            names_at("myOrders.edges.@.node.items.@.product", 1),
        ]),
        PlanNode::Sequence(vec![
            fetch(
                "payments",
                "{ order(id: \"o9\") { items { product { __typename sku } } } }",
                &[],
            ),
            names_at("order.items.@.product", 2),
        ]),
    ]);
    let state = router(
        RouterSettings::default(),
        &[
            ("orders", &orders.url),
            ("payments", &payments.url),
            ("inventory", &inventory.url),
        ],
        vec![(None, plan(plan_node))],
    );
    let answer = tokio::time::timeout(Duration::from_secs(10), query(&state, QUERY, json!({})))
        .await
        .expect("the batch does not wait for ever");
    (answer, inventory, payments)
}

#[tokio::test]
async fn twins_at_one_level_share_a_request_when_their_branches_are_ready_at_different_times() {
    let item = |sku: &str| json!({ "product": { "__typename": "Product", "sku": sku } });
    let (answer, inventory, _) =
        run_split(json!([item("C"), item("A")]), Duration::from_millis(150)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body["data"]["order"]["items"][0]["product"]["name"],
        "Product C"
    );
    assert_eq!(
        answer.body["data"]["myOrders"]["edges"][0]["node"]["items"][1]["product"]["name"],
        "Product B"
    );
    let received = inventory.received();
    assert_eq!(received.len(), 1, "one request for both levels' twins");
    assert_eq!(
        received[0].body["variables"]["representations"],
        json!([
            { "__typename": "Product", "sku": "A" },
            { "__typename": "Product", "sku": "B" },
            { "__typename": "Product", "sku": "C" },
        ])
    );
}

#[tokio::test]
async fn a_twin_with_nothing_to_fetch_does_not_hold_back_its_group() {
    let (answer, inventory, payments) = run_split(json!([]), Duration::from_millis(50)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(payments.received().len(), 1);
    assert_eq!(
        answer.body["data"]["myOrders"]["edges"][0]["node"]["items"][0]["product"]["name"],
        "Product A"
    );
    assert_eq!(answer.body["data"]["order"]["items"], json!([]));
    let received = inventory.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].body["variables"]["representations"],
        json!([
            { "__typename": "Product", "sku": "A" },
            { "__typename": "Product", "sku": "B" },
        ])
    );
}

#[tokio::test]
async fn twins_at_different_levels_go_one_after_the_other() {
    // The second fetch needs the first one's level to be done: waiting for it
    // as a twin would never end.
    let orders = FakeSubgraph::start(orders_answer).await;
    let inventory =
        FakeSubgraph::start(|body| json!({ "data": { "_entities": names(body) } })).await;
    let plan_node = PlanNode::Sequence(vec![
        fetch(
            "orders",
            "{ myOrders { edges { node { items { product { __typename sku } } } } } order(id: \"o9\") { items { product { __typename sku } } } }",
            &[],
        ),
        names_at("myOrders.edges.@.node.items.@.product", 1),
        PlanNode::Parallel(vec![
            names_at("order.items.@.product", 2),
            names_at("order.items.@.product", 3),
        ]),
    ]);
    let state = router(
        RouterSettings::default(),
        &[("orders", &orders.url), ("inventory", &inventory.url)],
        vec![(None, plan(plan_node))],
    );
    let answer = tokio::time::timeout(Duration::from_secs(10), query(&state, QUERY, json!({})))
        .await
        .expect("no fetch waits for one that comes after it");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.body["data"]["order"]["items"][0]["product"]["name"],
        "Product C"
    );
    assert_eq!(
        inventory.received().len(),
        2,
        "level 1 alone, then the two twins of level 2 together"
    );
}

#[tokio::test]
async fn fetches_of_different_types_at_one_level_share_one_entities_field() {
    // Two fetches to inventory at level 1, for products and for their
    // buyers; the second branch is ready later, and its fetch (not the
    // first in the plan) may lead the batch.
    let item = |sku: &str| json!({ "product": { "__typename": "Product", "sku": sku } });
    let my_orders = json!({ "data": { "myOrders": { "edges": [
        { "node": { "items": [item("A")] } },
    ] } } });
    let orders = FakeSubgraph::start(move |_| my_orders.clone()).await;
    let me = json!({ "data": { "me": { "__typename": "User", "id": "u1" } } });
    let users =
        FakeSubgraph::start_with_delay(move |_| me.clone(), Duration::from_millis(100)).await;
    let inventory = FakeSubgraph::start(|body| {
        let entities: Vec<Value> = body["variables"]["representations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|rep| match rep["__typename"].as_str() {
                Some("User") => json!({ "name": "Ada" }),
                _ => json!({ "name": format!("Product {}", rep["sku"].as_str().unwrap()) }),
            })
            .collect();
        json!({ "data": { "_entities": entities } })
    })
    .await;
    let user_name = {
        let mut node = flatten(
            "me",
            "inventory",
            "User",
            &["id"],
            "query Page__inventory__3($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { name } } }",
        );
        if let PlanNode::Flatten(flatten) = &mut node
            && let PlanNode::Fetch(fetch) = flatten.node.as_mut()
        {
            fetch.operation_name = Some("Page__inventory__3".into());
        }
        node
    };
    let plan_node = PlanNode::Parallel(vec![
        PlanNode::Sequence(vec![
            fetch(
                "orders",
                "{ myOrders { edges { node { items { product { __typename sku } } } } } }",
                &[],
            ),
            names_at("myOrders.edges.@.node.items.@.product", 1),
        ]),
        PlanNode::Sequence(vec![
            fetch("users", "{ me { __typename id } }", &[]),
            user_name,
        ]),
    ]);
    let state = router(
        RouterSettings::default(),
        &[
            ("orders", &orders.url),
            ("users", &users.url),
            ("inventory", &inventory.url),
        ],
        vec![(None, plan(plan_node))],
    );
    let query_text = "{ myOrders { edges { node { items { product { name } } } } } me { name } }";
    for _ in 0..3 {
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            query(&state, query_text, json!({})),
        )
        .await
        .expect("answered");
        assert_eq!(
            answer.body.to_string(),
            r#"{"data":{"myOrders":{"edges":[{"node":{"items":[{"product":{"name":"Product A"}}]}}]},"me":{"name":"Ada"}}}"#
        );
    }
    let received = inventory.received();
    assert_eq!(received.len(), 3, "one request per execution");
    for request in received {
        let operation = request.body["query"].as_str().unwrap();
        assert_eq!(
            operation,
            "query Page__inventory__1($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { name } ... on User { name } } }"
        );
        assert_eq!(request.body["operationName"], "Page__inventory__1");
    }
}
