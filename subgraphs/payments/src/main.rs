//! The `payments` binary: read settings, start telemetry, open the store, bind,
//! run (with the sweeper beside the server). Any start-up failure is one line on
//! stderr (`payments: <why>`) and exit code 1.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use storefront_payments::settings::PaymentsSettings;
use storefront_payments::{AppState, DEFAULT_PORT, run, spawn_sweeper};
use storefront_shared::{server, settings, startup, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    if startup::wants_healthcheck() {
        return startup::healthcheck(DEFAULT_PORT).await;
    }
    startup::exit_code("payments", start().await)
}

async fn start() -> anyhow::Result<()> {
    let file = settings::config_file_from_args(std::env::args().skip(1))?;
    let settings = settings::load::<PaymentsSettings>(DEFAULT_PORT, file.as_deref())?;
    telemetry::init(settings.common.log_format);
    let state = AppState::from_settings(&settings).await?;
    let sweeper = spawn_sweeper(state.payments().clone(), settings.service.sweep_interval);
    let addr = SocketAddr::new(settings.common.bind_address, settings.common.port);
    let listener = server::bind(addr).await.map_err(anyhow::Error::msg)?;
    let served = run(listener, state, server::shutdown_signal()).await;
    sweeper.abort();
    served.context("the server stopped with an error")
}
