//! A small subscription client per protocol the router serves on `/graphql`,
//! all behind one [`Subscription`]: the next event as a GraphQL response
//! (`data`, `errors`), or `None` once the stream has ended.
//!
//! - WebSocket, `graphql-transport-ws`: the token in `connection_init`'s
//!   payload; a `next` is an event, an `error` message is an event with only
//!   `errors` (then the subscription is over), `complete` or a close ends it.
//! - Server-Sent Events (graphql-sse, distinct connections): `event: next`
//!   blocks are events, `event: complete` ends it, `:` comments are heartbeats.
//! - Multipart (Apollo's `subscriptionSpec="1.0"`): a `{"payload": …}` part
//!   is an event, `{}` a heartbeat, `{"payload": null, "errors": […]}` an
//!   event with only `errors`, the closing boundary the end.
//!
//! Every wait is bounded ([`WAIT`]); nothing sleeps.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// The longest a test waits for one event (or the end of a stream).
pub const WAIT: Duration = Duration::from_secs(15);

/// A client protocol of the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// WebSocket with `graphql-transport-ws`.
    WebSocket,
    /// GraphQL over Server-Sent Events, distinct connections.
    Sse,
    /// HTTP multipart subscriptions.
    Multipart,
}

/// Every protocol, in the order the tests try them.
pub const PROTOCOLS: [Protocol; 3] = [Protocol::WebSocket, Protocol::Sse, Protocol::Multipart];

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

enum Transport {
    WebSocket(Box<Socket>),
    /// An HTTP response streaming SSE or multipart, and what was read of it
    /// but not parsed yet.
    Http(reqwest::Response, String),
}

/// One running subscription through the router.
pub struct Subscription {
    protocol: Protocol,
    transport: Transport,
    ended: bool,
}

impl Subscription {
    /// Subscribes with `query` and `variables` at the router's `graphql_url`
    /// over `protocol`, as the holder of `token` (anonymous when `None`).
    pub async fn start(
        protocol: Protocol,
        graphql_url: &str,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Self {
        let transport = match protocol {
            Protocol::WebSocket => Transport::WebSocket(Box::new(
                websocket(graphql_url, token, query, variables).await,
            )),
            Protocol::Sse | Protocol::Multipart => {
                let accept = if protocol == Protocol::Sse {
                    "text/event-stream"
                } else {
                    r#"multipart/mixed;subscriptionSpec="1.0", application/json"#
                };
                let mut request = reqwest::Client::new()
                    .post(graphql_url)
                    .header("accept", accept)
                    .json(&json!({ "query": query, "variables": variables }));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let response = tokio::time::timeout(WAIT, request.send())
                    .await
                    .expect("the router answers in time")
                    .expect("the router answers");
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let expected = if protocol == Protocol::Sse {
                    "text/event-stream"
                } else {
                    "multipart/mixed"
                };
                assert!(
                    response.status().is_success() && content_type.starts_with(expected),
                    "{protocol:?}: a {expected} stream, got {} {content_type}",
                    response.status()
                );
                Transport::Http(response, String::new())
            }
        };
        Subscription {
            protocol,
            transport,
            ended: false,
        }
    }

    /// The next event (`{data, errors}`), or `None` when the stream ended;
    /// panics if neither comes within [`WAIT`].
    pub async fn next(&mut self) -> Option<Value> {
        if self.ended {
            return None;
        }
        let protocol = self.protocol;
        let event = tokio::time::timeout(WAIT, self.read())
            .await
            .unwrap_or_else(|_| panic!("{protocol:?}: an event or the end within {WAIT:?}"));
        if event.is_none() {
            self.ended = true;
        }
        event
    }

    /// The next event, which must come.
    pub async fn event(&mut self) -> Value {
        let protocol = self.protocol;
        self.next()
            .await
            .unwrap_or_else(|| panic!("{protocol:?}: an event, not the end of the stream"))
    }

    /// Asserts the stream ends (after no more events).
    pub async fn assert_ends(&mut self) {
        let protocol = self.protocol;
        if let Some(event) = self.next().await {
            panic!("{protocol:?}: the stream ends, got {event}");
        }
    }

    async fn read(&mut self) -> Option<Value> {
        match (&mut self.transport, self.protocol) {
            (Transport::WebSocket(socket), _) => read_websocket(socket).await,
            (Transport::Http(response, buffer), Protocol::Sse) => read_sse(response, buffer).await,
            (Transport::Http(response, buffer), _) => read_multipart(response, buffer).await,
        }
    }
}

async fn websocket(
    graphql_url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Socket {
    let url = graphql_url.replacen("http://", "ws://", 1);
    let mut request = url.into_client_request().expect("a WebSocket request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("the router upgrades in time")
        .expect("the router upgrades");
    let payload = match token {
        Some(token) => json!({ "Authorization": format!("Bearer {token}") }),
        None => json!({}),
    };
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    let ack = tokio::time::timeout(WAIT, read_message(&mut socket))
        .await
        .expect("connection_ack in time");
    assert_eq!(ack, Some(json!({ "type": "connection_ack" })));
    send(
        &mut socket,
        json!({ "id": "1", "type": "subscribe",
                "payload": { "query": query, "variables": variables } }),
    )
    .await;
    socket
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .expect("the socket takes a message");
}

/// The next JSON message (pings answered), `None` on close.
async fn read_message(socket: &mut Socket) -> Option<Value> {
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let message: Value = serde_json::from_str(&text).expect("a JSON message");
                if message["type"] == "ping" {
                    send(socket, json!({ "type": "pong" })).await;
                    continue;
                }
                return Some(message);
            }
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(_)) => {}
        }
    }
}

async fn read_websocket(socket: &mut Socket) -> Option<Value> {
    loop {
        let message = read_message(socket).await?;
        match message["type"].as_str() {
            Some("next") => return Some(message["payload"].clone()),
            Some("error") => return Some(json!({ "errors": message["payload"] })),
            Some("complete") => return None,
            Some("pong") => {}
            _ => panic!("an unexpected message: {message}"),
        }
    }
}

/// Appends the next chunk of `response` to `buffer`; false at the end.
async fn more(response: &mut reqwest::Response, buffer: &mut String) -> bool {
    match response.chunk().await {
        Ok(Some(chunk)) => {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            true
        }
        Ok(None) | Err(_) => false,
    }
}

async fn read_sse(response: &mut reqwest::Response, buffer: &mut String) -> Option<Value> {
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut kind = "message";
            let mut data = String::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    kind = value.trim();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.trim_start());
                }
            }
            match kind {
                "next" => return Some(serde_json::from_str(&data).expect("a JSON event")),
                "complete" => return None,
                _ => {} // a heartbeat comment
            }
        }
        if !more(response, buffer).await {
            return None;
        }
    }
}

const DELIMITER: &str = "\r\n--graphql";

async fn read_multipart(response: &mut reqwest::Response, buffer: &mut String) -> Option<Value> {
    loop {
        if buffer.starts_with("--") {
            return None; // the closing boundary
        }
        if let Some(at) = buffer.find(DELIMITER) {
            let part: String = buffer.drain(..at + DELIMITER.len()).collect();
            let Some((_, body)) = part[..at].split_once("\r\n\r\n") else {
                continue; // the preamble before the first boundary
            };
            let body: Value = serde_json::from_str(body).expect("a JSON part");
            match body.get("payload") {
                None => {} // a heartbeat
                Some(Value::Null) => return Some(json!({ "errors": body["errors"] })),
                Some(payload) => return Some(payload.clone()),
            }
            continue;
        }
        if !more(response, buffer).await {
            return None;
        }
    }
}
