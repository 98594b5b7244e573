//! Demand control through HTTP: in enforce mode an operation estimated above
//! `max_cost` is refused with `COST_ESTIMATED_TOO_EXPENSIVE` and the
//! subgraph gets nothing; in measure mode it is answered and reported
//! (`extensions.cost` when `expose_cost` is on, the
//! `router_operation_estimated_cost` histogram).
#![allow(clippy::unwrap_used)]

use crate::common::*;
use axum::http::StatusCode;
use serde_json::json;
use storefront_router::settings::{DemandControlMode, DemandControlSettings, RouterSettings};

const LINK: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@cost", "@listSize"])"#;

/// `products(first: 100) { name reviews { body } }` costs
/// 100 × (1 product + 5 reviews × 2) = 1100; `products(first: 2) { name }` 2.
const SHOP: &str = r#"
type Query {
  products(first: Int = 10): [Product!]! @listSize(slicingArguments: ["first"])
}
type Product { sku: ID! name: String! reviews: [Review!]! @listSize(assumedSize: 5) }
type Review @cost(weight: 2) { body: String! }
"#;

const EXPENSIVE: &str = "{ products(first: 100) { name reviews { body } } }";
const CHEAP: &str = "{ products(first: 2) { name } }";

async fn shop() -> FakeSubgraph {
    FakeSubgraph::start(|_| {
        json!({ "data": { "products": [ { "name": "Mug", "reviews": [ { "body": "ok" } ] } ] } })
    })
    .await
}

fn router_for(
    fake: &FakeSubgraph,
    demand_control: DemandControlSettings,
) -> storefront_router::AppState {
    let settings = RouterSettings {
        demand_control,
        ..RouterSettings::default()
    };
    serving_with(
        settings,
        &compose_inline(LINK, &[("shop", SHOP)]),
        &[("shop", fake.url.as_str())],
    )
}

fn settings(mode: DemandControlMode, expose_cost: bool) -> DemandControlSettings {
    DemandControlSettings {
        mode,
        max_cost: 500,
        list_size: 10,
        expose_cost,
    }
}

#[tokio::test]
async fn enforce_refuses_an_expensive_operation_before_any_fetch() {
    let fake = shop().await;
    let state = router_for(&fake, settings(DemandControlMode::Enforce, false));
    let answered = query(&state, EXPENSIVE, json!({})).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    assert!(answered.body.get("data").is_none(), "{}", answered.body);
    assert_eq!(
        answered.body["errors"],
        json!([{
            "message": "query estimated cost 1100 exceeded configured maximum 500",
            "extensions": {
                "code": "COST_ESTIMATED_TOO_EXPENSIVE",
                "cost.estimated": 1100,
                "cost.max": 500,
            },
        }])
    );
    assert!(fake.received().is_empty(), "the subgraph was called");

    let answered = query(&state, CHEAP, json!({})).await;
    assert_eq!(answered.body["data"]["products"][0]["name"], "Mug");
    assert_eq!(fake.received().len(), 1);
}

#[tokio::test]
async fn enforce_answers_400_under_graphql_response_json() {
    let fake = shop().await;
    let state = router_for(&fake, settings(DemandControlMode::Enforce, false));
    let answered = post(
        &state,
        json!({ "query": EXPENSIVE }),
        &[("accept", "application/graphql-response+json")],
    )
    .await;
    assert_eq!(answered.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answered.body["errors"][0]["extensions"]["code"],
        "COST_ESTIMATED_TOO_EXPENSIVE"
    );
    assert!(fake.received().is_empty());
}

#[tokio::test]
async fn enforce_reads_slicing_arguments_from_variables() {
    let fake = shop().await;
    let state = router_for(&fake, settings(DemandControlMode::Enforce, true));
    let document = "query ($n: Int) { products(first: $n) { name reviews { body } } }";
    let refused = query(&state, document, json!({ "n": 50 })).await;
    assert_eq!(
        refused.body["errors"][0]["extensions"]["cost.estimated"],
        550
    );
    let answered = query(&state, document, json!({ "n": 40 })).await;
    assert_eq!(answered.body["extensions"]["cost"]["estimated"], 440);
    assert_eq!(fake.received().len(), 1);
}

/// A router whose `products` has two slicing arguments, one required.
fn two_slicing_arguments(
    fake: &FakeSubgraph,
    mode: DemandControlMode,
) -> storefront_router::AppState {
    let sdl = compose_inline(
        LINK,
        &[(
            "shop",
            r#"type Query { products(first: Int, last: Int): [Product!]! @listSize(slicingArguments: ["first", "last"]) }
               type Product { name: String! }"#,
        )],
    );
    serving_with(
        RouterSettings {
            demand_control: settings(mode, true),
            ..RouterSettings::default()
        },
        &sdl,
        &[("shop", fake.url.as_str())],
    )
}

const BOTH_SLICES: &str = "{ products(first: 1, last: 1) { name } }";

#[tokio::test]
async fn enforce_refuses_an_operation_that_breaks_require_one_slicing_argument() {
    let fake = shop().await;
    let state = two_slicing_arguments(&fake, DemandControlMode::Enforce);
    let answered = query(&state, BOTH_SLICES, json!({})).await;
    assert_eq!(
        answered.body["errors"][0]["extensions"]["code"], "COST_QUERY_PARSE_FAILURE",
        "{}",
        answered.body
    );
    assert!(fake.received().is_empty());
}

#[tokio::test]
async fn measure_answers_an_operation_it_cannot_estimate_and_says_so() {
    let fake = shop().await;
    let state = two_slicing_arguments(&fake, DemandControlMode::Measure);
    let answered = query(&state, BOTH_SLICES, json!({})).await;
    assert_eq!(answered.body["data"]["products"][0]["name"], "Mug");
    assert_eq!(
        answered.body["extensions"]["cost"],
        json!({
            "estimated": null,
            "max": 500,
            "result": "COST_QUERY_PARSE_FAILURE",
            "mode": "measure",
        })
    );
    assert_eq!(fake.received().len(), 1);
}

#[tokio::test]
async fn measure_answers_an_expensive_operation_and_reports_its_cost() {
    let fake = shop().await;
    let state = router_for(&fake, settings(DemandControlMode::Measure, true));
    let answered = query(&state, EXPENSIVE, json!({})).await;
    assert_eq!(answered.status, StatusCode::OK);
    assert_eq!(answered.body["data"]["products"][0]["name"], "Mug");
    assert!(answered.body.get("errors").is_none(), "{}", answered.body);
    assert_eq!(
        answered.body["extensions"]["cost"],
        json!({
            "estimated": 1100,
            "max": 500,
            "result": "COST_ESTIMATED_TOO_EXPENSIVE",
            "mode": "measure",
        })
    );
    assert_eq!(fake.received().len(), 1);
    let cheap = query(&state, CHEAP, json!({})).await;
    assert_eq!(cheap.body["extensions"]["cost"]["result"], "COST_OK");
}

#[tokio::test]
async fn the_estimated_cost_histogram_counts_each_operation_by_result() {
    let fake = shop().await;
    let state = router_for(&fake, settings(DemandControlMode::Measure, false));
    query(&state, EXPENSIVE, json!({})).await;
    query(&state, CHEAP, json!({})).await;
    query(&state, CHEAP, json!({})).await;
    let text = state.metrics().encode();
    for line in [
        r#"router_operation_estimated_cost_count{result="COST_OK"} 2"#,
        r#"router_operation_estimated_cost_sum{result="COST_OK"} 4.0"#,
        r#"router_operation_estimated_cost_count{result="COST_ESTIMATED_TOO_EXPENSIVE"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
    }
}

#[tokio::test]
async fn responses_carry_no_cost_unless_asked_and_off_estimates_nothing() {
    let fake = shop().await;
    let measured = router_for(&fake, settings(DemandControlMode::Measure, false));
    let answered = query(&measured, EXPENSIVE, json!({})).await;
    assert!(
        answered.body.get("extensions").is_none(),
        "{}",
        answered.body
    );

    let off = router_for(
        &fake,
        DemandControlSettings {
            expose_cost: true,
            ..DemandControlSettings::default()
        },
    );
    let answered = query(&off, EXPENSIVE, json!({})).await;
    assert_eq!(answered.body["data"]["products"][0]["name"], "Mug");
    assert!(
        answered.body.get("extensions").is_none(),
        "{}",
        answered.body
    );
    let text = off.metrics().encode();
    assert!(
        !text.contains("router_operation_estimated_cost_count"),
        "{text}"
    );
}
