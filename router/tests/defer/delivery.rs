//! Incremental delivery on hand-written plans: a planner that answers the
//! deferred plan when the operation keeps deferred fragments and the plain
//! plan otherwise, fake subgraphs, and the multipart stream checked part by
//! part.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use storefront_router::AppState;
use storefront_router::core::normalize::Normalized;
use storefront_router::core::plan::{DeferredNode, PathElement, PlanError, PlanNode, QueryPlan};
use storefront_router::pipeline::{MakePlanner, QueryPlanner};
use storefront_router::settings::RouterSettings;

use crate::common::{FakeSubgraph, fetch, flatten, install_with_urls, plan};
use crate::multipart::{APOLLO_ACCEPT, Streamed, post};

/// The deferred plan for operations that keep deferred fragments, the
/// plain one for the others.
pub(crate) struct DeferPlans {
    pub(crate) plain: QueryPlan,
    pub(crate) deferred: QueryPlan,
}

impl QueryPlanner for DeferPlans {
    fn plan(&self, operation: &Normalized) -> Result<QueryPlan, PlanError> {
        Ok(if operation.deferred > 0 {
            self.deferred.clone()
        } else {
            self.plain.clone()
        })
    }
}

pub(crate) fn router(
    settings: RouterSettings,
    urls: &[(&str, &str)],
    plans: DeferPlans,
) -> AppState {
    let planner: Arc<dyn QueryPlanner> = Arc::new(plans);
    let make: MakePlanner = Arc::new(move |_| Ok(planner.clone()));
    let state = AppState::with_planner(settings, make).unwrap();
    install_with_urls(&state, urls);
    state
}

fn path(text: &str) -> Vec<PathElement> {
    text.split('.')
        .map(|step| match step {
            "@" => PathElement::List,
            key => PathElement::Key(key.into()),
        })
        .collect()
}

pub(crate) fn deferred(
    id: usize,
    label: Option<&str>,
    parent: Option<usize>,
    at: &str,
    node: Option<PlanNode>,
) -> DeferredNode {
    DeferredNode {
        id,
        label: label.map(str::to_owned),
        parent,
        path: path(at),
        type_condition: None,
        node,
    }
}

pub(crate) const ORDERS_PRIMARY: &str =
    "query($id:ID!){order(id:$id){__typename id status items{quantity product{__typename sku}}}}";
const PAYMENT_FETCH: &str = "query($representations:[_Any!]!){_entities(representations:$representations){...on Order{payment{status}}}}";
const NAME_FETCH: &str = "query($representations:[_Any!]!){_entities(representations:$representations){...on Product{name}}}";

/// The order page: the payment (another subgraph) and each item's product
/// name (another subgraph) deferred.
pub(crate) const ORDER_PAGE: &str = r#"query Page($id: ID!) {
  order(id: $id) {
    id
    status
    ... @defer(label: "payment") { payment { status } }
    items { quantity product { sku ... @defer(label: "name") { name } } }
  }
}"#;

/// The same page without `@defer`.
pub(crate) const ORDER_PAGE_PLAIN: &str = r#"query Page($id: ID!) {
  order(id: $id) {
    id
    status
    payment { status }
    items { quantity product { sku name } }
  }
}"#;

fn payment_fetch() -> PlanNode {
    flatten("order", "payments", "Order", &["id"], PAYMENT_FETCH)
}

fn name_fetch() -> PlanNode {
    flatten(
        "order.items.@.product",
        "inventory",
        "Product",
        &["sku"],
        NAME_FETCH,
    )
}

pub(crate) fn order_page_plans() -> DeferPlans {
    DeferPlans {
        plain: plan(PlanNode::Sequence(vec![
            fetch("orders", ORDERS_PRIMARY, &["id"]),
            PlanNode::Parallel(vec![payment_fetch(), name_fetch()]),
        ])),
        deferred: QueryPlan {
            deferred: vec![
                deferred(0, Some("payment"), None, "order", Some(payment_fetch())),
                deferred(
                    1,
                    Some("name"),
                    None,
                    "order.items.@.product",
                    Some(name_fetch()),
                ),
            ],
            ..plan(fetch("orders", ORDERS_PRIMARY, &["id"]))
        },
    }
}

pub(crate) fn orders_answer(_: &Value) -> Value {
    json!({ "data": { "order": {
        "__typename": "Order", "id": "o1", "status": "PAID",
        "items": [
            { "quantity": 1, "product": { "__typename": "Product", "sku": "A" } },
            { "quantity": 2, "product": { "__typename": "Product", "sku": "B" } },
        ],
    } } })
}

pub(crate) fn payments_answer(body: &Value) -> Value {
    let entities: Vec<Value> = body["variables"]["representations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|_| json!({ "payment": { "status": "SUCCEEDED" } }))
        .collect();
    json!({ "data": { "_entities": entities } })
}

pub(crate) fn inventory_answer(body: &Value) -> Value {
    let entities: Vec<Value> = body["variables"]["representations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rep| json!({ "name": format!("Product {}", rep["sku"].as_str().unwrap()) }))
        .collect();
    json!({ "data": { "_entities": entities } })
}

pub(crate) fn primary_order() -> Value {
    json!({ "order": {
        "id": "o1", "status": "PAID",
        "items": [
            { "quantity": 1, "product": { "sku": "A" } },
            { "quantity": 2, "product": { "sku": "B" } },
        ],
    } })
}

pub(crate) fn page_request(query: &str) -> Value {
    json!({ "query": query, "operationName": "Page", "variables": { "id": "o1" } })
}

/// The increments of a response (every part after the first), flattened.
pub(crate) fn increments(streamed: &Streamed) -> Vec<Value> {
    streamed.parts[1..]
        .iter()
        .flat_map(|part| {
            part.json["incremental"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

pub(crate) fn assert_last_has_no_next(streamed: &Streamed) {
    let (last, before) = streamed.parts.split_last().unwrap();
    assert_eq!(last.json["hasNext"], false, "{:#?}", streamed.payloads());
    for part in before {
        assert_eq!(part.json["hasNext"], true, "{:#?}", streamed.payloads());
    }
}

pub(crate) const PAYMENTS_DELAY: Duration = Duration::from_secs(2);

/// A router with the order page's deferred plans over its three fake
/// subgraphs (answering at once), which live as long as the array.
async fn order_page_router() -> (AppState, [FakeSubgraph; 3]) {
    let orders = FakeSubgraph::start(orders_answer).await;
    let payments = FakeSubgraph::start(payments_answer).await;
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
    (state, [orders, payments, inventory])
}

#[tokio::test]
async fn defer_on_an_entity_jump_sends_the_primary_part_before_the_slow_subgraph_answers() {
    let orders = FakeSubgraph::start(orders_answer).await;
    let payments = FakeSubgraph::start_with_delay(payments_answer, PAYMENTS_DELAY).await;
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
    assert_eq!(streamed.status, 200);
    assert_eq!(
        streamed.content_type(),
        r#"multipart/mixed; boundary="-"; deferSpec=20220824"#
    );
    let parts = &streamed.parts;
    assert_eq!(parts.len(), 3, "{:#?}", streamed.payloads());
    // The primary part: every field outside the deferred fragments.
    assert_eq!(
        parts[0].json,
        json!({ "data": primary_order(), "hasNext": true })
    );
    assert!(
        parts[0].at < PAYMENTS_DELAY,
        "the primary part came after {:?}, when the slow payments subgraph answers",
        parts[0].at
    );
    // The fast subgraph's increment, one entry per list item.
    assert_eq!(
        parts[1].json,
        json!({ "incremental": [
            { "data": { "name": "Product A" }, "path": ["order", "items", 0, "product"], "label": "name" },
            { "data": { "name": "Product B" }, "path": ["order", "items", 1, "product"], "label": "name" },
        ], "hasNext": true })
    );
    assert!(parts[1].at < PAYMENTS_DELAY, "{:?}", parts[1].at);
    // The slow one last, once it answered.
    assert_eq!(
        parts[2].json,
        json!({ "incremental": [
            { "data": { "payment": { "status": "SUCCEEDED" } }, "path": ["order"], "label": "payment" },
        ], "hasNext": false })
    );
    assert!(parts[2].at >= PAYMENTS_DELAY, "{:?}", parts[2].at);
    // Each subgraph was asked once, the deferred ones for the deferred data only.
    assert_eq!(orders.received().len(), 1);
    assert_eq!(payments.received().len(), 1);
    assert_eq!(
        inventory.received()[0].body["variables"]["representations"],
        json!([{ "__typename": "Product", "sku": "A" }, { "__typename": "Product", "sku": "B" }])
    );
}

#[tokio::test]
async fn a_client_without_multipart_gets_one_json_response_equal_to_the_plain_query() {
    let (state, _subgraphs) = order_page_router().await;
    let plain = post(&state, page_request(ORDER_PAGE_PLAIN), None).await;
    for accept in [
        None,
        Some("application/json"),
        Some("application/graphql-response+json"),
    ] {
        let deferred = post(&state, page_request(ORDER_PAGE), accept).await;
        assert!(
            deferred.content_type().starts_with("application/"),
            "{accept:?}: {}",
            deferred.content_type()
        );
        assert_eq!(deferred.json, plain.json, "{accept:?}");
    }
    let whole = plain.json.unwrap();
    assert_eq!(whole["data"]["order"]["payment"]["status"], "SUCCEEDED");
    assert_eq!(
        whole["data"]["order"]["items"][1]["product"]["name"],
        "Product B"
    );
}

#[tokio::test]
async fn defer_if_false_answers_plain_json_and_if_true_streams() {
    let (state, _subgraphs) = order_page_router().await;
    let query = r#"query Page($id: ID!, $later: Boolean!) {
      order(id: $id) {
        id
        status
        ... @defer(if: $later, label: "payment") { payment { status } }
        items { quantity product { sku ... @defer(if: $later, label: "name") { name } } }
      }
    }"#;
    let request = |later: bool| json!({ "query": query, "operationName": "Page", "variables": { "id": "o1", "later": later } });
    let plain = post(&state, page_request(ORDER_PAGE_PLAIN), None).await;
    let off = post(&state, request(false), Some(APOLLO_ACCEPT)).await;
    assert_eq!(off.content_type(), "application/json");
    assert_eq!(off.json, plain.json);
    // The same document with the other value is planned for that value.
    let on = post(&state, request(true), Some(APOLLO_ACCEPT)).await;
    assert_eq!(on.parts.len(), 3, "{:#?}", on.payloads());
    assert_eq!(
        on.parts[0].json,
        json!({ "data": primary_order(), "hasNext": true })
    );
    assert_last_has_no_next(&on);
    // And back: the cache keeps the two plans apart.
    let off_again = post(&state, request(false), Some(APOLLO_ACCEPT)).await;
    assert_eq!(off_again.json, plain.json);
}

#[tokio::test]
async fn nested_defers_arrive_parent_first() {
    let orders = FakeSubgraph::start(orders_answer).await;
    let payments = FakeSubgraph::start(payments_answer).await;
    let state = router(
        RouterSettings::default(),
        &[("orders", &orders.url), ("payments", &payments.url)],
        DeferPlans {
            plain: QueryPlan::default(),
            deferred: QueryPlan {
                deferred: vec![
                    // The outer fragment's data comes with the primary fetch.
                    deferred(0, Some("outer"), None, "order", None),
                    deferred(1, Some("inner"), Some(0), "order", Some(payment_fetch())),
                ],
                ..plan(fetch("orders", ORDERS_PRIMARY, &["id"]))
            },
        },
    );
    let query = r#"query Page($id: ID!) {
      order(id: $id) {
        id
        ... @defer(label: "outer") {
          status
          ... @defer(label: "inner") { payment { status } }
        }
      }
    }"#;
    let streamed = post(&state, page_request(query), Some(APOLLO_ACCEPT)).await;
    assert_eq!(
        streamed.payloads(),
        [
            &json!({ "data": { "order": { "id": "o1" } }, "hasNext": true }),
            &json!({ "incremental": [
                { "data": { "status": "PAID" }, "path": ["order"], "label": "outer" },
            ], "hasNext": true }),
            &json!({ "incremental": [
                { "data": { "payment": { "status": "SUCCEEDED" } }, "path": ["order"], "label": "inner" },
            ], "hasNext": false }),
        ]
    );
}

#[tokio::test]
async fn a_batch_with_defer_is_answered_whole() {
    let orders = FakeSubgraph::start(orders_answer).await;
    let payments = FakeSubgraph::start(payments_answer).await;
    let inventory = FakeSubgraph::start(inventory_answer).await;
    let mut settings = RouterSettings::default();
    settings.batching.enabled = true;
    let state = router(
        settings,
        &[
            ("orders", &orders.url),
            ("payments", &payments.url),
            ("inventory", &inventory.url),
        ],
        order_page_plans(),
    );
    let plain = post(&state, page_request(ORDER_PAGE_PLAIN), None).await;
    let batch = json!([page_request(ORDER_PAGE), page_request(ORDER_PAGE)]);
    let answered = post(&state, batch, Some(APOLLO_ACCEPT)).await;
    assert_eq!(answered.content_type(), "application/json");
    let plain = plain.json.unwrap();
    assert_eq!(answered.json, Some(json!([plain, plain])));
}

#[tokio::test]
async fn request_dedupe_does_not_mix_a_deferred_request_with_a_plain_one() {
    let orders = FakeSubgraph::start_with_delay(orders_answer, Duration::from_millis(300)).await;
    let payments = FakeSubgraph::start(payments_answer).await;
    let inventory = FakeSubgraph::start(inventory_answer).await;
    let settings = RouterSettings {
        dedupe_requests: true,
        ..RouterSettings::default()
    };
    let state = router(
        settings,
        &[
            ("orders", &orders.url),
            ("payments", &payments.url),
            ("inventory", &inventory.url),
        ],
        order_page_plans(),
    );
    let (deferred, plain) = tokio::join!(
        post(&state, page_request(ORDER_PAGE), Some(APOLLO_ACCEPT)),
        post(&state, page_request(ORDER_PAGE), None),
    );
    assert_eq!(deferred.parts.len(), 3, "{:#?}", deferred.payloads());
    assert_eq!(deferred.parts[0].json["data"], primary_order());
    let plain = plain.json.unwrap();
    assert_eq!(plain["data"]["order"]["payment"]["status"], "SUCCEEDED");
    assert_eq!(
        plain["data"]["order"]["items"][0]["product"]["name"],
        "Product A"
    );
}

#[tokio::test]
async fn accept_parameters_are_read_in_any_order_and_spacing() {
    let (state, _subgraphs) = order_page_router().await;
    for accept in [
        "multipart/mixed;deferSpec=20220824",
        r#"application/json, multipart/mixed; boundary="-" ; deferSpec="20220824""#,
        "Multipart/Mixed; DEFERSPEC = 20220824; q=0.9, application/json;q=0.5",
    ] {
        let streamed = post(&state, page_request(ORDER_PAGE), Some(accept)).await;
        assert_eq!(streamed.parts.len(), 3, "{accept}");
    }
    for accept in [
        "multipart/mixed;deferSpec=20220824;q=0, application/json",
        "multipart/mixed;deferSpec=20990101, application/json",
        "multipart/mixed, application/json",
    ] {
        let answered = post(&state, page_request(ORDER_PAGE), Some(accept)).await;
        assert_eq!(answered.content_type(), "application/json", "{accept}");
    }
}

#[tokio::test]
async fn a_query_accepting_multipart_subscriptions_and_defer_is_streamed_incrementally() {
    let (state, _subgraphs) = order_page_router().await;
    let accept = r#"multipart/mixed;boundary="graphql";subscriptionSpec=1.0, multipart/mixed;deferSpec=20220824, application/json"#;
    let streamed = post(&state, page_request(ORDER_PAGE), Some(accept)).await;
    assert_eq!(
        streamed.content_type(),
        r#"multipart/mixed; boundary="-"; deferSpec=20220824"#
    );
    assert_eq!(streamed.parts.len(), 3, "{:#?}", streamed.payloads());
    assert_last_has_no_next(&streamed);
}

#[tokio::test]
async fn a_deferred_query_over_get_is_streamed() {
    let (state, _subgraphs) = order_page_router().await;
    let query: String = url_encode(ORDER_PAGE);
    let uri =
        format!("/graphql?query={query}&operationName=Page&variables=%7B%22id%22%3A%22o1%22%7D");
    let streamed = crate::multipart::send(
        &state,
        axum::http::Request::get(uri)
            .header("accept", APOLLO_ACCEPT)
            // What Apollo Client sends with a GET, against CSRF.
            .header("apollo-require-preflight", "true")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(streamed.parts.len(), 3, "{:?}", streamed.json);
    assert_eq!(
        streamed.parts[0].json,
        json!({ "data": primary_order(), "hasNext": true })
    );
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
