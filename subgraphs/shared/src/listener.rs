//! The HTTP listener every Storefront process serves on (the router and the
//! subgraphs): hyper's server with the timeouts that keep a slow or silent
//! client from holding a connection forever, and graceful shutdown.
//!
//! - `header_read`: hyper closes an HTTP/1.1 connection whose request headers
//!   do not arrive in time (also while waiting for the next request on a
//!   kept-alive connection).
//! - `idle`: a connection with no request in flight for that long is shut
//!   down gracefully (HTTP/1.1 and HTTP/2).
//! - the body timeout is the handler's, since only it knows when a body is
//!   wanted: [`read_body`] gives up after it, and the handler answers
//!   `408 Request Timeout`.
//!
//! On shutdown the listener stops accepting, every connection is asked to
//! finish its in-flight requests and close, and [`serve`] returns when all
//! have.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use hyper::body::Incoming;
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
    /// How long a client may take to send a request's headers (on HTTP/1.1
    /// also the wait for the next request on a kept-alive connection).
    pub header_read: Duration,
    /// How long a connection may stay open with no request in flight.
    pub idle: Duration,
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
            timeouts.idle,
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
}

/// Ends a request on drop (also when the client went away mid-request).
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

async fn connection(
    stream: TcpStream,
    app: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    idle_timeout: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity {
        in_flight: AtomicUsize::new(0),
        idle: Notify::new(),
    });
    let tracker = activity.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let guard = InFlight::start(&tracker);
        let app = app.clone();
        async move {
            let response = app.oneshot(request.map(Body::new)).await;
            drop(guard);
            Ok::<_, Infallible>(match response {
                Ok(response) => response,
                Err(never) => match never {},
            })
        }
    });
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let mut idle_since = Some(Instant::now());
    let mut closing = false;
    loop {
        let idle_deadline = idle_since.map(|since| since + idle_timeout);
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
            () = activity.idle.notified() => {
                idle_since = Some(Instant::now());
            }
            () = sleep_until(idle_deadline), if !closing => {
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

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
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
    use futures::StreamExt as _;

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
