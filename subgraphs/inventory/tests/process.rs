//! The `inventory` binary as a real process: the demo catalogue is seeded,
//! SIGTERM stops it cleanly, and products, stock and reservations survive a
//! restart on the embedded store; the sweeper's period under its old name
//! still works, with a deprecation warning at start-up.

use std::time::Duration;

use serde_json::{Value, json};
use storefront_shared::auth::SERVICE_TOKEN_HEADER;
use storefront_shared::testing::{ServiceProcess, free_port};

const BINARY: &str = env!("CARGO_BIN_EXE_inventory");
const READY: Duration = Duration::from_secs(30);
const SERVICE_TOKEN: &str = "process-test-service-token";
const SKU: &str = "MUG-STONEWARE-12OZ";

async fn graphql(base: &str, query: &str, variables: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .header(SERVICE_TOKEN_HEADER, SERVICE_TOKEN)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("the service answers")
        .json()
        .await
        .expect("a JSON answer")
}

async fn stock(base: &str) -> i64 {
    let answer = graphql(
        base,
        "query($sku: ID!) { product(sku: $sku) { stock } }",
        json!({ "sku": SKU }),
    )
    .await;
    answer["data"]["product"]["stock"]
        .as_i64()
        .unwrap_or_else(|| panic!("a stock figure: {answer}"))
}

#[tokio::test]
async fn keeps_products_stock_and_reservations_across_a_graceful_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_str().expect("utf-8 path");
    let port = free_port();
    let seeded = [
        ("DATA_DIR", data_dir),
        ("SERVICE_TOKEN", SERVICE_TOKEN),
        ("SEED_DEMO_CATALOGUE", "true"),
    ];

    let mut first = ServiceProcess::spawn(BINARY, port, &seeded);
    first.wait_ready(READY).await;
    let initial = stock(&first.url()).await;
    assert!(initial >= 3, "the demo catalogue has {SKU} in stock");
    let reserved = graphql(
        &first.url(),
        "mutation($lines: [StockLineInput!]!) { reserveStock(orderId: \"order-1\", lines: $lines) { status } }",
        json!({ "lines": [{ "sku": SKU, "quantity": 3 }] }),
    )
    .await;
    assert_eq!(
        reserved["data"]["reserveStock"]["status"], "RESERVED",
        "{reserved}"
    );
    assert_eq!(stock(&first.url()).await, initial - 3);
    let status = first.terminate(Duration::from_secs(10)).await;
    assert!(
        status.success(),
        "SIGTERM ends the process cleanly: {status}"
    );

    // Restarted without seeding: everything comes from the store on disk.
    let mut second = ServiceProcess::spawn(
        BINARY,
        port,
        &[("DATA_DIR", data_dir), ("SERVICE_TOKEN", SERVICE_TOKEN)],
    );
    second.wait_ready(READY).await;
    assert_eq!(stock(&second.url()).await, initial - 3);
    let released = graphql(
        &second.url(),
        "mutation { releaseStock(orderId: \"order-1\") { status } }",
        json!({}),
    )
    .await;
    assert_eq!(
        released["data"]["releaseStock"]["status"], "RELEASED",
        "{released}"
    );
    assert_eq!(stock(&second.url()).await, initial);
}

#[tokio::test]
async fn a_bad_setting_is_a_one_line_error() {
    let mut process =
        ServiceProcess::spawn(BINARY, free_port(), &[("SEED_DEMO_CATALOGUE", "maybe")]);
    let status = process.wait_exit(Duration::from_secs(30)).await;
    let stderr = process.stderr();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("inventory: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[tokio::test]
async fn warns_at_start_up_when_the_old_sweep_interval_name_is_set() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_str().expect("utf-8 path");
    let env = [("DATA_DIR", data_dir), ("RECOVERY_INTERVAL", "2s")];
    let mut inventory = ServiceProcess::spawn_with_logs(BINARY, free_port(), &env);
    inventory.wait_ready(READY).await;
    let status = inventory.terminate(Duration::from_secs(10)).await;
    assert!(
        status.success(),
        "SIGTERM ends the process cleanly: {status}"
    );
    let logs = inventory.logs();
    assert!(
        logs.contains(
            "RECOVERY_INTERVAL (recovery_interval) is deprecated: rename it to SWEEP_INTERVAL"
        ),
        "{logs}"
    );
}
