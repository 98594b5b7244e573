//! The schema the users subgraph serves: it must equal the committed
//! `schema/users.graphql`, and must have every name API.md promises.

mod common;

use async_graphql::SDLExportOptions;
use common::{TestService, json};
use serde_json::json;
use storefront_shared::testing::{assert_has, assert_schema_file_is_current, sdl_block as block};

/// The federation SDL that `_service { sdl }` returns (what the router composes).
async fn served_sdl() -> String {
    let service = TestService::new();
    let response = service
        .execute("{ _service { sdl } }", json!({}), None)
        .await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    json(&response)["data"]["_service"]["sdl"]
        .as_str()
        .expect("sdl string")
        .to_owned()
}

#[tokio::test]
async fn served_sdl_matches_the_committed_schema_file() {
    let sdl = served_sdl().await;
    assert_schema_file_is_current("users", &sdl);
}

#[tokio::test]
async fn served_sdl_equals_the_exported_federation_sdl() {
    let service = TestService::new();
    let exported = service
        .state
        .schema()
        .sdl_with_options(SDLExportOptions::new().federation().compose_directive());
    assert_eq!(served_sdl().await, exported);
}

#[tokio::test]
async fn the_schema_has_every_users_name_and_type_api_md_promises() {
    let sdl = served_sdl().await;
    assert!(sdl.contains("scalar DateTime"), "{sdl}");

    let user = block(&sdl, "type", "User");
    assert_has(&user, r#"@key(fields: "id")"#);
    for field in [
        "id: ID!",
        "email: String!",
        "name: String!",
        "role: Role!",
        "createdAt: DateTime!",
    ] {
        assert_has(&user, field);
    }
    assert!(
        !user.contains("orders"),
        "User.orders belongs to the orders subgraph"
    );

    let role = block(&sdl, "enum", "Role");
    assert_has(&role, "CUSTOMER");
    assert_has(&role, "ADMIN");

    let payload = block(&sdl, "type", "AuthPayload");
    for field in ["token: String!", "expiresAt: DateTime!", "user: User!"] {
        assert_has(&payload, field);
    }

    let input = block(&sdl, "input", "RegisterInput");
    for field in ["email: String!", "password: String!", "name: String!"] {
        assert_has(&input, field);
    }

    let query = block(&sdl, "type", "Query");
    assert_has(&query, "me: User");
    assert!(!query.contains("me: User!"), "me must be nullable");

    let mutation = block(&sdl, "type", "Mutation");
    for operation in [
        "register(input: RegisterInput!): AuthPayload!",
        "login(email: String!, password: String!): AuthPayload!",
        "changePassword(currentPassword: String!, newPassword: String!): Boolean!",
        "updateProfile(name: String!): User!",
    ] {
        assert_has(&mutation, operation);
    }

    assert!(
        sdl.contains("https://specs.apollo.dev/federation/v2"),
        "Federation v2 link is missing:\n{sdl}"
    );
}

#[tokio::test]
async fn the_schema_has_saved_addresses_and_hides_the_checkout_lookup() {
    let sdl = served_sdl().await;
    let user = block(&sdl, "type", "User");
    assert_has(&user, "addresses: [Address!]!");

    let address = block(&sdl, "type", "Address");
    for field in [
        "id: ID!",
        "isDefault: Boolean!",
        "name: String!",
        "line1: String!",
        "line2: String",
        "city: String!",
        "region: String",
        "postalCode: String",
        "country: String!",
        "phone: String",
    ] {
        assert_has(&address, field);
    }
    let input = block(&sdl, "input", "AddressInput");
    for field in [
        "name: String!",
        "line1: String!",
        "country: String!",
        "postalCode: String",
    ] {
        assert_has(&input, field);
    }
    assert_has(&block(&sdl, "type", "MailingAddress"), "@shareable");

    let mutation = block(&sdl, "type", "Mutation");
    for operation in [
        "addAddress(input: AddressInput!, makeDefault: Boolean = false): Address!",
        "updateAddress(id: ID!, input: AddressInput!): Address!",
        "deleteAddress(id: ID!): Boolean!",
        "setDefaultAddress(id: ID!): Address!",
    ] {
        assert_has(&mutation, operation);
    }
    let query = block(&sdl, "type", "Query");
    let internal = query
        .lines()
        .find(|line| line.contains("addressForCheckout("))
        .expect("addressForCheckout is served");
    assert!(
        internal.contains(
            "addressForCheckout(userId: ID!, addressId: ID!): MailingAddress @inaccessible"
        ),
        "{internal}"
    );
}
