//! Helpers for the subgraphs' tests (feature `testing`).
//!
//! MongoDB-backed tests read `STOREFRONT_TEST_MONGODB_URI` (CI starts a
//! MongoDB-compatible server and sets it). Each call returns a fresh database
//! with a unique name, so tests never share data. Without the variable the
//! MongoDB half of a test is skipped with a message on stderr, except under
//! `CI`, where a missing server is a failure.

use crate::settings::Secret;
use crate::store::connect_mongo;

/// The environment variable naming the MongoDB server for tests.
pub const TEST_MONGODB_URI: &str = "STOREFRONT_TEST_MONGODB_URI";

/// A fresh, uniquely named database on the test server, or `None` (skip) locally without one.
///
/// # Panics
/// When `CI` is set and no server is configured or it cannot be reached: CI must
/// run the MongoDB half of every conformance suite.
#[allow(clippy::panic)]
pub async fn mongo_database(prefix: &str) -> Option<mongodb::Database> {
    let Ok(uri) = std::env::var(TEST_MONGODB_URI) else {
        if std::env::var_os("CI").is_some() {
            panic!("{TEST_MONGODB_URI} is not set, but CI must run the MongoDB tests");
        }
        eprintln!("skipping the MongoDB half of this test: set {TEST_MONGODB_URI} (see README)");
        return None;
    };
    let name = format!("{prefix}_{}", uuid_like_suffix());
    match connect_mongo(&Secret::new(uri), &name).await {
        Ok(db) => Some(db),
        Err(error) => panic!("{TEST_MONGODB_URI} is set but unusable: {error}"),
    }
}

fn uuid_like_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A service binary started as a real process for a test, on its own port and
/// `DATA_DIR`, with a clean environment. Killed when dropped.
pub struct ServiceProcess {
    child: std::process::Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

/// A port that was free a moment ago (the OS picks it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("the OS hands out a free port")
}

impl ServiceProcess {
    /// Starts `binary` on `port` with only `env` (plus `PATH`, `HOME`, `BIND_ADDRESS=127.0.0.1`).
    pub fn spawn(binary: &str, port: u16, env: &[(&str, &str)]) -> Self {
        let mut command = std::process::Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", std::env::var_os("HOME").unwrap_or_default())
            .env("BIND_ADDRESS", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("the service binary starts");
        ServiceProcess { child, port }
    }

    /// The base URL, e.g. `http://127.0.0.1:4001`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Polls `GET /ready` until it answers 200, or panics after `deadline`.
    #[allow(clippy::panic)]
    pub async fn wait_ready(&mut self, deadline: std::time::Duration) {
        let client = reqwest::Client::new();
        let started = std::time::Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the service exited before it was ready: {status}: {}",
                    self.stderr()
                );
            }
            let answer = client
                .get(format!("{}/ready", self.url()))
                .timeout(std::time::Duration::from_secs(1))
                .send()
                .await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            if started.elapsed() > deadline {
                panic!("the service was not ready within {deadline:?}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and waits (up to `deadline`) for the exit status.
    #[allow(clippy::panic)]
    pub async fn terminate(&mut self, deadline: std::time::Duration) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM was delivered");
        self.wait_exit(deadline).await
    }

    /// Waits (up to `deadline`) for the process to exit by itself.
    #[allow(clippy::panic)]
    pub async fn wait_exit(&mut self, deadline: std::time::Duration) -> std::process::ExitStatus {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("the child can be polled") {
                return status;
            }
            if started.elapsed() > deadline {
                panic!("the service did not exit within {deadline:?}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Everything the process wrote to stderr (call after it exited).
    pub fn stderr(&mut self) -> String {
        use std::io::Read;
        let mut text = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
