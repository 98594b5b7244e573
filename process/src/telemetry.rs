//! One `tracing` set-up for every binary: `RUST_LOG` filters, human logs by
//! default, JSON lines with `LOG_FORMAT=json`. A binary may add a layer of
//! its own (the router's OpenTelemetry export) with [`init_with`].
//!
//! # Layout
//! - [`init`]: the subscriber a subgraph installs; [`init_with`]: the same
//!   with one more layer.

use tracing_subscriber::layer::{Identity, Layer, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Registry};

use crate::settings::LogFormat;

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init(format: LogFormat) {
    init_with(format, Identity::new());
}

/// Installs the global subscriber with `layer` beside the logs (it sees the
/// spans and events `RUST_LOG` lets through).
pub fn init_with<L>(format: LogFormat, layer: L)
where
    L: Layer<Registry> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,mongodb=warn"));
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let logs = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer().with_ansi(ansi).boxed(),
    };
    // A second init (tests, embedding) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .with(logs)
        .try_init();
}
