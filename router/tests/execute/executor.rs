//! The executor through the router's HTTP endpoint, against fake subgraphs and
//! hand-written plans: parallel fetches, flatten with list paths, batched and
//! deduplicated representations, error paths, null propagation, subgraphs that
//! are down or slow, and header forwarding.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use serde_json::{Value, json};
use storefront_router::core::plan::PlanNode;
use storefront_router::settings::RouterSettings;

const ME_QUERY: &str = "{ me { id name } }";

fn users_me(_: &Value) -> Value {
    json!({ "data": { "me": { "__typename": "User", "id": "u1", "name": "Ada" } } })
}

/// `me { orders { edges { node { id items { quantity product { name } } payment { status } } } } }`
/// planned as users → orders → (inventory ∥ payments).
fn order_plan() -> PlanNode {
    PlanNode::Sequence(vec![
        fetch("users", "{ me { __typename id } }", &[]),
        flatten(
            "me",
            "orders",
            "User",
            &["id"],
            "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { orders { edges { node { __typename id items { quantity product { __typename sku } } } } } } } }",
        ),
        PlanNode::Parallel(vec![
            flatten(
                "me.orders.edges.@.node.items.@.product",
                "inventory",
                "Product",
                &["sku"],
                "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { name } } }",
            ),
            flatten(
                "me.orders.edges.@.node",
                "payments",
                "Order",
                &["id"],
                "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on Order { payment { status } } } }",
            ),
        ]),
    ])
}

const ORDER_QUERY: &str = "{ me { orders { edges { node { id items { quantity product { name } } payment { status } } } } } }";

fn users_ref(_: &Value) -> Value {
    json!({ "data": { "me": { "__typename": "User", "id": "u1" } } })
}

fn orders_answer(_: &Value) -> Value {
    let item = |sku: &str, quantity: i64| json!({ "quantity": quantity, "product": { "__typename": "Product", "sku": sku } });
    json!({ "data": { "_entities": [ { "orders": { "edges": [
        { "node": { "__typename": "Order", "id": "o1", "items": [item("A", 1), item("B", 2)] } },
        { "node": { "__typename": "Order", "id": "o2", "items": [item("B", 3), item("A", 4), item("C", 5)] } },
        { "node": { "__typename": "Order", "id": "o3", "items": [] } },
    ] } } ] } })
}

fn inventory_answer(body: &Value) -> Value {
    let entities: Vec<Value> = body["variables"]["representations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rep| json!({ "name": format!("Product {}", rep["sku"].as_str().unwrap()) }))
        .collect();
    json!({ "data": { "_entities": entities } })
}

fn payments_answer(body: &Value) -> Value {
    let entities: Vec<Value> = body["variables"]["representations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rep| match rep["id"].as_str().unwrap() {
            "o1" => json!({ "payment": { "status": "SUCCEEDED" } }),
            _ => json!({ "payment": null }),
        })
        .collect();
    json!({ "data": { "_entities": entities } })
}

#[tokio::test]
async fn parallel_root_fetches_merge_in_the_clients_order() {
    let users = FakeSubgraph::start(users_me).await;
    let inventory = FakeSubgraph::start(|_| {
        json!({ "data": { "product": { "__typename": "Product", "name": "Lamp", "sku": "L1" } } })
    })
    .await;
    let state = router(
        RouterSettings::default(),
        &[("users", &users.url), ("inventory", &inventory.url)],
        vec![(
            None,
            plan(PlanNode::Parallel(vec![
                fetch(
                    "inventory",
                    "{ product(sku: \"L1\") { __typename name sku } }",
                    &[],
                ),
                fetch("users", "{ me { __typename id name } }", &[]),
            ])),
        )],
    );
    let answer = query(
        &state,
        "query Both { product(sku: \"L1\") { sku name } me { name id } }",
        json!({}),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body.to_string(),
        r#"{"data":{"product":{"sku":"L1","name":"Lamp"},"me":{"name":"Ada","id":"u1"}}}"#
    );
    assert_eq!(users.received().len(), 1);
    assert_eq!(inventory.received().len(), 1);
}

#[tokio::test]
async fn flatten_sends_one_request_with_deduplicated_representations_and_merges_into_every_origin()
{
    let users = FakeSubgraph::start(users_ref).await;
    let orders = FakeSubgraph::start(orders_answer).await;
    let inventory = FakeSubgraph::start(inventory_answer).await;
    let payments = FakeSubgraph::start(payments_answer).await;
    let state = router(
        RouterSettings::default(),
        &[
            ("users", &users.url),
            ("orders", &orders.url),
            ("inventory", &inventory.url),
            ("payments", &payments.url),
        ],
        vec![(None, plan(order_plan()))],
    );
    let answer = query(&state, ORDER_QUERY, json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.get("errors").is_none(), "{}", answer.body);

    let received = inventory.received();
    assert_eq!(received.len(), 1, "one _entities request per flatten fetch");
    assert_eq!(
        received[0].body["variables"]["representations"],
        json!([
            { "__typename": "Product", "sku": "A" },
            { "__typename": "Product", "sku": "B" },
            { "__typename": "Product", "sku": "C" },
        ])
    );
    assert_eq!(
        payments.received()[0].body["variables"]["representations"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let edges = &answer.body["data"]["me"]["orders"]["edges"];
    assert_eq!(edges[1]["node"]["items"][1]["product"]["name"], "Product A");
    assert_eq!(edges[1]["node"]["items"][0]["product"]["name"], "Product B");
    assert_eq!(
        edges[0]["node"]["payment"],
        json!({ "status": "SUCCEEDED" })
    );
    assert_eq!(edges[1]["node"]["payment"], Value::Null);
    assert_eq!(
        edges[0]["node"].to_string(),
        r#"{"id":"o1","items":[{"quantity":1,"product":{"name":"Product A"}},{"quantity":2,"product":{"name":"Product B"}}],"payment":{"status":"SUCCEEDED"}}"#,
        "exactly the client's fields in the client's order (no __typename, no sku)"
    );
}

#[tokio::test]
async fn entity_error_paths_are_rewritten_to_the_clients_response() {
    let users = FakeSubgraph::start(users_ref).await;
    let orders = FakeSubgraph::start(orders_answer).await;
    let inventory = FakeSubgraph::start(inventory_answer).await;
    let payments = FakeSubgraph::start(|_| {
        json!({
            "data": { "_entities": [ { "payment": null }, { "payment": null }, { "payment": null } ] },
            "errors": [{ "message": "not yours", "path": ["_entities", 2, "payment"], "extensions": { "code": "FORBIDDEN" } }]
        })
    })
    .await;
    let state = router(
        RouterSettings::default(),
        &[
            ("users", &users.url),
            ("orders", &orders.url),
            ("inventory", &inventory.url),
            ("payments", &payments.url),
        ],
        vec![(None, plan(order_plan()))],
    );
    let answer = query(&state, ORDER_QUERY, json!({})).await;
    let errors = answer.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{}", answer.body);
    assert_eq!(errors[0]["message"], "not yours");
    assert_eq!(
        errors[0]["path"],
        json!(["me", "orders", "edges", 2, "node", "payment"])
    );
    assert_eq!(
        errors[0]["extensions"],
        json!({ "code": "FORBIDDEN", "serviceName": "payments" })
    );
}

#[tokio::test]
async fn a_null_in_a_non_null_field_nulls_the_nearest_nullable_parent_across_subgraphs() {
    let users = FakeSubgraph::start(users_ref).await;
    let orders = FakeSubgraph::start(orders_answer).await;
    let inventory = FakeSubgraph::start(|body: &Value| {
        let n = body["variables"]["representations"]
            .as_array()
            .unwrap()
            .len();
        let mut entities = vec![json!({ "name": "ok" }); n];
        entities[1] = json!({ "name": null });
        json!({ "data": { "_entities": entities } })
    })
    .await;
    let payments = FakeSubgraph::start(payments_answer).await;
    let state = router(
        RouterSettings::default(),
        &[
            ("users", &users.url),
            ("orders", &orders.url),
            ("inventory", &inventory.url),
            ("payments", &payments.url),
        ],
        vec![(None, plan(order_plan()))],
    );
    let answer = query(&state, ORDER_QUERY, json!({})).await;
    assert_eq!(answer.status, 200);
    // Product.name! → OrderItem! → [OrderItem!]! → Order! → [OrderEdge!]! → OrderConnection! → me (nullable).
    assert_eq!(answer.body["data"], json!({ "me": null }));
    let errors = answer.body["errors"].as_array().unwrap();
    assert_eq!(
        errors[0]["extensions"]["code"],
        "NON_NULLABLE_FIELD_WAS_NULL"
    );
    assert_eq!(
        errors[0]["path"],
        json!([
            "me", "orders", "edges", 0, "node", "items", 1, "product", "name"
        ])
    );
}

#[tokio::test]
async fn returns_partial_data_when_payments_is_down() {
    let users = FakeSubgraph::start(users_ref).await;
    let orders = FakeSubgraph::start(orders_answer).await;
    let inventory = FakeSubgraph::start(inventory_answer).await;
    let payments = dead_url();
    let state = router(
        RouterSettings::default(),
        &[
            ("users", &users.url),
            ("orders", &orders.url),
            ("inventory", &inventory.url),
            ("payments", &payments),
        ],
        vec![(None, plan(order_plan()))],
    );
    let answer = query(&state, ORDER_QUERY, json!({})).await;
    assert_eq!(answer.status, 200);
    let edges = &answer.body["data"]["me"]["orders"]["edges"];
    assert_eq!(edges[0]["node"]["items"][0]["product"]["name"], "Product A");
    assert_eq!(edges[0]["node"]["payment"], Value::Null);
    let errors = answer.body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{}", answer.body);
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("the payments subgraph is unavailable"),
        "{}",
        errors[0]
    );
    assert!(
        !errors[0]["message"].as_str().unwrap().contains("127.0.0.1"),
        "no hosts for the client"
    );
    assert_eq!(errors[0]["extensions"]["code"], "SUBGRAPH_UNAVAILABLE");
    assert_eq!(errors[0]["extensions"]["serviceName"], "payments");
}

#[tokio::test]
async fn a_subgraph_slower_than_its_timeout_is_reported_unavailable() {
    let users = FakeSubgraph::start_with_delay(users_me, Duration::from_secs(5)).await;
    let mut settings = RouterSettings::default();
    settings
        .timeouts
        .subgraphs
        .insert("users".into(), Duration::from_millis(200));
    let state = router(
        settings,
        &[("users", &users.url)],
        vec![(None, plan(fetch("users", ME_QUERY, &[])))],
    );
    let started = std::time::Instant::now();
    let answer = query(&state, ME_QUERY, json!({})).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["data"], json!({ "me": null }));
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "SUBGRAPH_UNAVAILABLE"
    );
    assert!(
        answer.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("users")
    );
}

#[tokio::test]
async fn authorization_traceparent_and_request_id_are_forwarded() {
    let users = FakeSubgraph::start(users_me).await;
    let state = router(
        RouterSettings::default(),
        &[("users", &users.url)],
        vec![(None, plan(fetch("users", ME_QUERY, &[])))],
    );
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    post(
        &state,
        json!({ "query": ME_QUERY }),
        &[
            ("authorization", "Bearer abc"),
            ("traceparent", traceparent),
            ("x-request-id", "req-1"),
            ("cookie", "secret=1"),
        ],
    )
    .await;
    post(&state, json!({ "query": ME_QUERY }), &[]).await;
    let received = users.received();
    assert_eq!(received[0].headers["authorization"], "Bearer abc");
    assert_eq!(received[0].headers["traceparent"], traceparent);
    assert_eq!(received[0].headers["x-request-id"], "req-1");
    assert!(received[0].headers.get("cookie").is_none());
    let generated = received[1].headers["x-request-id"].to_str().unwrap();
    assert_eq!(generated.len(), 36, "a UUID is generated: {generated}");
}

#[tokio::test]
async fn variables_are_forwarded_and_skip_include_aliases_fragments_shape_the_output() {
    let inventory = FakeSubgraph::start(|_| {
        json!({ "data": { "first": { "__typename": "Product", "sku": "A", "name": "Lamp", "n2": "Lamp", "stock": 3 } } })
    })
    .await;
    let state = router(
        RouterSettings::default(),
        &[("inventory", &inventory.url)],
        vec![(
            None,
            plan(fetch(
                "inventory",
                "query($sku: ID!) { first: product(sku: $sku) { __typename sku name n2: name stock } }",
                &["sku"],
            )),
        )],
    );
    let answer = query(
        &state,
        "query P($sku: ID!, $withStock: Boolean = false) { first: product(sku: $sku) { ...F stock @include(if: $withStock) kind: __typename sku @skip(if: true) } } fragment F on Product { name n2: name }",
        json!({ "sku": "A" }),
    )
    .await;
    assert_eq!(
        answer.body.to_string(),
        r#"{"data":{"first":{"name":"Lamp","n2":"Lamp","kind":"Product"}}}"#
    );
    assert_eq!(
        inventory.received()[0].body["variables"],
        json!({ "sku": "A" })
    );
}

/// The shape of the audit's `null-keys`: `shelves` lists volumes by `isbn`;
/// `registry` maps an `isbn` to a `serial` but has no third volume (its
/// entity is `null`); `writers` knows volumes by `serial` only.
fn volumes_supergraph() -> String {
    let link =
        r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])"#;
    crate::common::compose_inline(
        link,
        &[
            (
                "shelves",
                r#"type Query { shelves: [Shelf] }
               type Shelf { volume: Volume }
               type Volume @key(fields: "isbn") { isbn: ID! }"#,
            ),
            (
                "registry",
                r#"type Volume @key(fields: "serial") @key(fields: "isbn") { serial: ID! isbn: ID! }"#,
            ),
            (
                "writers",
                r#"type Volume @key(fields: "serial") { serial: ID! writer: Writer }
               type Writer { id: ID! name: String }"#,
            ),
        ],
    )
}

/// Kept on purpose (the GraphQL specification's value completion): a null
/// for a non-null field nulls the nearest nullable parent and says so with
/// `NON_NULLABLE_FIELD_WAS_NULL` at the field's path, as a top-level error
/// (Apollo's gateway moves it into `extensions.valueCompletion`, Hive's
/// router reports nothing).
#[tokio::test]
async fn a_missing_entity_nulls_its_non_null_key_with_an_error_at_its_path() {
    let shelves = FakeSubgraph::start(|_: &Value| {
        json!({ "data": { "shelves": [
            { "volume": { "__typename": "Volume", "isbn": "b1" } },
            { "volume": { "__typename": "Volume", "isbn": "b2" } },
            { "volume": { "__typename": "Volume", "isbn": "b3" } },
        ] } })
    })
    .await;
    let registry = FakeSubgraph::start(|body: &Value| {
        let entities: Vec<Value> = body["variables"]["representations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| match r["isbn"].as_str() {
                Some("b1") => json!({ "__typename": "Volume", "serial": "1" }),
                Some("b2") => json!({ "__typename": "Volume", "serial": "2" }),
                _ => Value::Null,
            })
            .collect();
        json!({ "data": { "_entities": entities } })
    })
    .await;
    let writers = FakeSubgraph::start(
        |_: &Value| json!({ "errors": [{ "message": "writers should not be asked" }] }),
    )
    .await;
    let state = serving(
        &volumes_supergraph(),
        &[
            ("shelves", &shelves.url),
            ("registry", &registry.url),
            ("writers", &writers.url),
        ],
    );
    let answered = query(&state, "{ shelves { volume { serial } } }", json!({})).await;
    assert_eq!(
        answered.body,
        json!({
            "errors": [{
                "message": "Cannot return null for non-nullable field Volume.serial",
                "path": ["shelves", 2, "volume", "serial"],
                "extensions": { "code": "NON_NULLABLE_FIELD_WAS_NULL" }
            }],
            "data": { "shelves": [
                { "volume": { "serial": "1" } },
                { "volume": { "serial": "2" } },
                { "volume": null },
            ] }
        })
    );
    assert!(writers.received().is_empty());
}
