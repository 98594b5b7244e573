//! `storefront`: the whole Storefront on one machine (see the crate docs).
//! `cargo run --release` from the repository root runs it.

use std::process::ExitCode;

use storefront_local::{Launch, launch};
use storefront_shared::settings::LogFormat;
use storefront_shared::{server, startup, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    startup::exit_code("storefront", run().await)
}

async fn run() -> anyhow::Result<()> {
    let format = match std::env::var("LOG_FORMAT").as_deref() {
        Ok("json") => LogFormat::Json,
        _ => LogFormat::Text,
    };
    telemetry::init(format);
    let storefront = launch(Launch::default()).await?;
    tracing::info!(
        "Storefront is running\n\n  GraphQL     {url}/graphql\n  Playground  {url}/\n  Subgraphs   {subgraphs}\n  Data        {data}\n  ADMIN       register with {admins}\n\nPress Ctrl-C to stop.",
        url = storefront.router_url.replace("127.0.0.1", "localhost"),
        subgraphs = storefront
            .subgraphs
            .iter()
            .map(|(name, url)| format!("{name} {url}"))
            .collect::<Vec<_>>()
            .join(", "),
        data = storefront.data_dir.display(),
        admins = storefront.admin_emails.join(", "),
    );
    storefront.run_until(server::shutdown_signal()).await?;
    tracing::info!("Storefront stopped");
    Ok(())
}
