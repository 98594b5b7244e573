//! The HTTP listener every Storefront process serves on (the router and the
//! subgraphs): hyper's server with the timeouts that keep a slow or silent
//! client from holding a connection forever, and graceful shutdown.
//!
//! - `header_read`: a connection is closed when no request head has arrived
//!   within it of the connection's accept, or (on HTTP/1.1) of the end of
//!   the previous response. hyper's own header-read timeout only starts once
//!   hyper reads a request head, which it does not before the protocol is
//!   known (a client that sends nothing, or one byte, would otherwise be
//!   held for `idle`), so the listener keeps this deadline itself; hyper's
//!   stays on as well. An HTTP/2 connection has it until its first request
//!   only: after that, streams come and go and `idle` applies.
//! - `idle`: a connection with no request in flight for that long is shut
//!   down gracefully (HTTP/1.1 and HTTP/2). A request is in flight until its
//!   response body has been sent.
//! - the body timeout is the handler's, since only it knows when a body is
//!   wanted: [`read_body`] gives up after it, and the handler answers
//!   `408 Request Timeout`.
//! - every request carries its connection's peer address as axum's
//!   `ConnectInfo<SocketAddr>` extension (what a handler needs to tell
//!   clients apart, e.g. the users service's login throttle).
//! - a response to an HTTP/1.1 request whose body the handler did not read
//!   to the end (a `415`, `413`, a CSRF refusal, ...) carries
//!   `Connection: close`: hyper cannot keep such a connection, and a client
//!   not told so would send its next request into a closed socket.
//!
//! On shutdown the listener stops accepting, every connection is asked to
//! finish its in-flight requests and close, and [`serve`] returns when all
//! have.
//!
//! # Layout
//! - [`Timeouts`] (all three, as `[common]` sets them) and
//!   [`ConnectionTimeouts`] (the connection's two), with their defaults.
//! - [`serve`] and what is behind it: a task per connection, requests in
//!   flight counted until their response body is sent.
//! - [`read_body`] and [`BodyError`]: the handler's side, the body timeout.
//! - tests: slow and silent clients, kept-alive and unread bodies, shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, Version, header};
use http_body_util::BodyExt as _;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

/// How long request headers may take to arrive by default (`HEADER_READ_TIMEOUT`).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may sit idle by default (`IDLE_TIMEOUT`).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a request body may take to arrive by default (`BODY_READ_TIMEOUT`).
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The listener's connection timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionTimeouts {
    /// How long a client may take to send a request's head, from the
    /// connection's accept (on HTTP/1.1 also from the end of the previous
    /// response on a kept-alive connection).
    pub header_read: Duration,
    /// How long a connection may stay open with no request in flight.
    pub idle: Duration,
}

/// A process's timeouts against slow clients, as `[common]` sets them
/// ([`crate::settings::CommonSettings::timeouts`]): the connection's
/// ([`ConnectionTimeouts`]) and the body-read timeout its handlers apply
/// ([`read_body`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long request headers may take (`HEADER_READ_TIMEOUT`).
    pub header_read: Duration,
    /// How long a connection may sit with no request in flight (`IDLE_TIMEOUT`).
    pub idle: Duration,
    /// How long a `POST /graphql` body may take once the headers arrived
    /// (`BODY_READ_TIMEOUT`).
    pub body_read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: DEFAULT_HEADER_READ_TIMEOUT,
            idle: DEFAULT_IDLE_TIMEOUT,
            body_read: DEFAULT_BODY_READ_TIMEOUT,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight
/// requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    timeouts: ConnectionTimeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    // Every connection holds a receiver; `closed()` on the sender resolves
    // when the last one is gone.
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little
                    // instead of spinning, then go on accepting.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        tokio::spawn(connection(
            stream,
            app.clone(),
            builder.clone(),
            timeouts,
            stopped.clone(),
        ));
    }
    drop(listener);
    drop(stopped);
    let _ = stop.send(true);
    stop.closed().await;
    Ok(())
}

/// Requests in flight on one connection and when the last one ended.
struct Activity {
    in_flight: AtomicUsize,
    idle: Notify,
    /// Whether the connection carried an HTTP/2 request (then the
    /// header-read deadline no longer applies between requests).
    multiplexed: AtomicBool,
}

/// Ends a request on drop: when its response body is dropped (sent, or the
/// client went away), or the request is dropped before it has a response.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_one();
        }
    }
}

/// A request body that records whether it was read to its end.
struct TrackedBody {
    inner: Incoming,
    finished: Arc<AtomicBool>,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serves one request on `app`: the request counts as in flight until its
/// response body is dropped, and an HTTP/1 response whose request body was
/// left unread says `Connection: close`.
async fn serve_request(
    app: Router,
    activity: Arc<Activity>,
    request: hyper::Request<Incoming>,
) -> axum::response::Response {
    let guard = InFlight::start(&activity);
    let http1 = request.version() < Version::HTTP_2;
    if !http1 {
        activity.multiplexed.store(true, Ordering::Release);
    }
    let finished = Arc::new(AtomicBool::new(request.body().is_end_stream()));
    let request = request.map(|inner| {
        Body::new(TrackedBody {
            inner,
            finished: finished.clone(),
        })
    });
    let mut response = match app.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if http1 && !finished.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response.map(|body| {
        Body::new(body.map_frame(move |frame| {
            let _in_flight = &guard;
            frame
        }))
    })
}

async fn connection(
    stream: TcpStream,
    app: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    timeouts: ConnectionTimeouts,
    mut stopped: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity {
        in_flight: AtomicUsize::new(0),
        idle: Notify::new(),
        multiplexed: AtomicBool::new(false),
    });
    let tracker = activity.clone();
    let peer = stream.peer_addr().ok();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        if let Some(peer) = peer {
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        let response = serve_request(app.clone(), tracker.clone(), request);
        async move { Ok::<_, Infallible>(response.await) }
    });
    // With upgrades: the router serves WebSocket subscriptions on `/graphql`
    // (the upgraded socket then lives on outside this connection).
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(connection);
    // When the connection last had no request in flight (`None` while one is).
    let mut idle_since = Some(Instant::now());
    let mut closing = false;
    // The waits below live across iterations: the connection task is woken
    // for every step of every request it serves, and each wake polls every
    // branch, so they are registered once rather than made anew each time.
    let idle = activity.idle.notified();
    tokio::pin!(idle);
    let head_timer = tokio::time::sleep_until(Instant::now());
    tokio::pin!(head_timer);
    let idle_timer = tokio::time::sleep_until(Instant::now());
    tokio::pin!(idle_timer);
    // The `idle_since` the timers are set for.
    let mut timers_since = None;
    loop {
        if idle_since != timers_since {
            if let Some(since) = idle_since {
                head_timer.as_mut().reset(since + timeouts.header_read);
                idle_timer.as_mut().reset(since + timeouts.idle);
            }
            timers_since = idle_since;
        }
        let head_armed = idle_since.is_some() && !activity.multiplexed.load(Ordering::Acquire);
        let idle_armed = idle_since.is_some() && !closing;
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            _ = stopped.changed(), if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            () = idle.as_mut() => {
                idle.set(activity.idle.notified());
                idle_since = Some(Instant::now());
            }
            () = head_timer.as_mut(), if head_armed => {
                if activity.in_flight.load(Ordering::Acquire) == 0 {
                    // Nothing in flight, so nothing to finish: whatever part
                    // of a request head arrived is dropped with the socket.
                    tracing::debug!("closing a connection that sent no request head in time");
                    return;
                }
                idle_since = None;
            }
            () = idle_timer.as_mut(), if idle_armed => {
                if activity.in_flight.load(Ordering::Acquire) == 0 {
                    tracing::debug!("closing an idle connection");
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                } else {
                    idle_since = None;
                }
            }
        }
        if idle_since.is_some() && activity.in_flight.load(Ordering::Acquire) > 0 {
            idle_since = None;
        }
    }
}

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body did not arrive within the body-read timeout.
    #[error("the request body did not arrive within {}", humantime_serde::re::humantime::format_duration(*.0))]
    TimedOut(Duration),
    /// Too large (`DefaultBodyLimit`), or the connection failed mid-body.
    #[error("{}", .0.body_text())]
    Rejected(#[from] BytesRejection),
}

impl BodyError {
    /// The HTTP status to answer with: `408` for a late body, else the rejection's.
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TimedOut(_) => StatusCode::REQUEST_TIMEOUT,
            BodyError::Rejected(rejection) => rejection.status(),
        }
    }
}

/// Reads `request`'s whole body (within the route's `DefaultBodyLimit`),
/// giving up when it has not arrived within `timeout`.
pub async fn read_body(request: Request, timeout: Duration) -> Result<Bytes, BodyError> {
    match tokio::time::timeout(timeout, Bytes::from_request(request, &())).await {
        Ok(body) => Ok(body?),
        Err(_) => Err(BodyError::TimedOut(timeout)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};
    use futures::StreamExt as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    const SHORT: Duration = Duration::from_millis(300);
    const LONG: Duration = Duration::from_secs(60);
    /// How long a test waits for the server to close a connection.
    const CLOSE_DEADLINE: Duration = Duration::from_secs(5);

    /// An app with a handler that reads its body and one that answers
    /// without reading it (as a `415` does).
    fn app() -> Router {
        Router::new()
            .route("/health", get(|| async { "ok" }))
            .route(
                "/peer",
                get(
                    |ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>| async move {
                        peer.to_string()
                    },
                ),
            )
            .route(
                "/read",
                post(|request: Request| async move {
                    match read_body(request, LONG).await {
                        Ok(body) => format!("read {}", body.len()),
                        Err(error) => error.to_string(),
                    }
                }),
            )
            .route(
                "/refuse",
                post(|| async { (StatusCode::UNSUPPORTED_MEDIA_TYPE, "refused") }),
            )
    }

    /// Serves [`app`] with `header_read` and a long idle timeout; the server
    /// stops when the returned sender is dropped.
    async fn start(
        header_read: Duration,
    ) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("an address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let timeouts = ConnectionTimeouts {
            header_read,
            idle: LONG,
        };
        tokio::spawn(serve(listener, app(), timeouts, async {
            let _ = stopped.await;
        }));
        (addr, stop)
    }

    /// Reads until the server closes the connection; `Err` with what was
    /// read if it has not within [`CLOSE_DEADLINE`].
    async fn read_until_closed(stream: &mut TcpStream) -> Result<String, String> {
        let mut seen = Vec::new();
        let deadline = Instant::now() + CLOSE_DEADLINE;
        loop {
            let mut buffer = [0u8; 4096];
            match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
                Ok(Ok(0) | Err(_)) => return Ok(String::from_utf8_lossy(&seen).into_owned()),
                Ok(Ok(n)) => seen.extend_from_slice(&buffer[..n]),
                Err(_) => return Err(String::from_utf8_lossy(&seen).into_owned()),
            }
        }
    }

    /// Reads one HTTP/1.1 response with a `content-length` body.
    async fn read_response(stream: &mut TcpStream) -> String {
        let mut seen = Vec::new();
        let deadline = Instant::now() + CLOSE_DEADLINE;
        loop {
            let text = String::from_utf8_lossy(&seen).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .expect("a content-length");
                if body.len() >= length {
                    return text;
                }
            }
            let mut buffer = [0u8; 4096];
            match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
                Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buffer[..n]),
                other => panic!("no whole response ({other:?}): {text}"),
            }
        }
    }

    fn assert_closed_in_time(started: Instant, header_read: Duration) {
        let elapsed = started.elapsed();
        assert!(
            elapsed >= header_read - Duration::from_millis(50),
            "closed after {elapsed:?}, before the header-read timeout"
        );
    }

    #[tokio::test]
    async fn handlers_see_the_peer_address_of_the_connection() {
        let (addr, _stop) = start(LONG).await;
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        let local = stream.local_addr().expect("a local address");
        stream
            .write_all(b"GET /peer HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .expect("writes");
        let response = read_response(&mut stream).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with(&local.to_string()), "{response}");
    }

    #[tokio::test]
    async fn a_connection_that_sends_nothing_is_closed_after_the_header_read_timeout() {
        let (addr, _stop) = start(SHORT).await;
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        let started = Instant::now();
        let read = read_until_closed(&mut stream).await;
        assert_eq!(read, Ok(String::new()), "held open past {CLOSE_DEADLINE:?}");
        assert_closed_in_time(started, SHORT);
    }

    #[tokio::test]
    async fn a_connection_that_sends_one_byte_is_closed_after_the_header_read_timeout() {
        // `G` starts an HTTP/1.1 request, `P` could start HTTP/2's preface.
        for byte in [b"G", b"P"] {
            let (addr, _stop) = start(SHORT).await;
            let mut stream = TcpStream::connect(addr).await.expect("connects");
            let started = Instant::now();
            stream.write_all(byte).await.expect("writes");
            let read = read_until_closed(&mut stream).await;
            assert!(read.is_ok(), "held open after {byte:?}: {read:?}");
            assert_closed_in_time(started, SHORT);
        }
    }

    #[tokio::test]
    async fn a_kept_alive_connection_must_send_its_next_head_in_time() {
        let (addr, _stop) = start(SHORT).await;
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("writes");
        let first = read_response(&mut stream).await;
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");
        let answered = Instant::now();
        stream.write_all(b"GE").await.expect("writes");
        let read = read_until_closed(&mut stream).await;
        assert_eq!(read, Ok(String::new()));
        assert_closed_in_time(answered, SHORT);
    }

    #[tokio::test]
    async fn a_client_within_the_header_read_timeout_is_served_on_a_kept_alive_connection() {
        let (addr, _stop) = start(SHORT).await;
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        for _ in 0..3 {
            // Each head arrives in two parts, well within the timeout.
            stream
                .write_all(b"POST /read HTTP/1.1\r\n")
                .await
                .expect("writes");
            tokio::time::sleep(SHORT / 3).await;
            stream
                .write_all(b"Host: x\r\nContent-Length: 5\r\n\r\nhello")
                .await
                .expect("writes");
            let response = read_response(&mut stream).await;
            assert!(response.starts_with("HTTP/1.1 200"), "{response}");
            assert!(response.ends_with("read 5"), "{response}");
            assert!(
                !response.to_ascii_lowercase().contains("connection: close"),
                "{response}"
            );
        }
    }

    #[tokio::test]
    async fn a_response_that_leaves_the_body_unread_says_connection_close() {
        let (addr, _stop) = start(LONG).await;
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        // The body follows later than the head: the handler answers first.
        stream
            .write_all(b"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{")
            .await
            .expect("writes");
        let response = read_response(&mut stream).await;
        assert!(response.starts_with("HTTP/1.1 415"), "{response}");
        assert!(
            response.to_ascii_lowercase().contains("connection: close"),
            "{response}"
        );
        // And it is closed, rather than left to break the client's next request.
        let read = read_until_closed(&mut stream).await;
        assert_eq!(read, Ok(String::new()));
    }

    #[tokio::test]
    async fn a_response_to_a_request_without_a_body_keeps_the_connection() {
        let (addr, _stop) = start(LONG).await;
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        for _ in 0..2 {
            stream
                .write_all(b"POST /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                .await
                .expect("writes");
            let response = read_response(&mut stream).await;
            assert!(response.starts_with("HTTP/1.1 415"), "{response}");
            assert!(
                !response.to_ascii_lowercase().contains("connection: close"),
                "{response}"
            );
        }
    }

    #[tokio::test]
    async fn a_body_that_arrives_is_read() {
        let request = Request::new(Body::from("{}"));
        let body = read_body(request, Duration::from_secs(1))
            .await
            .expect("read");
        assert_eq!(&body[..], b"{}");
    }

    #[tokio::test]
    async fn a_body_that_stalls_times_out_with_408() {
        // One chunk, then nothing, forever.
        let stalled = futures::stream::iter([Ok::<_, Infallible>(Bytes::from_static(b"{"))])
            .chain(futures::stream::pending());
        let request = Request::new(Body::from_stream(stalled));
        let error = read_body(request, Duration::from_millis(100))
            .await
            .expect_err("the body never ends");
        assert_eq!(error.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(
            error.to_string(),
            "the request body did not arrive within 100ms"
        );
    }
}
