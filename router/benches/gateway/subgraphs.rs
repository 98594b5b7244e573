//! The subgraphs the routers fetch from, and their CPU.
//!
//! In-bench (`real`, `memo`): [`crate::server`] in a process of its own —
//! this bench binary run again as `gateway --serve-subgraphs <real|memo>
//! <port>`, pinned to the client CPUs — so `/proc` gives the subgraphs' CPU
//! apart from the load generator's. `real`: every request is parsed,
//! validated and executed (the `_entities` resolved), as by the benchmark's
//! subgraphs. `memo`: a request body answered before is answered from
//! memory, so after the first request the fetches cost the subgraphs a map
//! lookup. `GET /stats` counts the GraphQL requests.
//!
//! External: subgraphs started outside the bench; their CPU is measured when
//! `BENCH_SUBGRAPHS_PID` names their process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::process::{self, Process};
use crate::procfs;
use crate::server::{self, NAMES};
use crate::settings::SubgraphsMode;

/// The argument that makes the bench binary serve the subgraphs.
pub const SERVE_FLAG: &str = "--serve-subgraphs";

/// How long the in-bench subgraphs may take to answer `/health`.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// The subgraphs' process: `gateway --serve-subgraphs <real|memo> <port>`.
/// Serves until its stdin closes (the bench ended) or it is killed.
pub fn serve(args: &[String]) -> anyhow::Result<()> {
    let [mode, port] = args else {
        bail!("usage: gateway {SERVE_FLAG} <real|memo> <port>");
    };
    let memo = match SubgraphsMode::parse(mode) {
        Some(SubgraphsMode::Real) => false,
        Some(SubgraphsMode::Memo) => true,
        _ => bail!("{SERVE_FLAG} serves real or memo subgraphs, not `{mode}`"),
    };
    let port: u16 = port
        .parse()
        .with_context(|| format!("`{port}` is not a port"))?;
    // As many workers as the CPUs this process may use (one when pinned to one).
    process::serve_until_stdin_closes(port, move || server::app(memo).0)
}

/// The subgraphs of a run.
pub enum Subgraphs {
    /// This binary serving them, as a child process.
    InBench {
        process: Process,
        addr: SocketAddr,
        mode: SubgraphsMode,
    },
    /// Started by someone else; `pid` when given.
    External { pid: Option<u32> },
}

/// The in-bench subgraphs' counters.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct Stats {
    pub requests: u64,
    pub memo_hits: u64,
}

impl Subgraphs {
    /// Starts the in-bench subgraphs (`real` or `memo`) pinned to `cpus`,
    /// and waits until they answer.
    pub async fn start(
        mode: SubgraphsMode,
        cpus: Option<&str>,
        stderr: PathBuf,
        client: &reqwest::Client,
    ) -> anyhow::Result<Self> {
        let args = |port: u16| {
            vec![
                SERVE_FLAG.into(),
                mode.name().into(),
                port.to_string().into(),
            ]
        };
        let (process, addr) =
            process::start_serving(args, cpus, stderr, client, START_DEADLINE).await?;
        Ok(Subgraphs::InBench {
            process,
            addr,
            mode,
        })
    }

    /// The URL of the in-bench subgraph `name`.
    pub fn url(&self, name: &str) -> anyhow::Result<String> {
        match self {
            Subgraphs::InBench { addr, .. } if NAMES.contains(&name) => {
                Ok(format!("http://{addr}/{name}"))
            }
            Subgraphs::InBench { .. } => bail!(
                "the supergraph names a subgraph `{name}`; the in-bench subgraphs are {}",
                NAMES.join(", ")
            ),
            Subgraphs::External { .. } => bail!("external subgraphs have the supergraph's URLs"),
        }
    }

    /// What the report calls them.
    pub fn describe(&self) -> String {
        match self {
            Subgraphs::InBench {
                mode,
                addr,
                process,
            } => format!(
                "in-bench, {} (process {} on {addr})",
                match mode {
                    SubgraphsMode::Memo => "memoised by request body",
                    _ => "executing every request",
                },
                process.pid()
            ),
            Subgraphs::External { pid: Some(pid) } => format!("external (process {pid})"),
            Subgraphs::External { pid: None } => {
                "external (CPU not measured: set BENCH_SUBGRAPHS_PID)".to_owned()
            }
        }
    }

    /// Their CPU time so far, when known.
    pub fn cpu_time(&self) -> Option<anyhow::Result<Duration>> {
        match self {
            Subgraphs::InBench { process, .. } => Some(process.cpu_time()),
            Subgraphs::External { pid: Some(pid) } => Some(procfs::tree_cpu_time(*pid)),
            Subgraphs::External { pid: None } => None,
        }
    }

    /// Fails when the in-bench subgraphs have exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        match self {
            Subgraphs::InBench { process, .. } => process
                .check_running()
                .context("the in-bench subgraphs stopped"),
            Subgraphs::External { .. } => Ok(()),
        }
    }

    /// The in-bench subgraphs' counters (none for external ones).
    pub async fn stats(&self, client: &reqwest::Client) -> anyhow::Result<Option<Stats>> {
        let Subgraphs::InBench { addr, .. } = self else {
            return Ok(None);
        };
        let stats = client
            .get(format!("http://{addr}/stats"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .context("the subgraphs' /stats")?
            .json()
            .await
            .context("the subgraphs' /stats")?;
        Ok(Some(stats))
    }
}
