//! The bench's settings, from environment variables (all optional):
//!
//! | variable | default (quick) | meaning |
//! |---|---|---|
//! | `SUBS_QUICK` | unset | `1`: the quick defaults in parentheses, for a run of about a minute |
//! | `SUBS_SOCKETS` | 1000 (100) | client WebSockets per router |
//! | `SUBS_PER_SOCKET` | 10 (10) | subscriptions on each socket |
//! | `SUBS_EVENT_INTERVAL` | `1s` | time between two events of one subscription |
//! | `SUBS_RAMP` | `10s` (`2s`) | the sockets open evenly spread over it |
//! | `SUBS_WARMUP` | `5s` (`3s`) | after every subscription had its first event, before measuring |
//! | `SUBS_DURATION` | `30s` (`10s`) | the measured window |
//! | `ROUTER_BIN` | this tree's `router` | our router binary |
//! | `PEER_ROUTER_CMD` | unset | a peer router's command (Hive Router), run by `sh -c 'exec …'` |
//! | `PEER_ROUTER_NAME` | `hive` | its label |
//! | `PEER_ROUTER_ENV` | unset | `NAME=value …` more environment for the peer |
//! | `BENCH_ROUTER_CPUS` | `0` | the routers' `taskset -c` list (empty: not pinned) |
//! | `BENCH_CLIENT_CPUS` | `1` | the load client's and the subgraphs' (empty: not pinned) |

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use humantime_serde::re::humantime;

/// A peer router started by a command.
#[derive(Debug, Clone)]
pub struct PeerSettings {
    pub command: String,
    pub name: String,
    pub env: Vec<(String, String)>,
}

/// Everything the environment may set.
#[derive(Debug, Clone)]
pub struct BenchSettings {
    /// Our router binary.
    pub router: PathBuf,
    /// The peer router, when `PEER_ROUTER_CMD` is set.
    pub peer: Option<PeerSettings>,
    /// Client WebSockets per router.
    pub sockets: usize,
    /// Subscriptions per socket.
    pub per_socket: usize,
    /// Time between two events of one subscription.
    pub interval: Duration,
    /// The sockets open spread evenly over it.
    pub ramp: Duration,
    /// Running, unmeasured, once every subscription has had an event.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// `taskset -c` list for the routers.
    pub router_cpus: Option<String>,
    /// `taskset -c` list for the load client and the subgraphs.
    pub client_cpus: Option<String>,
}

impl BenchSettings {
    /// Reads the settings from the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        let quick = var("SUBS_QUICK").is_some_and(|v| v != "0");
        let router = match var("ROUTER_BIN") {
            Some(path) => PathBuf::from(path),
            None => PathBuf::from(env!("CARGO_BIN_EXE_router")),
        };
        let peer = var("PEER_ROUTER_CMD").map(|command| -> anyhow::Result<_> {
            Ok(PeerSettings {
                command,
                name: var("PEER_ROUTER_NAME").unwrap_or_else(|| "hive".to_owned()),
                env: pairs("PEER_ROUTER_ENV")?,
            })
        });
        let pick = |full: u64, short: u64| Duration::from_secs(if quick { short } else { full });
        Ok(BenchSettings {
            router,
            peer: peer.transpose()?,
            sockets: number("SUBS_SOCKETS", if quick { 100 } else { 1000 })?,
            per_socket: number("SUBS_PER_SOCKET", 10)?,
            interval: duration("SUBS_EVENT_INTERVAL", Duration::from_secs(1))?,
            ramp: duration("SUBS_RAMP", pick(10, 2))?,
            warmup: duration("SUBS_WARMUP", pick(5, 3))?,
            duration: duration("SUBS_DURATION", pick(30, 10))?,
            router_cpus: cpus("BENCH_ROUTER_CPUS", "0"),
            client_cpus: cpus("BENCH_CLIENT_CPUS", "1"),
        })
    }

    /// Subscriptions per router.
    pub fn subscriptions(&self) -> usize {
        self.sockets * self.per_socket
    }
}

/// A set, non-empty variable.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number(name: &str, default: usize) -> anyhow::Result<usize> {
    match var(name) {
        None => Ok(default),
        Some(text) => match text.trim().parse() {
            Ok(0) | Err(_) => bail!("{name} must be a positive whole number, not `{text}`"),
            Ok(n) => Ok(n),
        },
    }
}

fn duration(name: &str, default: Duration) -> anyhow::Result<Duration> {
    match var(name) {
        None => Ok(default),
        Some(text) => match humantime::parse_duration(text.trim()) {
            Ok(d) if d.is_zero() => bail!("{name} must be longer than zero"),
            parsed => parsed.with_context(|| {
                format!("{name} must be a duration such as \"10s\", not `{text}`")
            }),
        },
    }
}

fn pairs(name: &str) -> anyhow::Result<Vec<(String, String)>> {
    var(name)
        .unwrap_or_default()
        .split_whitespace()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
            _ => bail!("{name} wants NAME=value pairs, not `{pair}`"),
        })
        .collect()
}

/// Set but empty means "do not pin".
fn cpus(name: &str, default: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => None,
        Ok(value) => Some(value.trim().to_owned()),
        Err(_) => Some(default.to_owned()),
    }
}
