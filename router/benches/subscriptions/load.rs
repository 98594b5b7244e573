//! The load client: WebSockets speaking `graphql-transport-ws` (as npm
//! `graphql-ws` does) to a router's `/graphql`, each holding several
//! `ticks` subscriptions, checking every event and timing it.
//!
//! A socket: `connection_init` → `connection_ack`, then one `subscribe` per
//! subscription (ids `0`…, `stream` numbers unique over the run), then every
//! `next` is checked — its `stream`, the entity fields `catalog` gives
//! (`item { name }`: the router's entity fetch ran), its `seq` against the
//! subscription's last one (a gap counts as lost events, a repeat or step
//! back as out of order) — and, inside the measured window, its latency:
//! the client's wall clock at receipt minus the subgraph's `emittedAtUs`.
//! `ping` is answered with `pong`. The socket closes when the run stops.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::schemas::{ITEMS, item_name, now_us};

/// The subscription every client sends.
pub const QUERY: &str = "subscription Ticks($stream: Int!) { ticks(stream: $stream) { stream seq emittedAtUs item { id name price } } }";

/// How long connecting and the `connection_ack` may take.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(20);

/// What every socket task shares with the bench.
#[derive(Default)]
pub struct Shared {
    /// Inside the measured window: latencies are kept and events counted.
    pub measuring: AtomicBool,
    /// Events received inside the measured window.
    pub window_events: AtomicU64,
    /// Subscriptions that have had their first event.
    pub started: AtomicUsize,
}

/// What one socket saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Latencies inside the measured window, in microseconds.
    pub latencies_us: Vec<u32>,
    /// Events received over the whole run.
    pub events: u64,
    /// Events missing from a subscription's sequence.
    pub lost: u64,
    /// Events repeated or arriving after a later one.
    pub out_of_order: u64,
    /// Events with errors or wrong data, `error`/`complete` messages, and a
    /// socket that failed or closed before the end.
    pub errors: u64,
    /// Subscriptions that never had an event.
    pub silent: u64,
    /// The first problem, for the report.
    pub first_error: Option<String>,
}

impl Outcome {
    fn problem(&mut self, text: impl FnOnce() -> String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(text());
        }
    }

    /// Adds `other` into this one.
    pub fn merge(&mut self, mut other: Outcome) {
        self.latencies_us.append(&mut other.latencies_us);
        self.events += other.events;
        self.lost += other.lost;
        self.out_of_order += other.out_of_order;
        self.errors += other.errors;
        self.silent += other.silent;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// One socket with `per_socket` subscriptions to streams `first_stream`…,
/// until `stop` turns true.
pub async fn socket(
    addr: SocketAddr,
    first_stream: usize,
    per_socket: usize,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut last_seq = vec![0i64; per_socket];
    let mut ws = match tokio::time::timeout(
        HANDSHAKE_DEADLINE,
        open(addr, first_stream, per_socket),
    )
    .await
    {
        Ok(Ok(ws)) => ws,
        Ok(Err(error)) => {
            outcome.problem(|| format!("socket {first_stream}: {error:#}"));
            outcome.silent = per_socket as u64;
            return outcome;
        }
        Err(_) => {
            outcome.problem(|| {
                format!("socket {first_stream}: no connection_ack within {HANDSHAKE_DEADLINE:?}")
            });
            outcome.silent = per_socket as u64;
            return outcome;
        }
    };
    loop {
        let message = tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => break,
            message = ws.next() => message,
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(Message::Binary(_))) => {
                outcome.problem(|| "a binary message".to_owned());
                continue;
            }
            Some(Ok(Message::Close(frame))) => {
                outcome.problem(|| format!("the router closed the socket: {frame:?}"));
                break;
            }
            Some(Err(error)) => {
                outcome.problem(|| format!("the socket failed: {error}"));
                break;
            }
            None => {
                outcome.problem(|| "the socket ended".to_owned());
                break;
            }
        };
        let received_us = now_us();
        let Ok(message) = serde_json::from_str::<Value>(&text) else {
            outcome.problem(|| format!("not JSON: {text}"));
            continue;
        };
        match message["type"].as_str() {
            Some("next") => {
                let index = message["id"]
                    .as_str()
                    .and_then(|id| id.parse::<usize>().ok())
                    .filter(|&i| i < per_socket);
                let Some(index) = index else {
                    outcome.problem(|| format!("a `next` for an unknown id: {text}"));
                    continue;
                };
                event(
                    &mut outcome,
                    &shared,
                    &mut last_seq[index],
                    (first_stream + index) as i64,
                    &message["payload"],
                    received_us,
                );
            }
            Some("ping") => {
                let _ = ws
                    .send(Message::text(json!({"type": "pong"}).to_string()))
                    .await;
            }
            Some("pong") => {}
            Some(_) => outcome.problem(|| format!("subscription ended or failed: {text}")),
            None => outcome.problem(|| format!("a message without a type: {text}")),
        }
    }
    let _ = ws.close(None).await;
    outcome.silent = last_seq.iter().filter(|&&seq| seq == 0).count() as u64;
    outcome
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects, initialises and subscribes.
async fn open(addr: SocketAddr, first_stream: usize, per_socket: usize) -> anyhow::Result<Socket> {
    let mut request = format!("ws://{addr}/graphql").into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    ws.send(Message::text(
        json!({"type": "connection_init", "payload": {}}).to_string(),
    ))
    .await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let message: Value = serde_json::from_str(&text)?;
                match message["type"].as_str() {
                    Some("connection_ack") => break,
                    Some("ping") => {
                        ws.send(Message::text(json!({"type": "pong"}).to_string()))
                            .await?;
                    }
                    _ => anyhow::bail!("expected connection_ack, got {text}"),
                }
            }
            Some(Ok(Message::Close(frame))) => anyhow::bail!("closed before the ack: {frame:?}"),
            Some(Ok(_)) => {}
            Some(Err(error)) => return Err(error.into()),
            None => anyhow::bail!("the socket ended before the ack"),
        }
    }
    for index in 0..per_socket {
        let subscribe = json!({
            "id": index.to_string(),
            "type": "subscribe",
            "payload": {"query": QUERY, "variables": {"stream": first_stream + index}},
        });
        ws.send(Message::text(subscribe.to_string())).await?;
    }
    Ok(ws)
}

/// Checks and times one event of stream `stream`.
fn event(
    outcome: &mut Outcome,
    shared: &Shared,
    last_seq: &mut i64,
    stream: i64,
    payload: &Value,
    received_us: f64,
) {
    outcome.events += 1;
    if let Some(errors) = payload.get("errors") {
        outcome.problem(|| format!("an event with errors: {errors}"));
    }
    let tick = &payload["data"]["ticks"];
    let (Some(seq), Some(emitted_us)) = (tick["seq"].as_i64(), tick["emittedAtUs"].as_f64()) else {
        outcome.problem(|| format!("an event without seq or emittedAtUs: {payload}"));
        return;
    };
    let id = (stream.rem_euclid(i64::from(ITEMS))).to_string();
    if tick["stream"].as_i64() != Some(stream)
        || tick["item"]["id"].as_str() != Some(id.as_str())
        || tick["item"]["name"].as_str() != Some(item_name(&id).as_str())
        || !tick["item"]["price"].is_i64()
    {
        outcome.problem(|| format!("stream {stream}: a wrong event: {payload}"));
    }
    if *last_seq == 0 {
        shared.started.fetch_add(1, Ordering::Relaxed);
    }
    if seq > *last_seq {
        outcome.lost += (seq - *last_seq - 1) as u64;
        *last_seq = seq;
    } else {
        outcome.out_of_order += 1;
    }
    if shared.measuring.load(Ordering::Relaxed) {
        shared.window_events.fetch_add(1, Ordering::Relaxed);
        let latency = (received_us - emitted_us).max(0.0);
        outcome
            .latencies_us
            .push(latency.min(f64::from(u32::MAX)) as u32);
    }
}
