//! The subscription benchmark: many concurrent subscriptions through a
//! router on one core, one event per second each, every event running an
//! entity fetch — issue 20's workload (10,000 subscriptions over 1,000
//! WebSockets) by default. Per router it prints the router's RSS per
//! subscription, its CPU per delivered event, p50/p99 latency from the
//! subgraph's event (its timestamp is in the payload) to the client's
//! receipt, and events lost or out of order; the same for a peer router
//! (Hive Router) in the same run when `PEER_ROUTER_CMD` is set.
//!
//! ```text
//! cargo bench -p storefront-router --bench subscriptions
//! SUBS_QUICK=1 cargo bench -p storefront-router --bench subscriptions      # 1,000 subscriptions, ~1 min
//! PEER_ROUTER_CMD=/path/to/hive_router cargo bench -p storefront-router --bench subscriptions
//! ```
//!
//! Processes: the subgraphs (this binary again, `--serve-subgraphs`:
//! `ticker` serves `ticks(stream:)` over `graphql-transport-ws`, `catalog`
//! the entity fields each event needs) and the load client (this process, on
//! one thread) run on `BENCH_CLIENT_CPUS` (default CPU 1); each router runs
//! alone on `BENCH_ROUTER_CPUS` (default CPU 0), one after the other against
//! the same subgraphs. A router's round: started and checked with a query;
//! its idle RSS read; the sockets opened evenly over `SUBS_RAMP`; once every
//! subscription has had its first event, `SUBS_WARMUP`; then the measured
//! window (`SUBS_DURATION`), at whose edges CPU times are read; RSS is read
//! at its end. RSS per subscription is (RSS at the end − idle RSS) /
//! subscriptions; CPU per event is the router's `utime + stime` over the
//! window / events the clients received in it. Everything is on 127.0.0.1
//! and bounded in time. Open files: a router needs a descriptor per client
//! socket and per subgraph socket (ours shares one subgraph WebSocket among
//! up to `SUBSCRIPTIONS_MAX_PER_SUBGRAPH_SOCKET` subscriptions; a router that
//! opens one per subscription needs sockets + subscriptions), the subgraphs
//! as many as the router opens to them; the bench asks for the worst case,
//! sockets + subscriptions, and raises its
//! soft `RLIMIT_NOFILE` to the hard one (children inherit it) and stops if
//! that is too low (`ulimit -n`). Under `cargo test --benches` it does
//! nothing. Settings: see `settings`.
//!
//! # Layout
//! - `settings`: [`settings::BenchSettings`] from environment variables.
//! - `schemas`: the `ticker` and `catalog` subgraphs (`async-graphql`).
//! - `subgraphs`: their server, as a process of its own, and the supergraph.
//! - `routers`: ours and the peer, and how each is configured.
//! - `load`: the WebSocket load client and what it checks.
//! - `report`: one router's figures, and the side-by-side table.
//! - `process`, `procfs`: shared with the gateway bench (`../gateway/`).

#[allow(dead_code)]
#[path = "../gateway/process.rs"]
mod process;
#[allow(dead_code)]
#[path = "../gateway/procfs.rs"]
mod procfs;

mod execute;
mod load;
mod report;
mod routers;
mod schemas;
mod settings;
mod subgraphs;

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::sync::watch;

use crate::process::Process;
use crate::report::Figures;
use crate::routers::RouterSpec;
use crate::settings::BenchSettings;
use crate::subgraphs::Subgraphs;

/// How long a router may take to answer the check query once started.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// Descriptors a process needs besides its sockets.
const SPARE_FILES: u64 = 256;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let outcome = if let Some(at) = args.iter().position(|a| a == subgraphs::SERVE_FLAG) {
        subgraphs::serve(&args[at + 1..])
    } else if args.iter().any(|arg| arg == "--bench") {
        start()
    } else {
        println!(
            "subscriptions: a load benchmark; run it with `cargo bench -p storefront-router --bench subscriptions`"
        );
        Ok(())
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("subscriptions bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn start() -> anyhow::Result<()> {
    let settings = BenchSettings::from_env()?;
    let subscriptions = settings.subscriptions() as u64;
    raise_open_files(settings.sockets as u64 + subscriptions + SPARE_FILES)?;
    if let Some(cpus) = &settings.client_cpus {
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
    let mut subgraphs = Subgraphs::start(
        settings.client_cpus.as_deref(),
        settings.interval,
        dir.path().join("subgraphs.stderr"),
        &client,
    )
    .await?;
    let supergraph = dir.path().join("supergraph.graphql");
    std::fs::write(&supergraph, subgraphs.supergraph().await?)
        .with_context(|| format!("cannot write {}", supergraph.display()))?;

    println!(
        "subscriptions bench: {} subscriptions over {} WebSockets (graphql-transport-ws), one event per {:?} each, each event an entity fetch; sockets opened over {:?}, {:?} warm-up, {:?} measured",
        settings.subscriptions(),
        settings.sockets,
        settings.interval,
        settings.ramp,
        settings.warmup,
        settings.duration,
    );
    println!(
        "  routers on CPU {}, load client and subgraphs on CPU {}",
        settings.router_cpus.as_deref().unwrap_or("any"),
        settings.client_cpus.as_deref().unwrap_or("any"),
    );
    for spec in &specs {
        println!("  {}: {}", spec.label, spec.describe());
    }

    let mut results = Vec::new();
    for spec in &specs {
        subgraphs
            .process
            .check_running()
            .context("the in-bench subgraphs stopped")?;
        let figures = round(
            &settings,
            spec,
            &supergraph,
            &subgraphs,
            &client,
            dir.path(),
        )
        .await
        .with_context(|| format!("the {} router ({})", spec.label, spec.describe()))?;
        println!("{}", figures.block());
        results.push(figures);
        // Let the subgraphs drop the last router's sockets before the next one.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    println!("{}", report::table(&results));
    let errors: u64 = results.iter().map(|r| r.errors).sum();
    if errors > 0 {
        bail!("{errors} error(s) (see above); the figures do not count");
    }
    Ok(())
}

/// One router: started, checked, loaded, measured, stopped.
async fn round(
    settings: &BenchSettings,
    spec: &RouterSpec,
    supergraph: &Path,
    subgraphs: &Subgraphs,
    client: &reqwest::Client,
    dir: &Path,
) -> anyhow::Result<Figures> {
    let port = process::free_port()?;
    let launch = spec.launch(settings, supergraph, port, &dir.join(&spec.label))?;
    let mut router = Process::start(
        &launch,
        settings.router_cpus.as_deref(),
        dir.join(format!("{}.stderr", spec.label)),
    )?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    ready(client, &mut router, addr).await?;
    let idle = router.memory()?;

    let shared = Arc::new(load::Shared::default());
    let (stop, stopped) = watch::channel(false);
    let began = Instant::now();
    let mut sockets = Vec::with_capacity(settings.sockets);
    for index in 0..settings.sockets {
        let at = settings
            .ramp
            .mul_f64(index as f64 / settings.sockets as f64);
        tokio::time::sleep_until((began + at).into()).await;
        sockets.push(tokio::spawn(load::socket(
            addr,
            index * settings.per_socket,
            settings.per_socket,
            shared.clone(),
            stopped.clone(),
        )));
    }
    // Every subscription's first event, or give up waiting and report.
    let deadline = Instant::now() + settings.interval * 3 + Duration::from_secs(20);
    let total = settings.subscriptions();
    while shared.started.load(Ordering::Relaxed) < total && Instant::now() < deadline {
        router.check_running()?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let started = shared.started.load(Ordering::Relaxed);
    let subscribed_in = began.elapsed();
    tokio::time::sleep(settings.warmup).await;

    let cpu = |router: &Process| -> anyhow::Result<[Duration; 3]> {
        Ok([
            router.cpu_time()?,
            subgraphs.process.cpu_time()?,
            procfs::own_cpu_time()?,
        ])
    };
    let before = cpu(&router)?;
    let window_start = Instant::now();
    shared.measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(settings.duration).await;
    shared.measuring.store(false, Ordering::Relaxed);
    let elapsed = window_start.elapsed();
    let after = cpu(&router)?;
    let loaded = router.memory()?;
    let window_events = shared.window_events.load(Ordering::Relaxed);
    router.check_running()?;

    stop.send_replace(true);
    let mut outcome = load::Outcome::default();
    for socket in sockets {
        outcome.merge(socket.await.context("a socket task panicked")?);
    }
    let (stderr_lines, stderr_tail) = router.stderr_summary();
    drop(router);

    let delta = |i: usize| after[i].saturating_sub(before[i]);
    Ok(Figures::new(report::Inputs {
        label: spec.label.clone(),
        subscriptions: total,
        sockets: settings.sockets,
        started,
        subscribed_in,
        elapsed,
        window_events,
        router_cpu: delta(0),
        subgraphs_cpu: delta(1),
        client_cpu: delta(2),
        idle,
        loaded,
        outcome,
        stderr_lines,
        stderr_tail,
    }))
}

/// Queries the router until it answers right (it may listen before its
/// supergraph is loaded).
async fn ready(
    client: &reqwest::Client,
    router: &mut Process,
    addr: SocketAddr,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_DEADLINE;
    let body = serde_json::json!({"query": "{ item(id: \"1\") { id name } }"});
    let expected =
        serde_json::json!({"data": {"item": {"id": "1", "name": schemas::item_name("1")}}});
    loop {
        router.check_running()?;
        let answer = client
            .post(format!("http://{addr}/graphql"))
            .json(&body)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        let last = match answer {
            Ok(answer) => match answer.json::<serde_json::Value>().await {
                Ok(value) if value == expected => return Ok(()),
                Ok(value) => format!("answered {value}"),
                Err(error) => format!("answered no JSON: {error}"),
            },
            Err(error) => format!("{error}"),
        };
        if Instant::now() > deadline {
            bail!("no right answer within {START_DEADLINE:?}; the last: {last}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Raises this process's soft limit on open files (children inherit it) to
/// the hard one when it is below `needed`; fails when the hard one is too.
fn raise_open_files(needed: u64) -> anyhow::Result<()> {
    let limits =
        std::fs::read_to_string("/proc/self/limits").context("cannot read /proc/self/limits")?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .context("no `Max open files` in /proc/self/limits")?;
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|word| word.parse().ok())
        .collect();
    let [soft, hard] = numbers[..] else {
        bail!("unexpected /proc/self/limits line: {line}");
    };
    if soft >= needed {
        return Ok(());
    }
    if hard < needed {
        bail!(
            "the workload needs about {needed} open files per process but the hard limit is {hard}: raise it (`ulimit -Hn`) or lower SUBS_SOCKETS/SUBS_PER_SOCKET"
        );
    }
    let output = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &std::process::id().to_string(),
            &format!("--nofile={hard}:{hard}"),
        ])
        .output()
        .context("cannot run prlimit (util-linux) to raise the open-file limit")?;
    if !output.status.success() {
        bail!(
            "prlimit --nofile={hard}:{hard} failed: {}; run `ulimit -n {hard}` first",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
