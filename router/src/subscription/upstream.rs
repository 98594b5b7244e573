//! The subgraph side's protocol: `graphql-transport-ws` (as async-graphql,
//! graphql-ws and Hive's subgraphs serve it) from the client's end. Sockets
//! are shared by many subscriptions ([`super::mux`]); this module opens one
//! and reads its messages.
//!
//! # Layout
//! - [`connect`]: the upgrade (subprotocol, forwarded headers),
//!   `connection_init` (the `Authorization` in the payload too), waiting for
//!   `connection_ack`.
//! - [`Incoming`]: a server message, parsed just enough to route it by id.
//! - [`UpstreamRequest`], [`UpstreamEvent`], [`UpstreamError`]: one
//!   subscription's request, what it receives, why it failed (the message
//!   names the subgraph).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};

/// The subprotocol both sides speak.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// The read buffer of each WebSocket, to a subgraph or from a client: small,
/// since there are many client sockets and events are small (they grow past
/// it when one is not).
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
    /// The subscription's own task fell `buffer` events behind the shared
    /// socket (it could not run the rest of the plan as fast as the
    /// subgraph sent events); the socket's other subscriptions go on.
    #[error(
        "the router fell behind subgraph `{subgraph}`'s events (more than {buffer} waiting): the subscription ended"
    )]
    Overflow {
        /// The subgraph.
        subgraph: String,
        /// The buffer it overflowed.
        buffer: usize,
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
    /// The forwarded headers. Those that can change an answer
    /// ([`crate::request::answer_headers`]: `Authorization`) are sent on the
    /// upgrade and choose the shared socket; tracing headers belong to one
    /// request and are not sent on a socket shared by many.
    pub headers: HeaderMap,
    /// How long to wait for the connection and its `connection_ack`.
    pub init_timeout: Duration,
    /// How often to ping an idle connection (`ZERO`: never).
    pub heartbeat: Duration,
}

/// A subgraph socket after its `connection_ack`.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a socket to `url` for `subgraph` and waits for its
/// `connection_ack` (both within `init_timeout`). `headers` go on the
/// upgrade, and the `Authorization` among them into the `connection_init`
/// payload too (where graphql-ws servers read it).
pub async fn connect(
    subgraph: &str,
    url: &str,
    headers: &HeaderMap,
    init_timeout: Duration,
) -> Result<Socket, UpstreamError> {
    let connect_error = |reason: String| UpstreamError::Connect {
        subgraph: subgraph.to_owned(),
        reason,
    };
    let mut upgrade = url
        .into_client_request()
        .map_err(|e| connect_error(e.to_string()))?;
    upgrade
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static(PROTOCOL));
    for (name, value) in headers {
        upgrade.headers_mut().insert(name.clone(), value.clone());
    }
    // Small buffers: events are small (the default 128 KiB read buffer made a
    // socket cost ~180 KiB).
    let config = WebSocketConfig::default()
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(0);
    let connect = tokio_tungstenite::connect_async_with_config(upgrade, Some(config), true);
    let (mut socket, response) = tokio::time::timeout(init_timeout, connect)
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
    if let Some(auth) = headers
        .get(reqwest::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        payload.insert("Authorization".into(), Value::String(auth.to_owned()));
    }
    let init = json!({ "type": "connection_init", "payload": payload });
    let init_error = |reason: String| UpstreamError::Init {
        subgraph: subgraph.to_owned(),
        reason,
    };
    socket
        .send(Message::text(init.to_string()))
        .await
        .map_err(|e| init_error(e.to_string()))?;
    let ack = async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Text(text)) => match Incoming::parse(&text) {
                    Some(Incoming::Ack) => return Ok(()),
                    Some(Incoming::Ping) => {
                        let _ = socket.send(Message::text(PONG)).await;
                    }
                    _ => return Err(format!("unexpected message before the ack: {text}")),
                },
                Ok(Message::Close(frame)) => return Err(close_reason(frame.as_ref())),
                Ok(_) => {}
                Err(error) => return Err(error.to_string()),
            }
        }
        Err("closed".to_owned())
    };
    tokio::time::timeout(init_timeout, ack)
        .await
        .map_err(|_| init_error("timed out".into()))?
        .map_err(init_error)?;
    Ok(socket)
}

/// A `ping` message.
pub const PING: &str = r#"{"type":"ping"}"#;
/// A `pong` message.
pub const PONG: &str = r#"{"type":"pong"}"#;

/// The `subscribe` message for `request` under `id`.
pub fn subscribe_message(id: u64, request: &UpstreamRequest) -> String {
    let mut payload = Map::new();
    payload.insert("query".into(), Value::String(request.query.clone()));
    payload.insert("variables".into(), Value::Object(request.variables.clone()));
    if let Some(name) = &request.operation_name {
        payload.insert("operationName".into(), Value::String(name.clone()));
    }
    json!({ "id": id.to_string(), "type": "subscribe", "payload": payload }).to_string()
}

/// The `complete` message for `id`.
pub fn complete_message(id: u64) -> String {
    format!(r#"{{"id":"{id}","type":"complete"}}"#)
}

/// "closed (code reason)" for a close frame.
pub fn close_reason(frame: Option<&CloseFrame>) -> String {
    frame.map_or_else(
        || "the connection closed".to_owned(),
        |f| format!("the connection closed ({} {})", u16::from(f.code), f.reason),
    )
}

/// A message from the subgraph.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// `connection_ack`.
    Ack,
    /// `ping`: answer with a `pong`.
    Ping,
    /// `next` for subscription `id`: a GraphQL response.
    Next(u64, Map<String, Value>),
    /// `error` for subscription `id`: its errors' messages.
    Error(u64, Vec<String>),
    /// `complete` for subscription `id`.
    Complete(u64),
    /// Anything else (`pong`, a message for an id the router never used).
    Other,
}

impl Incoming {
    /// The message in `text`; `None` when it is not a JSON object.
    pub fn parse(text: &str) -> Option<Incoming> {
        let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(text) else {
            return None;
        };
        let id = message
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| id.parse::<u64>().ok());
        let incoming = match (message.get("type").and_then(Value::as_str), id) {
            (Some("connection_ack"), _) => Incoming::Ack,
            (Some("ping"), _) => Incoming::Ping,
            (Some("next"), Some(id)) => match message.remove("payload") {
                Some(Value::Object(payload)) => Incoming::Next(id, payload),
                _ => Incoming::Other,
            },
            (Some("error"), Some(id)) => {
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
                Incoming::Error(id, errors)
            }
            (Some("complete"), Some(id)) => Incoming::Complete(id),
            _ => Incoming::Other,
        };
        Some(incoming)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_are_parsed_by_type_and_id() {
        assert_eq!(
            Incoming::parse(r#"{"type":"connection_ack"}"#),
            Some(Incoming::Ack)
        );
        let Some(Incoming::Next(7, payload)) =
            Incoming::parse(r#"{"id":"7","type":"next","payload":{"data":{"a":1}}}"#)
        else {
            panic!("a next for 7")
        };
        assert_eq!(payload["data"]["a"], 1);
        assert_eq!(
            Incoming::parse(r#"{"id":"3","type":"error","payload":[{"message":"no"}]}"#),
            Some(Incoming::Error(3, vec!["no".into()]))
        );
        assert_eq!(
            Incoming::parse(r#"{"id":"3","type":"complete"}"#),
            Some(Incoming::Complete(3))
        );
        assert_eq!(
            Incoming::parse(r#"{"id":"x","type":"complete"}"#),
            Some(Incoming::Other)
        );
        assert_eq!(Incoming::parse("not json"), None);
    }

    #[test]
    fn subscribe_and_complete_carry_the_socket_local_id() {
        let request = UpstreamRequest {
            subgraph: "orders".into(),
            url: "ws://orders/graphql".into(),
            query: "subscription { a }".into(),
            operation_name: Some("A".into()),
            variables: Map::new(),
            headers: HeaderMap::new(),
            init_timeout: Duration::from_secs(1),
            heartbeat: Duration::ZERO,
        };
        let message: Value = serde_json::from_str(&subscribe_message(12, &request)).expect("JSON");
        assert_eq!(message["id"], "12");
        assert_eq!(message["type"], "subscribe");
        assert_eq!(message["payload"]["operationName"], "A");
        assert_eq!(complete_message(12), r#"{"id":"12","type":"complete"}"#);
    }
}
