//! The users API as clients use it: against the schema directly, and over
//! HTTP through `app(state)` with `oneshot`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{LOGIN, ME, TestService, json, single_error, token_of};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use storefront_shared::auth::{AUDIENCE, Claims, ISSUER, KeySet, Role, TokenVerifier};
use storefront_users::app;

const PASSWORD: &str = "correct horse battery";

async fn registered(service: &TestService, email: &str) -> String {
    token_of(&service.register(email, PASSWORD, "Ada").await, "register")
}

#[tokio::test]
async fn register_returns_a_token_that_works_with_me() {
    let service = TestService::new();
    let response = service
        .register(" Ada@Example.com ", PASSWORD, "  Ada Lovelace ")
        .await;
    let token = token_of(&response, "register");
    let registered = json(&response)["data"]["register"].clone();
    assert_eq!(registered["user"]["email"], "ada@example.com");
    assert_eq!(registered["user"]["name"], "Ada Lovelace");
    assert_eq!(registered["user"]["role"], "CUSTOMER");
    assert!(registered["expiresAt"].is_string());

    let me = service.execute(ME, json!({}), Some(&token)).await;
    assert!(me.errors.is_empty(), "{:?}", me.errors);
    let me = json(&me)["data"]["me"].clone();
    assert_eq!(me["id"], registered["user"]["id"]);
    assert_eq!(me["createdAt"], registered["user"]["createdAt"]);
}

#[tokio::test]
async fn me_is_null_for_anonymous_callers() {
    let service = TestService::new();
    let response = service.execute(ME, json!({}), None).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(json(&response)["data"]["me"], Value::Null);
}

#[tokio::test]
async fn login_accepts_the_right_password_whatever_the_email_case() {
    let service = TestService::new();
    registered(&service, "ada@example.com").await;
    let response = service.login("ADA@example.com", PASSWORD).await;
    let token = token_of(&response, "login");
    let me = service.execute(ME, json!({}), Some(&token)).await;
    assert_eq!(json(&me)["data"]["me"]["email"], "ada@example.com");
}

#[tokio::test]
async fn login_gives_one_message_for_an_unknown_email_and_a_wrong_password() {
    let service = TestService::new();
    registered(&service, "ada@example.com").await;
    let wrong_password = single_error(&service.login("ada@example.com", "wrong password").await);
    let unknown_email = single_error(&service.login("bob@example.com", PASSWORD).await);
    let not_an_email = single_error(&service.login("nobody", PASSWORD).await);
    assert_eq!(wrong_password.0, "UNAUTHENTICATED");
    assert_eq!(wrong_password.1, "invalid email or password");
    assert_eq!(unknown_email, wrong_password);
    assert_eq!(not_an_email, wrong_password);
}

#[tokio::test]
async fn registering_a_taken_email_is_a_conflict() {
    let service = TestService::new();
    registered(&service, "ada@example.com").await;
    let (code, message) = single_error(
        &service
            .register("ADA@example.com", PASSWORD, "Other Ada")
            .await,
    );
    assert_eq!(code, "CONFLICT");
    assert_eq!(message, "an account with this email already exists");
}

#[tokio::test]
async fn invalid_registrations_are_bad_user_input_that_names_the_rule() {
    let service = TestService::new();
    let cases = [
        ("not-an-email", PASSWORD, "Ada", "not a valid email"),
        ("ada@example", PASSWORD, "Ada", "domain"),
        ("ada@example.com", "short", "Ada", "at least 8 characters"),
        (
            "ada@example.com",
            "ADA@EXAMPLE.COM",
            "Ada",
            "must not be your email",
        ),
        ("ada@example.com", PASSWORD, "   ", "name must not be empty"),
    ];
    for (email, password, name, rule) in cases {
        let (code, message) = single_error(&service.register(email, password, name).await);
        assert_eq!(code, "BAD_USER_INPUT", "{email} / {password} / {name}");
        assert!(
            message.contains(rule),
            "{message:?} should mention {rule:?}"
        );
    }
}

const CHANGE_PASSWORD: &str = "mutation($current: String!, $new: String!) { changePassword(currentPassword: $current, newPassword: $new) }";

#[tokio::test]
async fn change_password_revokes_older_tokens_and_switches_the_password() {
    let service = TestService::new();
    let old_token = registered(&service, "ada@example.com").await;
    let new_password = "a brand new secret";
    let changed = service
        .execute(
            CHANGE_PASSWORD,
            json!({ "current": PASSWORD, "new": new_password }),
            Some(&old_token),
        )
        .await;
    assert!(changed.errors.is_empty(), "{:?}", changed.errors);
    assert_eq!(json(&changed)["data"]["changePassword"], true);

    let (code, message) = single_error(&service.execute(ME, json!({}), Some(&old_token)).await);
    assert_eq!(code, "UNAUTHENTICATED");
    assert_eq!(message, "this token was revoked; log in again");

    let old_login = single_error(&service.login("ada@example.com", PASSWORD).await);
    assert_eq!(old_login.0, "UNAUTHENTICATED");
    let new_token = token_of(
        &service.login("ada@example.com", new_password).await,
        "login",
    );
    let me = service.execute(ME, json!({}), Some(&new_token)).await;
    assert_eq!(json(&me)["data"]["me"]["email"], "ada@example.com");
}

#[tokio::test]
async fn change_password_checks_the_current_password_and_the_policy() {
    let service = TestService::new();
    let token = registered(&service, "ada@example.com").await;
    let cases = [
        (
            "wrong current",
            "a brand new secret",
            "BAD_USER_INPUT",
            "current password",
        ),
        (PASSWORD, PASSWORD, "BAD_USER_INPUT", "differ"),
        (PASSWORD, "short", "BAD_USER_INPUT", "at least 8"),
        (PASSWORD, "ada@example.com", "BAD_USER_INPUT", "email"),
    ];
    for (current, new, expected_code, rule) in cases {
        let response = service
            .execute(
                CHANGE_PASSWORD,
                json!({ "current": current, "new": new }),
                Some(&token),
            )
            .await;
        let (code, message) = single_error(&response);
        assert_eq!(code, expected_code, "{current} -> {new}");
        assert!(
            message.contains(rule),
            "{message:?} should mention {rule:?}"
        );
    }
    // None of the refused changes revoked the token.
    let me = service.execute(ME, json!({}), Some(&token)).await;
    assert!(me.errors.is_empty(), "{:?}", me.errors);

    let anonymous = service
        .execute(
            CHANGE_PASSWORD,
            json!({ "current": PASSWORD, "new": "another secret" }),
            None,
        )
        .await;
    assert_eq!(single_error(&anonymous).0, "UNAUTHENTICATED");
}

#[tokio::test]
async fn names_with_control_or_invisible_formatting_characters_are_bad_user_input() {
    let service = TestService::new();
    let token = registered(&service, "ada@example.com").await;
    for name in [
        "Ada\0",
        "Ada \u{202E}ecalevoL",
        "Ada\nLovelace",
        "A\u{1b}[31mda",
    ] {
        let registered = service.register("grace@example.com", PASSWORD, name).await;
        let renamed = service
            .execute(UPDATE_PROFILE, json!({ "name": name }), Some(&token))
            .await;
        for response in [registered, renamed] {
            let (code, message) = single_error(&response);
            assert_eq!(code, "BAD_USER_INPUT", "{name:?}");
            assert!(
                message.contains("control or invisible formatting characters"),
                "{name:?}: {message}"
            );
        }
    }
    let me = service.execute(ME, json!({}), Some(&token)).await;
    assert_eq!(
        json(&me)["data"]["me"]["name"],
        "Ada",
        "the name did not change"
    );
}

const UPDATE_PROFILE: &str =
    "mutation($name: String!) { updateProfile(name: $name) { id name email } }";

#[tokio::test]
async fn update_profile_renames_the_caller() {
    let service = TestService::new();
    let token = registered(&service, "ada@example.com").await;
    let response = service
        .execute(
            UPDATE_PROFILE,
            json!({ "name": "  Countess Lovelace " }),
            Some(&token),
        )
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(
        json(&response)["data"]["updateProfile"]["name"],
        "Countess Lovelace"
    );
    let me = service.execute(ME, json!({}), Some(&token)).await;
    assert_eq!(json(&me)["data"]["me"]["name"], "Countess Lovelace");

    let empty = service
        .execute(UPDATE_PROFILE, json!({ "name": " " }), Some(&token))
        .await;
    assert_eq!(single_error(&empty).0, "BAD_USER_INPUT");
    let anonymous = service
        .execute(UPDATE_PROFILE, json!({ "name": "X" }), None)
        .await;
    assert_eq!(single_error(&anonymous).0, "UNAUTHENTICATED");
}

#[tokio::test]
async fn admin_emails_register_as_admin_and_others_as_customers() {
    let service = TestService::with_admins(&["Root@Example.com"]);
    let admin = service.register("root@example.COM", PASSWORD, "Root").await;
    assert_eq!(json(&admin)["data"]["register"]["user"]["role"], "ADMIN");
    let claims = service
        .state
        .authenticator()
        .viewer(Some(&format!("Bearer {}", token_of(&admin, "register"))))
        .await;
    match claims {
        storefront_shared::auth::Viewer::User(claims) => assert_eq!(claims.role, Role::Admin),
        other => panic!("expected a user, got {other:?}"),
    }
    let customer = service.register("ada@example.com", PASSWORD, "Ada").await;
    assert_eq!(
        json(&customer)["data"]["register"]["user"]["role"],
        "CUSTOMER"
    );
}

fn sign(key: &SigningKey, kid: &str, claims: &Claims) -> String {
    let der = key.to_pkcs8_der().expect("encodes");
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes())).expect("signs")
}

#[tokio::test]
async fn forged_expired_and_malformed_tokens_are_unauthenticated() {
    let service = TestService::new();
    let response = service.register("ada@example.com", PASSWORD, "Ada").await;
    let user_id = json(&response)["data"]["register"]["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let kid = service.state.accounts().tokens().kid().to_owned();
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| Claims {
        sub: user_id.clone(),
        role: Role::Admin,
        iat: now - 7200,
        exp,
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        jti: "test".into(),
        ver: 0,
    };
    let forger = SigningKey::generate(&mut rand::rngs::OsRng);
    let forged = sign(&forger, &kid, &claims(now + 600));
    let expired = sign(&service.key, &kid, &claims(now - 600));
    let genuine = sign(&service.key, &kid, &claims(now + 600));

    for (what, token) in [
        ("forged", forged.as_str()),
        ("expired", expired.as_str()),
        ("malformed", "not.a.jwt"),
    ] {
        let (code, _) = single_error(&service.execute(ME, json!({}), Some(token)).await);
        assert_eq!(code, "UNAUTHENTICATED", "{what} token");
    }
    // The same claims, genuinely signed, are accepted: the checks above tested the token.
    let me = service.execute(ME, json!({}), Some(&genuine)).await;
    assert!(me.errors.is_empty(), "{:?}", me.errors);
}

async fn send(service: &TestService, request: Request<Body>) -> (StatusCode, Value) {
    storefront_shared::testing::send(app(service.state.clone()), request).await
}

fn post_graphql(body: &Value, token: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/graphql").header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(Body::from(body.to_string())).expect("request")
}

#[tokio::test]
async fn over_http_a_registered_token_authenticates_me() {
    let service = TestService::new();
    let register = json!({
        "query": common::REGISTER,
        "variables": { "input": { "email": "ada@example.com", "password": PASSWORD, "name": "Ada" } }
    });
    let (status, body) = send(&service, post_graphql(&register, None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["data"]["register"]["token"].as_str().expect("token");

    let (status, body) = send(&service, post_graphql(&json!({ "query": ME }), Some(token))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["me"]["email"], "ada@example.com");

    let login = json!({
        "query": LOGIN,
        "variables": { "email": "ada@example.com", "password": "wrong password" }
    });
    let (_, body) = send(&service, post_graphql(&login, None)).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    let (_, body) = send(
        &service,
        post_graphql(&json!({ "query": ME }), Some("nope")),
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn the_jwks_endpoint_serves_a_key_that_verifies_issued_tokens() {
    let service = TestService::new();
    let token = registered(&service, "ada@example.com").await;
    let request = Request::get("/.well-known/jwks.json")
        .body(Body::empty())
        .expect("request");
    let (status, body) = send(&service, request).await;
    assert_eq!(status, StatusCode::OK);
    let key = &body["keys"][0];
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");

    let jwks: JwkSet = serde_json::from_value(body).expect("a JWKS");
    let claims = KeySet::from_jwks(&jwks)
        .verify(&token)
        .await
        .expect("the published key verifies the token");
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.aud, AUDIENCE);
    assert_eq!(claims.ver, 0);
}

#[tokio::test]
async fn a_malformed_json_body_is_a_400_with_errors() {
    let service = TestService::new();
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"query": "{ me { id }"#))
        .expect("request");
    let (status, body) = send(&service, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"][0]["message"].is_string(), "{body}");
}

#[tokio::test]
async fn health_and_ready_answer_200_when_the_store_answers() {
    let service = TestService::new();
    for path in ["/health", "/ready"] {
        let request = Request::get(path).body(Body::empty()).expect("request");
        let (status, _) = send(&service, request).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
}
