//! What every Storefront subgraph needs, so the four services stay alike
//! (and the parts the router shares with them: settings, the listener).
//!
//! # Layout
//! - [`settings`]: typed settings from a TOML file plus environment overrides.
//! - [`telemetry`]: `tracing` set-up (human or JSON logs, `RUST_LOG`).
//! - [`listener`]: the HTTP listener of every process (router included) —
//!   header-read and idle timeouts, graceful shutdown — and the body-read
//!   timeout its handlers apply.
//! - [`server`]: binding, the subgraphs' listener settings, `/health` and
//!   `/ready`, and the GraphQL-over-HTTP endpoint that wraps an
//!   `async-graphql` schema (a late body gets `408`).
//! - [`auth`]: token claims, the JWKS-backed verifier, revoked tokens (token
//!   generations cached per user), the service credential, and the one
//!   buyer-or-ADMIN rule (`Viewer::require_owner_or_admin`).
//! - [`client`]: GraphQL calls to another subgraph with the service credential.
//! - [`error`]: the domain error every resolver returns, mapped to API.md's codes.
//! - [`limits`]: what one GraphQL request may ask of a subgraph (depth,
//!   aliases, tokens, fragment expansion, ...), checked before async-graphql
//!   parses and validates, and the codes of its request errors.
//! - [`graphql`]: the `@shareable` `Money` and `PageInfo` types and connection cursors.
//! - [`money`]: the domain's `Money` (minor units and a currency code) that
//!   orders, payments and inventory keep.
//! - [`sweeper`]: the loop of every service's sweeper (the order flow's
//!   recovery: now, then every `SWEEP_INTERVAL`).
//! - [`text`]: what stored free text (names, descriptions) may contain: no
//!   control or invisible formatting characters.
//! - [`startup`]: one-line start-up errors and the exit code.
//! - [`store`]: connecting to MongoDB and opening the embedded store, plus what
//!   every repository on them shares (MongoDB error classes, 0/1 flags, the
//!   blocking-pool handle for `redb` and its error conversions, the
//!   `repo_error!` type with its mapping to the client's codes).
//! - `testing` (feature): a fresh MongoDB database per test.

pub mod auth;
pub mod client;
pub mod error;
pub mod graphql;
pub mod limits;
pub mod listener;
pub mod money;
pub mod server;
pub mod settings;
pub mod startup;
pub mod store;
pub mod sweeper;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;

pub use error::{ApiError, ApiResult};
