//! The `router` binary's subcommands: `plan`, `compose` and start-up errors.
#![allow(clippy::unwrap_used)]

use std::process::Output;

use crate::common::FakeSubgraph;
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
async fn plan_keeps_defer_reads_its_if_from_variables_and_strips_it_on_request() {
    let query = "query($d: Boolean!) { me { name ... @defer(if: $d, label: \"orders\") { orders { edges { cursor } } } } }";
    let plan = |extra: &'static [&'static str]| async move {
        let mut args = vec!["plan", "--supergraph", FIXTURE, query];
        args.extend_from_slice(extra);
        let output = router(&args).await;
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let deferred = plan(&["--variables", "{\"d\": true}"]).await;
    assert!(
        deferred.contains("Deferred(id: 0, label: \"orders\", path: \"me\", parent: primary) {"),
        "{deferred}"
    );
    // `if: false`, and `--no-defer` whatever the variables: one plain plan.
    let plain = plan(&["--variables", "{\"d\": false}"]).await;
    assert!(!plain.contains("Defer"), "{plain}");
    assert!(plain.contains("Flatten(path: \"me\")"), "{plain}");
    assert_eq!(
        plan(&["--no-defer", "--variables={\"d\": true}"]).await,
        plain
    );
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

const A_SDL: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
    type Query { me: User }
    type User @key(fields: "id") { id: ID! name: String! }"#;

const B_SDL: &str = r#"extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
    type Query { order: Order }
    type Order @key(fields: "id") { id: ID! buyer: User! }
    type User @key(fields: "id") { id: ID! }"#;

/// A fake subgraph giving `sdl` for `_service` and `data` for anything else.
async fn serving_subgraph(sdl: &'static str, data: Value) -> FakeSubgraph {
    FakeSubgraph::start(move |body: &Value| {
        let query = body["query"].as_str().unwrap_or_default();
        if query.contains("_service") {
            json!({ "data": { "_service": { "sdl": sdl } } })
        } else {
            json!({ "data": data })
        }
    })
    .await
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn serve_composes_from_the_subgraphs_given_with_subgraph_flags() {
    let a = serving_subgraph(
        A_SDL,
        json!({ "_entities": [{ "__typename": "User", "name": "Ada" }] }),
    )
    .await;
    let b = serving_subgraph(
        B_SDL,
        json!({ "order": { "id": "o1", "buyer": { "__typename": "User", "id": "u1" } } }),
    )
    .await;
    let port = free_port();
    let a_arg = format!("a={}", a.url);
    let b_arg = format!("b={}", b.url);
    let _router = tokio::process::Command::new(env!("CARGO_BIN_EXE_router"))
        .args(["serve", "--subgraph", &a_arg, "--subgraph", &b_arg])
        .env_clear()
        .env("RUST_LOG", "error")
        .env("PORT", port.to_string())
        .env("BIND_ADDRESS", "127.0.0.1")
        // Not the fakes: the flags must win over the environment.
        .env("SUBGRAPHS", format!("c={}", crate::common::dead_url()))
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    crate::common::wait_until_ready(&http, &base, std::time::Duration::from_secs(20)).await;
    let body: Value = http
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .body(json!({ "query": "{ order { id buyer { name } } }" }).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({ "data": { "order": { "id": "o1", "buyer": { "name": "Ada" } } } })
    );
    let asked = |fake: &FakeSubgraph| {
        fake.received()
            .iter()
            .filter(|r| !r.body["query"].as_str().unwrap().contains("_service"))
            .count()
    };
    assert_eq!((asked(&a), asked(&b)), (1, 1));
}

#[tokio::test]
async fn compose_reads_a_rover_supergraph_config_with_separate_sdl_urls() {
    let a = sdl_subgraph(A_SDL).await;
    let b = sdl_subgraph(B_SDL).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("supergraph.yaml");
    std::fs::write(
        &file,
        format!(
            "federation_version: =2.5.0\nsubgraphs:\n  a:\n    routing_url: http://a.internal/graphql\n    schema:\n      subgraph_url: {}\n  b:\n    routing_url: {}\n",
            a.url, b.url
        ),
    )
    .unwrap();
    let file_arg = file.display().to_string();
    let output = router(&["compose", "--subgraphs-file", &file_arg]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let sdl = text(&output.stdout);
    assert!(
        sdl.contains(r#"@join__graph(name: "a", url: "http://a.internal/graphql")"#),
        "{sdl}"
    );
    assert!(
        sdl.contains(&format!(r#"@join__graph(name: "b", url: "{}")"#, b.url)),
        "{sdl}"
    );

    std::fs::write(
        &file,
        "subgraphs:\n  a:\n    routing_url: http://a/graphql\n    schema:\n      file: ./a.graphql\n",
    )
    .unwrap();
    let output = router(&["serve", "--subgraphs-file", &file_arg]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("schema.file is not supported"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[tokio::test]
async fn bad_subgraph_names_and_urls_fail_start_up_with_one_line() {
    let output = router(&["serve", "--subgraph", "9a=http://127.0.0.1:1/graphql"]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("subgraph name `9a` is invalid"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_router"))
        .env_clear()
        .env("RUST_LOG", "error")
        .env("SUBGRAPHS", "a=http://127.0.0.1:1/graphql,b=127.0.0.1:2")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("`127.0.0.1:2`, which is not an http"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}
