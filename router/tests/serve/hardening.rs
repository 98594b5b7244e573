//! The router's defences: connection timeouts against slow clients
//! (slowloris, and clients that send nothing), the body timeout, graceful
//! shutdown, `Connection: close` when a refused request's body was left
//! unread, `Content-Type` parsed as
//! a media type, CSRF prevention, introspection and the playground turned
//! off, and `x-request-id` on every GraphQL response.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use crate::common::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use storefront_router::AppState;
use storefront_router::settings::RouterSettings;
use storefront_shared::testing::{Served, read_until_closed};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The longest any test here waits for the server to act.
const DEADLINE: Duration = Duration::from_secs(5);

async fn with_users(settings: RouterSettings) -> (FakeSubgraph, AppState) {
    let users =
        FakeSubgraph::start(|_| json!({ "data": { "me": { "__typename": "User", "id": "u1" } } }))
            .await;
    let state = router(
        settings,
        &[("users", &users.url)],
        vec![(None, plan(fetch("users", "{ me { __typename id } }", &[])))],
    );
    (users, state)
}

/// A router serving on a port of its own until `stop` fires.
async fn serve(state: AppState) -> Served {
    Served::start(|listener, shutdown| storefront_router::run(listener, state, shutdown)).await
}

fn timeouts(header_read: u64, idle: u64, body_read: u64) -> RouterSettings {
    RouterSettings {
        header_read_timeout: Duration::from_millis(header_read),
        idle_timeout: Duration::from_millis(idle),
        body_read_timeout: Duration::from_millis(body_read),
        ..RouterSettings::default()
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let (_users, state) = with_users(timeouts(300, 60_000, 60_000)).await;
    let served = serve(state).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: router\r\nX-Slow: ")
        .await
        .unwrap();
    for byte in b"abc" {
        stream.write_all(&[*byte]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    read_until_closed(&mut stream).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "closed after {:?}, before the timeout",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let (_users, state) = with_users(timeouts(60_000, 300, 60_000)).await;
    let served = serve(state).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: router\r\n\r\n")
        .await
        .unwrap();
    let answered = Instant::now();
    let text = read_until_closed(&mut stream).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(r#"{"status":"ok"}"#), "{text}");
    assert!(
        answered.elapsed() >= Duration::from_millis(250),
        "closed after {:?}, before the idle timeout",
        answered.elapsed()
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_or_one_byte_is_closed_after_the_header_read_timeout() {
    for sent in [&b""[..], b"P", b"G"] {
        let (_users, state) = with_users(timeouts(300, 60_000, 60_000)).await;
        let served = serve(state).await;
        let mut stream = TcpStream::connect(served.addr).await.unwrap();
        let started = Instant::now();
        stream.write_all(sent).await.unwrap();
        let read = read_until_closed(&mut stream).await;
        assert!(read.is_ok(), "held open after sending {sent:?}: {read:?}");
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "closed after {:?}, before the timeout",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_415_tells_a_keep_alive_client_that_the_connection_closes() {
    let (users, state) = with_users(RouterSettings::default()).await;
    let served = serve(state).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    // A keep-alive request the router refuses before reading its body, the
    // body still on its way.
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: router\r\nContent-Type: application/xml\r\n\
              Content-Length: 100000\r\n\r\n<query>",
        )
        .await
        .unwrap();
    let text = read_until_closed(&mut stream).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 415"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "the client must learn that its next request needs a new connection: {text}"
    );
    // Its next request, on a new connection as told, is answered.
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    let body = r#"{"query":"{ me { id } }"}"#;
    stream
        .write_all(
            format!(
                "POST /graphql HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let text = read_until_closed(&mut stream).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(r#""id":"u1""#), "{text}");
    assert_eq!(users.received().len(), 1);
}

#[tokio::test]
async fn a_kept_alive_connection_serves_a_second_request_after_a_read_body() {
    let (users, state) = with_users(RouterSettings::default()).await;
    let served = serve(state).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    let body = r#"{"query":"{ me { id } }"}"#;
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    // Two requests on one connection; the second asks to close it.
    stream.write_all(request.as_bytes()).await.unwrap();
    let second = request.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
    stream.write_all(second.as_bytes()).await.unwrap();
    let text = read_until_closed(&mut stream).await.unwrap();
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
    assert_eq!(users.received().len(), 2);
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_408() {
    let (users, state) = with_users(timeouts(60_000, 60_000, 300)).await;
    let served = serve(state).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\nConnection: close\r\n\r\n{\"query\":",
        )
        .await
        .unwrap();
    let text = read_until_closed(&mut stream).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("did not arrive within"), "{text}");
    assert!(users.received().is_empty());
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let users = FakeSubgraph::start_with_delay(
        |_| json!({ "data": { "me": { "__typename": "User", "id": "u1" } } }),
        Duration::from_millis(400),
    )
    .await;
    let state = router(
        RouterSettings::default(),
        &[("users", &users.url)],
        vec![(None, plan(fetch("users", "{ me { __typename id } }", &[])))],
    );
    let mut served = serve(state).await;
    let mut stream = TcpStream::connect(served.addr).await.unwrap();
    let body = r#"{"query":"{ me { id } }"}"#;
    let request = format!(
        "POST /graphql HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    // Shut down once the request is in the subgraph's hands.
    let deadline = Instant::now() + DEADLINE;
    while users.received().is_empty() {
        assert!(Instant::now() < deadline, "the request never reached users");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    served.stop.take().unwrap().send(()).unwrap();
    let text = read_until_closed(&mut stream).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(r#""id":"u1""#), "{text}");
    tokio::time::timeout(DEADLINE, served.task)
        .await
        .expect("the server stopped")
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(served.addr).await.is_err());
}

fn post_with(content_type: &str, extra: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::post("/graphql").header("content-type", content_type);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request
        .body(Body::from(json!({ "query": "{ me { id } }" }).to_string()))
        .unwrap()
}

#[tokio::test]
async fn content_type_is_parsed_as_a_media_type() {
    let (_users, state) = with_users(RouterSettings::default()).await;
    for accepted in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
    ] {
        let answer = send(&state, post_with(accepted, &[])).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{accepted}: {:?}",
            answer.body
        );
        assert_eq!(answer.body["data"]["me"]["id"], "u1");
    }
    for refused in [
        "application/jsonx",
        "application/json-seq",
        "application/graphql",
    ] {
        let answer = send(&state, post_with(refused, &[])).await;
        assert_eq!(
            answer.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{refused}"
        );
    }
}

fn get_me(headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::get("/graphql?query=%7B%20me%20%7B%20id%20%7D%20%7D");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn csrf_prevention_refuses_requests_a_browser_sends_without_a_preflight() {
    let (users, state) = with_users(RouterSettings::default()).await;
    let answer = send(&state, get_me(&[])).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        "CSRF_BLOCKED"
    );
    let message = answer.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("apollo-require-preflight"), "{message}");
    assert!(message.contains("application/json"), "{message}");

    for simple in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "TEXT/PLAIN; charset=utf-8",
    ] {
        let answer = send(&state, post_with(simple, &[])).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{simple}");
        assert_eq!(
            answer.body["errors"][0]["extensions"]["code"],
            "CSRF_BLOCKED"
        );
    }
    // An empty header value is no proof of a preflight.
    let answer = send(&state, get_me(&[("apollo-require-preflight", "")])).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(users.received().is_empty(), "nothing reached a subgraph");

    for header in ["apollo-require-preflight", "x-apollo-operation-name"] {
        let answer = send(&state, get_me(&[(header, "1")])).await;
        assert_eq!(answer.status, StatusCode::OK, "{header}");
        assert_eq!(answer.body["data"]["me"]["id"], "u1");
    }
    let answer = send(&state, get_me(&[("content-type", "application/json")])).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn csrf_prevention_can_be_turned_off_or_given_other_headers() {
    let (_users, state) = with_users(RouterSettings {
        csrf_prevention: false,
        ..RouterSettings::default()
    })
    .await;
    assert_eq!(send(&state, get_me(&[])).await.status, StatusCode::OK);

    let (_users, state) = with_users(RouterSettings {
        csrf_required_headers: vec!["X-Storefront-Client".into()],
        ..RouterSettings::default()
    })
    .await;
    let answer = send(&state, get_me(&[("apollo-require-preflight", "1")])).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let message = answer.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("X-Storefront-Client"), "{message}");
    let answer = send(&state, get_me(&[("x-storefront-client", "web")])).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn introspection_can_be_turned_off_but_typename_still_works() {
    let (_users, on) = with_users(RouterSettings::default()).await;
    let answer = query(&on, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(
        answer.body["data"]["__schema"]["queryType"]["name"],
        "Query"
    );

    let (_users, off) = with_users(RouterSettings {
        introspection: false,
        ..RouterSettings::default()
    })
    .await;
    for document in [
        "{ __schema { queryType { name } } }",
        r#"{ __type(name: "User") { name } }"#,
        "query { ...Meta } fragment Meta on Query { __schema { types { name } } }",
    ] {
        let answer = query(&off, document, json!({})).await;
        assert_eq!(
            answer.body["errors"][0]["extensions"]["code"], "INTROSPECTION_DISABLED",
            "{document}: {}",
            answer.body
        );
        assert!(answer.body.get("data").is_none(), "{}", answer.body);
    }
    let answer = query(&off, "{ __typename me { id } }", json!({})).await;
    assert_eq!(
        answer.body["data"]["__typename"], "Query",
        "{}",
        answer.body
    );
    assert_eq!(answer.body["data"]["me"]["id"], "u1");
}

#[tokio::test]
async fn the_playground_can_be_turned_off() {
    let (_users, on) = with_users(RouterSettings::default()).await;
    let page = send(&on, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);

    let (_users, off) = with_users(RouterSettings {
        playground: false,
        ..RouterSettings::default()
    })
    .await;
    for path in ["/", "/assets/index.js"] {
        let answer = send(&off, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(query(&off, "{ me { id } }", json!({})).await.status, 200);
}

#[tokio::test]
async fn every_graphql_response_carries_the_request_id() {
    let (users, state) = with_users(RouterSettings::default()).await;
    let answer = post(
        &state,
        json!({ "query": "{ me { id } }" }),
        &[("x-request-id", "client-42")],
    )
    .await;
    assert_eq!(answer.headers["x-request-id"], "client-42");

    let answer = query(&state, "{ me { id } }", json!({})).await;
    let generated = answer.headers["x-request-id"].to_str().unwrap().to_owned();
    assert!(!generated.is_empty());
    let received = users.received();
    assert_eq!(
        received.last().unwrap().headers["x-request-id"],
        generated.as_str(),
        "the subgraph got the id the client was told"
    );

    // Request errors carry it too.
    let answer = query(&state, "{ nope }", json!({})).await;
    assert!(answer.headers.contains_key("x-request-id"));
    let answer = send(&state, get_me(&[])).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.headers.contains_key("x-request-id"));
    assert_eq!(
        answer.body["errors"][0]["extensions"]["code"],
        Value::from("CSRF_BLOCKED")
    );
}
