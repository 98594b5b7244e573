//! The inventory subgraph of Storefront: the product catalogue and its stock.
//!
//! It serves the `Product` entity (key `sku`), categories, catalogue listings with
//! filters, sort orders and cursor pagination over indexes in both stores, admin
//! mutations to manage categories and products, and the
//! internal, `@inaccessible` operations with which the orders service reserves,
//! releases and sells stock without ever overselling.
//!
//! # Layout
//! - [`domain`]: validated values (`Sku::parse`, `Quantity::parse`, ...), products,
//!   reservations, cursors.
//! - [`store`]: the [`ProductRepository`] and
//!   [`StockRepository`] traits with their MongoDB and
//!   embedded (`redb`) implementations; `StockRepository::sweep` finishes what a
//!   crash left half done.
//! - [`sweeper`]: the store's sweep every `sweep_interval` (`SWEEP_INTERVAL`),
//!   with the same words as orders and payments (`flow`, `clients`, `sweeper`).
//! - [`events`]: stock changes for `stockChanged` (an outbox in MongoDB
//!   polled by every replica, an in-process channel otherwise).
//! - [`graphql`]: the Federation v2 schema (with its subscription), the batched `Product` entity resolver and
//!   the internal stock operations.
//! - [`catalogue`]: the demo categories and products seeded into an empty store.
//! - [`settings`]: the `[service]` settings.
//!
//! ```text
//! POST /graphql ─▶ Viewer/ServiceCaller ─▶ resolvers ─▶ ProductLoader ─▶ ProductRepository
//!                                                   └─▶ StockRepository (reserve/release/commit)
//! ```

pub mod catalogue;
pub mod domain;
pub mod events;
pub mod graphql;
pub mod settings;
pub mod store;
pub mod sweeper;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use storefront_shared::auth::Authenticator;
use storefront_shared::limits::RequestLimits;
use storefront_shared::server;
use storefront_shared::settings::Settings;
use tokio::net::TcpListener;

use crate::settings::InventorySettings;

/// The port the inventory service listens on by default.
pub const DEFAULT_PORT: u16 = 4004;

use crate::events::StockEvents;
use crate::graphql::InventorySchema;
use crate::store::{CategoryRepository, InventoryStore, ProductRepository, StockRepository};

/// What the HTTP app needs: the repositories and the authenticator.
#[derive(Clone)]
pub struct AppState {
    /// The catalogue.
    pub products: Arc<dyn ProductRepository>,
    /// The category tree.
    pub categories: Arc<dyn CategoryRepository>,
    /// Reservations.
    pub stock: Arc<dyn StockRepository>,
    /// Turns request headers into the caller.
    pub authenticator: Authenticator,
    /// What one GraphQL request may ask.
    pub limits: RequestLimits,
    /// Where stock changes are published (for `stockChanged`).
    pub events: StockEvents,
}

impl AppState {
    /// State over one store that keeps both the catalogue and the reservations.
    pub fn new(store: Arc<dyn InventoryStore>, authenticator: Authenticator) -> Self {
        AppState {
            products: store.clone(),
            categories: store.clone(),
            stock: store,
            authenticator,
            limits: RequestLimits::default(),
            events: StockEvents::in_process(),
        }
    }

    /// Opens the store the settings name, trusts the users service's JWKS at
    /// `USERS_URL`, and seeds the demo catalogue when asked and the store is empty.
    pub async fn from_settings(settings: &Settings<InventorySettings>) -> anyhow::Result<Self> {
        let service = &settings.service;
        let store = store::open(
            &settings.common,
            store::MongoOptions {
                stuck_after: service.stuck_after,
            },
        )
        .await?;
        let authenticator =
            Authenticator::for_users_service(&settings.common, settings.common.service_token())
                .map_err(anyhow::Error::msg)
                .context("cannot set up token verification")?;
        let events = match &settings.common.mongodb_uri {
            Some(uri) => {
                let db = storefront_shared::store::connect_mongo(uri, "inventory").await?;
                events::outbox(&db, service.outbox())
                    .await
                    .context("cannot prepare the MongoDB events collection")?
            }
            None => StockEvents::in_process(),
        };
        let state = AppState {
            limits: settings.common.limits.clone(),
            events,
            ..AppState::new(store, authenticator)
        };
        if service.seed_demo_catalogue {
            let seeded =
                catalogue::seed_demo_catalogue(state.products.as_ref(), state.categories.as_ref())
                    .await
                    .context("cannot seed the demo catalogue")?;
            tracing::info!(
                categories = seeded.categories,
                products = seeded.products,
                "demo catalogue seeded"
            );
        }
        Ok(state)
    }

    /// The GraphQL schema over this state's repositories, with its request limits.
    pub fn schema(&self) -> InventorySchema {
        graphql::build_schema(
            self.products.clone(),
            self.categories.clone(),
            self.stock.clone(),
            self.events.clone(),
            &self.limits,
        )
    }
}

/// The HTTP app: `POST /graphql` (subscriptions: WebSocket on `GET /graphql`),
/// `GET /health` and `GET /ready`.
pub fn app(state: AppState) -> Router {
    let repository = Arc::clone(&state.products);
    let ready = server::readiness(move || {
        let repository = Arc::clone(&repository);
        async move { repository.ping().await }
    });
    server::subgraph(
        state.schema(),
        state.authenticator.clone(),
        ready,
        state.limits.max_body_bytes,
    )
}

/// Serves the app on `listener` with `timeouts` (against slow clients) until
/// `shutdown` resolves, then drains in-flight requests.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    timeouts: server::Timeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve(listener, app(state), timeouts, shutdown).await
}

/// The whole life of the service binary: build the state from `settings`
/// (opening its store), start its background work, and serve on `listener`
/// until `shutdown` resolves.
pub async fn serve(
    settings: Settings<InventorySettings>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut settings = settings;
    if let Some(warning) = settings
        .service
        .settle_old_names(|var| std::env::var_os(var).is_some())
    {
        tracing::warn!("{warning}");
    }
    let state = AppState::from_settings(&settings).await?;
    let stock = events::Watched::new(state.stock.clone(), state.events.clone());
    let sweeper = sweeper::spawn_sweeper(stock, settings.service.sweep_interval);
    let served = run(listener, state, settings.common.timeouts(), shutdown).await;
    sweeper.abort();
    served.context("the HTTP server failed")
}
