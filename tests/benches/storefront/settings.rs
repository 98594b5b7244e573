//! The bench's settings, all from environment variables (`cargo bench` passes
//! its own arguments to the bench binary).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use humantime_serde::re::humantime;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct BenchSettings {
    /// A second router binary to compare with (`BASELINE_ROUTER_BIN`); none
    /// by default. It runs against the same subgraphs, in alternating rounds.
    pub baseline: Option<PathBuf>,
    /// Measured rounds per router (`BENCH_ROUNDS`; default 1, or 3 with a
    /// baseline).
    pub rounds: usize,
    /// The measured part of a round (`BENCH_DURATION`, default `"10s"`).
    pub duration: Duration,
    /// The unmeasured start of every round (`BENCH_WARMUP`, default `"2s"`).
    pub warmup: Duration,
    /// Concurrent keep-alive connections (`BENCH_CONNECTIONS`, default 20).
    pub connections: usize,
}

impl BenchSettings {
    /// Reads the settings from the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        let baseline = var("BASELINE_ROUTER_BIN").map(PathBuf::from);
        let default_rounds = if baseline.is_some() { 3 } else { 1 };
        Ok(BenchSettings {
            rounds: number("BENCH_ROUNDS", default_rounds)?,
            baseline,
            duration: duration("BENCH_DURATION", Duration::from_secs(10))?,
            warmup: duration("BENCH_WARMUP", Duration::from_secs(2))?,
            connections: number("BENCH_CONNECTIONS", 20)?,
        })
    }
}

/// A set, non-empty variable.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn number(name: &str, default: usize) -> anyhow::Result<usize> {
    let Some(text) = var(name) else {
        return Ok(default);
    };
    match text.trim().parse() {
        Ok(0) | Err(_) => bail!("{name} must be a positive whole number, not `{text}`"),
        Ok(n) => Ok(n),
    }
}

fn duration(name: &str, default: Duration) -> anyhow::Result<Duration> {
    let Some(text) = var(name) else {
        return Ok(default);
    };
    humantime::parse_duration(text.trim())
        .with_context(|| format!("{name} must be a duration such as \"10s\", not `{text}`"))
}
