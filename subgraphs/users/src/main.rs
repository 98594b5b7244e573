//! The `users` binary: settings (`--config FILE`, environment), telemetry,
//! bind, then [`storefront_users::serve`] until SIGTERM or Ctrl-C. Any start-up
//! failure is one line on stderr (`users: <why>`) and exit code 1;
//! `users healthcheck` probes a running instance, and `users create-admin
//! --email EMAIL` creates or promotes an ADMIN ([`storefront_users::admin`]).

use std::process::ExitCode;

use storefront_shared::startup;
use storefront_users::admin::{self, CREATE_ADMIN_COMMAND};
use storefront_users::settings::UsersSettings;
use storefront_users::{DEFAULT_PORT, serve};

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some(CREATE_ADMIN_COMMAND) {
        let outcome = admin::run(std::env::args().skip(2)).await;
        return startup::exit_code("users create-admin", outcome);
    }
    startup::run_service::<UsersSettings, _, _>("users", DEFAULT_PORT, serve).await
}
