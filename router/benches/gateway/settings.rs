//! The bench's settings, all from environment variables (`cargo bench` passes
//! its own arguments to the bench binary).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use humantime_serde::re::humantime;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct BenchSettings {
    /// The router under test (`ROUTER_BIN`); by default the release `router`
    /// that `cargo bench` builds from the working tree.
    pub router: PathBuf,
    /// A router to compare with (`BASELINE_ROUTER_BIN`); none by default.
    pub baseline: Option<PathBuf>,
    /// Measured rounds per router (`BENCH_ROUNDS`, default 3); with a baseline
    /// the rounds alternate: baseline, current, baseline, current, ...
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
    /// The CPUs the load generator and the subgraphs run on
    /// (`BENCH_CLIENT_CPUS`, default `"1"`; empty: not pinned).
    pub client_cpus: Option<String>,
    /// Extra environment for the current router only
    /// (`BENCH_CURRENT_ENV`, space-separated `NAME=value` pairs, e.g.
    /// `DEDUPE_REQUESTS=true`; none by default).
    pub current_env: Vec<(String, String)>,
}

impl BenchSettings {
    /// Reads the settings from the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        let router = match var("ROUTER_BIN") {
            Some(path) => PathBuf::from(path),
            None => PathBuf::from(env!("CARGO_BIN_EXE_router")),
        };
        Ok(BenchSettings {
            router,
            baseline: var("BASELINE_ROUTER_BIN").map(PathBuf::from),
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
            Ok(0) | Err(_) => anyhow::bail!("{name} must be a positive whole number, not `{text}`"),
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
            _ => anyhow::bail!("{name} wants NAME=value pairs, not `{pair}`"),
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
