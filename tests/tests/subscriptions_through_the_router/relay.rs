//! A TCP relay in front of a subgraph's WebSocket endpoint, which the test
//! can cut as if the subgraph's process died: every relayed connection is
//! dropped at once and new ones are refused.

use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running relay; stops (and drops its connections) when cut or dropped.
pub struct Relay {
    /// `ws://…/graphql` through the relay.
    pub ws_url: String,
    accept: JoinHandle<()>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    /// Relays connections to the host and port of `target_graphql_url`.
    pub async fn start(target_graphql_url: &str) -> Self {
        let target = target_graphql_url
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .expect("an http://host:port/… URL")
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let ws_url = format!(
            "ws://{}/graphql",
            listener.local_addr().expect("an address")
        );
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let tracked = Arc::clone(&connections);
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let relay = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tracked.lock().expect("not poisoned").push(relay);
            }
        });
        Relay {
            ws_url,
            accept,
            connections,
        }
    }

    /// Drops every relayed connection and refuses new ones: to the router,
    /// the subgraph is gone.
    pub fn cut(&self) {
        self.accept.abort();
        for connection in self.connections.lock().expect("not poisoned").drain(..) {
            connection.abort();
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
    }
}
