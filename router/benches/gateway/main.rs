//! The gateway load benchmark: the router binary under load on the workload of
//! The Guild's graphql-gateways-benchmark (four subgraphs — accounts,
//! inventory, products, reviews — and its nested `TestQuery`), printing RPS,
//! router CPU per request, latency and memory; with a baseline router, both
//! side by side with ratios.
//!
//! ```text
//! cargo bench -p storefront-router --bench gateway              # the working tree's router
//! BASELINE_ROUTER_BIN=/path/to/router cargo bench -p storefront-router --bench gateway
//! router/benches/compare.sh <git-rev>                           # builds <git-rev>, then the above
//! ```
//!
//! The routers run as child processes pinned to CPU 0 (`taskset`); this
//! process — the subgraphs and the load generator, on one thread — pins itself
//! to CPU 1, so the subgraphs' and the client's work is not billed to the
//! router. The CPU figure is the router process's `utime + stime` over the
//! measured window divided by the right answers in it. Settings: see
//! `settings`. Under `cargo test --benches` (no `--bench` argument) it does
//! nothing.
//!
//! # Layout
//! - `settings`: [`settings::BenchSettings`] from environment variables.
//! - `data`: the benchmark's users, products, stock and reviews.
//! - `subgraphs`: the four Federation 2 subgraphs over HTTP, memoised by request body.
//! - `workload`: the query and the response it must get.
//! - `process`: a router binary as a pinned child process; `/proc` CPU and memory.
//! - `load`: the closed-loop load generator over keep-alive connections.
//! - `report`: a line per round, then medians and ratios.

mod data;
mod load;
mod process;
mod report;
mod settings;
mod subgraphs;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hyper::body::Bytes;

use crate::process::RouterProcess;
use crate::report::{Round, RouterResult};
use crate::settings::BenchSettings;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!(
            "gateway: a load benchmark; run it with `cargo bench -p storefront-router --bench gateway`"
        );
        return ExitCode::SUCCESS;
    }
    match start() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gateway bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn start() -> anyhow::Result<()> {
    let settings = BenchSettings::from_env()?;
    if let Some(cpus) = &settings.client_cpus {
        // Before the runtime starts, so every thread it starts inherits it.
        process::pin_self(cpus).context("cannot pin the bench (BENCH_CLIENT_CPUS)")?;
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?
        .block_on(run(settings))
}

/// A router under test.
struct Contender {
    label: &'static str,
    binary: PathBuf,
    process: RouterProcess,
    load: load::Load,
    rounds: Vec<Round>,
}

async fn run(settings: BenchSettings) -> anyhow::Result<()> {
    let subgraphs = subgraphs::Subgraphs::start().await?;
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    let supergraph = dir.path().join("supergraph.graphql");
    std::fs::write(&supergraph, compose(&subgraphs).await?)
        .with_context(|| format!("cannot write {}", supergraph.display()))?;

    let mut binaries: Vec<(&'static str, PathBuf)> = Vec::new();
    if let Some(baseline) = &settings.baseline {
        binaries.push(("baseline", baseline.clone()));
    }
    binaries.push(("current", settings.router.clone()));

    println!(
        "gateway bench: graphql-gateways-benchmark TestQuery, {} connections, {} round(s) of {:?} (after {:?} warm-up) per router{}",
        settings.connections,
        settings.rounds,
        settings.duration,
        settings.warmup,
        if binaries.len() == 2 {
            ", alternating"
        } else {
            ""
        },
    );
    println!(
        "  routers on CPU {}, load generator and subgraphs on CPU {}",
        settings.router_cpus.as_deref().unwrap_or("any"),
        settings.client_cpus.as_deref().unwrap_or("any"),
    );

    let client = reqwest::Client::new();
    let body = Bytes::from(workload::request_body());
    let expected = workload::expected_response();
    let mut contenders = Vec::new();
    for (label, binary) in binaries {
        println!("  {label}: {}", binary.display());
        if label == "current" && !settings.current_env.is_empty() {
            let env: Vec<String> = settings
                .current_env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            println!("    with {}", env.join(" "));
        }
        if !binary.is_file() {
            bail!(
                "the {label} router {} does not exist (build it with `cargo build --release -p storefront-router --bin router`)",
                binary.display()
            );
        }
        let stderr = dir.path().join(format!("{label}.stderr"));
        let env: &[(String, String)] = if label == "current" {
            &settings.current_env
        } else {
            &[]
        };
        let mut process = RouterProcess::start(
            &binary,
            &supergraph,
            settings.router_cpus.as_deref(),
            env,
            stderr,
        )
        .with_context(|| format!("the {label} router"))?;
        process
            .wait_until_healthy(&client)
            .await
            .with_context(|| format!("the {label} router ({})", binary.display()))?;
        let expected_len = check_answer(&client, &process, &body, &expected)
            .await
            .with_context(|| {
                format!("the {label} router ({}) answers wrongly", binary.display())
            })?;
        let load = load::Load {
            addr: process.addr(),
            body: body.clone(),
            expected_len,
            connections: settings.connections,
            warmup: settings.warmup,
            duration: settings.duration,
        };
        contenders.push(Contender {
            label,
            binary,
            process,
            load,
            rounds: Vec::new(),
        });
    }
    println!("  every router gave the expected response; measuring");

    for round in 1..=settings.rounds {
        for contender in &mut contenders {
            contender.process.check_running()?;
            let result = measure(contender)
                .await
                .with_context(|| format!("round {round} of the {} router", contender.label))?;
            println!("round {round} {:<8} {}", contender.label, result.line());
            contender.rounds.push(result);
        }
    }

    let mut results = Vec::new();
    for contender in &contenders {
        let (lines, tail) = contender.process.stderr_summary();
        if lines > 0 {
            println!(
                "  the {} router ({}) wrote {lines} line(s) to stderr; the last:\n{tail}",
                contender.label,
                contender.binary.display()
            );
        }
        results.push(RouterResult {
            label: contender.label,
            rounds: contender.rounds.clone(),
            memory: contender.process.memory().ok(),
        });
    }
    println!();
    print!("{}", report::summary(&results));
    let memo = subgraphs.memo_stats();
    println!(
        "subgraph fetches: {} answered from the memo, {} executed",
        memo.hits, memo.misses
    );
    let errors: u64 = results.iter().map(RouterResult::errors).sum();
    if errors > 0 {
        bail!("{errors} request(s) failed or were answered wrongly; the figures do not count");
    }
    Ok(())
}

/// The supergraph of the four subgraphs, composed (with this tree's
/// composition) from their `_service { sdl }` over HTTP.
async fn compose(subgraphs: &subgraphs::Subgraphs) -> anyhow::Result<String> {
    let client = storefront_router::client::SubgraphClient::new(
        storefront_router::settings::Timeouts::default(),
    )
    .context("cannot build the subgraph client")?;
    storefront_router::source::compose_live(&client, &subgraphs.urls())
        .await
        .context("cannot compose the subgraphs")
}

/// Sends the query once; fails unless the answer is the expected response.
/// Returns the answer's length in bytes.
async fn check_answer(
    client: &reqwest::Client,
    process: &RouterProcess,
    body: &Bytes,
    expected: &serde_json::Value,
) -> anyhow::Result<usize> {
    let answer = client
        .post(format!("http://{}/graphql", process.addr()))
        .header("content-type", "application/json")
        .body(body.clone())
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .context("the query failed")?;
    let status = answer.status();
    let text = answer.bytes().await.context("reading the answer")?;
    if !status.is_success() {
        bail!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&text[..text.len().min(500)])
        );
    }
    let value: serde_json::Value =
        serde_json::from_slice(&text).context("the answer is not JSON")?;
    if let Some(difference) = workload::first_difference(expected, &value) {
        bail!("{difference}");
    }
    Ok(text.len())
}

/// One round of `contender`: warm-up, then the measured window.
async fn measure(contender: &Contender) -> anyhow::Result<Round> {
    let sample = || -> anyhow::Result<(Instant, Duration, Duration)> {
        Ok((
            Instant::now(),
            contender.process.cpu_time()?,
            process::own_cpu_time()?,
        ))
    };
    let (outcome, start, end) = load::run(&contender.load, sample, sample).await?;
    let (t0, router0, own0) = start?;
    let (t1, router1, own1) = end?;
    if let Some(error) = &outcome.first_error {
        println!("  {} router, first error: {error}", contender.label);
    }
    Ok(Round {
        requests: outcome.latencies_us.len() as u64,
        errors: outcome.errors,
        elapsed: t1.duration_since(t0),
        router_cpu: router1.saturating_sub(router0),
        client_cpu: own1.saturating_sub(own0),
        p50: outcome.latency(0.50),
        p99: outcome.latency(0.99),
    })
}
