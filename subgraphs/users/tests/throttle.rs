//! Login throttling as a client meets it, over HTTP on a real listener (so
//! the peer address is the client's): TOO_MANY_REQUESTS with `retryAfter`
//! after repeated failures, per account and address, `X-Forwarded-For`
//! honoured only when trusted, and a successful login resetting the account.

mod common;

use std::time::Duration;

use common::TestService;
use serde_json::{Value, json};
use storefront_shared::server::Timeouts;
use storefront_shared::testing::Served;
use storefront_users::settings::LoginThrottleSettings;

const PASSWORD: &str = "correct horse battery";

fn throttle() -> LoginThrottleSettings {
    LoginThrottleSettings {
        free_failures_per_account_and_address: 3,
        base_delay: Duration::from_secs(30),
        ..LoginThrottleSettings::default()
    }
}

/// The users service of `service`, with `settings`, on 127.0.0.1:0.
async fn serve(service: &TestService, settings: LoginThrottleSettings, trust: bool) -> Served {
    let state = service
        .state
        .clone()
        .with_login_throttle(settings)
        .trusting_forwarded_for(trust);
    Served::start(move |listener, shutdown| {
        storefront_users::run(listener, state, Timeouts::default(), shutdown)
    })
    .await
}

async fn login(served: &Served, email: &str, password: &str, forwarded_for: Option<&str>) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("http://{}/graphql", served.addr))
        .json(&json!({
            "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
            "variables": { "e": email, "p": password },
        }));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address);
    }
    request
        .send()
        .await
        .expect("the service answers")
        .json()
        .await
        .expect("a JSON answer")
}

fn code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("none")
}

async fn service_with_ada() -> TestService {
    let service = TestService::new();
    let registered = service.register("ada@example.com", PASSWORD, "Ada").await;
    assert!(registered.errors.is_empty(), "{:?}", registered.errors);
    service
}

#[tokio::test]
async fn repeated_failures_are_answered_too_many_requests_with_a_retry_after() {
    let service = service_with_ada().await;
    let served = serve(&service, throttle(), false).await;
    for _ in 0..4 {
        let answer = login(&served, "ada@example.com", "wrong password", None).await;
        assert_eq!(code(&answer), "UNAUTHENTICATED", "{answer}");
    }
    // Too early: refused before the password is checked, even the right one.
    let answer = login(&served, "ada@example.com", PASSWORD, None).await;
    assert_eq!(code(&answer), "TOO_MANY_REQUESTS", "{answer}");
    let retry = answer["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .expect("retryAfter in seconds");
    assert!((29..=30).contains(&retry), "{answer}");
    assert_eq!(answer["data"], Value::Null);

    // An unknown email is throttled the same way: nothing tells them apart.
    for _ in 0..4 {
        let answer = login(&served, "nobody@example.com", "wrong password", None).await;
        assert_eq!(code(&answer), "UNAUTHENTICATED", "{answer}");
    }
    let answer = login(&served, "nobody@example.com", "wrong password", None).await;
    assert_eq!(code(&answer), "TOO_MANY_REQUESTS", "{answer}");
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client_and_other_clients_are_not_held_up() {
    let service = service_with_ada().await;
    let served = serve(&service, throttle(), true).await;
    for _ in 0..4 {
        let answer = login(&served, "ada@example.com", "wrong", Some("203.0.113.9")).await;
        assert_eq!(code(&answer), "UNAUTHENTICATED", "{answer}");
    }
    let attacker = login(&served, "ada@example.com", "wrong", Some("203.0.113.9")).await;
    assert_eq!(code(&attacker), "TOO_MANY_REQUESTS", "{attacker}");
    let owner = login(
        &served,
        "ada@example.com",
        PASSWORD,
        Some("198.51.100.7, 10.0.0.1"),
    )
    .await;
    assert!(owner["data"]["login"]["token"].is_string(), "{owner}");
}

#[tokio::test]
async fn an_untrusted_forwarded_header_cannot_dodge_the_throttle() {
    let service = service_with_ada().await;
    let served = serve(&service, throttle(), false).await;
    for n in 0..4 {
        let fake = format!("192.0.2.{n}");
        let answer = login(&served, "ada@example.com", "wrong", Some(&fake)).await;
        assert_eq!(code(&answer), "UNAUTHENTICATED", "{answer}");
    }
    let answer = login(&served, "ada@example.com", "wrong", Some("192.0.2.200")).await;
    assert_eq!(
        code(&answer),
        "TOO_MANY_REQUESTS",
        "the peer address counts: {answer}"
    );
}

#[tokio::test]
async fn a_successful_login_resets_the_accounts_failures() {
    let service = service_with_ada().await;
    let served = serve(&service, throttle(), false).await;
    for _ in 0..3 {
        login(&served, "ada@example.com", "wrong", None).await;
    }
    let answer = login(&served, "ada@example.com", PASSWORD, None).await;
    assert!(answer["data"]["login"]["token"].is_string(), "{answer}");
    for _ in 0..4 {
        let answer = login(&served, "ada@example.com", "wrong", None).await;
        assert_eq!(code(&answer), "UNAUTHENTICATED", "counted afresh: {answer}");
    }
}

#[tokio::test]
async fn with_throttling_off_every_guess_is_checked() {
    let service = service_with_ada().await;
    let off = LoginThrottleSettings {
        enabled: false,
        ..throttle()
    };
    let served = serve(&service, off, false).await;
    for _ in 0..8 {
        let answer = login(&served, "ada@example.com", "wrong", None).await;
        assert_eq!(code(&answer), "UNAUTHENTICATED", "{answer}");
    }
}
