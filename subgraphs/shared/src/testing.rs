//! Helpers for the subgraphs' tests (feature `testing`).
//!
//! # Layout
//! - [`mongo_database`]: a fresh MongoDB database per test. Tests read
//!   `STOREFRONT_TEST_MONGODB_URI` (CI starts a MongoDB-compatible server and
//!   sets it); each call returns a database with a unique name, so tests never
//!   share data. Without the variable the MongoDB half of a test is skipped with
//!   a message on stderr, except under `CI`, where a missing server is a failure.
//! - [`mongo_replica`]: another client on a test's database (a second replica).
//! - [`TokenSigner`]: user tokens signed like the users service signs them, and
//!   an [`Authenticator`] that trusts them and [`SERVICE_TOKEN`].
//! - [`serve`] (an app on port 0) and [`send`] (one request through an app,
//!   without a socket); [`Served`] (a server on port 0 that can be shut
//!   down) and [`read_until_closed`] for raw-TCP tests of a listener (slow
//!   clients, graceful shutdown).
//! - [`response_json`], [`single_error`]: reading an `async-graphql` response.
//! - [`Counting`]: a repository wrapper that counts the calls reaching it.
//! - [`assert_schema_file_is_current`], [`sdl_block`], [`assert_has`]: the
//!   schema drift check against `schema/<service>.graphql` and SDL look-ups.
//! - [`ServiceProcess`]: a service binary run as a real process (its stderr,
//!   and with `spawn_with_logs` its logs, kept for the test to read).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use http_body_util::BodyExt as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::Value;
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt as _;

use crate::auth::{AUDIENCE, Authenticator, Claims, ISSUER, KeySet, Role};
use crate::settings::Secret;
use crate::startup::Shutdown;
use crate::store::connect_mongo;

/// The service credential every test service accepts and sends.
pub const SERVICE_TOKEN: &str = "test-service-token";

/// Signs user tokens the way the users service does, with a fresh Ed25519 key
/// that its [`authenticator`](TokenSigner::authenticator) trusts.
pub struct TokenSigner {
    key: EncodingKey,
    authenticator: Authenticator,
}

impl TokenSigner {
    const KID: &'static str = "test-key";

    /// A fresh key pair.
    pub fn new() -> Self {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        let der = signing.to_pkcs8_der().expect("encodes the private key");
        let mut keys = KeySet::default();
        keys.insert(
            Self::KID,
            DecodingKey::from_ed_der(&signing.verifying_key().to_bytes()),
        );
        TokenSigner {
            key: EncodingKey::from_ed_der(der.as_bytes()),
            authenticator: Authenticator::new(Arc::new(keys), Secret::new(SERVICE_TOKEN)),
        }
    }

    /// An authenticator that trusts this signer's tokens and [`SERVICE_TOKEN`].
    pub fn authenticator(&self) -> Authenticator {
        self.authenticator.clone()
    }

    /// A current token (ten minutes left) for user `sub` with `role`.
    pub fn token(&self, sub: &str, role: Role) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: sub.into(),
            role,
            iat: now,
            exp: now + 600,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            jti: uuid::Uuid::new_v4().to_string(),
            ver: 0,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(Self::KID.into());
        jsonwebtoken::encode(&header, &claims, &self.key).expect("signs the token")
    }
}

impl Default for TokenSigner {
    fn default() -> Self {
        Self::new()
    }
}

/// Serves `app` on 127.0.0.1:0 (in a spawned task) and returns its address.
pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds port 0");
    let addr = listener.local_addr().expect("has an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Sends `request` through `app` (no socket); the status and the JSON body.
pub async fn send(app: Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.oneshot(request).await.expect("a response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body")
        .to_bytes();
    (status, serde_json::from_slice(&bytes).expect("a JSON body"))
}

/// A server on 127.0.0.1:0 in a spawned task, serving until `stop` fires.
pub struct Served {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Send `()` (or drop it) to shut the server down.
    pub stop: Option<oneshot::Sender<()>>,
    /// The server's task; it ends when the server has shut down.
    pub task: JoinHandle<std::io::Result<()>>,
}

impl Served {
    /// Binds port 0 and spawns `serve(listener, shutdown)`, e.g. a service's
    /// `run` with its state.
    pub async fn start<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(tokio::net::TcpListener, Shutdown) -> Fut,
        Fut: Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds port 0");
        let addr = listener.local_addr().expect("has an address");
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown: Shutdown = Box::pin(async {
            let _ = stopped.await;
        });
        Served {
            addr,
            stop: Some(stop),
            task: tokio::spawn(serve(listener, shutdown)),
        }
    }
}

/// The longest [`read_until_closed`] waits for the server to close.
pub const CLOSE_DEADLINE: Duration = Duration::from_secs(5);

/// Reads a raw connection until the peer closes it; `Err` if it did not
/// within [`CLOSE_DEADLINE`]. Returns what was read.
pub async fn read_until_closed(stream: &mut TcpStream) -> Result<String, String> {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + CLOSE_DEADLINE;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(String::from_utf8_lossy(&seen).into_owned()),
            Ok(Ok(n)) => seen.extend_from_slice(&buffer[..n]),
            Err(_) => {
                return Err(format!(
                    "still open after {CLOSE_DEADLINE:?}; read {:?}",
                    String::from_utf8_lossy(&seen)
                ));
            }
        }
    }
}

/// The response as JSON (`data` and `errors`).
pub fn response_json(response: &async_graphql::Response) -> Value {
    serde_json::to_value(response).expect("response serializes")
}

/// The one error's `extensions.code` and message; panics unless there is exactly one.
pub fn single_error(response: &async_graphql::Response) -> (String, String) {
    assert_eq!(
        response.errors.len(),
        1,
        "expected one error, got {:?}",
        response.errors
    );
    let body = response_json(response);
    let error = &body["errors"][0];
    (
        error["extensions"]["code"]
            .as_str()
            .expect("extensions.code")
            .to_owned(),
        error["message"].as_str().expect("message").to_owned(),
    )
}

/// Counts the calls that reach `inner`: every call, and the batch look-ups
/// among them. A crate's tests implement their repository trait for
/// `Counting<SharedRepository>`, each method going through [`count`](Counting::count)
/// or [`count_batch`](Counting::count_batch).
pub struct Counting<T> {
    inner: T,
    calls: AtomicUsize,
    batch_calls: AtomicUsize,
}

impl<T> Counting<T> {
    /// Wraps `inner`, with both counts at zero.
    pub fn new(inner: T) -> Self {
        Counting {
            inner,
            calls: AtomicUsize::new(0),
            batch_calls: AtomicUsize::new(0),
        }
    }

    /// Counts one call; the wrapped value, to make it.
    pub fn count(&self) -> &T {
        self.calls.fetch_add(1, Ordering::SeqCst);
        &self.inner
    }

    /// Counts one batch call; the wrapped value, to make it.
    pub fn count_batch(&self) -> &T {
        self.batch_calls.fetch_add(1, Ordering::SeqCst);
        self.count()
    }

    /// Every call so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Batch calls so far.
    pub fn batch_calls(&self) -> usize {
        self.batch_calls.load(Ordering::SeqCst)
    }

    /// Both counts back to zero.
    pub fn reset(&self) {
        self.calls.store(0, Ordering::SeqCst);
        self.batch_calls.store(0, Ordering::SeqCst);
    }
}

/// Asserts that `sdl` equals the committed `schema/<service>.graphql`; with
/// `UPDATE_SCHEMA=1`, writes `sdl` there instead.
pub fn assert_schema_file_is_current(service: &str, sdl: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../schema")
        .join(format!("{service}.graphql"));
    if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        std::fs::write(&path, sdl).expect("writes the schema file");
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == sdl,
        "schema/{service}.graphql is out of date with the {service} subgraph.\n\
         If the change is intended, refresh it with:\n    \
         UPDATE_SCHEMA=1 cargo test -p storefront-{service} --test schema\n\
         and commit the result.\n--- served SDL ---\n{sdl}"
    );
}

/// The text of `keyword Name ... { ... }` (`type`, `input`, `enum`) in `sdl`,
/// with spaces collapsed; panics when there is none.
#[allow(clippy::panic)]
pub fn sdl_block(sdl: &str, keyword: &str, name: &str) -> String {
    let start = sdl
        .find(&format!("{keyword} {name} "))
        .or_else(|| sdl.find(&format!("{keyword} {name}\n")))
        .unwrap_or_else(|| panic!("the SDL has no {keyword} {name}:\n{sdl}"));
    let rest = &sdl[start..];
    let end = rest.find('}').map_or(rest.len(), |i| i + 1);
    rest[..end].split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Asserts that `block` (see [`sdl_block`]) contains `needle`.
pub fn assert_has(block: &str, needle: &str) {
    assert!(block.contains(needle), "expected `{needle}` in:\n{block}");
}

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

/// Another client on `db` (same server, same database), as a second replica
/// of a service would have.
#[allow(clippy::panic)]
pub async fn mongo_replica(db: &mongodb::Database) -> mongodb::Database {
    let uri = std::env::var(TEST_MONGODB_URI)
        .unwrap_or_else(|_| panic!("{TEST_MONGODB_URI} is set when a test has a database"));
    match connect_mongo(&Secret::new(uri), db.name()).await {
        Ok(db) => db,
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
        Self::start(binary, port, env, std::process::Stdio::null())
    }

    /// Like [`ServiceProcess::spawn`], keeping its logs (stdout, at
    /// `RUST_LOG=warn`) for [`ServiceProcess::logs`].
    pub fn spawn_with_logs(binary: &str, port: u16, env: &[(&str, &str)]) -> Self {
        Self::start(binary, port, env, std::process::Stdio::piped())
    }

    fn start(binary: &str, port: u16, env: &[(&str, &str)], stdout: std::process::Stdio) -> Self {
        let mut command = std::process::Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", std::env::var_os("HOME").unwrap_or_default())
            .env("BIND_ADDRESS", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(stdout)
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

    /// Everything the process logged (started with
    /// [`ServiceProcess::spawn_with_logs`]; call after it exited).
    pub fn logs(&mut self) -> String {
        use std::io::Read;
        let mut text = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            let _ = stdout.read_to_string(&mut text);
        }
        text
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
