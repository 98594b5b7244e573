//! The gateway load benchmark: routers under load on the workload of The
//! Guild's graphql-gateways-benchmark (four subgraphs — accounts, inventory,
//! products, reviews — with its data, and its nested `TestQuery`, an 87 KB
//! answer), printing per router RPS, router CPU per request, the subgraphs'
//! CPU per request (the floor no router goes below), latency and memory, in
//! three dedupe modes, with ratios to the current router.
//!
//! ```text
//! cargo bench -p storefront-router --bench gateway              # the working tree's router
//! BASELINE_ROUTER_BIN=/path/to/router cargo bench -p storefront-router --bench gateway
//! PEER_ROUTER_CMD=/path/to/hive_router cargo bench -p storefront-router --bench gateway
//! router/benches/compare.sh <git-rev>                           # builds <git-rev> as the baseline
//! ```
//!
//! Routers: `current` (the working tree's, or `ROUTER_BIN`), `baseline` (an
//! older build of ours, `BASELINE_ROUTER_BIN`) and a peer (another router
//! started by a command, `PEER_ROUTER_CMD`, configured as Hive Router is;
//! see `routers`). Each dedupe mode of `BENCH_MODES` (`off`, `defaults`,
//! `inbound`; default all three) starts every router afresh configured for
//! it, checks that each returns the expected response, then the routers take
//! turns for `BENCH_ROUNDS` rounds.
//!
//! Subgraphs (`BENCH_SUBGRAPHS`): `real` (default) — in-bench subgraphs of
//! the benchmark's shape and data that parse, validate and execute every
//! request, in a process of their own; `memo` — the same answering a repeated
//! request body from memory; `external` — subgraphs started outside the
//! bench (e.g. the benchmark's own), at the URLs of the supergraph file
//! `BENCH_SUPERGRAPH`, their CPU measured when `BENCH_SUBGRAPHS_PID` names
//! their process. The supergraph: `BENCH_SUPERGRAPH` when set (with in-bench
//! subgraphs its URLs are pointed at them), else composed by this tree's
//! composition from the in-bench subgraphs.
//!
//! The routers run pinned to CPU 0 (`taskset`); this process — the load
//! generator, on one thread — and the in-bench subgraphs are pinned to CPU 1,
//! so their work is not billed to the router. CPU figures are a process's
//! `utime + stime` over the measured window divided by the right answers in
//! it. Settings: see `settings`. Under `cargo test --benches` (no `--bench`
//! argument) it does nothing.
//!
//! # Layout
//! - `settings`: [`settings::BenchSettings`] from environment variables.
//! - `data`: the benchmark's users, products, stock and reviews.
//! - `schemas`: the four subgraphs' `async-graphql` schemas, of the benchmark's shape.
//! - `server`: the four subgraphs over HTTP, real or memoised, with counters.
//! - `subgraphs`: the server as a process of its own (`--serve-subgraphs`),
//!   and the bench's handle on any subgraphs.
//! - `supergraph`: a supergraph file's subgraph URLs, read and rewritten.
//! - `workload`: the query and the response it must get.
//! - `routers`: the routers under test and their settings in each dedupe mode.
//! - `process`: a program as a pinned child process.
//! - `procfs`: CPU time and memory from `/proc`; pinning this process.
//! - `measure`: one dedupe mode — routers started, checked, measured in turns.
//! - `load`: the closed-loop load generator over keep-alive connections.
//! - `report`: a line per round, then a table per mode with ratios.

mod data;
mod load;
mod measure;
mod process;
mod procfs;
mod report;
mod routers;
mod schemas;
mod server;
mod settings;
mod subgraphs;
mod supergraph;
mod workload;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use hyper::body::Bytes;

use crate::measure::{Run, Workload};
use crate::report::RouterResult;
use crate::routers::RouterSpec;
use crate::settings::{BenchSettings, SubgraphsMode};
use crate::subgraphs::Subgraphs;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let outcome = if let Some(at) = args.iter().position(|a| a == subgraphs::SERVE_FLAG) {
        subgraphs::serve(&args[at + 1..])
    } else if args.iter().any(|arg| arg == "--bench") {
        start()
    } else {
        // `cargo bench` passes `--bench`; `cargo test --benches` does not.
        println!(
            "gateway: a load benchmark; run it with `cargo bench -p storefront-router --bench gateway`"
        );
        Ok(())
    };
    match outcome {
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
        procfs::pin_self(cpus).context("cannot pin the bench (BENCH_CLIENT_CPUS)")?;
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?
        .block_on(run(settings))
}

async fn run(settings: BenchSettings) -> anyhow::Result<()> {
    let specs = RouterSpec::all(&settings)?;
    let client = reqwest::Client::new();
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    let mut subgraphs = match settings.subgraphs {
        SubgraphsMode::External => Subgraphs::External {
            pid: settings.subgraphs_pid,
        },
        mode => {
            Subgraphs::start(
                mode,
                settings.client_cpus.as_deref(),
                dir.path().join("subgraphs.stderr"),
                &client,
            )
            .await?
        }
    };
    let supergraph = dir.path().join("supergraph.graphql");
    let (sdl, origin) = supergraph_sdl(&settings, &subgraphs).await?;
    std::fs::write(&supergraph, sdl)
        .with_context(|| format!("cannot write {}", supergraph.display()))?;

    println!(
        "gateway bench: graphql-gateways-benchmark TestQuery, {} connections, {} round(s) of {:?} (after {:?} warm-up) per router and mode, routers taking turns",
        settings.connections, settings.rounds, settings.duration, settings.warmup,
    );
    println!(
        "  routers on CPU {}, load generator and in-bench subgraphs on CPU {}",
        settings.router_cpus.as_deref().unwrap_or("any"),
        settings.client_cpus.as_deref().unwrap_or("any"),
    );
    println!("  subgraphs: {}", subgraphs.describe());
    println!("  supergraph: {origin}");
    for spec in &specs {
        println!("  {}: {}", spec.label, spec.describe());
    }

    let run = Run {
        settings: &settings,
        specs: &specs,
        supergraph: &supergraph,
        client: &client,
        workload: Workload {
            body: Bytes::from(workload::request_body()),
            expected: Arc::new(workload::expected_response()),
        },
        dir: dir.path(),
    };
    let mut tables = Vec::new();
    let mut errors = 0;
    for &mode in &settings.modes {
        println!("dedupe {}:", mode.name());
        let results = run
            .mode(mode, &mut subgraphs)
            .await
            .with_context(|| format!("dedupe mode {}", mode.name()))?;
        errors += results.iter().map(RouterResult::errors).sum::<u64>();
        tables.push(report::summary(mode, &results));
    }

    println!("\nmedians over rounds ({:?} each):", settings.duration);
    for table in &tables {
        println!("{table}");
    }
    if specs.len() > 1 {
        println!("{}", report::RATIO_NOTE);
    }
    if let Some(stats) = subgraphs.stats(&client).await? {
        println!(
            "subgraph requests: {} in all, {} answered from the memo",
            stats.requests, stats.memo_hits
        );
    }
    if errors > 0 {
        bail!("{errors} request(s) failed or were answered wrongly; the figures do not count");
    }
    Ok(())
}

/// The supergraph's SDL, and where it came from.
async fn supergraph_sdl(
    settings: &BenchSettings,
    subgraphs: &Subgraphs,
) -> anyhow::Result<(String, String)> {
    match (&settings.supergraph, subgraphs) {
        (Some(path), Subgraphs::External { .. }) => {
            let sdl = supergraph::read(path)?;
            let urls: Vec<String> = supergraph::join_graphs(&sdl)?
                .into_iter()
                .map(|g| format!("{} {}", g.name, g.url))
                .collect();
            let origin = format!("{} (subgraphs: {})", path.display(), urls.join(", "));
            Ok((sdl, origin))
        }
        (Some(path), _) => {
            let sdl = supergraph::with_urls(&supergraph::read(path)?, |name| subgraphs.url(name))
                .with_context(|| format!("the supergraph {}", path.display()))?;
            let origin = format!(
                "{}, its subgraph URLs pointed at the in-bench subgraphs",
                path.display()
            );
            Ok((sdl, origin))
        }
        (None, _) => {
            let urls = server::NAMES
                .iter()
                .map(|name| Ok((name.to_string(), subgraphs.url(name)?)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let subgraph_client = storefront_router::client::SubgraphClient::new(
                storefront_router::settings::Timeouts::default(),
            )
            .context("cannot build the subgraph client")?;
            let sdl = storefront_router::source::compose_live(&subgraph_client, &urls)
                .await
                .context("cannot compose the subgraphs")?;
            Ok((
                sdl,
                "composed by this tree's composition from the in-bench subgraphs".to_owned(),
            ))
        }
    }
}
