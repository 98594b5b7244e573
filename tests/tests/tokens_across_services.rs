//! Inventory trusts the tokens the users service signs, knowing nothing but
//! `USERS_URL`: it discovers the public key from the users service's JWKS.

use serde_json::json;
use storefront_e2e::{error_code, register, start_inventory, start_users};

const CREATE: &str = "mutation($input: CreateProductInput!) { createProduct(input: $input) { sku stock price { amount currency } } }";

fn product(sku: &str) -> serde_json::Value {
    json!({ "input": { "sku": sku, "name": "Walnut tray", "description": "Oiled walnut.", "price": 4500, "currency": "USD", "stock": 7 } })
}

#[tokio::test]
async fn inventory_accepts_admin_tokens_signed_by_the_users_service() {
    let users_dir = tempfile::tempdir().expect("temp dir");
    let inventory_dir = tempfile::tempdir().expect("temp dir");
    let users = start_users(users_dir.path(), &["admin@shop.test"]).await;
    let inventory = start_inventory(inventory_dir.path(), &users.graphql_url).await;

    let admin = register(&users, "admin@shop.test").await;
    let created = inventory
        .graphql(Some(&admin), CREATE, product("TRAY-1"))
        .await;
    assert_eq!(created["data"]["createProduct"]["stock"], 7, "{created}");

    let customer = register(&users, "buyer@shop.test").await;
    let refused = inventory
        .graphql(Some(&customer), CREATE, product("TRAY-2"))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");

    let anonymous = inventory.graphql(None, CREATE, product("TRAY-3")).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

#[tokio::test]
async fn tokens_from_another_users_service_are_rejected() {
    let dirs: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("temp dir"))
        .collect();
    let trusted = start_users(dirs[0].path(), &[]).await;
    let stranger = start_users(dirs[1].path(), &["admin@shop.test"]).await;
    let inventory = start_inventory(dirs[2].path(), &trusted.graphql_url).await;

    // An ADMIN token, but signed with another key than the one inventory trusts.
    let forged = register(&stranger, "admin@shop.test").await;
    let answer = inventory
        .graphql(Some(&forged), CREATE, product("TRAY-9"))
        .await;
    assert_eq!(error_code(&answer), "UNAUTHENTICATED");
}

#[tokio::test]
async fn tokens_cannot_be_checked_while_the_users_service_is_down() {
    let dirs: Vec<_> = (0..2)
        .map(|_| tempfile::tempdir().expect("temp dir"))
        .collect();
    let users = start_users(dirs[0].path(), &["admin@shop.test"]).await;
    let admin = register(&users, "admin@shop.test").await;
    let users_url = users.graphql_url.clone();
    drop(users);
    let inventory = start_inventory(dirs[1].path(), &users_url).await;

    let answer = inventory
        .graphql(Some(&admin), CREATE, product("TRAY-5"))
        .await;
    assert_eq!(error_code(&answer), "SERVICE_UNAVAILABLE", "{answer}");
    // Public queries still work without the users service.
    let products = inventory
        .graphql(
            None,
            "{ products(first: 2) { edges { node { sku } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        products["data"]["products"]["edges"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{products}"
    );
}
