//! The routers under test and how each is started for subscriptions.
//!
//! Ours: `ROUTER serve --supergraph FILE` with `PORT`,
//! `BIND_ADDRESS=127.0.0.1`, `RUST_LOG=warn`, and the subscription limits
//! raised to the workload (`SUBSCRIPTIONS_MAX_TOTAL`,
//! `SUBSCRIPTIONS_MAX_PER_CONNECTION`); it subscribes to the subgraph over
//! `graphql-transport-ws` at the routing URL with `ws://`.
//!
//! The peer (Hive Router): `sh -c 'exec PEER_ROUTER_CMD'` in a directory of
//! its own holding this `router.config.yaml` (Hive Router 0.3.x; see its
//! docs, "Subscriptions" and "Configuration → subscriptions / websocket"),
//! with `PORT`, `HOST=127.0.0.1`, `ROUTER_CONFIG_FILE_PATH`,
//! `SUPERGRAPH_FILE_PATH`, then `PEER_ROUTER_ENV`:
//!
//! ```yaml
//! supergraph: { source: file, path: FILE }
//! log: { level: warn }
//! websocket: { enabled: true }            # clients over graphql-transport-ws on /graphql
//! subscriptions:
//!   enabled: true
//!   websocket: { all: {} }                # subgraphs over graphql-transport-ws, routing URL with ws://
//! ```

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::process::Launch;
use crate::settings::{BenchSettings, PeerSettings};

/// A router under test.
#[derive(Debug, Clone)]
pub struct RouterSpec {
    /// Its column in the report: `current` or the peer's name.
    pub label: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Ours(PathBuf),
    Peer(PeerSettings),
}

impl RouterSpec {
    /// Ours, then the peer when set.
    pub fn all(settings: &BenchSettings) -> anyhow::Result<Vec<RouterSpec>> {
        if !settings.router.is_file() {
            anyhow::bail!(
                "the router {} does not exist (build it with `cargo build --profile dist -p storefront-router --bin router`)",
                settings.router.display()
            );
        }
        let mut specs = vec![RouterSpec {
            label: "current".to_owned(),
            kind: Kind::Ours(settings.router.clone()),
        }];
        if let Some(peer) = &settings.peer {
            if peer.name == "current" {
                anyhow::bail!("PEER_ROUTER_NAME must differ from `current`");
            }
            specs.push(RouterSpec {
                label: peer.name.clone(),
                kind: Kind::Peer(peer.clone()),
            });
        }
        Ok(specs)
    }

    /// What it runs, for the report's header.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Ours(binary) => binary.display().to_string(),
            Kind::Peer(peer) => peer.command.clone(),
        }
    }

    /// How to start it on `port` serving `supergraph` for `settings`'
    /// workload; `dir` is a directory of its own.
    pub fn launch(
        &self,
        settings: &BenchSettings,
        supergraph: &Path,
        port: u16,
        dir: &Path,
    ) -> anyhow::Result<Launch> {
        match &self.kind {
            Kind::Ours(binary) => Ok(Launch {
                program: binary.into(),
                args: vec!["serve".into(), "--supergraph".into(), supergraph.into()],
                env: vec![
                    ("PORT".to_owned(), port.to_string()),
                    ("BIND_ADDRESS".to_owned(), "127.0.0.1".to_owned()),
                    ("RUST_LOG".to_owned(), "warn".to_owned()),
                    (
                        "SUBSCRIPTIONS_MAX_TOTAL".to_owned(),
                        settings.subscriptions().to_string(),
                    ),
                    (
                        "SUBSCRIPTIONS_MAX_PER_CONNECTION".to_owned(),
                        settings.per_socket.to_string(),
                    ),
                ],
                dir: None,
            }),
            Kind::Peer(peer) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let config = dir.join("router.config.yaml");
                std::fs::write(&config, hive_config(supergraph))
                    .with_context(|| format!("cannot write {}", config.display()))?;
                let mut env = vec![
                    ("PORT".to_owned(), port.to_string()),
                    ("HOST".to_owned(), "127.0.0.1".to_owned()),
                    ("ROUTER_CONFIG_FILE_PATH".to_owned(), path(&config)),
                    ("SUPERGRAPH_FILE_PATH".to_owned(), path(supergraph)),
                    ("RUST_LOG".to_owned(), "warn".to_owned()),
                ];
                env.extend(peer.env.iter().cloned());
                Ok(Launch {
                    program: "sh".into(),
                    args: vec!["-c".into(), format!("exec {}", peer.command).into()],
                    env,
                    dir: Some(dir.to_owned()),
                })
            }
        }
    }
}

/// Hive Router's `router.config.yaml` for subscriptions over WebSocket on
/// both sides.
fn hive_config(supergraph: &Path) -> String {
    format!(
        "# Written by the subscriptions bench.\nsupergraph:\n  source: file\n  path: {}\nlog:\n  level: warn\nwebsocket:\n  enabled: true\nsubscriptions:\n  enabled: true\n  websocket:\n    all: {{}}\n",
        // A YAML double-quoted string is a JSON string.
        serde_json::Value::String(path(supergraph)),
    )
}

fn path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
