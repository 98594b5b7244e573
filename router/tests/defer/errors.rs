//! Errors and nulls in deferred fragments, on hand-written deferred plans:
//! a fragment whose object was nulled gets no increment; subgraph errors,
//! subgraphs that are down or time out, and nulls in non-null fields land
//! in the increment they belong to, with partial data.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};
use storefront_router::core::plan::QueryPlan;
use storefront_router::settings::RouterSettings;

use crate::common::{FakeSubgraph, fetch, plan};
use crate::delivery::{
    DeferPlans, ORDER_PAGE, ORDERS_PRIMARY, assert_last_has_no_next, deferred, increments,
    inventory_answer, order_page_plans, orders_answer, page_request, payments_answer,
    primary_order, router,
};
use crate::multipart::{APOLLO_ACCEPT, post};

#[tokio::test]
async fn a_deferred_fragment_whose_object_was_nulled_gets_no_increment() {
    // `status` is non-null: its null nulls the order, and with it the place
    // the payment fragment would go.
    let orders = FakeSubgraph::start(|_| {
        json!({ "data": { "order": { "__typename": "Order", "id": "o1", "status": null, "items": [] } } })
    })
    .await;
    let payments = FakeSubgraph::start(payments_answer).await;
    let state = router(
        RouterSettings::default(),
        &[("orders", &orders.url), ("payments", &payments.url)],
        order_page_plans(),
    );
    let streamed = post(&state, page_request(ORDER_PAGE), Some(APOLLO_ACCEPT)).await;
    assert_eq!(streamed.parts.len(), 1, "{:#?}", streamed.payloads());
    let primary = &streamed.parts[0].json;
    assert_eq!(primary["data"], json!({ "order": null }));
    assert_eq!(primary["hasNext"], false);
    assert_eq!(primary["errors"][0]["path"], json!(["order", "status"]));
    assert_eq!(
        primary["errors"][0]["extensions"]["code"],
        "NON_NULLABLE_FIELD_WAS_NULL"
    );
    assert!(payments.received().is_empty(), "nothing is fetched for it");
}

#[tokio::test]
async fn an_error_inside_a_deferred_fragment_is_reported_in_its_increment() {
    let orders = FakeSubgraph::start(orders_answer).await;
    let payments = FakeSubgraph::start(|_| {
        json!({
            "data": { "_entities": [{ "payment": null }] },
            "errors": [{ "message": "the payment provider is down", "path": ["_entities", 0, "payment"], "extensions": { "code": "INTERNAL" } }],
        })
    })
    .await;
    let inventory = FakeSubgraph::start(inventory_answer).await;
    let state = router(
        RouterSettings::default(),
        &[
            ("orders", &orders.url),
            ("payments", &payments.url),
            ("inventory", &inventory.url),
        ],
        order_page_plans(),
    );
    let streamed = post(&state, page_request(ORDER_PAGE), Some(APOLLO_ACCEPT)).await;
    assert_eq!(
        streamed.parts[0].json,
        json!({ "data": primary_order(), "hasNext": true }),
        "the primary part has no error of the deferred fetch"
    );
    let payment = increments(&streamed)
        .into_iter()
        .find(|entry| entry["label"] == "payment")
        .unwrap();
    assert_eq!(payment["data"], json!({ "payment": null }));
    assert_eq!(payment["path"], json!(["order"]));
    assert_eq!(payment["errors"].as_array().unwrap().len(), 1);
    assert_eq!(
        payment["errors"][0]["message"],
        "the payment provider is down"
    );
    assert_eq!(payment["errors"][0]["path"], json!(["order", "payment"]));
    assert_eq!(
        payment["errors"][0]["extensions"]["serviceName"],
        "payments"
    );
    assert_last_has_no_next(&streamed);
}

#[tokio::test]
async fn a_deferred_subgraph_that_is_down_gives_partial_data_and_the_error() {
    let orders = FakeSubgraph::start(orders_answer).await;
    let inventory = FakeSubgraph::start(inventory_answer).await;
    let down = crate::common::dead_url();
    let state = router(
        RouterSettings::default(),
        &[
            ("orders", &orders.url),
            ("payments", &down),
            ("inventory", &inventory.url),
        ],
        order_page_plans(),
    );
    let streamed = post(&state, page_request(ORDER_PAGE), Some(APOLLO_ACCEPT)).await;
    assert_eq!(streamed.parts.len(), 3, "{:#?}", streamed.payloads());
    let entries = increments(&streamed);
    let payment = entries.iter().find(|e| e["label"] == "payment").unwrap();
    assert_eq!(payment["data"], json!({ "payment": null }));
    assert_eq!(
        payment["errors"][0]["extensions"]["code"],
        "SUBGRAPH_UNAVAILABLE"
    );
    assert_eq!(payment["errors"].as_array().unwrap().len(), 1);
    // The other fragment is not affected.
    let names: Vec<&Value> = entries
        .iter()
        .filter(|e| e["label"] == "name")
        .map(|e| &e["data"]["name"])
        .collect();
    assert_eq!(names, [&json!("Product A"), &json!("Product B")]);
    assert!(
        entries
            .iter()
            .filter(|e| e["label"] == "name")
            .all(|e| e.get("errors").is_none())
    );
    assert_last_has_no_next(&streamed);
}

#[tokio::test]
async fn a_null_in_a_non_null_field_of_a_deferred_fragment_nulls_that_increment_only() {
    let orders = FakeSubgraph::start(orders_answer).await;
    let inventory = FakeSubgraph::start(
        |_| json!({ "data": { "_entities": [{ "name": "Product A" }, { "name": null }] } }),
    )
    .await;
    let payments = FakeSubgraph::start(payments_answer).await;
    let state = router(
        RouterSettings::default(),
        &[
            ("orders", &orders.url),
            ("payments", &payments.url),
            ("inventory", &inventory.url),
        ],
        order_page_plans(),
    );
    let streamed = post(&state, page_request(ORDER_PAGE), Some(APOLLO_ACCEPT)).await;
    let entries = increments(&streamed);
    let names: Vec<&Value> = entries.iter().filter(|e| e["label"] == "name").collect();
    assert_eq!(names.len(), 2, "{entries:#?}");
    assert_eq!(names[0]["data"], json!({ "name": "Product A" }));
    assert!(names[0].get("errors").is_none());
    // `name: String!` is null: the fragment's object cannot be completed.
    assert_eq!(names[1]["data"], Value::Null);
    assert_eq!(names[1]["path"], json!(["order", "items", 1, "product"]));
    assert_eq!(
        names[1]["errors"][0]["path"],
        json!(["order", "items", 1, "product", "name"])
    );
    assert_eq!(
        names[1]["errors"][0]["extensions"]["code"],
        "NON_NULLABLE_FIELD_WAS_NULL"
    );
}

#[tokio::test]
async fn an_error_of_a_deferred_field_the_primary_fetch_resolved_comes_with_its_increment() {
    let orders = FakeSubgraph::start(|_| {
        json!({
            "data": { "order": { "__typename": "Order", "id": "o1", "status": null } },
            "errors": [{ "message": "status unavailable", "path": ["order", "status"] }],
        })
    })
    .await;
    let state = router(
        RouterSettings::default(),
        &[("orders", &orders.url)],
        DeferPlans {
            plain: QueryPlan::default(),
            deferred: QueryPlan {
                deferred: vec![deferred(0, Some("status"), None, "order", None)],
                ..plan(fetch("orders", ORDERS_PRIMARY, &["id"]))
            },
        },
    );
    let query =
        r#"query Page($id: ID!) { order(id: $id) { id ... @defer(label: "status") { status } } }"#;
    let streamed = post(&state, page_request(query), Some(APOLLO_ACCEPT)).await;
    // The primary fetch resolved the deferred `status` too; its error goes
    // with the increment that delivers `status`, not with the first part.
    assert_eq!(
        streamed.parts[0].json,
        json!({ "data": { "order": { "id": "o1" } }, "hasNext": true })
    );
    // `status: OrderStatus!` is null: the increment cannot complete the
    // order; the subgraph's error explains it (no second error).
    let increment = &streamed.parts[1].json;
    assert_eq!(increment["hasNext"], false);
    let entry = &increment["incremental"][0];
    assert_eq!(entry["data"], Value::Null);
    assert_eq!(entry["path"], json!(["order"]));
    assert_eq!(entry["label"], "status");
    assert_eq!(entry["errors"].as_array().unwrap().len(), 1, "{entry}");
    assert_eq!(entry["errors"][0]["message"], "status unavailable");
    assert_eq!(entry["errors"][0]["path"], json!(["order", "status"]));
}

#[tokio::test]
async fn a_deferred_fetch_that_times_out_ends_its_increment_with_the_error() {
    let orders = FakeSubgraph::start(orders_answer).await;
    let payments = FakeSubgraph::start_with_delay(payments_answer, Duration::from_secs(10)).await;
    let inventory = FakeSubgraph::start(inventory_answer).await;
    let mut timeouts = storefront_router::settings::Timeouts::default();
    timeouts
        .subgraphs
        .insert("payments".into(), Duration::from_millis(200));
    let state = router(
        RouterSettings {
            timeouts,
            ..RouterSettings::default()
        },
        &[
            ("orders", &orders.url),
            ("payments", &payments.url),
            ("inventory", &inventory.url),
        ],
        order_page_plans(),
    );
    let started = std::time::Instant::now();
    let streamed = post(&state, page_request(ORDER_PAGE), Some(APOLLO_ACCEPT)).await;
    assert!(started.elapsed() < Duration::from_secs(5), "no hang");
    let payment = increments(&streamed)
        .into_iter()
        .find(|entry| entry["label"] == "payment")
        .unwrap();
    assert_eq!(payment["data"], json!({ "payment": null }));
    assert_eq!(
        payment["errors"][0]["extensions"]["code"],
        "SUBGRAPH_UNAVAILABLE"
    );
    assert_eq!(
        payment["errors"][0]["extensions"]["serviceName"],
        "payments"
    );
    assert_last_has_no_next(&streamed);
}
