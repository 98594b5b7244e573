//! The `@defer` benchmark (issue 21, point 6): one subgraph answers 200 ms
//! late; how soon does a client get the first part of an order with its
//! payment deferred, against the same order without `@defer`? Printed
//! figures, not a timed test: per router and case, p50/p99 time to the first
//! whole part and to the last, over `DEFER_REQUESTS` sequential requests.
//!
//! ```text
//! cargo bench -p storefront-router --bench defer
//! PEER_ROUTER_CMD=/var/tmp/hive/install/bin/hive_router cargo bench -p storefront-router --bench defer
//! ```
//!
//! The query (`order` from `orders`, `payment` an entity fetch to
//! `payments`, which sleeps `DEFER_DELAY` before answering):
//!
//! ```graphql
//! query Order($id: ID!) { order(id: $id) { id status total
//!   ... @defer(label: "payment") { payment { status amount } } } }
//! ```
//!
//! Cases, taking turns request by request so drift hits all alike:
//! - `no @defer`: the query without the fragment, `Accept: application/json`;
//! - `@defer`: `Accept: multipart/mixed;deferSpec=20220824, application/json`
//!   (what Apollo Client sends): first part = the primary payload;
//! - `@defer, JSON client`: the deferred query from a client that accepts
//!   only JSON (answered whole, as without `@defer`).
//!
//! Every answer is checked: no errors, the merged data equal to the expected
//! order, and with `@defer` a first part without `payment`. A peer router
//! (`PEER_ROUTER_CMD`, e.g. Hive Router) runs the same cases; what it answers
//! to a case it refuses is printed instead of figures. Processes: the
//! subgraphs (this binary again, `--serve-subgraphs`) and each router (one
//! after the other) are children, unpinned, on 127.0.0.1. Under
//! `cargo test --benches` it does nothing.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DEFER_REQUESTS` | 100 | measured requests per case and router |
//! | `DEFER_DELAY` | `200ms` | how late `payments` answers |
//! | `ROUTER_BIN` | this tree's `router` | our router binary |
//! | `PEER_ROUTER_CMD` | unset | a peer router's command, run by `sh -c 'exec …'` in a directory holding its `router.config.yaml` (Hive Router 0.3.x), with `PORT`, `HOST`, `SUPERGRAPH_FILE_PATH`, `ROUTER_CONFIG_FILE_PATH` |
//! | `PEER_ROUTER_NAME` | `hive` | its label |
//!
//! # Layout
//! - `subgraphs`: the `orders` and `payments` subgraphs and their process.
//! - `measure`: one request, timed part by part, its parts merged.
//! - `process`, `procfs`: shared with the gateway bench (`../gateway/`).

#[allow(dead_code)]
#[path = "../gateway/process.rs"]
mod process;
#[allow(dead_code)]
#[path = "../gateway/procfs.rs"]
mod procfs;

#[path = "../subscriptions/execute.rs"]
mod execute;
mod measure;
mod subgraphs;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use humantime_serde::re::humantime;
use serde_json::{Value, json};

use crate::measure::Answer;
use crate::process::{Launch, Process};
use crate::subgraphs::Subgraphs;

/// How long a router may take to answer the check query once started.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// Unmeasured requests per case before the measured ones.
const WARMUP: usize = 5;

/// What Apollo Client sends for a query.
const MULTIPART_ACCEPT: &str = "multipart/mixed;deferSpec=20220824, application/json";

const DEFERRED: &str = "query Order($id: ID!) { order(id: $id) { id status total ... @defer(label: \"payment\") { payment { status amount } } } }";
const PLAIN: &str =
    "query Order($id: ID!) { order(id: $id) { id status total payment { status amount } } }";

/// One kind of request.
#[derive(Debug, Clone, Copy)]
struct Case {
    name: &'static str,
    query: &'static str,
    accept: &'static str,
    /// Whether the first part must leave `payment` out.
    deferred: bool,
}

const CASES: [Case; 3] = [
    Case {
        name: "no @defer",
        query: PLAIN,
        accept: "application/json",
        deferred: false,
    },
    Case {
        name: "@defer",
        query: DEFERRED,
        accept: MULTIPART_ACCEPT,
        deferred: true,
    },
    Case {
        name: "@defer, JSON client",
        query: DEFERRED,
        accept: "application/json",
        deferred: false,
    },
];

/// The bench's settings, from the environment.
#[derive(Debug, Clone)]
struct Settings {
    requests: usize,
    delay: Duration,
    router: PathBuf,
    peer: Option<(String, String)>,
}

impl Settings {
    fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let requests = match var("DEFER_REQUESTS") {
            None => 100,
            Some(text) => match text.trim().parse() {
                Ok(0) | Err(_) => {
                    bail!("DEFER_REQUESTS must be a positive whole number, not `{text}`")
                }
                Ok(n) => n,
            },
        };
        let delay = match var("DEFER_DELAY") {
            None => Duration::from_millis(200),
            Some(text) => humantime::parse_duration(text.trim()).with_context(|| {
                format!("DEFER_DELAY must be a duration such as \"200ms\", not `{text}`")
            })?,
        };
        let router = var("ROUTER_BIN").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_router")),
            PathBuf::from,
        );
        let peer = var("PEER_ROUTER_CMD").map(|command| {
            (
                var("PEER_ROUTER_NAME").unwrap_or_else(|| "hive".to_owned()),
                command,
            )
        });
        Ok(Settings {
            requests,
            delay,
            router,
            peer,
        })
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let outcome = if let Some(at) = args.iter().position(|a| a == subgraphs::SERVE_FLAG) {
        subgraphs::serve(&args[at + 1..])
    } else if args.iter().any(|arg| arg == "--bench") {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the runtime")
            .and_then(|runtime| runtime.block_on(run()))
    } else {
        println!(
            "defer: a benchmark; run it with `cargo bench -p storefront-router --bench defer`"
        );
        Ok(())
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("defer bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// One router's outcome for one case.
struct Row {
    router: String,
    case: Case,
    first: Vec<Duration>,
    last: Vec<Duration>,
    parts: usize,
    /// Why the case has no figures (the router refused it, or answered wrong).
    refused: Option<String>,
}

async fn run() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    if !settings.router.is_file() {
        bail!(
            "the router {} does not exist (build it with `cargo build --profile dist -p storefront-router --bin router`)",
            settings.router.display()
        );
    }
    let client = reqwest::Client::new();
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    let mut subgraphs =
        Subgraphs::start(settings.delay, dir.path().join("subgraphs.stderr"), &client).await?;
    let supergraph = dir.path().join("supergraph.graphql");
    std::fs::write(&supergraph, subgraphs.supergraph().await?)
        .with_context(|| format!("cannot write {}", supergraph.display()))?;
    println!(
        "defer bench: `payments` answers {:?} late; {} sequential requests per case and router (after {WARMUP} unmeasured), cases taking turns",
        settings.delay, settings.requests
    );
    let mut routers = vec![(
        "current".to_owned(),
        ours(&settings.router, &supergraph),
        settings.router.display().to_string(),
    )];
    if let Some((name, command)) = &settings.peer {
        let launch = peer(command, &supergraph, &dir.path().join(name))?;
        routers.push((name.clone(), launch, command.clone()));
    }
    let mut rows = Vec::new();
    let mut failures = 0;
    for (label, launch, what) in &routers {
        println!("  {label}: {what}");
        subgraphs.process.check_running()?;
        let port = process::free_port()?;
        let mut launch = launch.clone();
        launch.env.push(("PORT".to_owned(), port.to_string()));
        let mut router = Process::start(&launch, None, dir.path().join(format!("{label}.stderr")))?;
        let url = format!(
            "http://{}/graphql",
            SocketAddr::from(([127, 0, 0, 1], port))
        );
        ready(&client, &mut router, &url)
            .await
            .with_context(|| format!("the {label} router ({what})"))?;
        let measured = round(&client, &url, &settings, label).await;
        router.check_running()?;
        if label == "current" {
            failures += measured.iter().filter(|r| r.refused.is_some()).count();
        }
        rows.extend(measured);
    }
    println!("{}", table(&rows));
    if failures > 0 {
        bail!("our router answered {failures} case(s) wrong (see above); the figures do not count");
    }
    Ok(())
}

/// Our router: `ROUTER serve --supergraph FILE`.
fn ours(binary: &Path, supergraph: &Path) -> Launch {
    Launch {
        program: binary.into(),
        args: vec!["serve".into(), "--supergraph".into(), supergraph.into()],
        env: vec![
            ("BIND_ADDRESS".to_owned(), "127.0.0.1".to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ],
        dir: None,
    }
}

/// The peer (Hive Router 0.3.x): its `router.config.yaml` in `dir`.
fn peer(command: &str, supergraph: &Path, dir: &Path) -> anyhow::Result<Launch> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let config = dir.join("router.config.yaml");
    let supergraph = supergraph.to_string_lossy().into_owned();
    std::fs::write(
        &config,
        format!(
            "# Written by the defer bench.\nsupergraph:\n  source: file\n  path: {}\nlog:\n  level: warn\n",
            // A YAML double-quoted string is a JSON string.
            Value::String(supergraph.clone()),
        ),
    )
    .with_context(|| format!("cannot write {}", config.display()))?;
    Ok(Launch {
        program: "sh".into(),
        args: vec!["-c".into(), format!("exec {command}").into()],
        env: vec![
            ("HOST".to_owned(), "127.0.0.1".to_owned()),
            (
                "ROUTER_CONFIG_FILE_PATH".to_owned(),
                config.to_string_lossy().into_owned(),
            ),
            ("SUPERGRAPH_FILE_PATH".to_owned(), supergraph),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ],
        dir: Some(dir.to_owned()),
    })
}

/// The order `payments` and `orders` give for `id`, with its payment.
fn expected(id: &str) -> Value {
    let total = subgraphs::order_total(id);
    json!({"order": {
        "id": id,
        "status": subgraphs::ORDER_STATUS,
        "total": total,
        "payment": {"status": subgraphs::PAYMENT_STATUS, "amount": total},
    }})
}

/// Why `answer` to `case` for order `id` is wrong, if it is.
fn wrong(case: &Case, id: &str, answer: &Answer) -> Option<String> {
    if !answer.errors.is_empty() {
        return Some(format!("errors: {}", Value::Array(answer.errors.clone())));
    }
    if answer.merged != expected(id) {
        return Some(format!(
            "{} part(s), merged data {}",
            answer.parts, answer.merged
        ));
    }
    if case.deferred {
        if answer.parts < 2 {
            return Some(format!("one part, not multipart: {}", answer.first_part));
        }
        if answer.first_part["data"]["order"].get("payment").is_some() {
            return Some(format!(
                "the payment is in the first part: {}",
                answer.first_part
            ));
        }
    }
    None
}

/// Every case against one router, requests taking turns.
async fn round(client: &reqwest::Client, url: &str, settings: &Settings, label: &str) -> Vec<Row> {
    let mut rows: Vec<Row> = CASES
        .iter()
        .map(|case| Row {
            router: label.to_owned(),
            case: *case,
            first: Vec::new(),
            last: Vec::new(),
            parts: 0,
            refused: None,
        })
        .collect();
    for index in 0..WARMUP + settings.requests {
        let id = (index + 1).to_string();
        for row in rows.iter_mut().filter(|row| row.refused.is_none()) {
            let body = json!({"query": row.case.query, "variables": {"id": id}});
            let outcome = measure::request(client, url, row.case.accept, &body).await;
            let why = match &outcome {
                Err(error) => Some(format!("{error:#}")),
                Ok(answer) => wrong(&row.case, &id, answer),
            };
            match (why, outcome) {
                (Some(why), _) => {
                    row.refused = Some(if why.chars().count() > 400 {
                        format!("{}…", why.chars().take(400).collect::<String>())
                    } else {
                        why
                    });
                }
                (None, Ok(answer)) if index >= WARMUP => {
                    row.first.push(answer.first);
                    row.last.push(answer.last);
                    row.parts = answer.parts;
                }
                _ => {}
            }
        }
    }
    rows
}

/// Queries the router until it answers the plain query right (it may listen
/// before its supergraph is loaded).
async fn ready(client: &reqwest::Client, router: &mut Process, url: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + START_DEADLINE;
    let body = json!({"query": PLAIN, "variables": {"id": "0"}});
    loop {
        router.check_running()?;
        let last = match measure::request(client, url, "application/json", &body).await {
            Ok(answer) if answer.errors.is_empty() && answer.merged == expected("0") => {
                return Ok(());
            }
            Ok(answer) => format!("answered {}", answer.first_part),
            Err(error) => format!("{error:#}"),
        };
        if Instant::now() > deadline {
            bail!("no right answer within {START_DEADLINE:?}; the last: {last}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `q` quantile (nearest rank) of `times`, in milliseconds.
fn quantile(times: &[Duration], q: f64) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

/// The side-by-side table.
fn table(rows: &[Row]) -> String {
    let mut out = format!(
        "\n{:<10} {:<22} {:>22} {:>22} {:>6}\n",
        "router", "case", "first part p50 / p99", "last part p50 / p99", "parts"
    );
    for row in rows {
        match &row.refused {
            Some(why) => out.push_str(&format!(
                "{:<10} {:<22} answered: {why}\n",
                row.router, row.case.name
            )),
            None => out.push_str(&format!(
                "{:<10} {:<22} {:>22} {:>22} {:>6}\n",
                row.router,
                row.case.name,
                format!(
                    "{:.1} / {:.1} ms",
                    quantile(&row.first, 0.5),
                    quantile(&row.first, 0.99)
                ),
                format!(
                    "{:.1} / {:.1} ms",
                    quantile(&row.last, 0.5),
                    quantile(&row.last, 0.99)
                ),
                row.parts,
            )),
        }
    }
    out
}
