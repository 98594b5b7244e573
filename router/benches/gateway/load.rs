//! The load generator: a closed loop over N keep-alive HTTP/1.1 connections
//! (each sends the next request as soon as the last answer is read, like
//! `wrk -cN`), for a warm-up and then a measured window. Only requests that
//! finish inside the window count. An answer is right when it is `200` with
//! exactly as many bytes as the answer checked against the expected response
//! before the round (a response with `errors` or other data is longer or
//! shorter); the first answer on a connection, and every
//! [`FULL_CHECK_EVERY`]th after it, must moreover be that answer byte for
//! byte or, failing that, the expected response as JSON (a router may order
//! keys differently). Anything else — another status, a transport error, a
//! timeout — is an error.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait before reconnecting after a connection failed.
const RECONNECT_PAUSE: Duration = Duration::from_millis(20);
/// Every how many answers a connection compares the whole answer (the others
/// only by length, which costs the load generator nothing).
pub const FULL_CHECK_EVERY: u64 = 8;

/// What to send, where, and for how long.
#[derive(Clone)]
pub struct Load {
    /// The router's address (requests go to `/graphql`).
    pub addr: SocketAddr,
    /// The request body.
    pub body: Bytes,
    /// A right answer, as checked before the round.
    pub expected: Bytes,
    /// The expected response.
    pub expected_json: Arc<serde_json::Value>,
    /// How many connections.
    pub connections: usize,
    /// Not measured: lets connections open and caches settle.
    pub warmup: Duration,
    /// Measured.
    pub duration: Duration,
}

/// What one connection saw in the measured window.
#[derive(Default)]
struct Seen {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

/// What all connections saw in the measured window.
pub struct Outcome {
    /// Right answers, each one's latency in microseconds (sorted).
    pub latencies_us: Vec<u32>,
    /// Wrong answers and failed requests.
    pub errors: u64,
    /// What the first error was.
    pub first_error: Option<String>,
}

impl Outcome {
    /// The `q` quantile (0..=1) of the latencies.
    pub fn latency(&self, q: f64) -> Duration {
        if self.latencies_us.is_empty() {
            return Duration::ZERO;
        }
        let last = self.latencies_us.len() - 1;
        let index = ((last as f64) * q).round() as usize;
        Duration::from_micros(u64::from(self.latencies_us[index.min(last)]))
    }
}

/// Runs `load`; calls `at_start` when the measured window opens and
/// `at_end` when it closes (to sample CPU times and counters), then waits for
/// the connections to finish their last request.
pub async fn run<S, E>(
    load: &Load,
    at_start: impl AsyncFnOnce() -> S,
    at_end: impl AsyncFnOnce() -> E,
) -> anyhow::Result<(Outcome, S, E)> {
    let start = Instant::now() + load.warmup;
    let end = start + load.duration;
    let tasks: Vec<_> = (0..load.connections)
        .map(|_| {
            let load = load.clone();
            tokio::spawn(async move { connection(&load, start, end).await })
        })
        .collect();
    tokio::time::sleep_until(start.into()).await;
    let started = at_start().await;
    tokio::time::sleep_until(end.into()).await;
    let ended = at_end().await;
    let mut outcome = Outcome {
        latencies_us: Vec::new(),
        errors: 0,
        first_error: None,
    };
    for task in tasks {
        let seen = tokio::time::timeout(REQUEST_TIMEOUT + Duration::from_secs(1), task)
            .await
            .context("a connection did not finish its last request in time")?
            .context("a connection task failed")?;
        outcome.latencies_us.extend(seen.latencies_us);
        outcome.errors += seen.errors;
        if outcome.first_error.is_none() {
            outcome.first_error = seen.first_error;
        }
    }
    outcome.latencies_us.sort_unstable();
    Ok((outcome, started, ended))
}

/// One connection's closed loop until `end`.
async fn connection(load: &Load, start: Instant, end: Instant) -> Seen {
    let mut seen = Seen::default();
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    let mut answers: u64 = 0;
    while Instant::now() < end {
        let began = Instant::now();
        let answer = match sender.as_mut() {
            Some(sender) => tokio::time::timeout(REQUEST_TIMEOUT, send(sender, load)).await,
            None => match connect(load.addr).await {
                Ok(connected) => {
                    sender = Some(connected);
                    continue;
                }
                Err(error) => Ok(Err(error)),
            },
        };
        let done = Instant::now();
        let counted = done >= start && done < end;
        let error = match answer {
            Ok(Ok(body)) => {
                let whole = answers.is_multiple_of(FULL_CHECK_EVERY);
                answers += 1;
                match wrong_answer(load, &body, whole) {
                    None => {
                        if counted {
                            let micros = done.duration_since(began).as_micros();
                            seen.latencies_us
                                .push(u32::try_from(micros).unwrap_or(u32::MAX));
                        }
                        continue;
                    }
                    Some(wrong) => wrong,
                }
            }
            Ok(Err(error)) => format!("{error:#}"),
            Err(_) => format!("no answer within {REQUEST_TIMEOUT:?}"),
        };
        // The connection may be unusable now: open a new one.
        sender = None;
        if counted {
            seen.errors += 1;
            seen.first_error.get_or_insert(error);
        }
        tokio::time::sleep(RECONNECT_PAUSE).await;
    }
    seen
}

/// Opens a keep-alive HTTP/1.1 connection to `addr`.
async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_nodelay(true).context("TCP_NODELAY")?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP/1.1 handshake")?;
    tokio::spawn(async move {
        // Ends when the router closes the connection or the sender is dropped.
        let _ = connection.await;
    });
    Ok(sender)
}

/// Why `body` is not a right answer, if it is not: by its length, and when
/// `whole`, by its content too.
fn wrong_answer(load: &Load, body: &Bytes, whole: bool) -> Option<String> {
    if body.len() != load.expected.len() {
        return Some(format!(
            "an answer of {} bytes, not the {} expected",
            body.len(),
            load.expected.len()
        ));
    }
    if !whole || *body == load.expected {
        return None;
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => crate::workload::first_difference(&load.expected_json, &value),
        Err(error) => Some(format!("an answer that is not JSON: {error}")),
    }
}

/// Posts the body and reads the whole answer; the answer when the status is 200.
async fn send(sender: &mut SendRequest<Full<Bytes>>, load: &Load) -> anyhow::Result<Bytes> {
    sender.ready().await.context("the connection closed")?;
    let request = hyper::Request::post("/graphql")
        .header(HOST, load.addr.to_string())
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(load.body.clone()))
        .context("the request")?;
    let response = sender
        .send_request(request)
        .await
        .context("the request failed")?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading the answer")?
        .to_bytes();
    if status != hyper::StatusCode::OK {
        anyhow::bail!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        );
    }
    Ok(body)
}
