//! The `orders` binary: settings (`--config FILE`, environment), telemetry,
//! bind, then [`storefront_orders::serve`] until SIGTERM or Ctrl-C. Any start-up
//! failure is one line on stderr (`orders: <why>`) and exit code 1;
//! `orders healthcheck` probes a running instance.

use std::process::ExitCode;

use storefront_orders::settings::OrdersSettings;
use storefront_orders::{DEFAULT_PORT, serve};
use storefront_shared::startup;

#[tokio::main]
async fn main() -> ExitCode {
    startup::run_service::<OrdersSettings, _, _>("orders", DEFAULT_PORT, serve).await
}
