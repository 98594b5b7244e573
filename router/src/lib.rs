//! The Storefront federation router: one GraphQL endpoint for the four
//! Storefront subgraphs, or any set of subgraphs the settings name.
//!
//! ```text
//!  HTTP (http) ─► parse ─► validate (API schema) ─► limits ─► normalise ─► plan (cached)   pipeline
//!                                                              │
//!        ┌─────────────────────────────────────────────────────────────────┘
//!        ▼
//!  execute: Sequence / Parallel / Fetch / Flatten(_entities)   execute, client
//!        ▼
//!  merge into one tree ─► format in the client's shape (nulls) ─► JSON response
//! ```
//!
//! # Layout
//! - [`core`]: the pure core — composition, the supergraph model, query planning.
//! - [`settings`]: [`settings::RouterSettings`] (`[service]` of the settings file).
//! - [`http`]: GraphQL over HTTP (POST/GET, content negotiation, CSRF
//!   prevention, body timeout), probes, CORS, `/metrics`; it is served by
//!   [`storefront_process::listener`] (header-read and idle timeouts, graceful
//!   shutdown), as the subgraphs are.
//! - [`metrics`]: the Prometheus registry each [`AppState`] owns.
//! - [`telemetry`]: OpenTelemetry traces over OTLP/HTTP (off unless an
//!   endpoint is set) and `traceparent` propagation.
//! - [`playground`]: the self-hosted GraphiQL page, embedded from `playground/dist`.
//! - [`pipeline`]: an [`pipeline::Engine`] per loaded supergraph — parse,
//!   validate, limits, the plan cache, introspection, execute, format.
//! - [`limits`]: depth, alias and root-field limits.
//! - [`plan_cache`]: prepared operations by hash, bounded by bytes.
//! - [`execute`]: running a plan, entity batches, merging and formatting.
//! - [`client`]: the [`client::SubgraphClient`] (one pool, timeouts, headers,
//!   identical queries in flight sent once).
//! - [`dedupe`]: single flight — identical work in progress is shared (subgraph
//!   queries; client queries when `dedupe_requests` is on).
//! - [`source`]: where the supergraph comes from (file, or composed and polled).
//! - [`response`]: client-facing errors and their codes.

pub mod client;
pub mod core;
pub mod dedupe;
pub mod execute;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod pipeline;
pub mod plan_cache;
pub mod planner;
pub mod playground;
pub mod response;
pub mod settings;
pub mod source;
pub mod telemetry;

use std::future::Future;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use axum::Router;
use storefront_process::listener::ConnectionTimeouts;
use tokio::net::TcpListener;

use crate::client::SubgraphClient;
use crate::core::supergraph::Supergraph;
use crate::metrics::Metrics;
use crate::pipeline::{Engine, MakePlanner};
use crate::settings::RouterSettings;

/// What every request handler shares: the current engine (swapped atomically
/// when the supergraph changes), the subgraph client, the settings and the
/// metrics.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    engine: ArcSwapOption<Engine>,
    client: SubgraphClient,
    settings: RouterSettings,
    make_planner: MakePlanner,
    metrics: Arc<Metrics>,
}

/// Why a supergraph could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The SDL is not a usable supergraph.
    #[error(transparent)]
    Supergraph(#[from] crate::core::supergraph::SupergraphError),
    /// The planner could not be built for it.
    #[error("the query planner cannot use this supergraph: {0}")]
    Planner(String),
}

impl AppState {
    /// A state with no supergraph yet, planning with the core planner.
    pub fn new(settings: RouterSettings) -> Result<Self, reqwest::Error> {
        let make_planner = planner::core_planner_with(settings.limits.plan_limits());
        Self::with_planner(settings, make_planner)
    }

    /// A state whose engines plan with `make_planner` (tests use hand-written plans).
    pub fn with_planner(
        settings: RouterSettings,
        make_planner: MakePlanner,
    ) -> Result<Self, reqwest::Error> {
        let metrics = Arc::new(Metrics::new());
        let client = SubgraphClient::new(settings.timeouts.clone())?.with_metrics(metrics.clone());
        Ok(AppState {
            inner: Arc::new(Shared {
                engine: ArcSwapOption::empty(),
                client,
                settings,
                make_planner,
                metrics,
            }),
        })
    }

    /// The current engine, if a supergraph is loaded.
    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.inner.engine.load_full()
    }

    /// The subgraph client.
    pub fn client(&self) -> &SubgraphClient {
        &self.inner.client
    }

    /// The router settings.
    pub fn settings(&self) -> &RouterSettings {
        &self.inner.settings
    }

    /// This router's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Parses `sdl` and swaps it in (with a new planner and empty caches).
    pub fn install_sdl(&self, sdl: &str) -> Result<(), InstallError> {
        let supergraph = Supergraph::parse(sdl)?;
        self.install(supergraph, sdl.to_owned())
    }

    /// Swaps in `supergraph` (read from `sdl`), with a new planner and empty caches.
    pub fn install(&self, supergraph: Supergraph, sdl: String) -> Result<(), InstallError> {
        let supergraph = Arc::new(supergraph);
        let planner =
            (self.inner.make_planner)(supergraph.clone()).map_err(InstallError::Planner)?;
        let engine = Engine::new(supergraph, sdl, planner, &self.inner.settings)
            .with_cache_counters(self.inner.metrics.plan_cache());
        self.inner.engine.store(Some(Arc::new(engine)));
        Ok(())
    }
}

/// The router's HTTP app.
pub fn app(state: AppState) -> Router {
    http::routes(state)
}

/// Serves the router on `listener` until `shutdown` resolves, then lets
/// in-flight requests finish.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let timeouts = ConnectionTimeouts {
        header_read: state.settings().header_read_timeout,
        idle: state.settings().idle_timeout,
    };
    storefront_process::listener::serve(listener, app(state), timeouts, shutdown).await
}

/// The whole life of the `router` binary: load the supergraph (from the file
/// the settings name, or composed from the subgraphs and polled), then serve
/// on `listener` until `shutdown` resolves.
pub async fn serve(
    settings: storefront_process::settings::Settings<RouterSettings>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let state = AppState::new(settings.service.clone()).context("cannot build the HTTP client")?;
    let source = source::SupergraphSource::from_settings(&settings)?;
    let poller = match source {
        source::SupergraphSource::File(_) => {
            source::run(state.clone(), source)
                .await
                .context("cannot load the supergraph")?;
            None
        }
        source::SupergraphSource::Compose { .. } => {
            let state = state.clone();
            Some(tokio::spawn(async move {
                if let Err(error) = source::run(state, source).await {
                    tracing::error!(%error, "the supergraph source stopped");
                }
            }))
        }
    };
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "router listening on /graphql");
    }
    let served = run(listener, state, shutdown).await;
    if let Some(poller) = poller {
        poller.abort();
    }
    served.context("the HTTP server failed")?;
    tracing::info!("router stopped");
    Ok(())
}
