//! The `router` binary's subcommands: `plan`, `compose` and start-up errors.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Output;

use common::FakeSubgraph;
use serde_json::{Value, json};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/apollo-supergraph.graphql"
);

async fn router(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_router"))
        .args(args)
        .env_clear()
        .env("RUST_LOG", "error")
        .output()
        .await
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn sdl_subgraph(sdl: &'static str) -> FakeSubgraph {
    FakeSubgraph::start(move |_: &Value| json!({ "data": { "_service": { "sdl": sdl } } })).await
}

#[tokio::test]
async fn plan_prints_the_plan_of_a_query_given_inline_or_as_a_file() {
    let output = router(&[
        "plan",
        "--supergraph",
        FIXTURE,
        "{ me { name orders { edges { cursor } } } }",
    ])
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let plan = text(&output.stdout);
    assert!(plan.contains("Fetch(service: \"users\")"), "{plan}");
    assert!(plan.contains("Flatten(path: \"me\")"), "{plan}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.graphql");
    std::fs::write(&file, "{ product(sku: \"A\") { name } }").unwrap();
    let output = router(&[
        "plan",
        "--supergraph",
        FIXTURE,
        &format!("@{}", file.display()),
    ])
    .await;
    assert!(
        text(&output.stdout).contains("inventory"),
        "{}",
        text(&output.stderr)
    );
}

#[tokio::test]
async fn plan_of_an_invalid_query_fails_with_one_line() {
    let output = router(&["plan", "--supergraph", FIXTURE, "{ nope }"]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("router: "), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[tokio::test]
async fn compose_prints_the_supergraph_or_every_error_and_exits_1() {
    let users = sdl_subgraph(
        r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
        type Query { me: User }
        type User @key(fields: "id") { id: ID! name: String! }"#,
    )
    .await;
    let orders = sdl_subgraph(
        r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
        type Query { order(id: ID!): Order }
        type Order @key(fields: "id") { id: ID! buyer: User! }
        type User @key(fields: "id") { id: ID! }"#,
    )
    .await;
    let users_arg = format!("users={}", users.url);
    let orders_arg = format!("orders={}", orders.url);
    let output = router(&[
        "compose",
        "--subgraph",
        &users_arg,
        "--subgraph",
        &orders_arg,
    ])
    .await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let sdl = text(&output.stdout);
    assert!(sdl.contains("@join__graph(name: \"orders\""), "{sdl}");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("supergraph.graphql");
    let out_arg = out.display().to_string();
    let output = router(&[
        "compose",
        "--subgraph",
        &users_arg,
        "--subgraph",
        &orders_arg,
        "--out",
        &out_arg,
    ])
    .await;
    assert!(output.status.success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), sdl);

    let clash = sdl_subgraph(
        r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
        type Query { other: User }
        type User @key(fields: "id") { id: ID! name: Int! }"#,
    )
    .await;
    let clash_arg = format!("other={}", clash.url);
    let output = router(&[
        "compose",
        "--subgraph",
        &users_arg,
        "--subgraph",
        &clash_arg,
    ])
    .await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("User.name"), "{stderr}");
    assert!(
        stderr.lines().any(|l| l.starts_with('[')),
        "one error per line with its code: {stderr}"
    );
}

#[tokio::test]
async fn unknown_options_and_a_missing_supergraph_file_fail_with_one_line() {
    let output = router(&["serve", "--bogus"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("unknown option `--bogus`"));

    let output = router(&["--supergraph", "/nonexistent/supergraph.graphql"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("/nonexistent/supergraph.graphql"),
        "{}",
        text(&output.stderr)
    );
}
