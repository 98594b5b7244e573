//! CORS: browsers on the origins in `cors_origins` may call `/graphql`
//! (preflight and the request itself); any other origin, and every origin when
//! none is configured (the default), gets no CORS headers and is refused.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use storefront_router::settings::RouterSettings;
use storefront_router::{AppState, app};
use tower::ServiceExt as _;

fn state(origins: &[&str]) -> AppState {
    let settings = RouterSettings {
        cors_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
        ..RouterSettings::default()
    };
    AppState::new(settings).unwrap()
}

async fn preflight(state: &AppState, origin: &str) -> Response<Body> {
    let request = Request::options("/graphql")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, authorization, x-storefront-query-plan",
        )
        .body(Body::empty())
        .unwrap();
    app(state.clone()).oneshot(request).await.unwrap()
}

fn allowed_origin(response: &Response<Body>) -> Option<&str> {
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn a_preflight_from_a_configured_origin_is_allowed_with_the_graphql_headers() {
    let state = state(&["https://shop.example.com"]);
    let response = preflight(&state, "https://shop.example.com").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(allowed_origin(&response), Some("https://shop.example.com"));
    let methods = response.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let headers = response.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for header in [
        "content-type",
        "authorization",
        "x-storefront-query-plan",
        "apollo-require-preflight",
        "x-apollo-operation-name",
    ] {
        assert!(headers.contains(header), "{header} not in {headers}");
    }
}

#[tokio::test]
async fn a_preflight_from_another_origin_is_refused() {
    let state = state(&["https://shop.example.com"]);
    for origin in [
        "https://evil.example.com",
        "https://shop.example.com.evil.example",
        "http://shop.example.com",
    ] {
        let response = preflight(&state, origin).await;
        assert_eq!(allowed_origin(&response), None, "{origin} was allowed");
    }
}

#[tokio::test]
async fn no_origin_is_allowed_by_default() {
    let state = state(&[]);
    let response = preflight(&state, "http://localhost:5173").await;
    assert_eq!(allowed_origin(&response), None);
    assert!(
        response
            .headers()
            .get("access-control-allow-methods")
            .is_none()
    );
}

#[tokio::test]
async fn a_port_wildcard_allows_that_host_on_any_port_only() {
    let state = state(&["http://localhost:*"]);
    let response = preflight(&state, "http://localhost:5173").await;
    assert_eq!(allowed_origin(&response), Some("http://localhost:5173"));
    let response = preflight(&state, "http://localhost.evil.example:5173").await;
    assert_eq!(allowed_origin(&response), None);
}

#[tokio::test]
async fn the_actual_request_from_an_allowed_origin_carries_the_allow_origin_header() {
    let state = state(&["http://localhost:*"]);
    let request = Request::get("/health")
        .header("origin", "http://localhost:3000")
        .body(Body::empty())
        .unwrap();
    let response = app(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(allowed_origin(&response), Some("http://localhost:3000"));
}
