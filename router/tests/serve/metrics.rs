//! `GET /metrics`: requests by status and operation kind, latency histograms,
//! subgraph fetches and their errors by kind, plan cache hits and misses — counted per router, so two
//! routers in one process do not see each other's traffic.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use storefront_router::settings::{RouterSettings, Timeouts};
use storefront_router::{AppState, app};
use tower::ServiceExt;

async fn scrape(state: &AppState) -> (StatusCode, String, String) {
    let response = app(state.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

async fn named(state: &AppState, document: &str, operation: &str) -> Answered {
    post(
        state,
        json!({ "query": document, "operationName": operation }),
        &[],
    )
    .await
}

fn has(text: &str, line: &str) {
    assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
}

#[tokio::test]
async fn metrics_count_requests_fetches_and_fetch_errors() {
    let users =
        FakeSubgraph::start(|_| json!({ "data": { "me": { "__typename": "User", "id": "u1" } } }))
            .await;
    let slow = FakeSubgraph::start_with_delay(
        |_| json!({ "data": { "me": { "__typename": "User", "id": "u1" } } }),
        Duration::from_secs(2),
    )
    .await;
    let settings = RouterSettings {
        timeouts: Timeouts {
            default: Duration::from_millis(200),
            ..Timeouts::default()
        },
        ..RouterSettings::default()
    };
    let state = router(
        settings.clone(),
        &[("users", &users.url), ("orders", &dead_url())],
        vec![
            (
                Some("Me"),
                plan(fetch("users", "{ me { __typename id } }", &[])),
            ),
            (
                Some("Down"),
                plan(fetch("orders", "{ me { __typename id } }", &[])),
            ),
        ],
    );
    let other = router(
        settings,
        &[("users", &slow.url)],
        vec![(None, plan(fetch("users", "{ me { __typename id } }", &[])))],
    );

    for _ in 0..2 {
        let answer = named(&state, "query Me { me { id } }", "Me").await;
        assert_eq!(answer.body["data"]["me"]["id"], "u1");
    }
    let answer = named(&state, "query Down { me { id } }", "Down").await;
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "SUBGRAPH_UNAVAILABLE"
    );
    let answer = query(&state, "{ nope }", json!({})).await;
    assert!(answer.body["errors"].is_array());
    let answer = query(&other, "{ me { id } }", json!({})).await;
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "SUBGRAPH_UNAVAILABLE"
    );

    let (status, content_type, text) = scrape(&state).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    has(
        &text,
        r#"router_http_requests_total{status="200",kind="query"} 3"#,
    );
    // `{ nope }` fails validation: no operation ran.
    has(
        &text,
        r#"router_http_requests_total{status="200",kind="none"} 1"#,
    );
    has(
        &text,
        r#"router_http_request_duration_seconds_count{kind="query"} 3"#,
    );
    has(
        &text,
        r#"router_subgraph_fetches_total{subgraph="users"} 2"#,
    );
    has(
        &text,
        r#"router_subgraph_fetches_total{subgraph="orders"} 1"#,
    );
    has(
        &text,
        r#"router_subgraph_fetch_errors_total{subgraph="orders",kind="connect"} 1"#,
    );
    has(
        &text,
        r#"router_subgraph_fetch_errors_total{subgraph="users",kind="connect"} 0"#,
    );
    has(
        &text,
        r#"router_subgraph_fetch_duration_seconds_count{subgraph="users"} 2"#,
    );
    assert!(!text.contains("timeout\"} 1"), "{text}");
    // `query Me` twice (one miss, then a hit), `query Down` once; `{ nope }`
    // fails before the cache keeps anything and is prepared (missed) once.
    has(&text, r#"router_plan_cache_lookups_total{result="hit"} 1"#);
    has(&text, r#"router_plan_cache_lookups_total{result="miss"} 3"#);

    // The other router counted its own timeout and nothing of the first's.
    let (_, _, text) = scrape(&other).await;
    has(
        &text,
        r#"router_subgraph_fetch_errors_total{subgraph="users",kind="timeout"} 1"#,
    );
    has(
        &text,
        r#"router_subgraph_fetches_total{subgraph="users"} 1"#,
    );
    assert!(!text.contains(r#"subgraph="orders""#), "{text}");
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let state = AppState::new(RouterSettings {
        metrics: false,
        ..RouterSettings::default()
    })
    .unwrap();
    let (status, _, _) = scrape(&state).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
