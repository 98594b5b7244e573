//! The inventory served on the shared listener, over raw TCP: clients that
//! send their headers too slowly, sit idle, or stall their body are cut off
//! (the body with a `408` JSON error), a normal request is answered, and
//! shutdown lets a request in flight finish. The code is shared by all four
//! subgraphs; this suite runs it behind a real one.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;
use storefront_inventory::domain::{
    ListRequest, NewProduct, Product, ProductFilter, ProductPage, ProductPatch, Quantity, Sku,
};
use storefront_inventory::store::{ProductRepository, StoreResult};
use storefront_inventory::{AppState, run};
use storefront_shared::server::Timeouts;
use storefront_shared::testing::{CLOSE_DEADLINE, Served, read_until_closed};
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, oneshot};

/// The short timeout under test; the others are long enough not to interfere.
const SHORT: u64 = 300;
const LONG: u64 = 60_000;

fn timeouts(header_read: u64, idle: u64, body_read: u64) -> Timeouts {
    Timeouts {
        header_read: Duration::from_millis(header_read),
        idle: Duration::from_millis(idle),
        body_read: Duration::from_millis(body_read),
    }
}

/// The inventory on an embedded store, served with `timeouts`.
async fn serve(timeouts: Timeouts) -> (TempDir, Served) {
    let (dir, store) = common::embedded_store().await;
    let (_signer, authenticator) = common::TokenSigner::new();
    let state = AppState::new(store, authenticator);
    let served = Served::start(|listener, shutdown| run(listener, state, timeouts, shutdown)).await;
    (dir, served)
}

/// Asserts that at least (almost) `timeout` ms passed since `since`.
fn assert_waited(since: Instant, timeout: u64) {
    assert!(
        since.elapsed() >= Duration::from_millis(timeout - 50),
        "closed after {:?}, before the {timeout} ms timeout",
        since.elapsed()
    );
}

/// The JSON body of a raw HTTP/1.1 response.
fn json_body(response: &str) -> Value {
    let (_, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("a JSON body ({e}): {response}"))
}

fn post_graphql(body: &str) -> String {
    format!(
        "POST /graphql HTTP/1.1\r\nHost: inventory\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let (_dir, served) = serve(timeouts(SHORT, LONG, LONG)).await;
    let mut stream = TcpStream::connect(served.addr).await.expect("connects");
    let started = Instant::now();
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: inventory\r\nX-Slow: ")
        .await
        .expect("writes");
    for byte in b"abc" {
        stream.write_all(&[*byte]).await.expect("writes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = read_until_closed(&mut stream).await.expect("closed");
    assert!(!text.contains("200 OK"), "{text}");
    assert_waited(started, SHORT);
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let (_dir, served) = serve(timeouts(LONG, SHORT, LONG)).await;
    let mut stream = TcpStream::connect(served.addr).await.expect("connects");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: inventory\r\n\r\n")
        .await
        .expect("writes");
    let answered = Instant::now();
    let text = read_until_closed(&mut stream).await.expect("closed");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(json_body(&text)["status"], "ok");
    assert_waited(answered, SHORT);
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_disconnected_after_the_header_read_timeout() {
    let (_dir, served) = serve(timeouts(SHORT, LONG, LONG)).await;
    let mut stream = TcpStream::connect(served.addr).await.expect("connects");
    let started = Instant::now();
    let text = read_until_closed(&mut stream).await.expect("closed");
    assert_eq!(text, "");
    assert_waited(started, SHORT);
}

#[tokio::test]
async fn a_415_says_connection_close_when_the_body_was_left_unread() {
    let (_dir, served) = serve(timeouts(LONG, LONG, LONG)).await;
    let mut stream = TcpStream::connect(served.addr).await.expect("connects");
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: inventory\r\nContent-Type: text/xml\r\n\
              Content-Length: 100000\r\n\r\n<query>",
        )
        .await
        .expect("writes");
    let text = read_until_closed(&mut stream).await.expect("closed");
    assert!(text.starts_with("HTTP/1.1 415"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{text}"
    );
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_408_with_a_json_error() {
    let (_dir, served) = serve(timeouts(LONG, LONG, SHORT)).await;
    let mut stream = TcpStream::connect(served.addr).await.expect("connects");
    let started = Instant::now();
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: inventory\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\nConnection: close\r\n\r\n{\"query\":",
        )
        .await
        .expect("writes");
    let text = read_until_closed(&mut stream).await.expect("closed");
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let error = &json_body(&text)["errors"][0];
    assert_eq!(
        error["message"],
        "the request body did not arrive within 300ms"
    );
    assert_eq!(error["extensions"]["code"], "BAD_REQUEST");
    assert_waited(started, SHORT);
}

#[tokio::test]
async fn a_normal_request_is_answered_within_the_timeouts() {
    let (_dir, served) = serve(timeouts(SHORT, SHORT, SHORT)).await;
    let mut stream = TcpStream::connect(served.addr).await.expect("connects");
    stream
        .write_all(post_graphql(r#"{"query":"{ __typename }"}"#).as_bytes())
        .await
        .expect("writes");
    let text = read_until_closed(&mut stream).await.expect("closed");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(json_body(&text)["data"]["__typename"], "Query");
}

/// A catalogue whose `ping` (behind `GET /ready`) says when it is entered and
/// then waits for a permit: a request held in flight for as long as a test wants.
struct GatedPing {
    inner: Arc<dyn ProductRepository>,
    entered: std::sync::Mutex<Option<oneshot::Sender<()>>>,
    release: Semaphore,
}

#[async_trait]
impl ProductRepository for GatedPing {
    async fn insert(&self, product: NewProduct) -> StoreResult<Product> {
        self.inner.insert(product).await
    }
    async fn get(&self, sku: &Sku) -> StoreResult<Option<Product>> {
        self.inner.get(sku).await
    }
    async fn get_many(&self, skus: &[Sku]) -> StoreResult<Vec<Product>> {
        self.inner.get_many(skus).await
    }
    async fn list(&self, request: &ListRequest) -> StoreResult<ProductPage> {
        self.inner.list(request).await
    }
    async fn count(&self, filter: &ProductFilter) -> StoreResult<u64> {
        self.inner.count(filter).await
    }
    async fn update(&self, sku: &Sku, patch: &ProductPatch) -> StoreResult<Product> {
        self.inner.update(sku, patch).await
    }
    async fn set_archived(&self, sku: &Sku, archived: bool) -> StoreResult<Product> {
        self.inner.set_archived(sku, archived).await
    }
    async fn restock(&self, sku: &Sku, quantity: Quantity) -> StoreResult<Product> {
        self.inner.restock(sku, quantity).await
    }
    async fn is_empty(&self) -> StoreResult<bool> {
        self.inner.is_empty().await
    }
    async fn ping(&self) -> StoreResult<()> {
        let entered = self.entered.lock().expect("not poisoned").take();
        if let Some(entered) = entered {
            let _ = entered.send(());
        }
        let _permit = self.release.acquire().await.expect("never closed");
        self.inner.ping().await
    }
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let (_dir, store) = common::embedded_store().await;
    let (_signer, authenticator) = common::TokenSigner::new();
    let (entered, in_flight) = oneshot::channel();
    let gated = Arc::new(GatedPing {
        inner: store.clone(),
        entered: std::sync::Mutex::new(Some(entered)),
        release: Semaphore::new(0),
    });
    let state = AppState {
        products: gated.clone(),
        categories: store.clone(),
        stock: store,
        authenticator,
        limits: Default::default(),
        events: storefront_inventory::events::StockEvents::in_process(),
    };
    let timeouts = timeouts(SHORT, SHORT, SHORT);
    let mut served =
        Served::start(|listener, shutdown| run(listener, state, timeouts, shutdown)).await;
    let mut stream = TcpStream::connect(served.addr).await.expect("connects");
    stream
        .write_all(b"GET /ready HTTP/1.1\r\nHost: inventory\r\n\r\n")
        .await
        .expect("writes");
    tokio::time::timeout(CLOSE_DEADLINE, in_flight)
        .await
        .expect("the request reached the store")
        .expect("entered");

    served.stop.take().expect("running").send(()).expect("sent");
    // The listener closes first; the request is still held.
    let deadline = Instant::now() + CLOSE_DEADLINE;
    while TcpStream::connect(served.addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting after shutdown");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !served.task.is_finished(),
        "returned with a request in flight"
    );
    // Held past the idle timeout: a request in flight keeps its connection.
    tokio::time::sleep(Duration::from_millis(SHORT + 100)).await;
    gated.release.add_permits(1);

    let text = read_until_closed(&mut stream).await.expect("closed");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(json_body(&text)["status"], "ready");
    tokio::time::timeout(CLOSE_DEADLINE, served.task)
        .await
        .expect("the server stopped")
        .expect("the task did not panic")
        .expect("the server stopped cleanly");
}
