//! `_entities` for `User` references: batched into one store call, answered in
//! representation order, null for unknown ids.

mod common;

use std::sync::Arc;

use common::{CountingRepository, TestService, json, user};
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
        .execute(ENTITIES, representations(&wanted), None)
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
        .execute(ENTITIES, representations(&[user.id.as_str()]), None)
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    assert_eq!(json(&response)["data"]["_entities"][0]["name"], "Ada");
}
