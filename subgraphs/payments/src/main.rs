//! The `payments` binary: read settings, start telemetry, open the store, bind,
//! run (with the sweeper beside the server). Any start-up failure is one line on
//! stderr (`payments: <why>`) and exit code 1.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use storefront_payments::settings::PaymentsSettings;
use storefront_payments::{AppState, DEFAULT_PORT, run, spawn_sweeper};
use storefront_shared::{server, settings, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    match start().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("payments: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
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

/// The error and its causes on one line, skipping a cause whose text the
/// message before it already includes.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let cause = std::io::Error::other("disk full");
        let error = anyhow::Error::new(cause).context("cannot write: disk full");
        assert_eq!(one_line(&error), "cannot write: disk full");
        let error = anyhow::Error::msg("disk full").context("cannot write");
        assert_eq!(one_line(&error), "cannot write: disk full");
    }
}
