//! Server-Sent Events (graphql-sse, distinct connections) and multipart
//! subscriptions (Apollo Client's HttpLink).

use serde_json::json;
use storefront_router::settings::RouterSettings;

use crate::Router;

async fn post(router: &Router, accept: &str, query: &str) -> (String, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", router.base))
        .header("accept", accept)
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = tokio::time::timeout(std::time::Duration::from_secs(5), response.text())
        .await
        .expect("the stream ends within 5 s")
        .unwrap();
    (content_type, body)
}

#[tokio::test]
async fn sse_streams_each_event_then_complete() {
    let (router, _orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let (content_type, body) = post(
        &router,
        "text/event-stream",
        "subscription { countdown(from: 2) }",
    )
    .await;
    assert_eq!(content_type, "text/event-stream");
    assert_eq!(
        body,
        "event: next\ndata: {\"data\":{\"countdown\":2}}\n\n\
         event: next\ndata: {\"data\":{\"countdown\":1}}\n\n\
         event: complete\ndata: \n\n"
    );
}

#[tokio::test]
async fn sse_answers_a_query_with_one_event() {
    let (router, _orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let (_, body) = post(
        &router,
        "text/event-stream",
        "{ order(id: \"o1\") { status } }",
    )
    .await;
    assert_eq!(
        body,
        "event: next\ndata: {\"data\":{\"order\":{\"status\":\"PENDING_PAYMENT\"}}}\n\n\
         event: complete\ndata: \n\n"
    );
}

#[tokio::test]
async fn sse_delivers_entity_fields_per_event() {
    let (router, orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let request = reqwest::Client::new()
        .post(format!("{}/graphql", router.base))
        .header("accept", "text/event-stream")
        .json(&json!({ "query": "subscription { orderUpdated(id: \"o1\") { status payment { status } } }" }))
        .send();
    let response = request.await.unwrap();
    orders.wait_for_live(1).await;
    orders.publish("o1", "PAID");
    let mut response = response;
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), response.chunk())
            .await
            .expect("an event within 5 s")
            .unwrap()
            .expect("more");
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert_eq!(
        text,
        "event: next\ndata: {\"data\":{\"orderUpdated\":{\"status\":\"PAID\",\"payment\":{\"status\":\"SUCCEEDED\"}}}}\n\n"
    );
    drop(response);
    orders.wait_for_live(0).await;
}

#[tokio::test]
async fn multipart_sends_a_part_per_event_and_closes_the_boundary() {
    let (router, _orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let (content_type, body) = post(
        &router,
        "multipart/mixed;boundary=\"graphql\";subscriptionSpec=1.0,application/json",
        "subscription { countdown(from: 2) }",
    )
    .await;
    assert_eq!(
        content_type,
        r#"multipart/mixed;boundary="graphql";subscriptionSpec="1.0""#
    );
    assert_eq!(
        body,
        "\r\n--graphql\
         \r\ncontent-type: application/json; charset=utf-8\r\n\r\n{\"payload\":{\"data\":{\"countdown\":2}}}\r\n--graphql\
         \r\ncontent-type: application/json; charset=utf-8\r\n\r\n{\"payload\":{\"data\":{\"countdown\":1}}}\r\n--graphql\
         --\r\n"
    );
}

#[tokio::test]
async fn multipart_reports_a_subgraph_failure_as_a_top_level_error() {
    let payments = crate::subgraphs::payments().await;
    let router = Router::start(
        RouterSettings::default(),
        &crate::subgraphs::supergraph(),
        &[
            ("orders", &crate::common::dead_url()),
            ("payments", &payments.url),
        ],
    )
    .await;
    let (_, body) = post(
        &router,
        "multipart/mixed;subscriptionSpec=1.0,application/json",
        "subscription { countdown(from: 1) }",
    )
    .await;
    assert!(body.contains(r#"{"payload":null,"errors":[{"#), "{body}");
    assert!(body.contains("SUBGRAPH_SUBSCRIPTION_CLOSED"), "{body}");
    assert!(body.ends_with("--graphql--\r\n"), "{body}");
}

#[tokio::test]
async fn shutdown_completes_an_sse_subscription() {
    let (mut router, orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", router.base))
        .header("accept", "text/event-stream")
        .json(&json!({ "query": "subscription { orderUpdated(id: \"o1\") { status } }" }))
        .send()
        .await
        .unwrap();
    orders.wait_for_live(1).await;
    router.shut_down();
    let body = tokio::time::timeout(std::time::Duration::from_secs(5), response.text())
        .await
        .expect("the stream ends within 5 s")
        .unwrap();
    assert_eq!(body, "event: complete\ndata: \n\n");
    orders.wait_for_live(0).await;
}

#[tokio::test]
async fn an_invalid_operation_is_refused_before_any_stream_starts() {
    let (router, _orders, _payments) = Router::with_shop(RouterSettings::default()).await;
    for accept in [
        "text/event-stream",
        "multipart/mixed;subscriptionSpec=1.0,application/json",
    ] {
        let response = reqwest::Client::new()
            .post(format!("{}/graphql", router.base))
            .header("accept", accept)
            .json(&json!({ "query": "subscription { countdown(from: 1) { nope } }" }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(content_type, "application/json", "{accept}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
            "{accept}"
        );
        // graphql-sse's own server answers 400; Apollo Client reads the errors of a 200.
        let expected = if accept.starts_with("text") { 400 } else { 200 };
        assert_eq!(status, expected, "{accept}");
    }
}
