//! Revoking tokens: `logoutEverywhere` (and `changePassword`) bump the token
//! generation, the users service refuses older tokens at once, and publishes
//! the generation to the other services at
//! `/.well-known/token-versions/<userId>`, for the service credential only.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{ME, TestService, json, single_error, token_of};
use serde_json::{Value, json};
use storefront_shared::auth::revocation::TOKEN_VERSIONS_PATH;

const PASSWORD: &str = "correct horse battery";
const LOGOUT_EVERYWHERE: &str = "mutation { logoutEverywhere }";

async fn token_version(
    service: &TestService,
    user_id: &str,
    credential: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::get(format!("{TOKEN_VERSIONS_PATH}/{user_id}"));
    if let Some(credential) = credential {
        request = request.header("x-service-token", credential);
    }
    let request = request.body(Body::empty()).expect("request");
    storefront_shared::testing::send(storefront_users::app(service.state.clone()), request).await
}

#[tokio::test]
async fn logout_everywhere_revokes_every_earlier_token_and_not_later_ones() {
    let service = TestService::new();
    let first = token_of(
        &service.register("ada@example.com", PASSWORD, "Ada").await,
        "register",
    );
    let second = token_of(&service.login("ada@example.com", PASSWORD).await, "login");

    let answer = service
        .execute(LOGOUT_EVERYWHERE, json!({}), Some(&second))
        .await;
    assert!(answer.errors.is_empty(), "{:?}", answer.errors);
    assert_eq!(json(&answer)["data"]["logoutEverywhere"], true);

    for old in [&first, &second] {
        let (code, message) = single_error(&service.execute(ME, json!({}), Some(old)).await);
        assert_eq!(code, "UNAUTHENTICATED");
        assert_eq!(message, "this token was revoked; log in again");
    }
    let (code, _) = single_error(
        &service
            .execute(LOGOUT_EVERYWHERE, json!({}), Some(&first))
            .await,
    );
    assert_eq!(
        code, "UNAUTHENTICATED",
        "a revoked token cannot log out again"
    );

    let fresh = token_of(&service.login("ada@example.com", PASSWORD).await, "login");
    let me = service.execute(ME, json!({}), Some(&fresh)).await;
    assert_eq!(json(&me)["data"]["me"]["email"], "ada@example.com");
}

#[tokio::test]
async fn logout_everywhere_needs_a_token() {
    let service = TestService::new();
    let (code, _) = single_error(&service.execute(LOGOUT_EVERYWHERE, json!({}), None).await);
    assert_eq!(code, "UNAUTHENTICATED");
}

#[tokio::test]
async fn token_versions_are_published_to_services_only() {
    let service = TestService::new();
    let registered = service.register("ada@example.com", PASSWORD, "Ada").await;
    let token = token_of(&registered, "register");
    let id = json(&registered)["data"]["register"]["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let (status, body) = token_version(&service, &id, Some("svc")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "userId": id, "tokenVersion": 0 }));

    let answer = service
        .execute(LOGOUT_EVERYWHERE, json!({}), Some(&token))
        .await;
    assert!(answer.errors.is_empty(), "{:?}", answer.errors);
    let (_, body) = token_version(&service, &id, Some("svc")).await;
    assert_eq!(body["tokenVersion"], 1, "the bump is published at once");

    let (status, _) = token_version(&service, "no-such-user", Some("svc")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for credential in [None, Some("wrong")] {
        let (status, body) = token_version(&service, &id, credential).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(body.get("tokenVersion").is_none(), "{body}");
    }
}
