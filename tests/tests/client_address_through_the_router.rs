//! The client's address reaches the users service through the router: the
//! router sends `X-Forwarded-For` (the peer, or the client a trusted proxy
//! names, first), users trusts it (`TRUST_FORWARDED_FOR`, as Compose,
//! Kubernetes and the local run set it), so login throttling tells clients
//! apart — and a client the router does not trust cannot pick its address.

use std::time::Duration;

use serde_json::{Value, json};
use storefront_e2e::{SERVICE_TOKEN, Service, init_logs, listen, router_settings};
use storefront_router::settings::{RouterSettings, Subgraph, TrustedProxies};
use storefront_router::source::{self, SupergraphSource};
use storefront_shared::server::Timeouts;
use storefront_shared::settings::{CommonSettings, Secret, Settings};
use storefront_users::settings::UsersSettings;

const EMAIL: &str = "ada@shop.test";
const PASSWORD: &str = "a long password";
const LOGIN: &str = "mutation($email: String!, $password: String!) { \
                     login(email: $email, password: $password) { token } }";

/// The users service trusting `X-Forwarded-For`, and a router composed from
/// it (changed by `configure`), both on port 0.
async fn users_behind_a_router(
    dir: &std::path::Path,
    configure: impl FnOnce(&mut RouterSettings),
) -> (Service, Service) {
    init_logs();
    let mut common = CommonSettings::local(0);
    common.data_dir = dir.to_path_buf();
    common.service_token = Some(Secret::new(SERVICE_TOKEN));
    let settings = Settings {
        common,
        service: UsersSettings {
            trust_forwarded_for: true,
            ..UsersSettings::default()
        },
    };
    let state = storefront_users::AppState::from_settings(&settings)
        .await
        .expect("users starts");
    let (listener, users_url) = listen().await;
    let users = Service::new(
        users_url.clone(),
        tokio::spawn(storefront_users::run(
            listener,
            state,
            Timeouts::default(),
            std::future::pending(),
        )),
    );
    let mut settings = router_settings(&users_url);
    configure(&mut settings);
    let state = storefront_router::AppState::new(settings).expect("router state");
    let composing = SupergraphSource::Compose {
        subgraphs: vec![Subgraph::from(("users".to_owned(), users_url))],
        poll_interval: Duration::ZERO,
    };
    tokio::time::timeout(
        Duration::from_secs(30),
        source::run(state.clone(), composing),
    )
    .await
    .expect("composes within 30 s")
    .expect("users composes");
    let (listener, router_url) = listen().await;
    let router = Service::new(
        router_url,
        tokio::spawn(storefront_router::run(
            listener,
            state,
            std::future::pending(),
        )),
    );
    register(&router).await;
    (users, router)
}

async fn register(router: &Service) {
    let answer = router
        .graphql(
            None,
            "mutation($input: RegisterInput!) { register(input: $input) { token } }",
            json!({ "input": { "email": EMAIL, "password": PASSWORD, "name": "Ada" } }),
        )
        .await;
    assert!(answer["errors"].is_null(), "{answer}");
}

/// A login through the router, sent with `X-Forwarded-For: forwarded_for`.
async fn login(router: &Service, forwarded_for: &str, password: &str) -> Value {
    reqwest::Client::new()
        .post(&router.graphql_url)
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "query": LOGIN, "variables": { "email": EMAIL, "password": password } }))
        .send()
        .await
        .expect("the router answers")
        .json()
        .await
        .expect("JSON")
}

fn code(answer: &Value) -> &str {
    answer["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

/// Fails logins from `forwarded_for` until one is throttled; how many failed.
async fn guess_until_throttled(router: &Service, forwarded_for: &str) -> usize {
    for n in 0..30 {
        let answer = login(router, forwarded_for, "wrong password").await;
        match code(&answer) {
            "UNAUTHENTICATED" => {}
            "TOO_MANY_REQUESTS" => return n,
            other => panic!("attempt {n}: {other}: {answer}"),
        }
    }
    panic!("never throttled")
}

#[tokio::test]
async fn clients_a_trusted_proxy_names_get_separate_login_throttles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_users, router) = users_behind_a_router(dir.path(), |settings| {
        // This test's requests come from the loopback: it is the proxy.
        settings.trusted_proxies = TrustedProxies {
            addresses: vec!["127.0.0.1".into(), "::1".into()],
            hops: 0,
        };
    })
    .await;
    let failed = guess_until_throttled(&router, "203.0.113.1").await;
    assert!(failed >= 5, "the free failures came first: {failed}");
    let again = login(&router, "203.0.113.1", PASSWORD).await;
    assert_eq!(code(&again), "TOO_MANY_REQUESTS", "{again}");
    assert!(again["errors"][0]["extensions"]["retryAfter"].as_u64() >= Some(1));
    // Another client (by the proxy's word) is not held up, even with what the
    // first one wrote in front of its address.
    let other = login(&router, "203.0.113.1, 203.0.113.2", PASSWORD).await;
    assert!(other["errors"].is_null(), "{other}");
    assert!(other["data"]["login"]["token"].is_string(), "{other}");
}

#[tokio::test]
async fn a_client_the_router_does_not_trust_cannot_pick_its_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (users, router) = users_behind_a_router(dir.path(), |_| {}).await;
    guess_until_throttled(&router, "203.0.113.1").await;
    let spoofed = login(&router, "203.0.113.2", PASSWORD).await;
    assert_eq!(
        code(&spoofed),
        "TOO_MANY_REQUESTS",
        "the router replaced the header with the client's own address: {spoofed}"
    );
    // The address the router sent is the connection's own (the loopback),
    // the one users sees when asked directly.
    let direct = users
        .graphql(None, LOGIN, json!({ "email": EMAIL, "password": PASSWORD }))
        .await;
    assert_eq!(
        code(&direct),
        "TOO_MANY_REQUESTS",
        "asked directly, users sees the same loopback client: {direct}"
    );
}
