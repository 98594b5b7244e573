//! The `router` binary.
//!
//! ```text
//! router [serve] [--supergraph FILE | --subgraph name=url ... | --subgraphs-file FILE] [--config FILE]
//! router compose [--subgraph name=url ... | --subgraphs-file FILE] [--out FILE] [--config FILE]
//! router plan --supergraph FILE QUERY|@FILE [--operation NAME] [--variables JSON|@FILE] [--no-defer]
//! ```
//! `router plan` keeps `@defer` (the plan a client accepting incremental
//! delivery gets; `--variables` gives the values `@defer(if: $v)` reads, a
//! variable absent counting as its default, else as deferring);
//! `--no-defer` prints the plan with `@defer` stripped (every other client).
//! Any start-up failure is one line on stderr (`router: <why>`) and exit code 1.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use storefront_process::{settings, startup};
use storefront_router::core::plan::{plan_text, plan_text_deferred};
use storefront_router::settings::{DEFAULT_PORT, RouterSettings, parse_subgraph};
use storefront_router::source::{self, SourceError};
use storefront_router::{runtime, telemetry};

/// mimalloc: the router allocates many small, short-lived values per request
/// (JSON trees, selections), where it is markedly cheaper than the system
/// allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let workers = runtime::workers(std::env::var(runtime::WORKERS_VARIABLE).ok().as_deref());
    match runtime::build(workers) {
        Ok(runtime) => runtime.block_on(run()),
        Err(error) => startup::exit_code(
            "router",
            Err(anyhow::Error::new(error).context("cannot start the tokio runtime")),
        ),
    }
}

async fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if startup::wants_healthcheck() {
        return startup::healthcheck(DEFAULT_PORT).await;
    }
    let result = match args.first().map(String::as_str) {
        Some("compose") => compose(&args[1..]).await,
        Some("plan") => plan(&args[1..]),
        Some("serve") => serve(&args[1..]).await,
        _ => serve(&args).await,
    };
    startup::exit_code("router", result)
}

/// Options common to the subcommands, read from `args`.
#[derive(Default)]
struct Options {
    config: Option<PathBuf>,
    supergraph: Option<PathBuf>,
    subgraphs: Vec<(String, String)>,
    subgraphs_file: Option<PathBuf>,
    out: Option<PathBuf>,
    operation: Option<String>,
    /// `router plan --variables`: JSON object text, or `@file`.
    variables: Option<String>,
    /// `router plan --no-defer`.
    no_defer: bool,
    positional: Vec<String>,
}

fn options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .with_context(|| format!("{flag} needs a value"))
        };
        match flag {
            "--config" | "-c" => options.config = Some(PathBuf::from(value()?)),
            "--supergraph" => options.supergraph = Some(PathBuf::from(value()?)),
            "--out" | "-o" => options.out = Some(PathBuf::from(value()?)),
            "--operation" => options.operation = Some(value()?),
            "--variables" => options.variables = Some(value()?),
            "--no-defer" => options.no_defer = true,
            "--subgraph" => {
                let pair = value()?;
                let subgraph = parse_subgraph(&pair).context("--subgraph wants name=url")?;
                options.subgraphs.push(subgraph);
            }
            "--subgraphs-file" => options.subgraphs_file = Some(PathBuf::from(value()?)),
            other if other.starts_with('-') => bail!("unknown option `{other}`"),
            other => options.positional.push(other.to_owned()),
        }
    }
    Ok(options)
}

fn load_settings(options: &Options) -> anyhow::Result<settings::Settings<RouterSettings>> {
    let config = options
        .config
        .clone()
        .or_else(|| std::env::var_os("CONFIG_FILE").map(PathBuf::from));
    let mut settings = settings::load::<RouterSettings>(DEFAULT_PORT, config.as_deref())?;
    if let Some(file) = &options.supergraph {
        settings.service.supergraph = Some(file.clone());
    }
    // The command line wins over the file and the environment: either flag
    // replaces both ways of naming the subgraphs.
    if !options.subgraphs.is_empty() && options.subgraphs_file.is_some() {
        bail!("give either --subgraph or --subgraphs-file, not both");
    }
    if !options.subgraphs.is_empty() {
        settings.service.subgraphs = options.subgraphs.clone();
        settings.service.subgraphs_file = None;
    }
    if let Some(file) = &options.subgraphs_file {
        settings.service.subgraphs_file = Some(file.clone());
        settings.service.subgraphs.clear();
    }
    Ok(settings)
}

async fn serve(args: &[String]) -> anyhow::Result<()> {
    let options = options(args)?;
    if let Some(extra) = options.positional.first() {
        bail!(
            "unexpected argument `{extra}`; see `router serve [--supergraph FILE | --subgraph name=url ... | --subgraphs-file FILE] [--config FILE]`"
        );
    }
    let settings = load_settings(&options)?;
    let telemetry = telemetry::init(
        settings.common.log_format,
        settings.service.otlp_endpoint.as_deref(),
    )?;
    let addr = SocketAddr::new(settings.common.bind_address, settings.common.port);
    let listener = startup::bind(addr).await.map_err(anyhow::Error::msg)?;
    let served = storefront_router::serve(settings, listener, startup::shutdown_signal()).await;
    telemetry.shutdown().await;
    served
}

async fn compose(args: &[String]) -> anyhow::Result<()> {
    let options = options(args)?;
    let settings = load_settings(&options)?;
    let subgraphs = settings.service.subgraph_list(&settings.common)?;
    let client = storefront_router::client::SubgraphClient::new(settings.service.timeouts.clone())
        .context("cannot build the HTTP client")?;
    match source::compose_live(&client, &subgraphs).await {
        Ok(sdl) => match &options.out {
            Some(path) => std::fs::write(path, sdl)
                .with_context(|| format!("cannot write {}", path.display())),
            None => {
                print_out(&sdl)?;
                Ok(())
            }
        },
        Err(SourceError::Composition(errors)) => {
            for error in &errors {
                eprintln!("{error}");
            }
            bail!("composition failed with {} error(s)", errors.len())
        }
        Err(error) => Err(error.into()),
    }
}

fn plan(args: &[String]) -> anyhow::Result<()> {
    let options = options(args)?;
    let file = options
        .supergraph
        .as_ref()
        .context("router plan needs --supergraph FILE")?;
    let [query] = options.positional.as_slice() else {
        bail!("router plan needs exactly one QUERY (text, or @file)");
    };
    let query = text_or_file(query)?;
    let sdl = source::read_file(file)?;
    let operation = options.operation.as_deref();
    let plan = if options.no_defer {
        plan_text(&sdl, &query, operation)?
    } else {
        let variables = match &options.variables {
            Some(text) => serde_json::from_str(&text_or_file(text)?)
                .context("--variables wants a JSON object")?,
            None => serde_json::Map::new(),
        };
        plan_text_deferred(&sdl, &query, operation, &variables)?
    };
    print_out(&format!("{plan}\n"))?;
    Ok(())
}

/// `text`, or the content of the file `@path` names.
fn text_or_file(text: &str) -> anyhow::Result<String> {
    match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read {path}")),
        None => Ok(text.to_owned()),
    }
}

/// Writes a command's output; a reader that went away (`| head`) is no error.
fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(error).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}
