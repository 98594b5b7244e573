//! The Storefront federation router: one GraphQL endpoint for the four
//! Storefront subgraphs, or any set of subgraphs the settings name.
//!
//! ```text
//!  HTTP (http, request, client_address) ─► authenticate (JWT; 401 if
//!  invalid) ─► ratelimit (per sub or address, global; 429) ─►
//!  pipeline::prepare (cached per document):
//!      parse ─► validate (API schema) ─► limits ─► normalise ─► introspection ─► plan
//!        ┌──────────────────────────────────────────────────────────────┘
//!        ▼
//!  pipeline, per request: coerce variables ─► authorize (@authenticated,
//!      @requiresScopes, @policy: filtered operation planned and cached)
//!      ─► execute ─► format ─► JSON body
//!                                               │
//!        execute: Sequence / Parallel / Fetch / Flatten(_entities), merge ─► client
//!  @defer with Accept multipart/mixed;deferSpec=20220824 (pipeline::defer):
//!      plan with defers kept ─► same stages ─► primary part, then one
//!      increment per deferred fragment as its fetches finish (multipart)
//! ```
//!
//! # Layout
//! - [`core`]: the pure core — composition, the supergraph model, query planning.
//! - [`settings`]: [`settings::RouterSettings`] (`[service]` of the settings file).
//! - [`http`]: GraphQL over HTTP (POST/GET, content negotiation, CSRF
//!   prevention, body timeout), probes, CORS, `/metrics`; it is served by
//!   [`storefront_process::listener`] (header-read and idle timeouts, graceful
//!   shutdown), as the subgraphs are.
//! - [`auth`]: JWT authentication (JWKS URLs and files) → the caller's
//!   [`auth::Identity`].
//! - [`request`]: a client's GraphQL request and which of its headers reach
//!   the subgraphs.
//! - [`state`]: the [`AppState`] every handler shares (current engine,
//!   client, settings, metrics).
//! - [`pipeline`]: an [`pipeline::Engine`] per loaded supergraph, one module
//!   per stage — parse, validate, limits, normalise, introspection, plan (with
//!   the plan cache), coerce variables, format, defer (incremental
//!   delivery) — each with its own error.
//! - [`plan_cache`]: prepared operations by hash, bounded by bytes.
//! - [`execute`]: running a plan, entity batches, merging into one tree.
//! - [`client`]: the [`client::SubgraphClient`] (keep-alive connections,
//!   timeouts, headers, identical queries in flight sent once).
//! - [`dedupe`]: single flight — identical work in progress is shared (subgraph
//!   queries; client queries when `dedupe_requests` is on).
//! - [`metrics`]: the Prometheus registry each [`AppState`] owns.
//! - [`telemetry`]: OpenTelemetry traces over OTLP/HTTP (off unless an
//!   endpoint is set) and `traceparent` propagation.
//! - [`runtime`]: the tokio runtime of the `router` binary (current-thread
//!   on one CPU, multi-thread otherwise).
//! - [`playground`]: the self-hosted GraphiQL page, embedded from `playground/dist`.
//! - [`source`]: where the supergraph comes from (file, or composed and polled).
//! - [`response`]: client-facing errors and their codes.
//! - [`subscription`]: subscriptions — WebSocket, SSE and multipart to
//!   clients, WebSocket to subgraphs, the rest of the plan per event.
//! - [`batch`]: client batching (a JSON array of requests in one POST).
//! - [`client_address`]: who the client is by address (the peer, or a
//!   trusted proxy's `X-Forwarded-For`), and the `X-Forwarded-For` sent on.
//! - [`ratelimit`]: token buckets per client and for the router, checked
//!   right after authentication (429 with `Retry-After`).

pub mod auth;
pub mod batch;
pub mod client;
pub mod client_address;
pub mod core;
pub mod dedupe;
pub mod execute;
pub mod http;
pub mod metrics;
pub mod pipeline;
pub mod plan_cache;
pub mod playground;
pub mod ratelimit;
pub mod request;
pub mod response;
pub mod runtime;
pub mod settings;
pub mod source;
pub mod state;
pub mod subscription;
pub mod telemetry;

use std::future::Future;

use axum::Router;
use storefront_process::listener::ConnectionTimeouts;
use tokio::net::TcpListener;

use crate::settings::RouterSettings;
pub use crate::state::{AppState, BuildError, InstallError};

/// The router's HTTP app.
pub fn app(state: AppState) -> Router {
    http::routes(state)
}

/// Serves the router on `listener` until `shutdown` resolves, then
/// completes every subscription and lets in-flight requests finish.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let hub = state.subscriptions().clone();
    let stopping = hub.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.shut_down();
    };
    let timeouts = ConnectionTimeouts {
        header_read: state.settings().header_read_timeout,
        idle: state.settings().idle_timeout,
    };
    let served =
        storefront_process::listener::serve(listener, app(state), timeouts, shutdown).await;
    // WebSockets outlive the connections that upgraded them: let their
    // subscriptions send `complete` and the sockets close.
    hub.drained(std::time::Duration::from_secs(5)).await;
    served
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
    let state = AppState::new(settings.service.clone()).context("cannot build the router")?;
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
