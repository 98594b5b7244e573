//! The router's HTTP listener: hyper's server with the timeouts that keep a
//! slow or silent client from holding a connection forever, and graceful
//! shutdown.
//!
//! - `header_read_timeout`: hyper closes an HTTP/1.1 connection whose request
//!   headers do not arrive in time (also while waiting for the next request
//!   on a kept-alive connection).
//! - `idle_timeout`: a connection with no request in flight for that long is
//!   shut down gracefully (HTTP/1.1 and HTTP/2).
//! - `body_read_timeout` is the handler's (see [`crate::http`]): a late body
//!   gets `408 Request Timeout`.
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
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

/// The listener's connection timeouts.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionTimeouts {
    /// See [`crate::settings::RouterSettings::header_read_timeout`].
    pub header_read: Duration,
    /// See [`crate::settings::RouterSettings::idle_timeout`].
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
