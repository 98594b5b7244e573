//! What every request handler shares ([`AppState`]): the current [`Engine`]
//! (swapped atomically when the supergraph changes), the subgraph client, the
//! settings, the metrics, the JWT authenticator and the persisted documents
//! (manifest and APQ cache, kept across supergraph changes), the trusted
//! proxies, the rate limiter and the subscriptions' [`Hub`].

use std::sync::Arc;

use arc_swap::ArcSwapOption;

use crate::auth::{self, Authenticator};
use crate::client::SubgraphClient;
use crate::client_address::{ProxyError, ProxyTrust};
use crate::core::supergraph::Supergraph;
use crate::metrics::Metrics;
use crate::pipeline::persisted::{ManifestError, PersistedDocuments};
use crate::pipeline::{self, Engine, MakePlanner};
use crate::ratelimit::{RateLimitError, RateLimiter};
use crate::settings::RouterSettings;
use crate::subscription::Hub;

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
    authenticator: Option<Arc<Authenticator>>,
    persisted: Arc<PersistedDocuments>,
    proxies: ProxyTrust,
    rate_limiter: RateLimiter,
    subscriptions: Arc<Hub>,
}

/// Why an [`AppState`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The subgraph client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] crate::client::ClientBuildError),
    /// JWT authentication could not be set up (a key file, an algorithm).
    #[error("cannot set up JWT authentication: {0}")]
    Authentication(#[from] auth::SetupError),
    /// The persisted-query manifest could not be read.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A trusted proxy address is not an address or network.
    #[error(transparent)]
    TrustedProxies(#[from] ProxyError),
    /// The rate limits cannot work as set.
    #[error(transparent)]
    RateLimit(#[from] RateLimitError),
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
    pub fn new(settings: RouterSettings) -> Result<Self, BuildError> {
        let make_planner = pipeline::plan::core_planner_with(settings.limits.plan_limits());
        Self::with_planner(settings, make_planner)
    }

    /// A state whose engines plan with `make_planner` (tests use hand-written plans).
    pub fn with_planner(
        settings: RouterSettings,
        make_planner: MakePlanner,
    ) -> Result<Self, BuildError> {
        let metrics = Arc::new(Metrics::new());
        let client = SubgraphClient::new(settings.timeouts.clone())?.with_metrics(metrics.clone());
        let persisted = Arc::new(
            PersistedDocuments::new(&settings.persisted_queries, &settings.limits)?
                .with_counters(metrics.persisted()),
        );
        persisted.start_reloading();
        let proxies = ProxyTrust::new(&settings.trusted_proxies)?;
        let max_batch = if settings.batching.enabled {
            settings.batching.max_operations
        } else {
            1
        };
        let rate_limiter = RateLimiter::new(&settings.rate_limit, max_batch)?;
        let authenticator = Authenticator::new(&settings.jwt)?;
        if let Some(authenticator) = &authenticator {
            authenticator.start();
        }
        let subscriptions = Arc::new(Hub::new(settings.subscriptions.clone()));
        Ok(AppState {
            inner: Arc::new(Shared {
                subscriptions,
                engine: ArcSwapOption::empty(),
                client,
                settings,
                make_planner,
                metrics,
                authenticator,
                persisted,
                proxies,
                rate_limiter,
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

    /// The JWT authenticator, when `[service.jwt]` names a key source.
    pub fn authenticator(&self) -> Option<&Arc<Authenticator>> {
        self.inner.authenticator.as_ref()
    }

    /// The trusted documents and the APQ cache.
    pub fn persisted(&self) -> &PersistedDocuments {
        &self.inner.persisted
    }

    /// The running subscriptions' hub (limits, shutdown).
    pub fn subscriptions(&self) -> &Arc<Hub> {
        &self.inner.subscriptions
    }

    /// The proxies trusted to name the client.
    pub fn proxies(&self) -> &ProxyTrust {
        &self.inner.proxies
    }

    /// The rate limits.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.inner.rate_limiter
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
        let engine = Engine::new(
            supergraph,
            sdl,
            planner,
            &self.inner.settings,
            &self.inner.metrics,
        );
        self.inner.engine.store(Some(Arc::new(engine)));
        Ok(())
    }
}
