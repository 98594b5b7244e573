//! How a binary starts and ends: [`run_service`] is the whole `main` of a
//! subgraph binary (settings, telemetry, bind, serve until SIGTERM/Ctrl-C);
//! a start-up failure is one line on stderr and exit code 1, never a panic or
//! a backtrace for a user's mistake.
//!
//! # Layout
//! - [`bind`] and [`shutdown_signal`]: the start and the end of serving, for
//!   every binary (the router's `main` calls them itself).
//! - [`HEALTH_PATH`], [`READY_PATH`] and [`healthcheck`]: the probes every
//!   process serves, and `<binary> healthcheck`, which asks for the first.
//! - [`run_service`], [`exit_code`], [`one_line`]: a subgraph's `main` and
//!   how any binary reports a failed start.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::settings::{self, ServiceSettings, Settings};
use crate::telemetry;

/// The liveness path every process serves.
pub const HEALTH_PATH: &str = "/health";
/// The readiness path every process serves (200 once its store answers).
pub const READY_PATH: &str = "/ready";

/// Binds `addr`, with an error that says what to do when it fails.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "port {} is already in use on {}: stop the other process or set PORT",
            addr.port(),
            addr.ip()
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "not allowed to listen on port {} (ports below 1024 need privileges): set PORT",
            addr.port()
        ),
        _ => format!("cannot listen on {addr}: {e}"),
    })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

/// Resolves when the service should stop.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The `main` of a service binary: `<binary> healthcheck` probes a running
/// one; otherwise load the settings (`--config FILE`, environment), start
/// telemetry, bind `BIND_ADDRESS:PORT`, and `serve` until SIGTERM or Ctrl-C.
pub async fn run_service<S, F, Fut>(service: &str, default_port: u16, serve: F) -> ExitCode
where
    S: ServiceSettings,
    F: FnOnce(Settings<S>, TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    if wants_healthcheck() {
        return healthcheck(default_port).await;
    }
    let started = async {
        let file = settings::config_file_from_args(std::env::args().skip(1))?;
        let settings = settings::load::<S>(default_port, file.as_deref())?;
        telemetry::init(settings.common.log_format);
        let addr = SocketAddr::new(settings.common.bind_address, settings.common.port);
        let listener = bind(addr).await.map_err(anyhow::Error::msg)?;
        serve(settings, listener, Box::pin(shutdown_signal())).await
    };
    exit_code(service, started.await)
}

/// The first argument that turns any Storefront binary into its own health
/// probe (for container `HEALTHCHECK`s in images without a shell or curl).
pub const HEALTHCHECK_COMMAND: &str = "healthcheck";

/// Whether the process was started as `<binary> healthcheck`.
pub fn wants_healthcheck() -> bool {
    std::env::args().nth(1).as_deref() == Some(HEALTHCHECK_COMMAND)
}

/// Asks the process on `PORT` (or `default_port`) at 127.0.0.1 for
/// `/health`: exit code 0 when it answers 200 within two seconds, else 1.
pub async fn healthcheck(default_port: u16) -> ExitCode {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse::<u16>().ok())
        .unwrap_or(default_port);
    let url = format!("http://127.0.0.1:{port}{}", HEALTH_PATH);
    let answer = match reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    {
        Ok(client) => client.get(&url).send().await,
        Err(error) => {
            eprintln!("healthcheck: {error}");
            return ExitCode::FAILURE;
        }
    };
    match answer {
        Ok(response) if response.status().is_success() => ExitCode::SUCCESS,
        Ok(response) => {
            eprintln!("healthcheck: {url} answered {}", response.status());
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("healthcheck: {url}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok` → success; `Err` → `<service>: <error and its causes>` on stderr, exit code 1.
pub fn exit_code(service: &str, result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{service}: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping a cause whose text the
/// message before it already includes.
pub fn one_line(error: &anyhow::Error) -> String {
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
    line.replace('\n', " ")
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

    #[test]
    fn multi_line_messages_become_one_line() {
        let error = anyhow::Error::msg("first\nsecond");
        assert_eq!(one_line(&error), "first second");
    }

    #[tokio::test]
    async fn a_taken_port_is_explained() {
        let first = bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("binds");
        let addr = first.local_addr().expect("addr");
        let error = bind(addr).await.expect_err("port taken");
        assert!(error.contains("already in use"), "{error}");
    }
}
