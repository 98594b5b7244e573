//! The `inventory` binary: read settings, start telemetry, open the store, bind, run.
//! Any start-up failure is one line on stderr (`inventory: <why>`) and exit code 1.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use storefront_inventory::settings::InventorySettings;
use storefront_inventory::{AppState, DEFAULT_PORT, run, store};
use storefront_shared::{server, settings, startup, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    if startup::wants_healthcheck() {
        return startup::healthcheck(DEFAULT_PORT).await;
    }
    startup::exit_code("inventory", start().await)
}

async fn start() -> anyhow::Result<()> {
    let file = settings::config_file_from_args(std::env::args().skip(1))?;
    let settings = settings::load::<InventorySettings>(DEFAULT_PORT, file.as_deref())?;
    telemetry::init(settings.common.log_format);
    let state = AppState::from_settings(&settings).await?;
    let sweeper = store::spawn_recovery(state.stock.clone(), settings.service.recovery_interval);

    let addr = SocketAddr::new(settings.common.bind_address, settings.common.port);
    let listener = server::bind(addr).await.map_err(anyhow::Error::msg)?;
    tracing::info!(%addr, "inventory subgraph listening on /graphql");
    let served = run(listener, state, server::shutdown_signal()).await;
    sweeper.abort();
    served.context("the HTTP server failed")?;
    tracing::info!("inventory stopped");
    Ok(())
}
