//! The subgraph side: one subscription to one subgraph over WebSocket with
//! the `graphql-transport-ws` protocol (as async-graphql, graphql-ws and
//! Hive's subgraphs serve it).
//!
//! # Layout
//! - [`open`]: connect (subprotocol, forwarded headers on the upgrade),
//!   `connection_init` (the `Authorization` in the payload too), wait for
//!   `connection_ack`, `subscribe`; then a task relays `next` payloads as
//!   [`UpstreamEvent`]s, answers `ping`, pings when idle, and sends
//!   `complete` when the receiver is dropped.
//! - [`UpstreamError`]: why the subgraph's stream failed or ended early;
//!   its message names the subgraph.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The subprotocol both sides speak.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// The read buffer of each WebSocket, to a subgraph or from a client: small,
/// since there is one socket per subscription upstream and events are small
/// (they grow past it when one is not).
pub const SOCKET_BUFFER: usize = 8 * 1024;

/// What the subgraph sent for the subscription.
#[derive(Debug)]
pub enum UpstreamEvent {
    /// A `next` payload: a GraphQL response (`data`, `errors`).
    Next(Map<String, Value>),
    /// The stream failed; nothing follows.
    Failed(UpstreamError),
}

/// Why a subgraph subscription failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// The WebSocket could not be opened (refused, not a WebSocket, wrong
    /// subprotocol).
    #[error("cannot open a subscription to subgraph `{subgraph}`: {reason}")]
    Connect {
        /// The subgraph.
        subgraph: String,
        /// What went wrong.
        reason: String,
    },
    /// No `connection_ack` within the init timeout, or a refused init.
    #[error("subgraph `{subgraph}` did not acknowledge the subscription connection: {reason}")]
    Init {
        /// The subgraph.
        subgraph: String,
        /// What went wrong.
        reason: String,
    },
    /// The connection closed (or broke) before the subgraph completed the
    /// subscription.
    #[error("subgraph `{subgraph}` closed the subscription: {reason}")]
    Closed {
        /// The subgraph.
        subgraph: String,
        /// The close reason.
        reason: String,
    },
    /// The subgraph answered the subscription with an `error` message.
    #[error("subgraph `{subgraph}` refused the subscription")]
    Refused {
        /// The subgraph.
        subgraph: String,
        /// Its errors.
        errors: Vec<String>,
    },
}

/// One subscription to open.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    /// The subgraph's name (for errors and logs).
    pub subgraph: String,
    /// Its WebSocket URL.
    pub url: String,
    /// The subscription's operation text.
    pub query: String,
    /// Its operation name.
    pub operation_name: Option<String>,
    /// Its variables.
    pub variables: Map<String, Value>,
    /// Headers sent on the upgrade (forwarded `Authorization`, tracing).
    pub headers: HeaderMap,
    /// How long to wait for the connection and its `connection_ack`.
    pub init_timeout: Duration,
    /// How often to ping an idle connection (`ZERO`: never).
    pub heartbeat: Duration,
}

/// Opens the subscription; events arrive on the receiver (at most `buffer`
/// waiting). Dropping the receiver completes the subscription at the
/// subgraph and closes the socket.
pub async fn open(
    request: UpstreamRequest,
    buffer: usize,
) -> Result<mpsc::Receiver<UpstreamEvent>, UpstreamError> {
    let subgraph = request.subgraph.clone();
    let connect_error = |reason: String| UpstreamError::Connect {
        subgraph: subgraph.clone(),
        reason,
    };
    let mut upgrade = request
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| connect_error(e.to_string()))?;
    upgrade
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static(PROTOCOL));
    for (name, value) in &request.headers {
        upgrade.headers_mut().insert(name.clone(), value.clone());
    }
    // Small buffers: one socket per subscription, and events are small
    // (the default 128 KiB read buffer made a subscription cost ~180 KiB).
    let config = WebSocketConfig::default()
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(0);
    let connect = tokio_tungstenite::connect_async_with_config(upgrade, Some(config), true);
    let (mut socket, response) = tokio::time::timeout(request.init_timeout, connect)
        .await
        .map_err(|_| connect_error("timed out".into()))?
        .map_err(|e| connect_error(e.to_string()))?;
    let protocol = response
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok());
    if protocol != Some(PROTOCOL) {
        return Err(connect_error(format!(
            "it does not speak `{PROTOCOL}` (subprotocol {protocol:?})"
        )));
    }
    let mut payload = Map::new();
    if let Some(auth) = request
        .headers
        .get(reqwest::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        payload.insert("Authorization".into(), Value::String(auth.to_owned()));
    }
    let init = json!({ "type": "connection_init", "payload": payload });
    let init_error = |reason: String| UpstreamError::Init {
        subgraph: subgraph.clone(),
        reason,
    };
    socket
        .send(Message::text(init.to_string()))
        .await
        .map_err(|e| init_error(e.to_string()))?;
    let ack = async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Text(text)) => match message_type(&text).as_deref() {
                    Some("connection_ack") => return Ok(()),
                    Some("ping") => {
                        let _ = socket.send(Message::text(r#"{"type":"pong"}"#)).await;
                    }
                    _ => return Err(format!("unexpected message before the ack: {text}")),
                },
                Ok(Message::Close(frame)) => {
                    return Err(frame.map_or_else(
                        || "closed".to_owned(),
                        |f| format!("closed ({} {})", u16::from(f.code), f.reason),
                    ));
                }
                Ok(_) => {}
                Err(error) => return Err(error.to_string()),
            }
        }
        Err("closed".to_owned())
    };
    tokio::time::timeout(request.init_timeout, ack)
        .await
        .map_err(|_| init_error("timed out".into()))?
        .map_err(init_error)?;
    let mut subscribe = json!({
        "id": "1",
        "type": "subscribe",
        "payload": { "query": request.query, "variables": request.variables },
    });
    if let Some(name) = &request.operation_name {
        subscribe["payload"]["operationName"] = Value::String(name.clone());
    }
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .map_err(|e| UpstreamError::Closed {
            subgraph: subgraph.clone(),
            reason: e.to_string(),
        })?;
    let (events, receiver) = mpsc::channel(buffer.max(1));
    tokio::spawn(relay(socket, events, subgraph, request.heartbeat));
    Ok(receiver)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Relays the subgraph's messages until it completes, fails, or the
/// receiver goes away (then `complete` is sent and the socket closed).
async fn relay(
    mut socket: Socket,
    events: mpsc::Sender<UpstreamEvent>,
    subgraph: String,
    heartbeat: Duration,
) {
    let closed = |reason: String| {
        UpstreamEvent::Failed(UpstreamError::Closed {
            subgraph: subgraph.clone(),
            reason,
        })
    };
    let period = if heartbeat.is_zero() {
        Duration::from_secs(3600 * 24 * 365)
    } else {
        heartbeat
    };
    let mut ticker = tokio::time::interval(period);
    ticker.tick().await;
    loop {
        tokio::select! {
            () = events.closed() => {
                let _ = socket.send(Message::text(r#"{"id":"1","type":"complete"}"#)).await;
                let _ = socket.close(None).await;
                return;
            }
            _ = ticker.tick() => {
                if socket.send(Message::text(r#"{"type":"ping"}"#)).await.is_err() {
                    let _ = events.send(closed("the connection broke".into())).await;
                    return;
                }
            }
            message = socket.next() => {
                let event = match message {
                    Some(Ok(Message::Text(text))) => handle_text(&mut socket, &text, &subgraph).await,
                    Some(Ok(Message::Close(frame))) => Step::End(Some(closed(frame.map_or_else(
                        || "the connection closed".to_owned(),
                        |f| format!("the connection closed ({} {})", u16::from(f.code), f.reason),
                    )))),
                    Some(Ok(_)) => Step::Continue,
                    Some(Err(error)) => Step::End(Some(closed(error.to_string()))),
                    None => Step::End(Some(closed("the connection closed".into()))),
                };
                match event {
                    Step::Continue => {}
                    Step::Event(event) => {
                        if events.send(event).await.is_err() {
                            let _ = socket.send(Message::text(r#"{"id":"1","type":"complete"}"#)).await;
                            let _ = socket.close(None).await;
                            return;
                        }
                    }
                    Step::End(last) => {
                        if let Some(last) = last {
                            let _ = events.send(last).await;
                        }
                        let _ = socket.close(None).await;
                        return;
                    }
                }
            }
        }
    }
}

enum Step {
    Continue,
    Event(UpstreamEvent),
    /// The subscription is over (with a last event, unless it completed).
    End(Option<UpstreamEvent>),
}

async fn handle_text(socket: &mut Socket, text: &str, subgraph: &str) -> Step {
    let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(text) else {
        return Step::End(Some(UpstreamEvent::Failed(UpstreamError::Closed {
            subgraph: subgraph.to_owned(),
            reason: "it sent a message that is not JSON".into(),
        })));
    };
    match message.get("type").and_then(Value::as_str) {
        Some("next") => match message.remove("payload") {
            Some(Value::Object(payload)) => Step::Event(UpstreamEvent::Next(payload)),
            _ => Step::Continue,
        },
        Some("error") => {
            let errors = match message.get("payload") {
                Some(Value::Array(errors)) => errors
                    .iter()
                    .map(|e| {
                        e.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("error")
                            .to_owned()
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Step::End(Some(UpstreamEvent::Failed(UpstreamError::Refused {
                subgraph: subgraph.to_owned(),
                errors,
            })))
        }
        Some("complete") => Step::End(None),
        Some("ping") => {
            let _ = socket.send(Message::text(r#"{"type":"pong"}"#)).await;
            Step::Continue
        }
        _ => Step::Continue,
    }
}

fn message_type(text: &str) -> Option<String> {
    serde_json::from_str::<Value>(text)
        .ok()?
        .get("type")?
        .as_str()
        .map(str::to_owned)
}
