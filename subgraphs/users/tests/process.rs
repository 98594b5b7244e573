//! The `users` binary as a real process: start-up, graceful shutdown on
//! SIGTERM, durability of the embedded store across a restart, and one-line
//! start-up errors for user mistakes.

use std::time::Duration;

use serde_json::{Value, json};
use storefront_shared::testing::{ServiceProcess, free_port};

const BINARY: &str = env!("CARGO_BIN_EXE_users");
const READY: Duration = Duration::from_secs(30);

async fn graphql(base: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .await
        .expect("the service answers")
        .json()
        .await
        .expect("a JSON answer")
}

const REGISTER: &str =
    "mutation($input: RegisterInput!) { register(input: $input) { token user { id role } } }";
const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token user { id } } }";

#[tokio::test]
async fn keeps_accounts_and_tokens_across_a_graceful_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_str().expect("utf-8 path");
    let port = free_port();
    let env = [("DATA_DIR", data_dir), ("ADMIN_EMAILS", "boss@example.com")];

    let mut first = ServiceProcess::spawn(BINARY, port, &env);
    first.wait_ready(READY).await;
    let registered = graphql(
        &first.url(),
        None,
        REGISTER,
        json!({ "input": { "email": "Boss@Example.com", "password": "long enough pw", "name": "Boss" } }),
    )
    .await;
    let token = registered["data"]["register"]["token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let id = registered["data"]["register"]["user"]["id"].clone();
    assert_eq!(registered["data"]["register"]["user"]["role"], "ADMIN");

    let status = first.terminate(Duration::from_secs(10)).await;
    assert!(
        status.success(),
        "SIGTERM ends the process cleanly: {status}"
    );

    let mut second = ServiceProcess::spawn(BINARY, port, &env);
    second.wait_ready(READY).await;
    let me = graphql(
        &second.url(),
        Some(&token),
        "{ me { id email } }",
        json!({}),
    )
    .await;
    assert_eq!(
        me["data"]["me"]["id"], id,
        "the old token still verifies: {me}"
    );
    assert_eq!(me["data"]["me"]["email"], "boss@example.com");
    let login = graphql(
        &second.url(),
        None,
        LOGIN,
        json!({ "e": "boss@example.com", "p": "long enough pw" }),
    )
    .await;
    assert_eq!(login["data"]["login"]["user"]["id"], id, "{login}");
}

async fn start_up_error(env: &[(&str, &str)], port: u16) -> String {
    let mut process = ServiceProcess::spawn(BINARY, port, env);
    let status = process.wait_exit(Duration::from_secs(30)).await;
    let stderr = process.stderr();
    assert_eq!(status.code(), Some(1), "exit code 1: {stderr}");
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    assert!(
        !stderr.contains("RUST_BACKTRACE"),
        "no backtrace hint: {stderr}"
    );
    stderr
}

#[tokio::test]
async fn a_taken_port_is_a_clear_one_line_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = taken.local_addr().expect("addr").port();
    let stderr = start_up_error(&[("DATA_DIR", dir.path().to_str().expect("utf-8"))], port).await;
    assert!(stderr.starts_with("users: "), "{stderr}");
    assert!(stderr.contains("already in use"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[tokio::test]
async fn bad_settings_name_the_setting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_str().expect("utf-8");
    let stderr = start_up_error(
        &[("DATA_DIR", data_dir), ("PORT", "not-a-port")],
        free_port(),
    )
    .await;
    assert!(stderr.contains("PORT"), "{stderr}");
}

#[tokio::test]
async fn an_unreachable_mongodb_is_named() {
    let uri = format!(
        "mongodb://127.0.0.1:{}/?serverSelectionTimeoutMS=300&connectTimeoutMS=300",
        free_port()
    );
    let stderr = start_up_error(&[("MONGODB_URI", &uri)], free_port()).await;
    assert!(stderr.contains("cannot reach MongoDB"), "{stderr}");
}

#[tokio::test]
async fn the_healthcheck_command_probes_a_running_service() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut service = ServiceProcess::spawn(
        BINARY,
        port,
        &[("DATA_DIR", dir.path().to_str().expect("utf-8"))],
    );
    service.wait_ready(READY).await;

    let probe = |port: u16| {
        std::process::Command::new(BINARY)
            .arg("healthcheck")
            .env_clear()
            .env("PORT", port.to_string())
            .output()
            .expect("the probe runs")
    };
    let healthy = probe(port);
    assert!(
        healthy.status.success(),
        "{}",
        String::from_utf8_lossy(&healthy.stderr)
    );
    let nobody = probe(free_port());
    assert_eq!(nobody.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&nobody.stderr).starts_with("healthcheck: "));
}
