//! The schema the users subgraph serves: it must equal the committed
//! `schema/users.graphql`, and must have every name API.md promises.

mod common;

use std::path::PathBuf;

use async_graphql::SDLExportOptions;
use common::{TestService, json};
use serde_json::json;

const REFRESH: &str = "UPDATE_SCHEMA=1 cargo test -p storefront-users --test schema";

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/users.graphql")
}

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
    let path = committed_path();
    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::write(&path, &sdl).expect("writes schema/users.graphql");
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == sdl,
        "schema/users.graphql is out of date with the users subgraph.\n\
         If the change is intended, refresh it with:\n    {REFRESH}\n\
         and commit the result.\n--- served SDL ---\n{sdl}"
    );
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

/// The text of `type Name ... { ... }` (or `input`/`enum`), with spaces collapsed.
fn block(sdl: &str, keyword: &str, name: &str) -> String {
    let start = sdl
        .find(&format!("{keyword} {name} "))
        .or_else(|| sdl.find(&format!("{keyword} {name}\n")))
        .unwrap_or_else(|| panic!("the SDL has no {keyword} {name}:\n{sdl}"));
    let rest = &sdl[start..];
    let end = rest.find('}').map_or(rest.len(), |i| i + 1);
    rest[..end].split_whitespace().collect::<Vec<_>>().join(" ")
}

fn assert_has(block: &str, needle: &str) {
    assert!(block.contains(needle), "expected `{needle}` in:\n{block}");
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
