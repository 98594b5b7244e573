//! Subscriptions through the router, end to end: real async-graphql
//! subgraphs (`subgraphs`) behind a router on port 0, clients speaking each
//! protocol.
//!
//! # Layout
//! - `subgraphs`: the orders (HTTP + `graphql-transport-ws`) and payments
//!   subgraphs.
//! - `websocket`: the `graphql-transport-ws` client side — events with
//!   entity fetches, the protocol's edge cases (subprotocol, unknown
//!   message, duplicate id, subscribe before init, init timeout, invalid
//!   query, a query over the socket, ping), `complete` from either side.
//! - `lifecycle`: a subgraph that dies, a failed entity fetch, limits,
//!   shutdown.
//! - `http`: Server-Sent Events and multipart.
//! - `sharing`: subscriptions share subgraph sockets (bounded per socket,
//!   never across tokens); a dying socket ends all of them; `complete`s
//!   reach the subgraph; idle sockets close.
//! - `auth`: the token from `connection_init` or the upgrade, verified;
//!   expiry ends a subscription.
//! - this file: the router on port 0 and a small WebSocket client.

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod http;
mod lifecycle;
mod sharing;
mod subgraphs;
mod websocket;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use storefront_router::AppState;
use storefront_router::settings::RouterSettings;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// A router serving on port 0 until dropped (or [`Router::shut_down`]).
pub struct Router {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Its state.
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Router {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Router {
    /// A router on `sdl` with subgraph URLs `urls`.
    pub async fn start(settings: RouterSettings, sdl: &str, urls: &[(&str, &str)]) -> Self {
        let state = common::serving_with(settings, sdl, urls);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stop) = oneshot::channel();
        let served = state.clone();
        let task = tokio::spawn(async move {
            let _ = storefront_router::run(listener, served, async {
                let _ = stop.await;
            })
            .await;
        });
        Router {
            base,
            state,
            shutdown: Some(shutdown),
            task,
        }
    }

    /// The orders and payments subgraphs behind a router with `settings`.
    pub async fn with_shop(
        settings: RouterSettings,
    ) -> (Self, subgraphs::Orders, common::FakeSubgraph) {
        let orders = subgraphs::Orders::start().await;
        let payments = subgraphs::payments().await;
        let router = Router::start(
            settings,
            &subgraphs::supergraph(),
            &[("orders", &orders.url), ("payments", &payments.url)],
        )
        .await;
        (router, orders, payments)
    }

    /// The WebSocket URL of `/graphql`.
    pub fn ws_url(&self) -> String {
        format!("{}/graphql", self.base.replacen("http", "ws", 1))
    }

    /// Starts the router's graceful shutdown.
    pub fn shut_down(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket client of the router.
pub struct Client {
    /// The raw socket.
    pub socket: Socket,
}

/// How a socket ended, or what came.
#[derive(Debug, PartialEq)]
pub enum Received {
    /// A JSON message.
    Json(Value),
    /// A close frame with its code and reason.
    Closed(u16, String),
}

impl Client {
    /// Connects offering `protocol` (none when `None`), with `headers`.
    pub async fn connect(url: &str, protocol: Option<&str>, headers: &[(&str, &str)]) -> Self {
        let mut request = url.into_client_request().unwrap();
        if let Some(protocol) = protocol {
            request.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_str(protocol).unwrap(),
            );
        }
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        Client { socket }
    }

    /// Connects with `graphql-transport-ws` and is acknowledged.
    pub async fn ready(url: &str, payload: Value) -> Self {
        let mut client = Self::connect(url, Some("graphql-transport-ws"), &[]).await;
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        assert_eq!(
            client.receive().await,
            Received::Json(json!({ "type": "connection_ack" }))
        );
        client
    }

    /// Sends a JSON message.
    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    /// Sends a `subscribe`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({
            "id": id, "type": "subscribe",
            "payload": { "query": query, "variables": variables }
        }))
        .await;
    }

    /// The next JSON message or close (pings answered, skipped); panics
    /// after 5 s.
    pub async fn receive(&mut self) -> Received {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), self.socket.next())
                .await
                .expect("a message within 5 s");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Received::Json(value);
                }
                Some(Ok(Message::Close(frame))) => {
                    return frame.map_or(Received::Closed(1005, String::new()), |f| {
                        Received::Closed(u16::from(f.code), f.reason.to_string())
                    });
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Received::Closed(1006, String::new()),
            }
        }
    }

    /// The next message, which must be JSON.
    pub async fn json(&mut self) -> Value {
        match self.receive().await {
            Received::Json(value) => value,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The close code the router sends next.
    pub async fn close_code(&mut self) -> u16 {
        match self.receive().await {
            Received::Closed(code, _) => code,
            other => panic!("expected a close, got {other:?}"),
        }
    }
}
