//! The routers under test and how each is started in each dedupe mode.
//!
//! | mode       | ours (current, baseline)                                   | Hive Router (`router.config.yaml`)                                          |
//! |------------|------------------------------------------------------------|-----------------------------------------------------------------------------|
//! | `off`      | `DEDUPE_SUBGRAPH_FETCHES=false DEDUPE_REQUESTS=false`      | `traffic_shaping.all.dedupe_enabled: false`, `traffic_shaping.router.dedupe.enabled: false` |
//! | `defaults` | nothing set (subgraph fetches deduplicated, requests not)  | nothing set (the same)                                                      |
//! | `inbound`  | `DEDUPE_REQUESTS=true`                                     | `traffic_shaping.router.dedupe.enabled: true`                              |
//!
//! Ours: `ROUTER serve --supergraph FILE` with `PORT`, `BIND_ADDRESS=127.0.0.1`
//! and `RUST_LOG=warn` (options every version has), the mode's settings, then
//! `BENCH_CURRENT_ENV` for the current one. The peer: `sh -c 'exec
//! PEER_ROUTER_CMD'` in a directory of its own holding the mode's
//! `router.config.yaml` (the supergraph file, `log.level: warn`, the mode's
//! `traffic_shaping`), with `PORT`, `HOST=127.0.0.1`,
//! `ROUTER_CONFIG_FILE_PATH` (that file) and `SUPERGRAPH_FILE_PATH`, then
//! `PEER_ROUTER_ENV`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::process::Launch;
use crate::settings::{BenchSettings, DedupeMode, PeerSettings};

/// A router under test.
#[derive(Debug, Clone)]
pub struct RouterSpec {
    /// Its column in the report: `baseline`, `current` or the peer's name.
    pub label: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// A build of our router, with extra environment.
    Ours {
        binary: PathBuf,
        env: Vec<(String, String)>,
    },
    /// Another router, started by a command.
    Peer(PeerSettings),
}

/// The label of the router the ratios are about.
pub const CURRENT: &str = "current";

impl RouterSpec {
    /// The routers `settings` asks for, in the order they take turns:
    /// baseline, current, peer.
    pub fn all(settings: &BenchSettings) -> anyhow::Result<Vec<RouterSpec>> {
        let mut specs = Vec::new();
        if let Some(binary) = &settings.baseline {
            specs.push(RouterSpec::ours("baseline", binary, Vec::new())?);
        }
        specs.push(RouterSpec::ours(
            CURRENT,
            &settings.router,
            settings.current_env.clone(),
        )?);
        if let Some(peer) = &settings.peer {
            if specs.iter().any(|s| s.label == peer.name) {
                anyhow::bail!("PEER_ROUTER_NAME must differ from `baseline` and `current`");
            }
            specs.push(RouterSpec {
                label: peer.name.clone(),
                kind: Kind::Peer(peer.clone()),
            });
        }
        Ok(specs)
    }

    fn ours(label: &str, binary: &Path, env: Vec<(String, String)>) -> anyhow::Result<Self> {
        if !binary.is_file() {
            anyhow::bail!(
                "the {label} router {} does not exist (build it with `cargo build --profile dist -p storefront-router --bin router`)",
                binary.display()
            );
        }
        Ok(RouterSpec {
            label: label.to_owned(),
            kind: Kind::Ours {
                binary: binary.to_owned(),
                env,
            },
        })
    }

    /// What it runs, for the report's header.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Ours { binary, env } if env.is_empty() => binary.display().to_string(),
            Kind::Ours { binary, env } => format!("{} with {}", binary.display(), pairs(env)),
            Kind::Peer(peer) if peer.env.is_empty() => peer.command.clone(),
            Kind::Peer(peer) => format!("{} with {}", peer.command, pairs(&peer.env)),
        }
    }

    /// How to start it in `mode` on `port` serving `supergraph`; `dir` is a
    /// directory of its own for this mode (the peer's configuration goes
    /// there).
    pub fn launch(
        &self,
        mode: DedupeMode,
        supergraph: &Path,
        port: u16,
        dir: &Path,
    ) -> anyhow::Result<Launch> {
        match &self.kind {
            Kind::Ours { binary, env } => {
                let mut all = vec![
                    ("PORT".to_owned(), port.to_string()),
                    ("BIND_ADDRESS".to_owned(), "127.0.0.1".to_owned()),
                    ("RUST_LOG".to_owned(), "warn".to_owned()),
                ];
                all.extend(ours_env(mode));
                all.extend(env.iter().cloned());
                Ok(Launch {
                    program: binary.into(),
                    args: vec!["serve".into(), "--supergraph".into(), supergraph.into()],
                    env: all,
                    dir: None,
                })
            }
            Kind::Peer(peer) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let config = dir.join("router.config.yaml");
                std::fs::write(&config, hive_config(mode, supergraph))
                    .with_context(|| format!("cannot write {}", config.display()))?;
                let mut all = vec![
                    ("PORT".to_owned(), port.to_string()),
                    ("HOST".to_owned(), "127.0.0.1".to_owned()),
                    ("ROUTER_CONFIG_FILE_PATH".to_owned(), path(&config)),
                    ("SUPERGRAPH_FILE_PATH".to_owned(), path(supergraph)),
                    ("RUST_LOG".to_owned(), "warn".to_owned()),
                ];
                all.extend(peer.env.iter().cloned());
                Ok(Launch {
                    program: "sh".into(),
                    args: vec!["-c".into(), format!("exec {}", peer.command).into()],
                    env: all,
                    dir: Some(dir.to_owned()),
                })
            }
        }
    }
}

/// Our router's settings for `mode`.
fn ours_env(mode: DedupeMode) -> Vec<(String, String)> {
    let set = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    match mode {
        DedupeMode::Off => set(&[
            ("DEDUPE_SUBGRAPH_FETCHES", "false"),
            ("DEDUPE_REQUESTS", "false"),
        ]),
        DedupeMode::Defaults => Vec::new(),
        DedupeMode::Inbound => set(&[("DEDUPE_REQUESTS", "true")]),
    }
}

/// Hive Router's `router.config.yaml` for `mode`.
fn hive_config(mode: DedupeMode, supergraph: &Path) -> String {
    let traffic_shaping = match mode {
        DedupeMode::Off => {
            "traffic_shaping:\n  all:\n    dedupe_enabled: false\n  router:\n    dedupe:\n      enabled: false\n"
        }
        DedupeMode::Defaults => "",
        DedupeMode::Inbound => "traffic_shaping:\n  router:\n    dedupe:\n      enabled: true\n",
    };
    format!(
        "# Written by the gateway bench (dedupe mode `{}`).\nsupergraph:\n  source: file\n  path: {}\nlog:\n  level: warn\n{traffic_shaping}",
        mode.name(),
        // A YAML double-quoted string is a JSON string.
        serde_json::Value::String(path(supergraph)),
    )
}

fn path(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn pairs(env: &[(String, String)]) -> String {
    env.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}
