//! `[service.subscriptions]`: GraphQL subscriptions through the router.
//!
//! ```toml
//! [service.subscriptions]
//! enabled = true
//! max_per_connection = 100
//! max_total = 20000
//! init_timeout = "10s"
//! heartbeat_interval = "15s"
//! buffer = 64
//! max_per_subgraph_socket = 100
//! subgraph_socket_linger = "2s"
//!
//! [service.subscriptions.subgraph_urls]   # default: the routing URL, http→ws
//! orders = "ws://127.0.0.1:4002/graphql"
//! ```
//!
//! Environment variables `SUBSCRIPTIONS_<KEY>` override the file's keys.
//!
//! # Layout
//! - [`SubscriptionSettings`]: limits, timers, the per-subscription buffer and
//!   the WebSocket URL of each subgraph.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Subscriptions (`[service.subscriptions]`; `SUBSCRIPTIONS_ENABLED`,
/// `SUBSCRIPTIONS_MAX_PER_CONNECTION`, `SUBSCRIPTIONS_MAX_TOTAL`,
/// `SUBSCRIPTIONS_INIT_TIMEOUT`, `SUBSCRIPTIONS_HEARTBEAT_INTERVAL`,
/// `SUBSCRIPTIONS_BUFFER`, `SUBSCRIPTIONS_MAX_PER_SUBGRAPH_SOCKET`,
/// `SUBSCRIPTIONS_SUBGRAPH_SOCKET_LINGER` override the file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubscriptionSettings {
    /// Whether subscriptions are served at all;
    /// when off, a subscription is refused with `SUBSCRIPTIONS_DISABLED` and
    /// WebSocket upgrades are refused.
    pub enabled: bool,
    /// The most subscriptions one client connection may hold at once (one
    /// WebSocket; SSE and multipart carry one each). A `subscribe` beyond it
    /// gets an `error` message (`SUBSCRIPTION_LIMIT`).
    pub max_per_connection: usize,
    /// The most subscriptions the router holds at once, over every protocol;
    /// beyond it a new one is refused (`SUBSCRIPTION_LIMIT`).
    pub max_total: usize,
    /// How long a WebSocket client has to send `connection_init` after the
    /// upgrade (then the socket is closed with 4408), and how long the router
    /// waits for a subgraph's `connection_ack`.
    #[serde(with = "humantime_serde")]
    pub init_timeout: Duration,
    /// How often an idle stream gets a keep-alive: a `ping` on WebSocket
    /// (both to clients and to subgraphs), a `:` comment on SSE, `{}` on
    /// multipart. `"0s"` turns them off.
    #[serde(with = "humantime_serde")]
    pub heartbeat_interval: Duration,
    /// Events one subscription may have waiting for a slow client. When the
    /// buffer is full the subscription ends with a `SUBSCRIPTION_BUFFER_FULL`
    /// error (events are never dropped silently, and memory stays bounded).
    pub buffer: usize,
    /// The most subscriptions one WebSocket to a subgraph carries. Sockets
    /// are shared by subscriptions to the same subgraph with the same
    /// forwarded `Authorization`; one more opens another socket. 100 keeps
    /// a socket's cost (its task, buffers, TCP connection, the subgraph's
    /// `connection_init` check) under 1% of the subscriptions it carries,
    /// while one socket's reader (a single task) and a dying socket touch at
    /// most 100 subscriptions, and a subgraph's own per-connection limits
    /// (graphql-ws servers and async-graphql keep no lower one) are not
    /// reached. `1` gives one socket per subscription.
    pub max_per_subgraph_socket: usize,
    /// How long a subgraph socket stays open after its last subscription
    /// ended, for the next subscription to reuse (at router shutdown it
    /// closes at once).
    #[serde(with = "humantime_serde")]
    pub subgraph_socket_linger: Duration,
    /// The WebSocket URL of a subgraph's subscriptions, by subgraph name;
    /// a subgraph not named here is reached at its routing URL with `http`
    /// turned into `ws` (`https` into `wss`).
    pub subgraph_urls: BTreeMap<String, String>,
}

impl Default for SubscriptionSettings {
    fn default() -> Self {
        SubscriptionSettings {
            enabled: true,
            max_per_connection: 100,
            max_total: 20_000,
            init_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(15),
            buffer: 64,
            max_per_subgraph_socket: 100,
            subgraph_socket_linger: Duration::from_secs(2),
            subgraph_urls: BTreeMap::new(),
        }
    }
}

impl SubscriptionSettings {
    /// The WebSocket URL for `subgraph` whose routing URL is `routing_url`.
    pub fn websocket_url(&self, subgraph: &str, routing_url: &str) -> String {
        if let Some(url) = self.subgraph_urls.get(subgraph) {
            return url.clone();
        }
        if let Some(rest) = routing_url.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = routing_url.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            routing_url.to_owned()
        }
    }
}

/// The settings key of a `SUBSCRIPTIONS_*` environment variable.
pub(super) fn env_key(var: &str) -> Option<String> {
    let rest = var.strip_prefix("SUBSCRIPTIONS_")?;
    Some(format!("subscriptions.{}", rest.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_variables_set_the_subscription_keys() {
        assert_eq!(
            env_key("SUBSCRIPTIONS_MAX_PER_CONNECTION").as_deref(),
            Some("subscriptions.max_per_connection")
        );
        assert_eq!(env_key("BATCHING_ENABLED"), None);
        let settings: SubscriptionSettings = serde_json::from_value(serde_json::json!({
            "init_timeout": "3s", "heartbeat_interval": "0s", "buffer": 8,
            "max_per_subgraph_socket": 10, "subgraph_socket_linger": "250ms",
        }))
        .expect("valid settings");
        assert_eq!(settings.init_timeout, Duration::from_secs(3));
        assert!(settings.heartbeat_interval.is_zero());
        assert_eq!(settings.buffer, 8);
        assert_eq!(settings.max_per_subgraph_socket, 10);
        assert_eq!(settings.subgraph_socket_linger, Duration::from_millis(250));
    }

    #[test]
    fn the_websocket_url_comes_from_the_routing_url_unless_named() {
        let mut settings = SubscriptionSettings::default();
        assert_eq!(
            settings.websocket_url("a", "http://a:4002/graphql"),
            "ws://a:4002/graphql"
        );
        assert_eq!(
            settings.websocket_url("a", "https://a.example/graphql"),
            "wss://a.example/graphql"
        );
        settings
            .subgraph_urls
            .insert("a".into(), "ws://elsewhere/subscriptions".into());
        assert_eq!(
            settings.websocket_url("a", "http://a:4002/graphql"),
            "ws://elsewhere/subscriptions"
        );
    }
}
