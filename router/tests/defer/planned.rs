//! `@defer` with the real planner, end to end: the Storefront fixture
//! supergraph's order page, authorization, demand control and automatic
//! persisted queries on a deferred operation.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use storefront_router::AppState;
use storefront_router::settings::{DemandControlMode, DemandControlSettings, RouterSettings};

use crate::common::{FakeSubgraph, SUPERGRAPH, serving_with};
use crate::delivery::{
    ORDER_PAGE, ORDER_PAGE_PLAIN, PAYMENTS_DELAY, assert_last_has_no_next, increments,
    inventory_answer, orders_answer, page_request, payments_answer, primary_order,
};
use crate::multipart::{APOLLO_ACCEPT, post};

struct Shop {
    state: AppState,
    orders: FakeSubgraph,
    payments: FakeSubgraph,
    inventory: FakeSubgraph,
}

async fn open_shop(settings: RouterSettings, payments_delay: std::time::Duration) -> Shop {
    let orders = FakeSubgraph::start(orders_answer).await;
    let payments = FakeSubgraph::start_with_delay(payments_answer, payments_delay).await;
    let inventory = FakeSubgraph::start(inventory_answer).await;
    let state = serving_with(
        settings,
        &SUPERGRAPH,
        &[
            ("orders", &orders.url),
            ("payments", &payments.url),
            ("inventory", &inventory.url),
        ],
    );
    Shop {
        state,
        orders,
        payments,
        inventory,
    }
}

/// Every operation the subgraphs received.
fn operations(shop: &Shop) -> Vec<String> {
    [&shop.orders, &shop.payments, &shop.inventory]
        .iter()
        .flat_map(|subgraph| subgraph.received())
        .map(|received| received.body["query"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_order_page_streams_its_deferred_payment_and_names_through_the_planner() {
    let shop = open_shop(RouterSettings::default(), PAYMENTS_DELAY).await;
    let streamed = post(&shop.state, page_request(ORDER_PAGE), Some(APOLLO_ACCEPT)).await;
    assert_eq!(
        streamed.parts[0].json,
        json!({ "data": primary_order(), "hasNext": true })
    );
    assert!(
        streamed.parts[0].at < PAYMENTS_DELAY,
        "the primary part waited for the slow payments subgraph: {:?}",
        streamed.parts[0].at
    );
    let entries = increments(&streamed);
    let payment: Vec<&Value> = entries.iter().filter(|e| e["label"] == "payment").collect();
    assert_eq!(
        payment,
        [
            &json!({ "data": { "payment": { "status": "SUCCEEDED" } }, "path": ["order"], "label": "payment" })
        ]
    );
    let names: Vec<(&Value, &Value)> = entries
        .iter()
        .filter(|e| e["label"] == "name")
        .map(|e| (&e["path"], &e["data"]))
        .collect();
    assert_eq!(
        names,
        [
            (
                &json!(["order", "items", 0, "product"]),
                &json!({ "name": "Product A" })
            ),
            (
                &json!(["order", "items", 1, "product"]),
                &json!({ "name": "Product B" })
            ),
        ]
    );
    assert_last_has_no_next(&streamed);
    for operation in operations(&shop) {
        assert!(!operation.contains("@defer"), "{operation}");
    }
}

#[tokio::test]
async fn without_multipart_the_deferred_page_is_the_plain_page() {
    let shop = open_shop(RouterSettings::default(), std::time::Duration::ZERO).await;
    let plain = post(&shop.state, page_request(ORDER_PAGE_PLAIN), None).await;
    let deferred = post(&shop.state, page_request(ORDER_PAGE), None).await;
    assert_eq!(deferred.content_type(), "application/json");
    assert_eq!(deferred.json, plain.json);
    assert_eq!(
        plain.json.unwrap()["data"]["order"]["payment"]["status"],
        "SUCCEEDED"
    );
}

#[tokio::test]
async fn a_deferred_query_costs_what_the_whole_query_costs() {
    let settings = RouterSettings {
        demand_control: DemandControlSettings {
            mode: DemandControlMode::Measure,
            expose_cost: true,
            ..DemandControlSettings::default()
        },
        ..RouterSettings::default()
    };
    let shop = open_shop(settings, std::time::Duration::ZERO).await;
    let plain = post(&shop.state, page_request(ORDER_PAGE_PLAIN), None).await;
    let deferred = post(&shop.state, page_request(ORDER_PAGE), Some(APOLLO_ACCEPT)).await;
    let cost = &plain.json.as_ref().unwrap()["extensions"]["cost"];
    assert!(cost["estimated"].as_u64().unwrap() > 0, "{cost}");
    assert_eq!(&deferred.parts[0].json["extensions"]["cost"], cost);

    // Enforced below the whole query's cost: refused before anything is fetched.
    let estimated = cost["estimated"].as_u64().unwrap();
    let settings = RouterSettings {
        demand_control: DemandControlSettings {
            mode: DemandControlMode::Enforce,
            max_cost: estimated - 1,
            ..DemandControlSettings::default()
        },
        ..RouterSettings::default()
    };
    let enforcing = open_shop(settings, std::time::Duration::ZERO).await;
    let refused = post(
        &enforcing.state,
        page_request(ORDER_PAGE),
        Some(APOLLO_ACCEPT),
    )
    .await;
    assert_eq!(refused.content_type(), "application/json");
    let refused = refused.json.unwrap();
    assert!(refused.get("data").is_none(), "{refused}");
    assert!(
        refused["errors"][0]["extensions"]["code"].is_string(),
        "{refused}"
    );
    assert!(operations(&enforcing).is_empty());
}

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn an_automatic_persisted_deferred_query_streams_by_hash() {
    let shop = open_shop(RouterSettings::default(), std::time::Duration::ZERO).await;
    let extensions =
        json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256(ORDER_PAGE) } });
    let variables = json!({ "id": "o1" });
    let miss = post(
        &shop.state,
        json!({ "operationName": "Page", "variables": variables, "extensions": extensions }),
        Some(APOLLO_ACCEPT),
    )
    .await;
    assert_eq!(
        miss.json.unwrap()["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    let registered = post(
        &shop.state,
        json!({ "query": ORDER_PAGE, "operationName": "Page", "variables": variables, "extensions": extensions }),
        Some(APOLLO_ACCEPT),
    )
    .await;
    assert_eq!(registered.parts[0].json["data"], primary_order());
    let by_hash = post(
        &shop.state,
        json!({ "operationName": "Page", "variables": variables, "extensions": extensions }),
        Some(APOLLO_ACCEPT),
    )
    .await;
    assert_eq!(by_hash.payloads(), registered.payloads());
    assert_last_has_no_next(&by_hash);
}
