//! The `inventory` binary: read settings, start telemetry, open the store, bind, run.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use storefront_inventory::settings::InventorySettings;
use storefront_inventory::store::{self, MongoOptions};
use storefront_inventory::{AppState, catalogue, run};
use storefront_shared::auth::{Authenticator, JwksVerifier};
use storefront_shared::{server, settings, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    match start().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("inventory: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn start() -> anyhow::Result<()> {
    let file = settings::config_file_from_args(std::env::args().skip(1))?;
    let settings = settings::load::<InventorySettings>(4004, file.as_deref())?;
    telemetry::init(settings.common.log_format);
    let service = &settings.service;

    let store = store::open(
        &settings.common,
        MongoOptions {
            stuck_after: service.stuck_after,
        },
    )
    .await?;
    let verifier = JwksVerifier::for_users_url(&settings.common.users_url)
        .map_err(anyhow::Error::msg)
        .context("cannot set up token verification")?;
    let authenticator = Authenticator::new(Arc::new(verifier), settings.common.service_token());
    let state = AppState::new(store, authenticator);

    if service.seed_demo_catalogue {
        let added = catalogue::seed_demo_catalogue(state.products.as_ref())
            .await
            .context("cannot seed the demo catalogue")?;
        tracing::info!(added, "demo catalogue seeded");
    }
    let sweeper = store::spawn_recovery(state.stock.clone(), service.recovery_interval);

    let addr = SocketAddr::new(settings.common.bind_address, settings.common.port);
    let listener = server::bind(addr).await.map_err(anyhow::Error::msg)?;
    tracing::info!(%addr, "inventory subgraph listening on /graphql");
    let served = run(listener, state, server::shutdown_signal()).await;
    sweeper.abort();
    served.context("the HTTP server failed")?;
    tracing::info!("inventory stopped");
    Ok(())
}
