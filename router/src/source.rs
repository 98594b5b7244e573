//! Where the supergraph comes from: a file, or composed from the subgraphs'
//! `_service { sdl }` at start-up and then polled. A new supergraph is swapped
//! in atomically when an SDL changes; when composition fails the router keeps
//! serving the last good one and logs why.

use std::path::PathBuf;
use std::time::Duration;

use crate::client::SubgraphClient;
use crate::core::compose::{SubgraphSdl, compose};
use crate::settings::{RouterSettings, Subgraph, SubgraphsError};
use crate::state::{AppState, InstallError};
use storefront_process::settings::Settings;

/// How long to wait before asking again while no supergraph is loaded.
const RETRY_UNTIL_LOADED: Duration = Duration::from_millis(500);

/// Where the supergraph comes from.
#[derive(Debug, Clone)]
pub enum SupergraphSource {
    /// A supergraph SDL file.
    File(PathBuf),
    /// Composed from these subgraphs, polled every `poll_interval` (zero:
    /// only until the first success).
    Compose {
        /// The subgraphs by name, routing URL and SDL URL.
        subgraphs: Vec<Subgraph>,
        /// How often to ask again.
        poll_interval: Duration,
    },
}

impl SupergraphSource {
    /// The source the settings name: the `supergraph` file, or composition
    /// from [`RouterSettings::subgraph_list`] (by default the four subgraphs).
    pub fn from_settings(settings: &Settings<RouterSettings>) -> Result<Self, SubgraphsError> {
        Ok(match &settings.service.supergraph {
            Some(file) => SupergraphSource::File(file.clone()),
            None => SupergraphSource::Compose {
                subgraphs: settings.service.subgraph_list(&settings.common)?,
                poll_interval: settings.service.poll_interval,
            },
        })
    }
}

/// A subgraph to compose from: its name, where it is routed and where its
/// SDL is asked. A `(name, url)` pair uses the one URL for both.
pub trait SubgraphEndpoint: Sync {
    /// Its name.
    fn name(&self) -> &str;
    /// Where its queries are sent.
    fn routing_url(&self) -> &str;
    /// Where `_service { sdl }` is asked.
    fn sdl_url(&self) -> &str;
}

impl SubgraphEndpoint for (String, String) {
    fn name(&self) -> &str {
        &self.0
    }
    fn routing_url(&self) -> &str {
        &self.1
    }
    fn sdl_url(&self) -> &str {
        &self.1
    }
}

impl SubgraphEndpoint for Subgraph {
    fn name(&self) -> &str {
        &self.name
    }
    fn routing_url(&self) -> &str {
        &self.routing_url
    }
    fn sdl_url(&self) -> &str {
        &self.sdl_url
    }
}

/// Why a supergraph could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be read.
    #[error("cannot read the supergraph file {path}: {error}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A subgraph did not give its SDL.
    #[error("cannot fetch the SDL of the {subgraph} subgraph at {url}: {error}")]
    Fetch {
        /// The subgraph.
        subgraph: String,
        /// Its URL.
        url: String,
        /// Why.
        error: crate::client::SubgraphError,
    },
    /// Composition failed; every error names its rule, subgraph and coordinate.
    #[error("composition failed:\n{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Composition(Vec<crate::core::compose::CompositionError>),
    /// The SDL is not a usable supergraph.
    #[error(transparent)]
    Install(#[from] InstallError),
}

/// Reads a supergraph SDL file.
pub fn read_file(path: &std::path::Path) -> Result<String, SourceError> {
    std::fs::read_to_string(path).map_err(|error| SourceError::File {
        path: path.to_path_buf(),
        error,
    })
}

/// Fetches every subgraph's SDL (concurrently).
pub async fn fetch_sdls(
    client: &SubgraphClient,
    subgraphs: &[impl SubgraphEndpoint],
) -> Result<Vec<SubgraphSdl>, SourceError> {
    let answers = futures::future::join_all(subgraphs.iter().map(|subgraph| async move {
        let answer = client
            .service_sdl(subgraph.name(), subgraph.sdl_url())
            .await;
        (subgraph, answer)
    }))
    .await;
    answers
        .into_iter()
        .map(|(subgraph, answer)| match answer {
            Ok(sdl) => Ok(SubgraphSdl {
                name: subgraph.name().to_owned(),
                url: subgraph.routing_url().to_owned(),
                sdl,
            }),
            Err(error) => Err(SourceError::Fetch {
                subgraph: subgraph.name().to_owned(),
                url: subgraph.sdl_url().to_owned(),
                error,
            }),
        })
        .collect()
}

/// Fetches the subgraphs' SDLs and composes them into a supergraph SDL.
pub async fn compose_live(
    client: &SubgraphClient,
    subgraphs: &[impl SubgraphEndpoint],
) -> Result<String, SourceError> {
    let sdls = fetch_sdls(client, subgraphs).await?;
    compose(&sdls)
        .map(|composed| composed.supergraph_sdl)
        .map_err(SourceError::Composition)
}

/// Loads the supergraph into `state` and, when composing, keeps polling.
/// Returns when the source is a file (after one load) or polling is off and a
/// supergraph was loaded.
pub async fn run(state: AppState, source: SupergraphSource) -> Result<(), SourceError> {
    match source {
        SupergraphSource::File(path) => {
            let sdl = read_file(&path)?;
            state.install_sdl(&sdl)?;
            tracing::info!(path = %path.display(), "supergraph loaded from file");
            Ok(())
        }
        SupergraphSource::Compose {
            subgraphs,
            poll_interval,
        } => loop {
            refresh(&state, &subgraphs).await;
            let loaded = state.engine().is_some();
            if loaded && poll_interval.is_zero() {
                return Ok(());
            }
            let wait = if loaded {
                poll_interval
            } else {
                RETRY_UNTIL_LOADED
            };
            tokio::time::sleep(wait).await;
        },
    }
}

/// One poll: compose and swap in the result when it differs from the current one.
pub async fn refresh(state: &AppState, subgraphs: &[impl SubgraphEndpoint]) {
    let sdl = match compose_live(state.client(), subgraphs).await {
        Ok(sdl) => sdl,
        Err(error) => {
            if state.engine().is_some() {
                tracing::warn!(%error, "keeping the last good supergraph");
            } else {
                tracing::warn!(%error, "no supergraph yet");
            }
            return;
        }
    };
    if state.engine().is_some_and(|engine| engine.sdl == sdl) {
        return;
    }
    match state.install_sdl(&sdl) {
        Ok(()) => tracing::info!("a new supergraph is in service"),
        Err(error) => {
            tracing::error!(%error, "the composed supergraph cannot be used; keeping the last good one")
        }
    }
}
