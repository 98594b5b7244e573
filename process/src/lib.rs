//! What every Storefront process needs, the router and the four subgraphs
//! alike: settings, the HTTP listener, start-up and shutdown, telemetry.
//!
//! Nothing here knows GraphQL or a store, so the router links none of the
//! subgraphs' stores (MongoDB's driver, redb) nor their GraphQL server
//! (async-graphql); the subgraphs get these modules through
//! `storefront-shared`, which re-exports them.
//!
//! # Layout
//! - [`settings`]: typed settings from a TOML file plus environment
//!   overrides: the `[common]` table every process reads (with the
//!   subgraphs' request limits) and a `[service]` table of its own.
//! - [`listener`]: the HTTP listener of every process — header-read and idle
//!   timeouts, graceful shutdown — and the body-read timeout its handlers
//!   apply.
//! - [`startup`]: binding with clear errors, SIGTERM/Ctrl-C, the
//!   `healthcheck` command, one-line start-up errors and the exit code.
//! - [`telemetry`]: `tracing` set-up (human or JSON logs, `RUST_LOG`).

pub mod listener;
pub mod settings;
pub mod startup;
pub mod telemetry;
