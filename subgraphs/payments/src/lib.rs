//! The payments subgraph: charges orders through a payment provider, exactly once.
//!
//! It owns `Payment @key(fields: "id")`, extends `Order` with `payment`, and
//! serves `payOrder` with Stripe-style idempotency: the caller's key (scoped per
//! buyer) and a fingerprint of the arguments are recorded before the provider
//! is called, so a retried request never charges twice. It tells the orders
//! service about each successful charge (`markOrderPaid`), refunds when orders
//! refuses, and a sweeper finishes whatever a crash or an outage left in flight.
//! Orders and inventory use the same words: `flow` for the saga's steps,
//! `clients` for the calls to other services, `sweeper` for the recovery
//! loop, every `sweep_interval` (`SWEEP_INTERVAL`).
//!
//! ```text
//! POST /graphql ─ shared endpoint (Viewer, ServiceCaller) ─ graphql ─ flow ─┬─ store (MongoDB | redb)
//!                                                                          ├─ provider (sandbox | HTTP)
//!                                                                          └─ clients ─ orders
//! sweeper (every sweep_interval) ─ flow: charge, tell orders or refund again what was left in flight
//! ```
//!
//! # Layout
//! - [`settings`]: the `[service]` settings (provider, timeouts, `sweep_interval`).
//! - [`domain`]: the payment record, its states, validated keys and fingerprints.
//! - [`provider`]: the `PaymentProvider` trait, the sandbox and the HTTP client.
//! - [`clients`]: the calls to the orders service (`orderForPayment`, `markOrderPaid`).
//! - [`flow`]: the order flow's steps (`payOrder`, `refundOrderPayment`).
//! - [`sweeper`]: finishing what was left in flight (`Payments::sweep`, run
//!   every `sweep_interval`).
//! - [`graphql`]: the federated schema and the batched entity resolvers.
//! - [`store`]: the `PaymentRepository` trait and its MongoDB and embedded stores.
//! - this file: [`AppState`], [`app`] (the HTTP routes), [`run`] and [`serve`].

pub mod clients;
pub mod domain;
pub mod flow;
pub mod graphql;
pub mod provider;
pub mod settings;
pub mod store;
pub mod sweeper;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use storefront_shared::auth::Authenticator;
use storefront_shared::client::ServiceClient;
use storefront_shared::limits::RequestLimits;
use storefront_shared::server;
use storefront_shared::settings::Settings;
use tokio::net::TcpListener;

use crate::clients::OrdersClient;
use crate::flow::{Payments, Timing};
use crate::provider::http::HttpProviderConfig;
use crate::provider::{HttpProvider, PaymentProvider, SandboxProvider};
use crate::settings::{PaymentsSettings, ProviderKind};
use crate::store::{EmbeddedPaymentRepository, MongoPaymentRepository, SharedRepository};

/// The name of this service: its database, and its folder under `DATA_DIR`.
pub const SERVICE: &str = "payments";
/// The port the payments service listens on by default.
pub const DEFAULT_PORT: u16 = 4003;

/// Everything a running payments service needs.
#[derive(Clone)]
pub struct AppState {
    payments: Payments,
    authenticator: Authenticator,
    limits: RequestLimits,
}

impl AppState {
    /// A state over `payments`, identifying callers with `authenticator`.
    pub fn new(payments: Payments, authenticator: Authenticator) -> Self {
        AppState {
            payments,
            authenticator,
            limits: RequestLimits::default(),
        }
    }

    /// This state with other GraphQL request limits (the default ones otherwise).
    pub fn with_limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Opens the store, builds the provider and the orders client the settings name.
    pub async fn from_settings(settings: &Settings<PaymentsSettings>) -> anyhow::Result<Self> {
        let common = &settings.common;
        let service = &settings.service;
        let provider = provider_from_settings(service)?;
        let repo: SharedRepository = match &common.mongodb_uri {
            Some(uri) => {
                let db = storefront_shared::store::connect_mongo(uri, SERVICE).await?;
                let repo = MongoPaymentRepository::new(db)
                    .await
                    .context("cannot prepare the MongoDB payments collections")?;
                tracing::info!("storing payments in MongoDB");
                Arc::new(repo)
            }
            None => {
                let dir = common.service_dir(SERVICE);
                let repo = EmbeddedPaymentRepository::open(&dir)?;
                tracing::info!(dir = %dir.display(), "storing payments in the embedded store");
                Arc::new(repo)
            }
        };
        let service_token = common.service_token();
        let orders = ServiceClient::new(
            "orders",
            common.orders_url.clone(),
            service_token.clone(),
            service.orders_timeout,
        )
        .map_err(anyhow::Error::msg)?;
        let authenticator = Authenticator::for_users_service(common, service_token)
            .map_err(anyhow::Error::msg)
            .context("cannot set up token verification")?;
        let timing = Timing::for_provider(provider.as_ref());
        let payments = Payments::new(repo, provider, OrdersClient::new(orders), timing);
        Ok(AppState::new(payments, authenticator).with_limits(common.limits.clone()))
    }

    /// The operations this service offers.
    pub fn payments(&self) -> &Payments {
        &self.payments
    }

    /// The GraphQL schema over this state, with its request limits.
    pub fn schema(&self) -> graphql::PaymentsSchema {
        graphql::schema(self.payments.clone(), &self.limits)
    }
}

/// The provider the settings name.
pub fn provider_from_settings(
    settings: &PaymentsSettings,
) -> anyhow::Result<Arc<dyn PaymentProvider>> {
    match settings.provider {
        ProviderKind::Sandbox => {
            tracing::info!("using the sandbox payment provider (test tokens only)");
            Ok(Arc::new(SandboxProvider::new(settings.provider_timeout)))
        }
        ProviderKind::Http => {
            let url = settings
                .provider_url
                .clone()
                .context("provider = \"http\" needs provider_url (PAYMENT_PROVIDER_URL)")?;
            let key = settings
                .provider_api_key
                .clone()
                .context("provider = \"http\" needs provider_api_key (PAYMENT_PROVIDER_API_KEY)")?;
            let config = HttpProviderConfig::new(url, key, settings.provider_timeout);
            let provider = HttpProvider::new(config).map_err(anyhow::Error::msg)?;
            tracing::info!("using the HTTP payment provider");
            Ok(Arc::new(provider))
        }
    }
}

/// The HTTP routes: `POST /graphql`, `GET /health`, `GET /ready`.
pub fn app(state: AppState) -> Router {
    let repository = Arc::clone(state.payments.repository());
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
        tracing::info!(%addr, "payments subgraph listening; GraphQL at /graphql");
    }
    server::serve(listener, app(state), timeouts, shutdown).await
}

/// The whole life of the service binary: build the state from `settings`
/// (opening its store), start its background work, and serve on `listener`
/// until `shutdown` resolves.
pub async fn serve(
    settings: storefront_shared::settings::Settings<settings::PaymentsSettings>,
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
    let sweeper = sweeper::spawn_sweeper(state.payments().clone(), settings.service.sweep_interval);
    let served = run(listener, state, settings.common.timeouts(), shutdown).await;
    sweeper.abort();
    anyhow::Context::context(served, "the server stopped with an error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http_provider_needs_a_url_and_an_api_key() {
        let missing_url = PaymentsSettings {
            provider: ProviderKind::Http,
            ..PaymentsSettings::default()
        };
        let error = provider_from_settings(&missing_url).err().expect("no url");
        assert!(
            error.to_string().contains("PAYMENT_PROVIDER_URL"),
            "{error}"
        );
        let missing_key = PaymentsSettings {
            provider_url: Some("http://127.0.0.1:9".into()),
            ..missing_url
        };
        let error = provider_from_settings(&missing_key).err().expect("no key");
        assert!(
            error.to_string().contains("PAYMENT_PROVIDER_API_KEY"),
            "{error}"
        );
        let complete = PaymentsSettings {
            provider_api_key: Some(storefront_shared::settings::Secret::new("sk")),
            ..missing_key
        };
        assert!(provider_from_settings(&complete).is_ok());
    }

    #[test]
    fn the_sandbox_is_built_by_default() {
        let provider = provider_from_settings(&PaymentsSettings::default()).expect("sandbox");
        assert!(provider.accepts_token("tok_visa"));
        assert!(!provider.accepts_token("tok_other"));
    }
}
