//! The local run's router checks tokens itself, with the users service's
//! JWKS: a genuine token goes through, a tampered one is refused with 401
//! `UNAUTHENTICATED` by the router.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use storefront_local::{Launch, Ports, launch};

async fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reqwest::get(format!("{url}/ready"))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "the router was not ready within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn graphql(url: &str, query: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .json(&json!({ "query": query }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the router answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

#[tokio::test]
async fn the_local_router_accepts_genuine_tokens_and_refuses_tampered_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let storefront = launch(Launch {
        ports: Ports::any(),
        data_dir: Some(dir.path().to_path_buf()),
    })
    .await
    .expect("the local run starts");
    let url = storefront.router_url.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(storefront.run_until(async {
        let _ = stopped.await;
    }));
    wait_ready(&url).await;

    let (_, registered) = graphql(
        &url,
        r#"mutation { register(input: { email: "jo@example.com", password: "Correct-horse-battery-9", name: "Jo" }) { token } }"#,
        None,
    )
    .await;
    let token = registered["data"]["register"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("registered: {registered}"))
        .to_owned();
    let (status, me) = graphql(&url, "{ me { name } }", Some(&token)).await;
    assert_eq!(
        (status, &me["data"]["me"]["name"]),
        (200, &json!("Jo")),
        "{me}"
    );

    // Same header and signature, another payload: the signature no longer fits.
    let parts: Vec<&str> = token.split('.').collect();
    let forged_payload = {
        use std::fmt::Write as _;
        let mut p = parts[1].to_owned();
        let last = p.pop().expect("a payload");
        let _ = write!(p, "{}", if last == 'A' { 'B' } else { 'A' });
        p
    };
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    let (status, answer) = graphql(&url, "{ me { name } }", Some(&tampered)).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    let _ = stop.send(());
    running
        .await
        .expect("the run task")
        .expect("every service stops cleanly");
}
