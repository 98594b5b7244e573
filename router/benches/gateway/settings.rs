//! The bench's settings, all from environment variables (`cargo bench` passes
//! its own arguments to the bench binary).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use humantime_serde::re::humantime;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct BenchSettings {
    /// The router under test (`ROUTER_BIN`); by default the release `router`
    /// that `cargo bench` builds from the working tree.
    pub router: PathBuf,
    /// An older build of ours to compare with (`BASELINE_ROUTER_BIN`); none by
    /// default.
    pub baseline: Option<PathBuf>,
    /// Another vendor's router to compare with (`PEER_ROUTER_CMD`); none by
    /// default.
    pub peer: Option<PeerSettings>,
    /// Where the subgraphs come from (`BENCH_SUBGRAPHS`, default `real`).
    pub subgraphs: SubgraphsMode,
    /// A supergraph file to serve instead of composing one
    /// (`BENCH_SUPERGRAPH`): with in-bench subgraphs its `join__graph` URLs
    /// are pointed at them; with `external` ones they are used as written.
    pub supergraph: Option<PathBuf>,
    /// The process id of the external subgraphs, to measure their CPU
    /// (`BENCH_SUBGRAPHS_PID`, `external` only; optional).
    pub subgraphs_pid: Option<u32>,
    /// The dedupe modes to measure, in order (`BENCH_MODES`, comma-separated,
    /// default `off,defaults,inbound`).
    pub modes: Vec<DedupeMode>,
    /// Measured rounds per router and mode (`BENCH_ROUNDS`, default 3); the
    /// routers take turns: baseline, current, peer, baseline, current, ...
    pub rounds: usize,
    /// The measured part of a round (`BENCH_DURATION`, default `"10s"`).
    pub duration: Duration,
    /// The unmeasured start of every round (`BENCH_WARMUP`, default `"3s"`).
    pub warmup: Duration,
    /// Concurrent keep-alive connections (`BENCH_CONNECTIONS`, default 50).
    pub connections: usize,
    /// The CPUs the routers run on, a `taskset -c` list (`BENCH_ROUTER_CPUS`,
    /// default `"0"`; empty: not pinned).
    pub router_cpus: Option<String>,
    /// The CPUs the load generator and the in-bench subgraphs run on
    /// (`BENCH_CLIENT_CPUS`, default `"1"`; empty: not pinned).
    pub client_cpus: Option<String>,
    /// Extra environment for the current router only, after the mode's
    /// (`BENCH_CURRENT_ENV`, space-separated `NAME=value` pairs; none by
    /// default).
    pub current_env: Vec<(String, String)>,
}

/// A peer router: a command and what it is called in the report.
#[derive(Debug, Clone)]
pub struct PeerSettings {
    /// The command line (`PEER_ROUTER_CMD`), run with `sh -c 'exec …'`, so it
    /// may carry arguments; it must `exec` the router rather than fork it, or
    /// the bench measures the wrapper.
    pub command: String,
    /// Its label in the report (`PEER_ROUTER_NAME`, default `hive`).
    pub name: String,
    /// Extra environment for it (`PEER_ROUTER_ENV`, `NAME=value` pairs).
    pub env: Vec<(String, String)>,
}

/// Where the subgraphs come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubgraphsMode {
    /// In-bench subgraphs, in a process of their own, that parse, validate
    /// and execute every request.
    Real,
    /// The same subgraphs answering a repeated request body from memory.
    Memo,
    /// Subgraphs outside the bench, at the URLs of `BENCH_SUPERGRAPH`.
    External,
}

impl SubgraphsMode {
    pub fn name(self) -> &'static str {
        match self {
            SubgraphsMode::Real => "real",
            SubgraphsMode::Memo => "memo",
            SubgraphsMode::External => "external",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "real" => Some(SubgraphsMode::Real),
            "memo" => Some(SubgraphsMode::Memo),
            "external" => Some(SubgraphsMode::External),
            _ => None,
        }
    }
}

/// Which deduplication every router does; see `routers` for what each mode
/// sets in each router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DedupeMode {
    /// No deduplication: neither of subgraph fetches nor of client requests.
    Off,
    /// Each router's defaults (for ours and Hive Router: identical subgraph
    /// fetches in flight sent once, client requests each executed).
    Defaults,
    /// Identical client requests in flight executed once as well.
    Inbound,
}

impl DedupeMode {
    pub const ALL: [DedupeMode; 3] = [DedupeMode::Off, DedupeMode::Defaults, DedupeMode::Inbound];

    pub fn name(self) -> &'static str {
        match self {
            DedupeMode::Off => "off",
            DedupeMode::Defaults => "defaults",
            DedupeMode::Inbound => "inbound",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        DedupeMode::ALL
            .into_iter()
            .find(|m| m.name() == text.trim())
    }
}

impl BenchSettings {
    /// Reads the settings from the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        let router = match var("ROUTER_BIN") {
            Some(path) => PathBuf::from(path),
            None => PathBuf::from(env!("CARGO_BIN_EXE_router")),
        };
        let subgraphs = match var("BENCH_SUBGRAPHS") {
            None => SubgraphsMode::Real,
            Some(text) => SubgraphsMode::parse(&text).with_context(|| {
                format!("BENCH_SUBGRAPHS must be real, memo or external, not `{text}`")
            })?,
        };
        let supergraph = var("BENCH_SUPERGRAPH").map(PathBuf::from);
        if subgraphs == SubgraphsMode::External && supergraph.is_none() {
            bail!(
                "BENCH_SUBGRAPHS=external needs BENCH_SUPERGRAPH: the supergraph file whose join__graph URLs name the subgraphs"
            );
        }
        let subgraphs_pid = match var("BENCH_SUBGRAPHS_PID") {
            None => None,
            Some(_) if subgraphs != SubgraphsMode::External => {
                bail!("BENCH_SUBGRAPHS_PID is for BENCH_SUBGRAPHS=external only")
            }
            Some(text) => Some(text.trim().parse().with_context(|| {
                format!("BENCH_SUBGRAPHS_PID must be a process id, not `{text}`")
            })?),
        };
        let peer = var("PEER_ROUTER_CMD").map(|command| -> anyhow::Result<_> {
            Ok(PeerSettings {
                command,
                name: var("PEER_ROUTER_NAME").unwrap_or_else(|| "hive".to_owned()),
                env: pairs("PEER_ROUTER_ENV")?,
            })
        });
        Ok(BenchSettings {
            router,
            baseline: var("BASELINE_ROUTER_BIN").map(PathBuf::from),
            peer: peer.transpose()?,
            subgraphs,
            supergraph,
            subgraphs_pid,
            modes: modes("BENCH_MODES")?,
            rounds: number("BENCH_ROUNDS", 3)?,
            duration: duration("BENCH_DURATION", Duration::from_secs(10))?,
            warmup: duration("BENCH_WARMUP", Duration::from_secs(3))?,
            connections: number("BENCH_CONNECTIONS", 50)?,
            router_cpus: cpus("BENCH_ROUTER_CPUS", "0"),
            client_cpus: cpus("BENCH_CLIENT_CPUS", "1"),
            current_env: pairs("BENCH_CURRENT_ENV")?,
        })
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
        Some(text) => humantime::parse_duration(text.trim())
            .with_context(|| format!("{name} must be a duration such as \"10s\", not `{text}`")),
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

fn modes(name: &str) -> anyhow::Result<Vec<DedupeMode>> {
    let Some(text) = var(name) else {
        return Ok(DedupeMode::ALL.to_vec());
    };
    let mut modes = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let mode = DedupeMode::parse(part).with_context(|| {
            format!("{name} lists off, defaults and inbound (comma-separated), not `{part}`")
        })?;
        if !modes.contains(&mode) {
            modes.push(mode);
        }
    }
    if modes.is_empty() {
        bail!("{name} lists no mode");
    }
    Ok(modes)
}

/// Set but empty means "do not pin".
fn cpus(name: &str, default: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => None,
        Ok(value) => Some(value.trim().to_owned()),
        Err(_) => Some(default.to_owned()),
    }
}
