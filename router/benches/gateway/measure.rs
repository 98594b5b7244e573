//! One dedupe mode: every router started afresh configured for it, checked
//! against the expected response, then measured in turns — a round is a
//! warm-up and a measured window, at whose edges the router's, the
//! subgraphs' and this process's CPU times and the subgraphs' request count
//! are sampled.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hyper::body::Bytes;

use crate::process::{self, Process};
use crate::report::{Round, RouterResult};
use crate::routers::RouterSpec;
use crate::settings::{BenchSettings, DedupeMode};
use crate::subgraphs::Subgraphs;
use crate::{load, procfs, workload};

/// How long a router may take to give its first right answer once started.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// What every router is sent and must answer.
pub struct Workload {
    pub body: Bytes,
    pub expected: Arc<serde_json::Value>,
}

/// What every mode of a run shares.
pub struct Run<'a> {
    pub settings: &'a BenchSettings,
    pub specs: &'a [RouterSpec],
    pub supergraph: &'a Path,
    pub client: &'a reqwest::Client,
    pub workload: Workload,
    /// Where the routers' stderr and configuration go.
    pub dir: &'a Path,
}

/// A router under test in one mode.
struct Contender {
    label: String,
    process: Process,
    load: load::Load,
    rounds: Vec<Round>,
}

impl Run<'_> {
    /// Starts every router configured for `mode`, checks their answers, then
    /// measures them in turns.
    pub async fn mode(
        &self,
        mode: DedupeMode,
        subgraphs: &mut Subgraphs,
    ) -> anyhow::Result<Vec<RouterResult>> {
        let Run {
            settings,
            specs,
            supergraph,
            client,
            workload,
            dir,
        } = self;
        let mut contenders = Vec::new();
        for spec in specs.iter() {
            let name = format!("{}-{}", spec.label, mode.name());
            let port = process::free_port()?;
            let launch = spec.launch(mode, supergraph, port, &dir.join(&name))?;
            let mut process = Process::start(
                &launch,
                settings.router_cpus.as_deref(),
                dir.join(format!("{name}.stderr")),
            )
            .with_context(|| format!("the {} router", spec.label))?;
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let expected = first_right_answer(client, &mut process, addr, workload)
                .await
                .with_context(|| format!("the {} router ({})", spec.label, spec.describe()))?;
            println!("  {} answers right ({} bytes)", spec.label, expected.len());
            contenders.push(Contender {
                label: spec.label.clone(),
                process,
                load: load::Load {
                    addr,
                    body: workload.body.clone(),
                    expected,
                    expected_json: workload.expected.clone(),
                    connections: settings.connections,
                    warmup: settings.warmup,
                    duration: settings.duration,
                },
                rounds: Vec::new(),
            });
        }

        let label = specs.iter().map(|s| s.label.len()).max().unwrap_or(0);
        for round in 1..=settings.rounds {
            for contender in &mut contenders {
                contender
                    .process
                    .check_running()
                    .with_context(|| format!("the {} router", contender.label))?;
                subgraphs.check_running()?;
                let result = measure(contender, subgraphs, client)
                    .await
                    .with_context(|| format!("round {round} of the {} router", contender.label))?;
                println!(
                    "round {round} {:<label$} {}",
                    contender.label,
                    result.line()
                );
                contender.rounds.push(result);
            }
        }

        let mut results = Vec::new();
        for contender in contenders {
            let (lines, tail) = contender.process.stderr_summary();
            if lines > 0 {
                println!(
                    "  the {} router wrote {lines} line(s) to stderr; the last:\n{tail}",
                    contender.label
                );
            }
            results.push(RouterResult {
                label: contender.label,
                rounds: contender.rounds,
                memory: contender.process.memory().ok(),
            });
        }
        Ok(results)
    }
}

/// Sends the query until the router answers it right (within
/// [`START_DEADLINE`]: a router may start listening before its supergraph is
/// loaded). Returns that answer.
async fn first_right_answer(
    client: &reqwest::Client,
    process: &mut Process,
    addr: SocketAddr,
    workload: &Workload,
) -> anyhow::Result<Bytes> {
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        process.check_running()?;
        let problem = match answer(client, addr, &workload.body).await {
            Ok(text) => match serde_json::from_slice::<serde_json::Value>(&text) {
                Ok(value) => match workload::first_difference(&workload.expected, &value) {
                    None => return Ok(text),
                    Some(difference) => format!("a wrong answer: {difference}"),
                },
                Err(error) => format!("an answer that is not JSON: {error}"),
            },
            Err(error) => format!("{error:#}"),
        };
        if Instant::now() > deadline {
            bail!("no right answer within {START_DEADLINE:?}; the last: {problem}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Posts `body` to `/graphql`; the answer when the status is 200.
async fn answer(client: &reqwest::Client, addr: SocketAddr, body: &Bytes) -> anyhow::Result<Bytes> {
    let answer = client
        .post(format!("http://{addr}/graphql"))
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
    Ok(text)
}

/// CPU times and counters at one edge of a measured window.
struct Sample {
    at: Instant,
    router: Duration,
    own: Duration,
    subgraphs: Option<Duration>,
    fetches: Option<u64>,
}

async fn sample(
    contender: &Contender,
    subgraphs: &Subgraphs,
    client: &reqwest::Client,
) -> anyhow::Result<Sample> {
    Ok(Sample {
        at: Instant::now(),
        router: contender.process.cpu_time()?,
        own: procfs::own_cpu_time()?,
        subgraphs: subgraphs.cpu_time().transpose()?,
        fetches: subgraphs.stats(client).await?.map(|s| s.requests),
    })
}

/// One round of `contender`: warm-up, then the measured window.
async fn measure(
    contender: &Contender,
    subgraphs: &Subgraphs,
    client: &reqwest::Client,
) -> anyhow::Result<Round> {
    let (outcome, start, end) = load::run(
        &contender.load,
        || sample(contender, subgraphs, client),
        || sample(contender, subgraphs, client),
    )
    .await?;
    let (start, end) = (start?, end?);
    if let Some(error) = &outcome.first_error {
        println!("  {} router, first error: {error}", contender.label);
    }
    Ok(Round {
        requests: outcome.latencies_us.len() as u64,
        errors: outcome.errors,
        elapsed: end.at.duration_since(start.at),
        router_cpu: end.router.saturating_sub(start.router),
        subgraphs_cpu: start
            .subgraphs
            .zip(end.subgraphs)
            .map(|(a, b)| b.saturating_sub(a)),
        client_cpu: end.own.saturating_sub(start.own),
        fetches: start
            .fetches
            .zip(end.fetches)
            .map(|(a, b)| b.saturating_sub(a)),
        p50: outcome.latency(0.50),
        p99: outcome.latency(0.99),
    })
}
