//! The `users` binary: settings (`--config FILE`, environment), telemetry,
//! bind, then [`storefront_users::serve`] until SIGTERM or Ctrl-C. Any start-up
//! failure is one line on stderr (`users: <why>`) and exit code 1;
//! `users healthcheck` probes a running instance.

use std::process::ExitCode;

use storefront_shared::startup;
use storefront_users::settings::UsersSettings;
use storefront_users::{DEFAULT_PORT, serve};

#[tokio::main]
async fn main() -> ExitCode {
    startup::run_service::<UsersSettings, _, _>("users", DEFAULT_PORT, serve).await
}
