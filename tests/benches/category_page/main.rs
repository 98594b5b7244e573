//! Issue 22, point 8: the catalogue query a category page sends
//! (`schema/operations/CategoryPage.graphql`: the category, its subcategories
//! and 24 of its products in stock within a price range, cheapest first, with
//! their stock and images, and the total) through the router over the real
//! subgraphs, all five release binaries in child processes, on the embedded
//! stores and — when `STOREFRONT_TEST_MONGODB_URI` is set — on MongoDB
//! (`MONGODB_URI` for every subgraph). Prints, per store, latency (p50/p99),
//! requests per second, CPU milliseconds per request of the router and of each
//! subgraph, and the number of subgraph requests per page.
//!
//! ```text
//! cargo bench -p storefront-e2e --bench category_page
//! STOREFRONT_TEST_MONGODB_URI=mongodb://127.0.0.1:27017 BENCH_DURATION=5s cargo bench -p storefront-e2e --bench category_page
//! ```
//!
//! The subgraph requests per page are counted twice from the router's
//! `/metrics` (`router_subgraph_fetches_total` over `router_http_requests_total`
//! of queries): once for single pages of 1, 6 and 24 products, which must all
//! cost the same (the bench fails otherwise: federated batching keeps it
//! constant, not one per product), and over the whole load. Every answer of
//! the load must have the length of the first, which is checked against the
//! seed (skus in order, their stock, the total); any error fails the bench.
//! Settings as the storefront bench's (`BENCH_DURATION`, `BENCH_WARMUP`,
//! `BENCH_CONNECTIONS`, `BENCH_ROUNDS`). Under `cargo test --benches` it does nothing.
//!
//! # Layout
//! - this file: per store, the processes, the seed, the checks and the rounds.
//! - `catalogue`: the seed, the request, its expected answer, the router's counters.
//! - `../storefront/{services,load,report,settings}.rs`: shared with the storefront bench.

mod catalogue;
#[allow(dead_code)]
#[path = "../storefront/load.rs"]
mod load;
/// `/proc` CPU time and memory, shared with the gateway bench.
#[allow(dead_code)]
#[path = "../../../router/benches/gateway/procfs.rs"]
mod procfs;
#[allow(dead_code)]
#[path = "../storefront/report.rs"]
mod report;
#[allow(dead_code)]
#[path = "../storefront/services.rs"]
mod services;
#[allow(dead_code)]
#[path = "../storefront/settings.rs"]
mod settings;

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use hyper::body::Bytes;
use hyper::header::HeaderValue;

use crate::catalogue::{Counters, PAGE};
use crate::report::Round;
use crate::services::{Process, Subgraphs};
use crate::settings::BenchSettings;

/// The variable naming the MongoDB to bench on (the tests' own).
const MONGODB_URI: &str = "STOREFRONT_TEST_MONGODB_URI";

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!(
            "category_page: a load benchmark; run it with `cargo bench -p storefront-e2e --bench category_page`"
        );
        return ExitCode::SUCCESS;
    }
    match start() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("category_page bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn start() -> anyhow::Result<()> {
    let settings = BenchSettings::from_env()?;
    let bin_dir = services::build_binaries()?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?
        .block_on(async {
            let mut stores = vec![("embedded (redb)", Vec::new())];
            match std::env::var(MONGODB_URI) {
                Ok(uri) if !uri.trim().is_empty() => {
                    stores.push(("MongoDB", vec![("MONGODB_URI", uri)]));
                }
                _ => println!("(set {MONGODB_URI} to bench the MongoDB stores too)"),
            }
            println!(
                "category_page bench: CategoryPage ({PAGE} of {} products, in stock, price range, PRICE_ASC), {} connections, {} round(s) of {:?} (after {:?} warm-up)",
                catalogue::PRODUCTS,
                settings.connections,
                settings.rounds,
                settings.duration,
                settings.warmup,
            );
            for (label, extra) in stores {
                println!("== {label} ==");
                bench_store(&settings, &bin_dir, &extra)
                    .await
                    .with_context(|| format!("on the {label} stores"))?;
            }
            Ok(())
        })
}

async fn bench_store(
    settings: &BenchSettings,
    bin_dir: &Path,
    extra: &[(&'static str, String)],
) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let mut subgraphs = Subgraphs::start_with(bin_dir, &client, extra).await?;
    let mut router = subgraphs
        .start_router("current", &bin_dir.join("router"), &client)
        .await?;
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?
        .as_millis()
        .to_string();
    let seeded = catalogue::seed(&client, &router.graphql_url(), &run)
        .await
        .context("seeding through the router")?;

    // One page at a time: the subgraph requests of 1, 6 and 24 products.
    let mut per_page = Vec::new();
    let mut expected_len = 0;
    for first in [1, 6, PAGE] {
        let before = Counters::read(&client, router.addr()).await?;
        let body = seeded.request_body(first);
        let answer = client
            .post(router.graphql_url())
            .header("content-type", "application/json")
            .bearer_auth(&seeded.token)
            .body(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .context("the category page failed")?
            .bytes()
            .await
            .context("reading the category page")?;
        let value: serde_json::Value =
            serde_json::from_slice(&answer).context("the answer is not JSON")?;
        seeded
            .check(&value, first)
            .with_context(|| format!("the page of {first} is wrong"))?;
        expected_len = answer.len();
        let sent = Counters::read(&client, router.addr()).await?.since(&before);
        println!(
            "  page of {first:>2}: subgraph requests {}",
            sent.per_query()
        );
        per_page.push(sent.fetches);
    }
    if per_page.windows(2).any(|pair| pair[0] != pair[1]) {
        bail!("the subgraph requests per page grow with the page: {per_page:?}");
    }

    let load = load::Load {
        addr: router.addr(),
        body: Bytes::from(seeded.request_body(PAGE)),
        authorization: HeaderValue::from_str(&format!("Bearer {}", seeded.token))
            .context("the token is not a header value")?,
        expected_len,
        connections: settings.connections,
        warmup: settings.warmup,
        duration: settings.duration,
    };
    let mut errors = 0;
    for round in 1..=settings.rounds {
        router.check_running()?;
        subgraphs.check_running()?;
        let before = Counters::read(&client, router.addr()).await?;
        let result = measure(&load, &router, &subgraphs)
            .await
            .with_context(|| format!("round {round}"))?;
        let sent = Counters::read(&client, router.addr()).await?.since(&before);
        println!("  round {round}: {}", result.line());
        println!(
            "           subgraph requests per page over {} pages: {}",
            sent.queries,
            sent.per_query()
        );
        errors += result.errors;
    }
    if errors > 0 {
        bail!("{errors} request(s) failed or were answered wrongly; the figures do not count");
    }
    Ok(())
}

/// One round: warm-up, then the measured window, with the CPU time of the
/// router and of every subgraph over the window.
async fn measure(
    load: &load::Load,
    router: &Process,
    subgraphs: &Subgraphs,
) -> anyhow::Result<Round> {
    let sample = || -> anyhow::Result<(Instant, [Duration; 5])> {
        let mut cpu = [Duration::ZERO; 5];
        cpu[0] = router.cpu_time()?;
        for (slot, process) in cpu[1..].iter_mut().zip(&subgraphs.processes) {
            *slot = process.cpu_time()?;
        }
        Ok((Instant::now(), cpu))
    };
    let (outcome, start, end) = load::run(load, sample, sample).await?;
    let (t0, cpu0) = start?;
    let (t1, cpu1) = end?;
    if let Some(error) = &outcome.first_error {
        println!("  first error: {error}");
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
