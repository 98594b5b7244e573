//! The `payments` binary: settings (`--config FILE`, environment), telemetry,
//! bind, then [`storefront_payments::serve`] until SIGTERM or Ctrl-C. Any start-up
//! failure is one line on stderr (`payments: <why>`) and exit code 1;
//! `payments healthcheck` probes a running instance.

use std::process::ExitCode;

use storefront_payments::settings::PaymentsSettings;
use storefront_payments::{DEFAULT_PORT, serve};
use storefront_shared::startup;

#[tokio::main]
async fn main() -> ExitCode {
    startup::run_service::<PaymentsSettings, _, _>("payments", DEFAULT_PORT, serve).await
}
