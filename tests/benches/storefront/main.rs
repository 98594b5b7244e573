//! The storefront's own workload (issue 18, point 4): the order-history page
//! (`me { orders { … items { product } payment buyer } }`, 50 orders) through
//! the router over the real subgraphs, all five as release binaries in child
//! processes on embedded stores, real HTTP between them; printing RPS, p50/p99
//! latency, CPU milliseconds per request of the router and of each subgraph,
//! and the router's memory.
//!
//! ```text
//! cargo bench -p storefront-e2e --bench storefront
//! BENCH_DURATION=5s BASELINE_ROUTER_BIN=/path/to/router cargo bench -p storefront-e2e --bench storefront
//! ```
//!
//! The bench builds the five binaries first (`cargo build` with this bench's
//! profile and target directory), starts the subgraphs, each with a data
//! directory of its own in a temp dir, and the router composing from them;
//! seeds a buyer with 50 orders through the router's public API; checks the
//! first answer in full against what the seeded data must give, then loads
//! the router with the buyer's token, closed-loop. Every later answer must have
//! the status and length of the first; any error fails the bench. CPU figures
//! are each process's `utime + stime` over the measured window divided by the
//! right answers in it; nothing is pinned (the processes share the machine).
//! With `BASELINE_ROUTER_BIN` a second router runs against the same
//! subgraphs and the rounds alternate. Under `cargo test --benches` (no
//! `--bench` argument) it does nothing.
//!
//! # Layout
//! - `settings`: [`settings::BenchSettings`] from environment variables.
//! - `services`: building the binaries, the processes, `/proc` CPU and memory.
//! - `workload`: the seed, the query (`OrderHistory.graphql`) and the answer it must get.
//! - `load`: the closed-loop load generator over keep-alive connections.
//! - `report`: a line per round, then medians (and ratios with a baseline).

mod load;
/// `/proc` CPU time and memory, shared with the gateway bench.
#[allow(dead_code)]
#[path = "../../../router/benches/gateway/procfs.rs"]
mod procfs;
mod report;
mod services;
mod settings;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hyper::body::Bytes;
use hyper::header::HeaderValue;

use crate::report::{Round, RouterResult};
use crate::services::{Process, Subgraphs};
use crate::settings::BenchSettings;

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!(
            "storefront: a load benchmark; run it with `cargo bench -p storefront-e2e --bench storefront`"
        );
        return ExitCode::SUCCESS;
    }
    match start() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("storefront bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn start() -> anyhow::Result<()> {
    let settings = BenchSettings::from_env()?;
    let bin_dir = services::build_binaries()?;
    // One thread: the load generator is all this process runs.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?
        .block_on(run(settings, bin_dir))
}

/// A router under test.
struct Contender {
    label: &'static str,
    process: Process,
    load: load::Load,
    rounds: Vec<Round>,
}

async fn run(settings: BenchSettings, bin_dir: PathBuf) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let mut subgraphs = Subgraphs::start(&bin_dir, &client).await?;
    let mut binaries = vec![("current", bin_dir.join("router"))];
    if let Some(baseline) = &settings.baseline {
        binaries.insert(0, ("baseline", baseline.clone()));
    }
    println!(
        "storefront bench: OrderHistory (me, {} orders with items' products, payment, buyer), {} connections, {} round(s) of {:?} (after {:?} warm-up) per router{}",
        workload::ORDERS,
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
    let mut routers = Vec::new();
    for (label, binary) in &binaries {
        println!("  {label} router: {}", binary.display());
        routers.push((
            *label,
            subgraphs.start_router(label, binary, &client).await?,
        ));
    }

    // Seeded once, through the current router; every router reads the same data.
    let (_, current) = routers.last().context("no router to seed through")?;
    let seeded = workload::seed(&client, &current.graphql_url())
        .await
        .context("seeding through the current router")?;
    let expected = seeded.expected_response();
    let body = Bytes::from(workload::request_body());
    let authorization = HeaderValue::from_str(&format!("Bearer {}", seeded.token))
        .context("the token is not a header value")?;

    let mut contenders = Vec::new();
    for (label, process) in routers {
        let expected_len = check_answer(&client, &process, &body, &seeded.token, &expected)
            .await
            .with_context(|| format!("the {label} router answers wrongly"))?;
        println!("  the {label} router's answer is right ({expected_len} bytes)");
        let load = load::Load {
            addr: process.addr(),
            body: body.clone(),
            authorization: authorization.clone(),
            expected_len,
            connections: settings.connections,
            warmup: settings.warmup,
            duration: settings.duration,
        };
        contenders.push(Contender {
            label,
            process,
            load,
            rounds: Vec::new(),
        });
    }

    for round in 1..=settings.rounds {
        for contender in &mut contenders {
            contender.process.check_running()?;
            subgraphs.check_running()?;
            let result = measure(contender, &subgraphs)
                .await
                .with_context(|| format!("round {round} of the {} router", contender.label))?;
            println!("round {round} {:<8} {}", contender.label, result.line());
            contender.rounds.push(result);
        }
    }

    let processes = contenders
        .iter()
        .map(|c| &c.process)
        .chain(&subgraphs.processes);
    for process in processes {
        let (lines, tail) = process.stderr_summary();
        if lines > 0 {
            println!(
                "  {} wrote {lines} line(s) to stderr; the last:\n{tail}",
                process.name()
            );
        }
    }
    let results: Vec<RouterResult> = contenders
        .into_iter()
        .map(|contender| RouterResult {
            label: contender.label,
            memory: contender.process.memory().ok(),
            rounds: contender.rounds,
        })
        .collect();
    println!();
    print!("{}", report::summary(&results));
    let errors: u64 = results.iter().map(RouterResult::errors).sum();
    if errors > 0 {
        bail!("{errors} request(s) failed or were answered wrongly; the figures do not count");
    }
    Ok(())
}

/// Sends the query once; fails unless the answer is exactly `expected`.
/// Returns the answer's length in bytes.
async fn check_answer(
    client: &reqwest::Client,
    router: &Process,
    body: &Bytes,
    token: &str,
    expected: &serde_json::Value,
) -> anyhow::Result<usize> {
    let answer = client
        .post(router.graphql_url())
        .header("content-type", "application/json")
        .bearer_auth(token)
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

/// One round against `contender`: warm-up, then the measured window.
async fn measure(contender: &Contender, subgraphs: &Subgraphs) -> anyhow::Result<Round> {
    let sample = || -> anyhow::Result<(Instant, [Duration; 5])> {
        let mut cpu = [Duration::ZERO; 5];
        cpu[0] = contender.process.cpu_time()?;
        for (slot, process) in cpu[1..].iter_mut().zip(&subgraphs.processes) {
            *slot = process.cpu_time()?;
        }
        Ok((Instant::now(), cpu))
    };
    let (outcome, start, end) = load::run(&contender.load, sample, sample).await?;
    let (t0, cpu0) = start?;
    let (t1, cpu1) = end?;
    if let Some(error) = &outcome.first_error {
        println!("  {} router, first error: {error}", contender.label);
    }
    let mut cpu = [Duration::ZERO; 5];
    for (i, slot) in cpu.iter_mut().enumerate() {
        *slot = cpu1[i].saturating_sub(cpu0[i]);
    }
    Ok(Round {
        requests: outcome.latencies_us.len() as u64,
        errors: outcome.errors,
        elapsed: t1.duration_since(t0),
        p50: outcome.latency(0.50),
        p99: outcome.latency(0.99),
        cpu,
    })
}
