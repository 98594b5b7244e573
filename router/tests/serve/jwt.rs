//! JWT authentication at the router: tokens signed with keys generated here,
//! published by a local JWKS server that counts its fetches (or in a file).
//! A present but invalid token is answered 401 `UNAUTHENTICATED` before any
//! subgraph is called; a valid one reaches the subgraphs with its
//! `Authorization` header.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use crate::common::jwt::{JwksServer, Signer, claims, jwks, now};
use crate::common::*;
use serde_json::{Value, json};
use storefront_router::AppState;
use storefront_router::settings::{JwtSettings, RouterSettings};

const ME: &str = "{ me { id } }";

fn jwt_settings(urls: &[&str]) -> JwtSettings {
    JwtSettings {
        jwks_urls: urls.iter().map(|u| (*u).to_owned()).collect(),
        issuers: vec!["storefront-users".into()],
        audiences: vec!["storefront".into()],
        ..JwtSettings::default()
    }
}

async fn router_with(jwt: JwtSettings) -> (FakeSubgraph, AppState) {
    let users =
        FakeSubgraph::start(|_| json!({ "data": { "me": { "__typename": "User", "id": "u1" } } }))
            .await;
    let state = router(
        RouterSettings {
            jwt,
            ..RouterSettings::default()
        },
        &[("users", &users.url)],
        vec![(None, plan(fetch("users", "{ me { __typename id } }", &[])))],
    );
    (users, state)
}

async fn me_with(state: &AppState, headers: &[(&str, &str)]) -> Answered {
    post(state, json!({ "query": ME }), headers).await
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn code(answer: &Answered) -> Value {
    answer.body["errors"][0]["extensions"]["code"].clone()
}

#[tokio::test]
async fn a_valid_token_reaches_the_subgraphs_with_its_authorization_header() {
    let signer = Signer::ed25519("k1");
    let server = JwksServer::start(jwks(&[&signer])).await;
    let (users, state) = router_with(jwt_settings(&[&server.url])).await;
    let token = signer.sign(&claims("u1", json!({})));
    let answer = me_with(&state, &[("authorization", &bearer(&token))]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body, json!({ "data": { "me": { "id": "u1" } } }));
    let received = users.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].headers["authorization"], bearer(&token));
}

#[tokio::test]
async fn invalid_tokens_get_401_unauthenticated_before_any_subgraph_is_called() {
    let signer = Signer::ed25519("k1");
    let forger = Signer::ed25519("k1");
    let server = JwksServer::start(jwks(&[&signer])).await;
    let (users, state) = router_with(jwt_settings(&[&server.url])).await;
    let hmac = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims("u1", json!({})),
        &jsonwebtoken::EncodingKey::from_secret(b"a public key is no secret"),
    )
    .unwrap();
    let unsigned = {
        use base64::Engine as _;
        let b64 = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        format!(
            "{}.{}.",
            b64(&json!({ "alg": "none", "typ": "JWT" })),
            b64(&claims("u1", json!({})))
        )
    };
    let cases = [
        ("forged", forger.sign(&claims("u1", json!({})))),
        (
            "expired",
            signer.sign(&claims("u1", json!({ "exp": now() - 120 }))),
        ),
        (
            "not yet valid",
            signer.sign(&claims("u1", json!({ "nbf": now() + 300 }))),
        ),
        (
            "wrong audience",
            signer.sign(&claims("u1", json!({ "aud": "another-shop" }))),
        ),
        (
            "wrong issuer",
            signer.sign(&claims("u1", json!({ "iss": "someone-else" }))),
        ),
        ("alg none", unsigned),
        ("hmac", hmac),
        ("malformed", "not-a-jwt".to_owned()),
    ];
    for (case, token) in cases {
        let answer = me_with(&state, &[("authorization", &bearer(&token))]).await;
        assert_eq!(answer.status, 401, "{case}: {}", answer.body);
        assert_eq!(code(&answer), "UNAUTHENTICATED", "{case}");
        assert!(answer.body.get("data").is_none(), "{case}: no data");
        assert_eq!(answer.headers["www-authenticate"], "Bearer", "{case}");
    }
    // A token a little past its expiry is within the leeway (30 s).
    let late = signer.sign(&claims("u1", json!({ "exp": now() - 5 })));
    let answer = me_with(&state, &[("authorization", &bearer(&late))]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        users.received().len(),
        1,
        "only the valid token got through"
    );
}

#[tokio::test]
async fn rsa_and_p256_signed_tokens_are_accepted_from_the_same_jwks() {
    let (rsa, ec, ed) = (
        Signer::rs256("r1"),
        Signer::es256("e1"),
        Signer::ed25519("k1"),
    );
    let server = JwksServer::start(jwks(&[&rsa, &ec, &ed])).await;
    let (users, state) = router_with(jwt_settings(&[&server.url])).await;
    for signer in [&rsa, &ec, &ed] {
        let token = signer.sign(&claims("u1", json!({})));
        let answer = me_with(&state, &[("authorization", &bearer(&token))]).await;
        assert_eq!(answer.status, 200, "{:?}: {}", signer.alg, answer.body);
    }
    // A key is used only for the algorithm its JWK names: the RSA key's id
    // on a P-256 signature is a forgery.
    let mixed = ec.sign_as("r1", &claims("u1", json!({})));
    let answer = me_with(&state, &[("authorization", &bearer(&mixed))]).await;
    assert_eq!(answer.status, 401);
    assert_eq!(users.received().len(), 3);
}

#[tokio::test]
async fn forged_key_ids_refetch_the_jwks_at_most_once_per_interval() {
    let signer = Signer::ed25519("k1");
    let server = JwksServer::start(jwks(&[&signer])).await;
    let interval = Duration::from_millis(500);
    let (users, state) = router_with(JwtSettings {
        jwks_min_refetch_interval: interval,
        ..jwt_settings(&[&server.url])
    })
    .await;
    let good = signer.sign(&claims("u1", json!({})));
    assert_eq!(
        me_with(&state, &[("authorization", &bearer(&good))])
            .await
            .status,
        200
    );
    let forger = Signer::ed25519("unused");
    let started = Instant::now();
    let mut refused = 0;
    for attempt in 0..200 {
        let forged = forger.sign_as(&format!("forged-{attempt}"), &claims("u1", json!({})));
        let answer = me_with(&state, &[("authorization", &bearer(&forged))]).await;
        assert_eq!(answer.status, 401);
        refused += 1;
    }
    let elapsed = started.elapsed();
    let bound = 2 + (elapsed.as_millis() / interval.as_millis()) as usize;
    assert_eq!(refused, 200);
    assert!(
        server.fetches() <= bound,
        "{} JWKS fetches for 200 forged key ids in {elapsed:?} (bound {bound})",
        server.fetches()
    );
    assert_eq!(users.received().len(), 1);

    // A key published later is picked up on its first token once the
    // interval has passed.
    let rotated = Signer::ed25519("k2");
    server.replace(jwks(&[&signer, &rotated]));
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    let before = server.fetches();
    let token = rotated.sign(&claims("u1", json!({})));
    let answer = me_with(&state, &[("authorization", &bearer(&token))]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(server.fetches(), before + 1);
}

#[tokio::test]
async fn a_missing_token_is_anonymous_unless_the_settings_require_one() {
    let signer = Signer::ed25519("k1");
    let server = JwksServer::start(jwks(&[&signer])).await;
    let (users, state) = router_with(jwt_settings(&[&server.url])).await;
    assert_eq!(me_with(&state, &[]).await.status, 200);
    assert_eq!(users.received().len(), 1);

    let (users, state) = router_with(JwtSettings {
        required: true,
        ..jwt_settings(&[&server.url])
    })
    .await;
    let answer = me_with(&state, &[]).await;
    assert_eq!(answer.status, 401);
    assert_eq!(code(&answer), "UNAUTHENTICATED");
    assert!(users.received().is_empty());
    let token = signer.sign(&claims("u1", json!({})));
    let answer = me_with(&state, &[("authorization", &bearer(&token))]).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn a_token_from_the_cookie_is_checked_and_forwarded_as_authorization() {
    let signer = Signer::ed25519("k1");
    let server = JwksServer::start(jwks(&[&signer])).await;
    let (users, state) = router_with(JwtSettings {
        cookie: Some("session".into()),
        ..jwt_settings(&[&server.url])
    })
    .await;
    let token = signer.sign(&claims("u1", json!({})));
    let cookie = format!("theme=dark; session={token}");
    let answer = me_with(&state, &[("cookie", &cookie)]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(users.received()[0].headers["authorization"], bearer(&token));

    let forged = Signer::ed25519("k1").sign(&claims("u1", json!({})));
    let answer = me_with(&state, &[("cookie", &format!("session={forged}"))]).await;
    assert_eq!(answer.status, 401);
    assert_eq!(users.received().len(), 1);
}

#[tokio::test]
async fn keys_may_come_from_a_jwks_file() {
    let signer = Signer::es256("file-key");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks(&[&signer]).to_string()).unwrap();
    let (users, state) = router_with(JwtSettings {
        key_files: vec![path.display().to_string()],
        ..jwt_settings(&[])
    })
    .await;
    let token = signer.sign(&claims("u1", json!({})));
    let answer = me_with(&state, &[("authorization", &bearer(&token))]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let forged = Signer::es256("file-key").sign(&claims("u1", json!({})));
    assert_eq!(
        me_with(&state, &[("authorization", &bearer(&forged))])
            .await
            .status,
        401
    );
    assert_eq!(users.received().len(), 1);
}

#[test]
fn hmac_algorithms_and_unreadable_key_files_are_refused_at_start() {
    let hmac = RouterSettings {
        jwt: JwtSettings {
            algorithms: vec!["HS256".into()],
            ..jwt_settings(&["http://127.0.0.1:1/.well-known/jwks.json"])
        },
        ..RouterSettings::default()
    };
    let error = AppState::new(hmac).err().expect("HMAC is refused");
    assert!(error.to_string().contains("HMAC"), "{error}");
    let missing = RouterSettings {
        jwt: JwtSettings {
            key_files: vec!["/nonexistent/jwks.json".into()],
            ..JwtSettings::default()
        },
        ..RouterSettings::default()
    };
    let error = AppState::new(missing).err().expect("missing file");
    assert!(
        error.to_string().contains("/nonexistent/jwks.json"),
        "{error}"
    );
}

#[tokio::test]
async fn a_jwks_host_that_was_down_at_start_is_asked_again_a_second_later() {
    let signer = Signer::ed25519("k1");
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/.well-known/jwks.json");
    let (users, state) = router_with(jwt_settings(&[&url])).await;
    let token = signer.sign(&claims("u1", json!({})));
    let answer = me_with(&state, &[("authorization", &bearer(&token))]).await;
    assert_eq!(answer.status, 401, "no keys yet: {}", answer.body);
    let server = JwksServer::start_on(port, jwks(&[&signer])).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let answer = me_with(&state, &[("authorization", &bearer(&token))]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(server.fetches(), 1);
    assert_eq!(users.received().len(), 1);
}
