//! Rate limits at the router (429 with `Retry-After`, nothing fetched) and the
//! client address: from the peer, or a trusted proxy's `X-Forwarded-For`, sent
//! on to the subgraphs.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use serde_json::{Value, json};
use storefront_router::AppState;
use storefront_router::settings::{
    BatchingSettings, JwtSettings, RateLimitSettings, RouterSettings, TrustedProxies,
};

use crate::common::jwt::{JwksServer, Signer, claims, jwks};
use crate::common::*;

const ME: &str = "{ me { id } }";

/// A per-client limit that does not refill within a test: `burst` operations.
fn limit(burst: u32) -> RateLimitSettings {
    RateLimitSettings {
        enabled: true,
        per_client_rate: 0.001,
        per_client_burst: burst,
        ..RateLimitSettings::default()
    }
}

async fn router_with(settings: RouterSettings) -> (FakeSubgraph, AppState) {
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

/// `POST /graphql` of `body` from `peer`, with `headers`.
async fn post_from(
    state: &AppState,
    peer: &str,
    body: Value,
    headers: &[(&str, &str)],
) -> Answered {
    let mut request = Request::post("/graphql").header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(Body::from(body.to_string())).unwrap();
    let peer: SocketAddr = format!("{peer}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    send(state, request).await
}

async fn me_from(state: &AppState, peer: &str, headers: &[(&str, &str)]) -> Answered {
    post_from(state, peer, json!({ "query": ME }), headers).await
}

fn code(answer: &Answered) -> &str {
    answer.body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

fn assert_limited(answer: &Answered) {
    assert_eq!(answer.status, 429, "{}", answer.body);
    assert_eq!(code(answer), "TOO_MANY_REQUESTS", "{}", answer.body);
    let retry: u64 = answer.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "Retry-After: {retry}");
    assert_eq!(answer.body["errors"][0]["extensions"]["retryAfter"], retry);
    assert!(
        answer.body.get("data").is_none(),
        "nothing ran: {}",
        answer.body
    );
}

#[tokio::test]
async fn a_client_over_its_limit_gets_429_with_retry_after_and_nothing_is_fetched() {
    let (users, state) = router_with(RouterSettings {
        rate_limit: limit(2),
        ..RouterSettings::default()
    })
    .await;
    for _ in 0..2 {
        let answer = me_from(&state, "198.51.100.1", &[]).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    // Whatever the media type asked for: 429 is the status.
    let refused = me_from(&state, "198.51.100.1", &[("accept", "application/json")]).await;
    assert_limited(&refused);
    assert_eq!(
        users.received().len(),
        2,
        "the refused request was not fetched"
    );
    let other = me_from(&state, "198.51.100.2", &[]).await;
    assert_eq!(other.status, 200, "another address has its own bucket");
    let text = {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let response = storefront_router::app(state.clone())
            .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    };
    assert!(
        text.contains(r#"router_rate_limited_requests_total{limit="client"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn verified_subjects_have_their_own_buckets_and_forged_tokens_pay_from_their_address() {
    let signer = Signer::ed25519("k1");
    let forger = Signer::ed25519("k1");
    let server = JwksServer::start(jwks(&[&signer])).await;
    let (users, state) = router_with(RouterSettings {
        rate_limit: limit(2),
        jwt: JwtSettings {
            jwks_urls: vec![server.url.clone()],
            issuers: vec!["storefront-users".into()],
            audiences: vec!["storefront".into()],
            ..JwtSettings::default()
        },
        ..RouterSettings::default()
    })
    .await;
    let shared_address = "203.0.113.5";
    for sub in ["u1", "u2"] {
        let bearer = format!("Bearer {}", signer.sign(&claims(sub, json!({}))));
        for _ in 0..2 {
            let answer = me_from(&state, shared_address, &[("authorization", &bearer)]).await;
            assert_eq!(answer.status, 200, "{sub}: {}", answer.body);
        }
        assert_limited(&me_from(&state, shared_address, &[("authorization", &bearer)]).await);
    }
    let anonymous = me_from(&state, shared_address, &[]).await;
    assert_eq!(
        anonymous.status, 200,
        "the address's own bucket is untouched"
    );
    let fetched = users.received().len();

    // Each forged token is new, yet they all pay from one address's bucket.
    let attacker = "192.0.2.66";
    let mut statuses = Vec::new();
    for n in 0..4 {
        let forged = format!(
            "Bearer {}",
            forger.sign(&claims(&format!("x{n}"), json!({})))
        );
        statuses.push(
            me_from(&state, attacker, &[("authorization", &forged)])
                .await
                .status,
        );
    }
    assert_eq!(statuses, [401, 401, 429, 429]);
    assert_eq!(
        users.received().len(),
        fetched,
        "no forged request was fetched"
    );
}

#[tokio::test]
async fn a_batch_takes_one_token_per_operation() {
    let (users, state) = router_with(RouterSettings {
        rate_limit: limit(3),
        batching: BatchingSettings {
            enabled: true,
            max_operations: 2,
            ..BatchingSettings::default()
        },
        // The batch's two operations run together: counted apart, not shared.
        dedupe_subgraph_fetches: false,
        ..RouterSettings::default()
    })
    .await;
    let one = json!({ "query": ME });
    let answer = post_from(&state, "198.51.100.9", json!([one, one]), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let refused = post_from(&state, "198.51.100.9", json!([one, one]), &[]).await;
    assert_limited(&refused);
    let answer = post_from(&state, "198.51.100.9", one.clone(), &[]).await;
    assert_eq!(answer.status, 200, "the refused batch took nothing");
    assert_eq!(users.received().len(), 3);
    // A batch larger than a client's bucket could never run: refused at start-up.
    let impossible = RouterSettings {
        rate_limit: limit(3),
        batching: BatchingSettings {
            enabled: true,
            max_operations: 4,
            ..BatchingSettings::default()
        },
        ..RouterSettings::default()
    };
    assert!(AppState::new(impossible).is_err());
}

#[tokio::test]
async fn the_global_limit_refuses_every_client_once_the_router_is_full() {
    let (users, state) = router_with(RouterSettings {
        rate_limit: RateLimitSettings {
            global_rate: 0.001,
            global_burst: 2,
            ..limit(10)
        },
        ..RouterSettings::default()
    })
    .await;
    assert_eq!(me_from(&state, "198.51.100.1", &[]).await.status, 200);
    assert_eq!(me_from(&state, "198.51.100.2", &[]).await.status, 200);
    let refused = me_from(&state, "198.51.100.3", &[]).await;
    assert_limited(&refused);
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("the router"),
        "{}",
        refused.body
    );
    assert_eq!(users.received().len(), 2);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_limited_and_sent_on() {
    let (users, state) = router_with(RouterSettings {
        rate_limit: limit(1),
        trusted_proxies: TrustedProxies {
            addresses: vec!["10.0.0.0/8".into()],
            hops: 0,
        },
        ..RouterSettings::default()
    })
    .await;
    let proxy = "10.0.0.2";
    let a = [("x-forwarded-for", "spoofed, 203.0.113.1")];
    let b = [("x-forwarded-for", "203.0.113.2")];
    assert_eq!(me_from(&state, proxy, &a).await.status, 200);
    assert_eq!(
        me_from(&state, proxy, &b).await.status,
        200,
        "another client"
    );
    assert_limited(&me_from(&state, proxy, &a).await);
    let received = users.received();
    assert_eq!(
        received[0].headers["x-forwarded-for"], "203.0.113.1, 10.0.0.2",
        "the client first, what it wrote itself dropped"
    );
    assert_eq!(
        received[1].headers["x-forwarded-for"],
        "203.0.113.2, 10.0.0.2"
    );
}

#[tokio::test]
async fn an_untrusted_client_cannot_choose_its_address() {
    let (users, state) = router_with(RouterSettings {
        rate_limit: limit(1),
        ..RouterSettings::default()
    })
    .await;
    let peer = "198.51.100.7";
    let first = me_from(&state, peer, &[("x-forwarded-for", "203.0.113.1")]).await;
    assert_eq!(first.status, 200);
    let second = me_from(&state, peer, &[("x-forwarded-for", "203.0.113.2")]).await;
    assert_limited(&second);
    assert_eq!(
        users.received()[0].headers["x-forwarded-for"],
        peer,
        "the client's header is replaced by its address"
    );
}
