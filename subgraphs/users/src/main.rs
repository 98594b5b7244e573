//! The `users` binary: read settings, start telemetry, open the store, bind, run.
//! Any start-up failure is one line on stderr (`users: <why>`) and exit code 1.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use storefront_shared::{server, settings, startup, telemetry};
use storefront_users::settings::UsersSettings;
use storefront_users::{AppState, DEFAULT_PORT, run};

#[tokio::main]
async fn main() -> ExitCode {
    if startup::wants_healthcheck() {
        return startup::healthcheck(DEFAULT_PORT).await;
    }
    startup::exit_code("users", start().await)
}

async fn start() -> anyhow::Result<()> {
    let file = settings::config_file_from_args(std::env::args().skip(1))?;
    let settings = settings::load::<UsersSettings>(DEFAULT_PORT, file.as_deref())?;
    telemetry::init(settings.common.log_format);
    let state = AppState::from_settings(&settings).await?;
    let addr = SocketAddr::new(settings.common.bind_address, settings.common.port);
    let listener = server::bind(addr).await.map_err(anyhow::Error::msg)?;
    run(listener, state, server::shutdown_signal())
        .await
        .context("the server stopped with an error")
}
