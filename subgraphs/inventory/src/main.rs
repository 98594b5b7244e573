//! The `inventory` binary: settings (`--config FILE`, environment), telemetry,
//! bind, then [`storefront_inventory::serve`] until SIGTERM or Ctrl-C. Any start-up
//! failure is one line on stderr (`inventory: <why>`) and exit code 1;
//! `inventory healthcheck` probes a running instance.

use std::process::ExitCode;

use storefront_inventory::settings::InventorySettings;
use storefront_inventory::{DEFAULT_PORT, serve};
use storefront_shared::startup;

#[tokio::main]
async fn main() -> ExitCode {
    startup::run_service::<InventorySettings, _, _>("inventory", DEFAULT_PORT, serve).await
}
