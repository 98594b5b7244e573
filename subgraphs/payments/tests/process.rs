//! The `payments` binary as a real process: the sweeper's period under its
//! old name still works, with a deprecation warning at start-up.

use std::time::Duration;

use storefront_shared::testing::{ServiceProcess, free_port};

const BINARY: &str = env!("CARGO_BIN_EXE_payments");
const READY: Duration = Duration::from_secs(30);

async fn start_up_logs(env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().to_str().expect("utf-8 path");
    let mut env = env.to_vec();
    env.push(("DATA_DIR", data_dir));
    let mut payments = ServiceProcess::spawn_with_logs(BINARY, free_port(), &env);
    payments.wait_ready(READY).await;
    let status = payments.terminate(Duration::from_secs(10)).await;
    assert!(
        status.success(),
        "SIGTERM ends the process cleanly: {status}"
    );
    payments.logs()
}

#[tokio::test]
async fn warns_at_start_up_when_the_old_sweep_interval_name_is_set() {
    let logs = start_up_logs(&[("PAYMENTS_SWEEP_INTERVAL", "2s")]).await;
    assert!(
        logs.contains("PAYMENTS_SWEEP_INTERVAL is deprecated: rename it to SWEEP_INTERVAL"),
        "{logs}"
    );
    let logs = start_up_logs(&[("SWEEP_INTERVAL", "2s")]).await;
    assert!(!logs.contains("deprecated"), "{logs}");
}
