//! OpenTelemetry: the `router` binary, pointed at an OTLP/HTTP collector,
//! exports its spans (protobuf) with `service.name` `router`, continues the
//! client's trace from `traceparent`, and sends its own span context to the
//! subgraphs.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::FakeSubgraph;
use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::json;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";
const DEADLINE: Duration = Duration::from_secs(20);

/// An OTLP/HTTP collector that keeps every export request it receives.
async fn collector() -> (String, Arc<Mutex<Vec<ExportTraceServiceRequest>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: Bytes| {
            let kept = kept.clone();
            async move {
                assert_eq!(headers["content-type"], "application/x-protobuf");
                kept.lock()
                    .unwrap()
                    .push(ExportTraceServiceRequest::decode(body).unwrap());
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The spans received so far, each with its resource's `service.name`.
fn spans(received: &Mutex<Vec<ExportTraceServiceRequest>>) -> Vec<(String, Span)> {
    let mut spans = Vec::new();
    for request in received.lock().unwrap().iter() {
        for resource_spans in &request.resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .and_then(|a| a.value.as_ref()?.value.as_ref())
                .map(|v| match v {
                    AnyValue::StringValue(s) => s.clone(),
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            for scope in &resource_spans.scope_spans {
                for span in &scope.spans {
                    spans.push((service.clone(), span.clone()));
                }
            }
        }
    }
    spans
}

#[tokio::test]
async fn the_router_exports_its_spans_over_otlp_and_propagates_the_trace() {
    let (collector_url, received) = collector().await;
    let users =
        FakeSubgraph::start(|_| json!({ "data": { "me": { "__typename": "User", "id": "u1" } } }))
            .await;
    let dir = tempfile::tempdir().unwrap();
    let supergraph = dir.path().join("supergraph.graphql");
    std::fs::write(
        &supergraph,
        crate::common::SUPERGRAPH.replace("http://127.0.0.1:4001/graphql", &users.url),
    )
    .unwrap();
    let port = free_port();
    let _router = tokio::process::Command::new(env!("CARGO_BIN_EXE_router"))
        .env_clear()
        .env("RUST_LOG", "info")
        .env("PORT", port.to_string())
        .env("BIND_ADDRESS", "127.0.0.1")
        .env("SUPERGRAPH_FILE", &supergraph)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector_url)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + DEADLINE;
    crate::common::wait_until_ready(&http, &base, DEADLINE).await;

    let answer = http
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .header("traceparent", format!("00-{TRACE_ID}-{CLIENT_SPAN}-01"))
        .body(json!({ "query": "{ me { id } }" }).to_string())
        .send()
        .await
        .unwrap();
    assert!(answer.headers().contains_key("x-request-id"));
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["data"]["me"]["id"], "u1", "{body}");

    // The subgraph was called in the client's trace, from the router's span.
    let sent = users.received();
    let traceparent = sent[0].headers["traceparent"].to_str().unwrap().to_owned();
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts[1], TRACE_ID, "{traceparent}");
    assert_ne!(parts[2], CLIENT_SPAN, "{traceparent}");

    let (request, fetch) = loop {
        let spans = spans(&received);
        let named = |name: &str| spans.iter().find(|(_, s)| s.name == name).cloned();
        if let (Some(request), Some(fetch)) = (named("request"), named("subgraph_fetch")) {
            break (request, fetch);
        }
        assert!(
            Instant::now() < deadline,
            "no request and subgraph_fetch spans in {:?}",
            spans.iter().map(|(_, s)| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(request.0, "router");
    assert_eq!(fetch.0, "router");
    let (request, fetch) = (request.1, fetch.1);
    assert_eq!(hex(&request.trace_id), TRACE_ID);
    assert_eq!(hex(&request.parent_span_id), CLIENT_SPAN);
    assert_eq!(hex(&fetch.trace_id), TRACE_ID);
    assert_eq!(
        fetch.parent_span_id, request.span_id,
        "subgraph_fetch is inside request"
    );
    assert_eq!(
        hex(&fetch.span_id),
        parts[2],
        "the subgraph got the fetch span's id"
    );
}
