//! The load generator, the approach of the gateway bench's: a closed loop
//! over N keep-alive HTTP/1.1 connections (each sends the next request as soon
//! as it has read the last answer), a warm-up, then a measured window in which
//! only requests that finish count. A right answer is `200` with exactly as
//! many bytes as the answer checked in full before; anything else is an error.
//! Every request carries the buyer's token in `Authorization`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What to send, where, and for how long.
#[derive(Clone)]
pub struct Load {
    /// The router's address (requests go to `/graphql`).
    pub addr: SocketAddr,
    /// The request body.
    pub body: Bytes,
    /// `Bearer <token>`.
    pub authorization: HeaderValue,
    /// The length of a right answer, in bytes.
    pub expected_len: usize,
    /// How many connections.
    pub connections: usize,
    /// Not measured: connections open, caches settle.
    pub warmup: Duration,
    /// Measured.
    pub duration: Duration,
}

/// What the connections saw in the measured window.
#[derive(Default)]
pub struct Outcome {
    /// Right answers, each one's latency in microseconds (sorted once merged).
    pub latencies_us: Vec<u32>,
    /// Wrong answers and failed requests.
    pub errors: u64,
    /// What the first error was.
    pub first_error: Option<String>,
}

impl Outcome {
    /// The `q` quantile (0..=1) of the latencies.
    pub fn latency(&self, q: f64) -> Duration {
        let Some(last) = self.latencies_us.len().checked_sub(1) else {
            return Duration::ZERO;
        };
        let index = ((last as f64) * q).round() as usize;
        Duration::from_micros(u64::from(self.latencies_us[index.min(last)]))
    }

    fn merge(&mut self, other: Outcome) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn error(&mut self, error: String) {
        self.errors += 1;
        self.first_error.get_or_insert(error);
    }
}

/// Runs `load`, calling `at_start` when the measured window opens and
/// `at_end` when it closes (to sample CPU times); then waits for every
/// connection's last request.
pub async fn run<S, E>(
    load: &Load,
    at_start: impl FnOnce() -> S,
    at_end: impl FnOnce() -> E,
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
    let started = at_start();
    tokio::time::sleep_until(end.into()).await;
    let ended = at_end();
    let mut outcome = Outcome::default();
    for task in tasks {
        let seen = tokio::time::timeout(REQUEST_TIMEOUT + Duration::from_secs(1), task)
            .await
            .context("a connection did not finish its last request in time")?
            .context("a connection task failed")?;
        outcome.merge(seen);
    }
    outcome.latencies_us.sort_unstable();
    Ok((outcome, started, ended))
}

/// One connection's closed loop until `end`.
async fn connection(load: &Load, start: Instant, end: Instant) -> Outcome {
    let mut seen = Outcome::default();
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    while Instant::now() < end {
        let began = Instant::now();
        let answer = match sender.as_mut() {
            Some(sender) => tokio::time::timeout(REQUEST_TIMEOUT, send(sender, load))
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer within {REQUEST_TIMEOUT:?}"))),
            None => match connect(load.addr).await {
                Ok(connected) => {
                    sender = Some(connected);
                    continue;
                }
                Err(error) => Err(error),
            },
        };
        let done = Instant::now();
        let counted = done >= start && done < end;
        let error = match answer {
            Ok(len) if len == load.expected_len => {
                if counted {
                    let micros = done.duration_since(began).as_micros();
                    seen.latencies_us
                        .push(u32::try_from(micros).unwrap_or(u32::MAX));
                }
                continue;
            }
            Ok(len) => format!("an answer of {len} bytes, not {}", load.expected_len),
            Err(error) => format!("{error:#}"),
        };
        // The connection may be unusable now: the next turn opens a new one.
        sender = None;
        if counted {
            seen.error(error);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
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
    // Ends when the router closes the connection or the sender is dropped.
    tokio::spawn(connection);
    Ok(sender)
}

/// Posts the body and reads the whole answer; its length when the status is 200.
async fn send(sender: &mut SendRequest<Full<Bytes>>, load: &Load) -> anyhow::Result<usize> {
    sender.ready().await.context("the connection closed")?;
    let request = hyper::Request::post("/graphql")
        .header(HOST, load.addr.to_string())
        .header(CONTENT_TYPE, "application/json")
        .header(AUTHORIZATION, load.authorization.clone())
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
    Ok(body.len())
}
