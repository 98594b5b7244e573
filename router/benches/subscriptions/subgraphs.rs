//! The subgraphs as a process of their own: this bench binary run again as
//! `subscriptions --serve-subgraphs <port> <event interval in ms>`, pinned to
//! the client CPUs, so `/proc` gives their CPU apart from the load client's.
//! `POST /ticker` and `POST /catalog` execute GraphQL over HTTP; `GET
//! /ticker` upgrades to WebSocket with `graphql-transport-ws` (as
//! async-graphql serves subscriptions, and as both routers' subgraph side
//! speaks it); `GET /health` answers `ok`. The process serves until its stdin
//! closes (the bench ended) or it is killed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use async_graphql::Data;
use async_graphql::http::{WebSocket as GraphqlWebSocket, WebSocketProtocols, WsMessage};
use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::routing::{get, post};
use futures::{SinkExt as _, StreamExt as _};

use crate::execute::execute;
use crate::process::{self, Process};
use crate::schemas::{catalog, ticker};

/// The argument that makes the bench binary serve the subgraphs.
pub const SERVE_FLAG: &str = "--serve-subgraphs";

/// The subgraphs' names, which are also their paths.
pub const NAMES: [&str; 2] = ["ticker", "catalog"];

/// How long the subgraphs may take to answer `/health`.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// The subgraphs' process (`--serve-subgraphs <port> <interval ms>`).
pub fn serve(args: &[String]) -> anyhow::Result<()> {
    let [port, interval_ms] = args else {
        bail!("usage: subscriptions {SERVE_FLAG} <port> <event interval in ms>");
    };
    let port: u16 = port
        .parse()
        .with_context(|| format!("`{port}` is not a port"))?;
    let interval = Duration::from_millis(
        interval_ms
            .parse()
            .with_context(|| format!("`{interval_ms}` is not a number of milliseconds"))?,
    );
    crate::process::serve_until_stdin_closes(port, move || app(interval))
}

fn app(interval: Duration) -> Router {
    let ticker = ticker::schema(interval);
    let catalog = catalog::schema();
    let ws_schema = ticker.clone();
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/ticker",
            get(move |upgrade: WebSocketUpgrade| {
                let schema = ws_schema.clone();
                async move {
                    upgrade
                        .protocols(["graphql-transport-ws"])
                        .on_upgrade(move |socket| serve_socket(socket, schema))
                }
            })
            .post(move |body: axum::body::Bytes| execute(ticker.clone(), body)),
        )
        .route(
            "/catalog",
            post(move |body: axum::body::Bytes| execute(catalog.clone(), body)),
        )
}

/// One router's WebSocket: `graphql-transport-ws` by async-graphql.
async fn serve_socket(socket: WebSocket, schema: ticker::TickerSchema) {
    let (mut sink, stream) = socket.split();
    let input = stream
        .take_while(|message| futures::future::ready(message.is_ok()))
        .filter_map(|message| async move {
            match message {
                Ok(Message::Text(text)) => Some(text.to_string()),
                _ => None,
            }
        });
    let protocol = GraphqlWebSocket::new(schema, Box::pin(input), WebSocketProtocols::GraphQLWS)
        .on_connection_init(|_| async { Ok(Data::default()) });
    let mut protocol = Box::pin(protocol);
    while let Some(message) = protocol.next().await {
        let message = match message {
            WsMessage::Text(text) => Message::Text(text.into()),
            WsMessage::Close(code, reason) => Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })),
        };
        if sink.send(message).await.is_err() {
            return;
        }
    }
}

/// The bench's handle on the subgraphs' process.
pub struct Subgraphs {
    pub process: Process,
    pub addr: SocketAddr,
}

impl Subgraphs {
    /// Starts them pinned to `cpus`, emitting one event per `interval` per
    /// subscription, and waits until they answer.
    pub async fn start(
        cpus: Option<&str>,
        interval: Duration,
        stderr: PathBuf,
        client: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let args = |port: u16| {
            vec![
                SERVE_FLAG.into(),
                port.to_string().into(),
                interval.as_millis().to_string().into(),
            ]
        };
        let (process, addr) =
            process::start_serving(args, cpus, stderr, client, START_DEADLINE).await?;
        Ok(Subgraphs { process, addr })
    }

    /// The routing URL of subgraph `name`.
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{name}", self.addr)
    }

    /// The supergraph of both, composed by this tree's composition from
    /// their `_service { sdl }`.
    pub async fn supergraph(&self) -> anyhow::Result<String> {
        let urls: Vec<(String, String)> = NAMES
            .iter()
            .map(|name| ((*name).to_owned(), self.url(name)))
            .collect();
        let client = storefront_router::client::SubgraphClient::new(
            storefront_router::settings::Timeouts::default(),
        )
        .context("cannot build the subgraph client")?;
        storefront_router::source::compose_live(&client, &urls)
            .await
            .context("cannot compose the subgraphs")
    }
}
