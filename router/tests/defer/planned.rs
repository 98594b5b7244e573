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

const AUTH_SUPERGRAPH: &str =
    include_str!("../apollo-composition/cases/auth_directives/apollo.graphql");

#[tokio::test]
async fn a_field_the_caller_may_not_see_in_a_deferred_fragment_is_never_fetched() {
    let users = FakeSubgraph::start(|_| {
        json!({ "data": { "publicUser": { "id": "u2", "name": "Bob", "email": "bob@example.com" } } })
    })
    .await;
    let state = serving_with(
        RouterSettings::default(),
        AUTH_SUPERGRAPH,
        &[
            ("users", &users.url),
            ("inventory", &crate::common::dead_url()),
        ],
    );
    let query = r#"{ publicUser(id: "u2") { name ... @defer(label: "private") { id email } } }"#;
    let plain = post(
        &state,
        json!({ "query": r#"{ publicUser(id: "u2") { name id email } }"# }),
        None,
    )
    .await;
    let streamed = post(&state, json!({ "query": query }), Some(APOLLO_ACCEPT)).await;
    for received in users.received() {
        let operation = received.body["query"].as_str().unwrap();
        assert!(!operation.contains("email"), "{operation}");
    }
    let primary = &streamed.parts[0].json;
    assert_eq!(primary["data"], json!({ "publicUser": { "name": "Bob" } }));
    assert_eq!(
        primary["errors"][0]["extensions"]["code"],
        "UNAUTHORIZED_FIELD_OR_TYPE"
    );
    assert_eq!(primary["errors"][0]["path"], json!(["publicUser", "email"]));
    let private = increments(&streamed);
    assert_eq!(private.len(), 1, "{private:#?}");
    // `email: String!` answers null: the fragment's object cannot be
    // completed, as `publicUser` is null in the plain answer.
    assert_eq!(plain.json.unwrap()["data"], json!({ "publicUser": null }));
    assert_eq!(private[0]["data"], Value::Null);
    assert_eq!(private[0]["path"], json!(["publicUser"]));
    assert!(
        private[0].get("errors").is_none(),
        "explained by the primary's error"
    );
    assert_last_has_no_next(&streamed);
}

const MEDIA: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/media.graphql")
);

/// `_entities` answered per representation by `answer(representation)`.
fn entities(answer: fn(&Value) -> Value) -> impl Fn(&Value) -> Value {
    move |body: &Value| {
        let entities: Vec<Value> = body["variables"]["representations"]
            .as_array()
            .unwrap()
            .iter()
            .map(answer)
            .collect();
        json!({ "data": { "_entities": entities } })
    }
}

#[tokio::test]
async fn a_deferred_fragment_on_a_union_member_gets_an_increment_per_item_of_that_type() {
    let search = FakeSubgraph::start(|_| {
        json!({ "data": { "anything": [
            { "__typename": "Author", "name": "Ann" },
            { "__typename": "Movie", "id": "m1" },
            { "__typename": "Book", "id": "b1" },
            { "__typename": "Movie", "id": "m2" },
        ] } })
    })
    .await;
    let movies = FakeSubgraph::start(entities(
        |rep| json!({ "duration": if rep["id"] == "m1" { 90 } else { 120 } }),
    ))
    .await;
    let state = serving_with(
        RouterSettings::default(),
        MEDIA,
        &[("search", &search.url), ("movies", &movies.url)],
    );
    let query = r#"{ anything(text: "x") { ... on Author { name } ... on Movie @defer(label: "movie") { duration } } }"#;
    let streamed = post(&state, json!({ "query": query }), Some(APOLLO_ACCEPT)).await;
    assert_eq!(
        streamed.payloads(),
        [
            &json!({ "data": { "anything": [{ "name": "Ann" }, {}, {}, {}] }, "hasNext": true }),
            &json!({ "incremental": [
                { "data": { "duration": 90 }, "path": ["anything", 1], "label": "movie" },
                { "data": { "duration": 120 }, "path": ["anything", 3], "label": "movie" },
            ], "hasNext": false }),
        ]
    );
    assert_eq!(
        movies.received()[0].body["variables"]["representations"],
        json!([{ "__typename": "Movie", "id": "m1" }, { "__typename": "Movie", "id": "m2" }])
    );
}

#[tokio::test]
async fn deferred_fragments_under_an_interface_apply_by_type() {
    let search = FakeSubgraph::start(|_| {
        json!({ "data": { "search": [
            { "__typename": "Book", "id": "b1", "title": "Dune" },
            { "__typename": "Movie", "id": "m1", "title": "Alien" },
        ] } })
    })
    .await;
    let books = FakeSubgraph::start(entities(|_| json!({ "pages": 412, "rating": 5 }))).await;
    let movies = FakeSubgraph::start(entities(|_| json!({ "rating": 4 }))).await;
    let state = serving_with(
        RouterSettings::default(),
        MEDIA,
        &[
            ("search", &search.url),
            ("books", &books.url),
            ("movies", &movies.url),
        ],
    );
    let query = r#"{ search(text: "x") { id ... on Book @defer(label: "book") { pages } ... @defer(label: "more") { title rating } } }"#;
    let streamed = post(&state, json!({ "query": query }), Some(APOLLO_ACCEPT)).await;
    assert_eq!(
        streamed.parts[0].json,
        json!({ "data": { "search": [{ "id": "b1" }, { "id": "m1" }] }, "hasNext": true })
    );
    let mut entries = increments(&streamed);
    entries.sort_by_key(|entry| (entry["label"].to_string(), entry["path"].to_string()));
    assert_eq!(
        entries,
        [
            json!({ "data": { "pages": 412 }, "path": ["search", 0], "label": "book" }),
            json!({ "data": { "title": "Dune", "rating": 5 }, "path": ["search", 0], "label": "more" }),
            json!({ "data": { "title": "Alien", "rating": 4 }, "path": ["search", 1], "label": "more" }),
        ]
    );
    assert_last_has_no_next(&streamed);
}

const SHOP: &str = concat!(
    include_str!("../fixtures/plan/join-preamble.graphql"),
    include_str!("../fixtures/plan/shop.graphql")
);

#[tokio::test]
async fn a_mutation_answers_its_deferred_fragment_after_the_mutation_ran() {
    let accounts = FakeSubgraph::start(
        |_| json!({ "data": { "updateName": { "__typename": "User", "id": "u1" } } }),
    )
    .await;
    let reviews =
        FakeSubgraph::start(entities(|_| json!({ "reviews": [{ "body": "Great" }] }))).await;
    let state = serving_with(
        RouterSettings::default(),
        SHOP,
        &[("accounts", &accounts.url), ("reviews", &reviews.url)],
    );
    let mutation = r#"mutation { updateName(name: "Ada") { id ... @defer(label: "later") { reviews { body } } } }"#;
    let streamed = post(&state, json!({ "query": mutation }), Some(APOLLO_ACCEPT)).await;
    assert_eq!(
        streamed.payloads(),
        [
            &json!({ "data": { "updateName": { "id": "u1" } }, "hasNext": true }),
            &json!({ "incremental": [
                { "data": { "reviews": [{ "body": "Great" }] }, "path": ["updateName"], "label": "later" },
            ], "hasNext": false }),
        ]
    );
    assert_eq!(accounts.received().len(), 1, "the mutation ran once");
}

#[tokio::test]
async fn over_a_real_socket_the_first_part_is_not_held_back_by_the_slow_subgraph() {
    let shop = open_shop(RouterSettings::default(), PAYMENTS_DELAY).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = shop.state.clone();
    let server = tokio::spawn(async move {
        let _ = storefront_router::run(listener, served, async {
            let _ = stopped.await;
        })
        .await;
    });
    let started = std::time::Instant::now();
    let mut response = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .header("accept", APOLLO_ACCEPT)
        .body(page_request(ORDER_PAGE).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        r#"multipart/mixed; boundary="-"; deferSpec=20220824"#
    );
    let mut body = Vec::new();
    let mut first_part_at = None;
    while let Some(chunk) = response.chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
        let text = String::from_utf8_lossy(&body);
        if first_part_at.is_none() && text.contains("\"hasNext\":true}\r\n---") {
            first_part_at = Some(started.elapsed());
        }
    }
    let first_part_at = first_part_at.expect("a first part with hasNext: true");
    assert!(
        first_part_at < PAYMENTS_DELAY,
        "the first part reached the client after {first_part_at:?}"
    );
    assert!(started.elapsed() >= PAYMENTS_DELAY);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.starts_with(
            "\r\n---\r\ncontent-type: application/json; charset=utf-8\r\n\r\n{\"data\":"
        ),
        "{text}"
    );
    assert!(text.ends_with("\"hasNext\":false}\r\n-----\r\n"), "{text}");
    let _ = stop.send(());
    let _ = server.await;
}

#[tokio::test]
async fn a_deferred_fragment_at_the_root_is_an_increment_at_the_empty_path() {
    let accounts = FakeSubgraph::start(|_| json!({ "data": { "me": { "name": "Ada" } } })).await;
    let products = FakeSubgraph::start(
        |_| json!({ "data": { "topProducts": [{ "name": "Chair" }, { "name": "Lamp" }] } }),
    )
    .await;
    let state = serving_with(
        RouterSettings::default(),
        SHOP,
        &[("accounts", &accounts.url), ("products", &products.url)],
    );
    let query = r#"{ me { name } ... @defer(label: "top") { topProducts { name } } }"#;
    let streamed = post(&state, json!({ "query": query }), Some(APOLLO_ACCEPT)).await;
    assert_eq!(
        streamed.payloads(),
        [
            &json!({ "data": { "me": { "name": "Ada" } }, "hasNext": true }),
            &json!({ "incremental": [
                { "data": { "topProducts": [{ "name": "Chair" }, { "name": "Lamp" }] }, "path": [], "label": "top" },
            ], "hasNext": false }),
        ]
    );
}
