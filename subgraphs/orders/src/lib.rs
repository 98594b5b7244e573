//! The orders subgraph: orders and their life cycle, from the reservation of
//! their stock to payment, cancellation or expiry.
//!
//! It owns `Order @key(fields: "id")`, adds `orders` to `User`, and references
//! `Product` by sku. Stock is reserved, released and sold through inventory's
//! internal operations; payments reads orders and marks them paid through the
//! internal operations here, and orders asks payments to refund a paid order
//! that is cancelled. The order flow (DESIGN.md) is a chain of single-document
//! compare-and-set steps (`flow`), so any one service may crash or be down and
//! the sweeper finishes or compensates what was in flight. Payments and
//! inventory use the same words: `flow` for the saga's steps, `clients` for
//! the calls to other services, `sweeper` for the recovery loop, every
//! `sweep_interval` (`SWEEP_INTERVAL`).
//!
//! ```text
//! POST /graphql ─ shared endpoint (Viewer, ServiceCaller) ─ graphql ─ flow ─┬─ store (MongoDB | redb)
//!                                                                          └─ clients ─┬─ inventory (reserve/release/commit)
//!                                                                                      └─ payments (refund)
//! sweeper (every sweep_interval) ─ flow: finish aborted/cancelled/paid orders, expire unpaid ones
//! ```
//!
//! # Layout
//! - [`settings`]: the `[service]` settings (limits, `order_ttl`, `sweep_interval`, ...).
//! - [`domain`]: the order, its states and validated values (`OrderRequest::parse`, ...).
//! - [`pricing`]: what an order costs (items, subtotal, shipping, discount, total).
//! - [`cart`], [`checkout`], [`discount`], [`shipping`]: the shop around the
//!   orders — carts, what a checkout asks for, discount codes, shipping rates.
//! - [`store`]: the `OrderRepository` trait and its MongoDB and embedded stores.
//! - [`clients`]: the calls to inventory, payments and users.
//! - [`flow`]: the order flow's steps (the operations), returning `ApiResult`.
//! - [`sweeper`]: finishing half-done work and expiring unpaid orders
//!   (`Orders::sweep`, run every `sweep_interval`).
//! - [`events`]: changes of orders for the subscriptions (an outbox in
//!   MongoDB polled by every replica, an in-process channel otherwise).
//! - [`graphql`]: the federated schema (with its subscriptions), the batched entity resolver, the internal operations.
//! - this file: [`AppState`], [`app`] (the HTTP routes) and [`run`].

pub mod cart;
pub mod checkout;
pub mod clients;
pub mod discount;
pub mod domain;
pub mod events;
pub mod flow;
pub mod graphql;
pub mod pricing;
pub mod settings;
pub mod shipping;
pub mod store;
pub mod sweeper;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use storefront_shared::auth::Authenticator;
use storefront_shared::client::ServiceClient;
use storefront_shared::limits::RequestLimits;
use storefront_shared::server;
use storefront_shared::settings::{Secret, Settings};
use tokio::net::TcpListener;

use crate::clients::{InventoryClient, PaymentsClient, UsersClient};
use crate::domain::{MAX_AMOUNT, OrderLimits};
use crate::events::OrderEvents;
use crate::flow::{Orders, Policy};
use crate::settings::OrdersSettings;
use crate::store::{EmbeddedOrderRepository, MongoOrderRepository, SharedRepository};

/// The name of this service: its database, and its folder under `DATA_DIR`.
pub const SERVICE: &str = "orders";
/// The port the orders service listens on by default.
pub const DEFAULT_PORT: u16 = 4002;

/// Where the services orders calls are.
#[derive(Debug, Clone)]
pub struct Peers {
    /// Inventory's GraphQL URL.
    pub inventory_url: String,
    /// Payments' GraphQL URL.
    pub payments_url: String,
}

impl TryFrom<&OrdersSettings> for Policy {
    type Error = anyhow::Error;

    /// The rules of `settings`; an error for a limit outside what the API can carry.
    fn try_from(settings: &OrdersSettings) -> anyhow::Result<Self> {
        if !(1..=MAX_AMOUNT).contains(&settings.max_order_total) {
            anyhow::bail!(
                "max_order_total (MAX_ORDER_TOTAL) must be between 1 and {MAX_AMOUNT} minor units, \
                 the most that Money.amount (GraphQL Int) carries; it is {}",
                settings.max_order_total
            );
        }
        if let Some(problem) = settings.shipping.problem() {
            anyhow::bail!("the shipping table ([service.shipping]) cannot be used: {problem}");
        }
        if i32::try_from(settings.max_quantity_per_line).is_err() {
            anyhow::bail!(
                "max_quantity_per_line (MAX_QUANTITY_PER_LINE) must be at most {}",
                i32::MAX
            );
        }
        Ok(Policy {
            limits: OrderLimits {
                max_quantity_per_line: settings.max_quantity_per_line,
                max_lines: settings.max_lines,
            },
            max_order_total: settings.max_order_total,
            order_ttl: settings.order_ttl,
            creating_timeout: settings.creating_timeout,
            cart_ttl: settings.cart_ttl,
            shipping: Arc::new(settings.shipping.clone()),
        })
    }
}

/// Everything a running orders service needs.
#[derive(Clone)]
pub struct AppState {
    orders: Orders,
    authenticator: Authenticator,
    limits: RequestLimits,
}

impl AppState {
    /// A state over `repo` that calls `peers` with `service_token`, following `service`'s
    /// rules, and knows callers through `authenticator`.
    pub fn new(
        repo: SharedRepository,
        service: &OrdersSettings,
        peers: &Peers,
        service_token: Secret,
        authenticator: Authenticator,
    ) -> anyhow::Result<Self> {
        let client = |name: &'static str, url: &str, timeout: Duration| {
            ServiceClient::new(name, url, service_token.clone(), timeout)
                .map_err(anyhow::Error::msg)
        };
        let inventory = InventoryClient::new(client(
            "inventory",
            &peers.inventory_url,
            service.call_timeout,
        )?);
        let payments = PaymentsClient::new(client(
            "payments",
            &peers.payments_url,
            service.call_timeout,
        )?);
        let orders = Orders::new(repo, inventory, payments, Policy::try_from(service)?);
        Ok(AppState {
            orders,
            authenticator,
            limits: RequestLimits::default(),
        })
    }

    /// This state reading buyers' saved addresses from the users service at
    /// `users_url` (without it, a checkout must give its address).
    pub fn with_users_url(
        mut self,
        users_url: &str,
        service_token: Secret,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let client = ServiceClient::new("users", users_url, service_token, timeout)
            .map_err(anyhow::Error::msg)?;
        self.orders = self.orders.with_users(UsersClient::new(client));
        Ok(self)
    }

    /// This state publishing changes of orders to `events` (for subscriptions
    /// on every replica); an in-process channel otherwise.
    pub fn with_events(mut self, events: OrderEvents) -> Self {
        self.orders = self.orders.with_events(events);
        self
    }

    /// This state with other GraphQL request limits (the default ones otherwise).
    pub fn with_limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Opens the store the settings name and verifies tokens with the users service's JWKS.
    pub async fn from_settings(settings: &Settings<OrdersSettings>) -> anyhow::Result<Self> {
        let common = &settings.common;
        let (repo, events): (SharedRepository, OrderEvents) = match &common.mongodb_uri {
            Some(uri) => {
                let db = storefront_shared::store::connect_mongo(uri, SERVICE).await?;
                let events = events::outbox(&db, settings.service.outbox())
                    .await
                    .context("cannot prepare the MongoDB events collection")?;
                let repo = MongoOrderRepository::new(db)
                    .await
                    .context("cannot prepare the MongoDB orders collection")?;
                tracing::info!("storing orders in MongoDB");
                (Arc::new(repo), events)
            }
            None => {
                let dir = common.service_dir(SERVICE);
                let repo = EmbeddedOrderRepository::open(&dir)?;
                tracing::info!(dir = %dir.display(), "storing orders in the embedded store");
                (Arc::new(repo), OrderEvents::in_process())
            }
        };
        let service_token = common.service_token();
        let authenticator = Authenticator::for_users_service(common, service_token.clone())
            .map_err(anyhow::Error::msg)
            .context("cannot set up token verification")?;
        let peers = Peers {
            inventory_url: common.inventory_url.clone(),
            payments_url: common.payments_url.clone(),
        };
        Ok(AppState::new(
            repo,
            &settings.service,
            &peers,
            service_token.clone(),
            authenticator,
        )?
        .with_events(events)
        .with_users_url(
            &common.users_url,
            service_token,
            settings.service.call_timeout,
        )?
        .with_limits(common.limits.clone()))
    }

    /// The operations this service offers.
    pub fn orders(&self) -> &Orders {
        &self.orders
    }

    /// The GraphQL schema over this state, with its request limits.
    pub fn schema(&self) -> graphql::OrdersSchema {
        graphql::schema(self.orders.clone(), &self.limits)
    }

    /// Turns request headers into the caller.
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }
}

/// The HTTP routes: `POST /graphql` (subscriptions: WebSocket on `GET /graphql`),
/// `GET /health`, `GET /ready`.
pub fn app(state: AppState) -> Router {
    let repository = Arc::clone(state.orders.repository());
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

/// Serves [`app`] on `listener` with `timeouts` (against slow clients) until
/// `shutdown` resolves, then drains in-flight requests.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    timeouts: server::Timeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "orders subgraph listening; GraphQL at /graphql");
    }
    server::serve(listener, app(state), timeouts, shutdown).await
}

/// The whole life of the service binary: build the state from `settings`
/// (opening its store), start its background work, and serve on `listener`
/// until `shutdown` resolves.
pub async fn serve(
    settings: storefront_shared::settings::Settings<settings::OrdersSettings>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::from_settings(&settings).await?;
    let sweeper = sweeper::spawn_sweeper(state.orders().clone(), settings.service.sweep_interval);
    let served = run(listener, state, settings.common.timeouts(), shutdown).await;
    sweeper.abort();
    anyhow::Context::context(served, "the server stopped with an error")
}
