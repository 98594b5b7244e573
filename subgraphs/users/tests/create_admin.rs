//! `users create-admin`: creates an ADMIN or promotes an account, in the
//! store the service uses, without anyone having to register first.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{TestService, json, token_of};
use serde_json::json;
use storefront_shared::auth::Role;
use storefront_shared::testing::{ServiceProcess, free_port};
use storefront_users::admin::{AdminOutcome, create_admin};
use storefront_users::store::{EmbeddedUserRepository, SharedRepository};

const BINARY: &str = env!("CARGO_BIN_EXE_users");

fn no_password() -> anyhow::Result<String> {
    anyhow::bail!("no password should be needed")
}

#[tokio::test]
async fn creates_a_new_admin_that_can_log_in() {
    let service = TestService::new();
    let outcome = create_admin(&service.repo, "Ops@Shop.example", "Ops", || {
        Ok("a long admin password".into())
    })
    .await
    .expect("creates");
    let AdminOutcome::Created(user) = outcome else {
        panic!("created: {outcome:?}")
    };
    assert_eq!(
        (user.role, user.email.as_str()),
        (Role::Admin, "ops@shop.example")
    );

    let login = service
        .login("ops@shop.example", "a long admin password")
        .await;
    token_of(&login, "login");
    assert_eq!(json(&login)["data"]["login"]["user"]["role"], "ADMIN");
}

#[tokio::test]
async fn promotes_an_existing_account_without_touching_its_password() {
    let service = TestService::new();
    token_of(
        &service
            .register("ada@example.com", "a long password", "Ada")
            .await,
        "register",
    );
    let outcome = create_admin(&service.repo, "ada@example.com", "ignored", no_password)
        .await
        .expect("promotes");
    assert!(
        matches!(&outcome, AdminOutcome::Promoted(u) if u.role == Role::Admin),
        "{outcome:?}"
    );
    let again = create_admin(&service.repo, "ada@example.com", "ignored", no_password)
        .await
        .expect("idempotent");
    assert!(matches!(again, AdminOutcome::AlreadyAdmin(_)), "{again:?}");

    let login = service.login("ada@example.com", "a long password").await;
    assert_eq!(
        json(&login)["data"]["login"]["user"]["role"],
        "ADMIN",
        "{login:?}"
    );
}

#[tokio::test]
async fn a_weak_password_or_a_bad_email_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo: SharedRepository = Arc::new(EmbeddedUserRepository::open(dir.path()).expect("opens"));
    let error = create_admin(&repo, "ops@shop.example", "Ops", || Ok("short".into()))
        .await
        .expect_err("weak password");
    assert!(format!("{error:#}").contains("at least 8"), "{error:#}");
    let error = create_admin(&repo, "not an email", "Ops", no_password)
        .await
        .expect_err("bad email");
    assert!(format!("{error:#}").contains("--email"), "{error:#}");
    let email = storefront_users::domain::Email::parse("ops@shop.example").expect("valid");
    assert!(repo.find_by_email(&email).await.expect("reads").is_none());
}

#[tokio::test]
async fn the_binary_creates_an_admin_from_stdin_that_the_service_then_serves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_str().expect("utf-8 path");
    let mut child = Command::new(BINARY)
        .args([
            "create-admin",
            "--email",
            "ops@shop.example",
            "--name",
            "Ops",
        ])
        .env("DATA_DIR", data_dir)
        .env_remove("ADMIN_PASSWORD")
        .env_remove("MONGODB_URI")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a long admin password\n")
        .expect("writes the password");
    let output = child.wait_with_output().expect("finishes");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with("created ADMIN ops@shop.example"),
        "{stdout}"
    );

    // No ADMIN_EMAILS: the role comes from the store alone.
    let port = free_port();
    let mut users = ServiceProcess::spawn(BINARY, port, &[("DATA_DIR", data_dir)]);
    users.wait_ready(Duration::from_secs(30)).await;
    let login: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/graphql", users.url()))
        .json(&json!({
            "query": "mutation { login(email: \"ops@shop.example\", password: \"a long admin password\") { user { role } } }"
        }))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert_eq!(login["data"]["login"]["user"]["role"], "ADMIN", "{login}");
}

#[test]
fn the_binary_explains_a_missing_email_in_one_line() {
    let output = Command::new(BINARY)
        .arg("create-admin")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("users create-admin: --email is required"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}
