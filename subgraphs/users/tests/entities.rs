//! `_entities` for `User` references: batched into one store call, answered in
//! representation order, null for unknown ids; `id` is public, `email`, `name`,
//! `role` and `createdAt` only for the owner, an ADMIN or another service.

mod common;

use std::sync::Arc;

use common::{CountingRepository, TestService, json, token_of, user};
use serde_json::{Value, json};
use storefront_users::store::{EmbeddedUserRepository, SharedRepository};

const ENTITIES: &str = "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id email name role } } }";

fn representations(ids: &[&str]) -> Value {
    let list: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "__typename": "User", "id": id }))
        .collect();
    json!({ "representations": list })
}

#[tokio::test]
async fn five_user_references_cost_one_store_call_in_representation_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let embedded: SharedRepository =
        Arc::new(EmbeddedUserRepository::open(dir.path()).expect("opens"));
    let counting = Arc::new(CountingRepository::new(embedded));
    let service = TestService::over(counting.clone(), &[], dir);

    let mut ids = Vec::new();
    for n in 0..4 {
        let user = user(&format!("user{n}@example.com"), &format!("User {n}"));
        service.repo.insert(&user).await.expect("inserts");
        ids.push(user.id);
    }
    counting.reset();

    // Reversed and with an unknown id in the middle, to see the order is kept.
    let wanted = [
        ids[3].as_str(),
        ids[1].as_str(),
        "00000000-0000-0000-0000-000000000000",
        ids[0].as_str(),
        ids[2].as_str(),
    ];
    let response = service
        .execute_as_service(ENTITIES, representations(&wanted))
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);

    assert_eq!(counting.calls(), 1, "exactly one store call");
    assert_eq!(counting.batch_calls(), 1, "and it is find_by_ids");

    let entities = json(&response)["data"]["_entities"].clone();
    let got: Vec<Value> = entities
        .as_array()
        .expect("a list")
        .iter()
        .map(|entity| entity["id"].clone())
        .collect();
    let expected: Vec<Value> = [
        json!(ids[3]),
        json!(ids[1]),
        Value::Null,
        json!(ids[0]),
        json!(ids[2]),
    ]
    .into();
    assert_eq!(got, expected);
    assert_eq!(entities[0]["email"], "user3@example.com");
    assert_eq!(entities[0]["role"], "CUSTOMER");
    assert_eq!(entities[2], Value::Null);
}

#[tokio::test]
async fn a_single_reference_resolves_a_user() {
    let service = TestService::new();
    let user = user("ada@example.com", "Ada");
    service.repo.insert(&user).await.expect("inserts");
    let response = service
        .execute_as_service(ENTITIES, representations(&[user.id.as_str()]))
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(json(&response)["data"]["_entities"][0]["name"], "Ada");
}

const PRIVATE_FIELDS: [&str; 4] = ["email", "name", "role", "createdAt"];

/// Asks for one private field of `id` as the caller with `token`; the error
/// code, or `None` with the field's value in the answer.
async fn private_field(
    service: &TestService,
    id: &str,
    field: &str,
    token: Option<&str>,
) -> (Option<String>, Value) {
    let query = format!(
        "query($representations: [_Any!]!) {{ _entities(representations: $representations) {{ ... on User {{ id {field} }} }} }}"
    );
    let response = service.execute(&query, representations(&[id]), token).await;
    let body = json(&response);
    let code = body["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned);
    (code, body["data"]["_entities"][0][field].clone())
}

#[tokio::test]
async fn an_anonymous_lookup_gets_the_id_but_none_of_the_private_fields() {
    let service = TestService::new();
    let user = user("ada@example.com", "Ada");
    service.repo.insert(&user).await.expect("inserts");

    let only_id = service
        .execute(
            "query($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id } } }",
            representations(&[user.id.as_str()]),
            None,
        )
        .await;
    assert!(only_id.errors.is_empty(), "{:?}", only_id.errors);
    assert_eq!(json(&only_id)["data"]["_entities"][0]["id"], json!(user.id));

    for field in PRIVATE_FIELDS {
        let (code, value) = private_field(&service, &user.id, field, None).await;
        assert_eq!(code.as_deref(), Some("UNAUTHENTICATED"), "{field}");
        assert_eq!(value, Value::Null, "{field} is not shown");
    }
}

#[tokio::test]
async fn another_customer_is_forbidden_the_private_fields() {
    let service = TestService::new();
    let ada = token_of(
        &service
            .register("ada@example.com", "a long password", "Ada")
            .await,
        "register",
    );
    let bob = service
        .register("bob@example.com", "a long password", "Bob")
        .await;
    let bob_id = json(&bob)["data"]["register"]["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for field in PRIVATE_FIELDS {
        let (code, value) = private_field(&service, &bob_id, field, Some(&ada)).await;
        assert_eq!(code.as_deref(), Some("FORBIDDEN"), "{field}");
        assert_eq!(value, Value::Null, "{field} is not shown");
    }
}

#[tokio::test]
async fn the_owner_and_an_admin_see_the_private_fields() {
    let service = TestService::with_admins(&["boss@example.com"]);
    let ada = service
        .register("ada@example.com", "a long password", "Ada")
        .await;
    let ada_token = token_of(&ada, "register");
    let ada_id = json(&ada)["data"]["register"]["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let boss = token_of(
        &service
            .register("boss@example.com", "a long password", "Boss")
            .await,
        "register",
    );
    for token in [&ada_token, &boss] {
        let response = service
            .execute(ENTITIES, representations(&[ada_id.as_str()]), Some(token))
            .await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let entity = &json(&response)["data"]["_entities"][0];
        assert_eq!(entity["email"], "ada@example.com");
        assert_eq!(entity["name"], "Ada");
        assert_eq!(entity["role"], "CUSTOMER");
    }
}

#[tokio::test]
async fn over_http_only_the_service_credential_opens_the_private_fields() {
    use axum::body::Body;
    use axum::http::Request;

    let service = TestService::new();
    let user = user("ada@example.com", "Ada");
    service.repo.insert(&user).await.expect("inserts");
    let body = json!({ "query": ENTITIES, "variables": representations(&[user.id.as_str()]) });
    let request = |credential: &str| {
        Request::post("/graphql")
            .header("content-type", "application/json")
            .header("x-service-token", credential)
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let app = || storefront_users::app(service.state.clone());

    let (_, answer) = storefront_shared::testing::send(app(), request("svc")).await;
    assert_eq!(
        answer["data"]["_entities"][0]["email"], "ada@example.com",
        "{answer}"
    );
    let (_, answer) = storefront_shared::testing::send(app(), request("wrong")).await;
    assert_eq!(
        answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{answer}"
    );
    assert_eq!(
        answer["data"]["_entities"][0]["email"],
        Value::Null,
        "{answer}"
    );
}
