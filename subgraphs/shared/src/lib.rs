//! What every Storefront subgraph needs, so the four services stay alike.
//! What the router needs as well (settings, the listener, start-up,
//! telemetry) is the `storefront-process` crate's, re-exported here, so the
//! router links none of this crate's stores or GraphQL server.
//!
//! # Layout
//! - [`settings`], [`listener`], [`startup`], [`telemetry`]: re-exported
//!   from `storefront_process` (every process's settings, HTTP listener,
//!   start-up and shutdown, `tracing` set-up).
//! - [`server`]: serving a subgraph, `/health` and `/ready`, and the
//!   GraphQL-over-HTTP endpoint that wraps an `async-graphql` schema (a late
//!   body gets `408`).
//! - [`auth`]: token claims, the JWKS-backed verifier, revoked tokens (token
//!   generations cached per user), the service credential, and the one
//!   buyer-or-ADMIN rule (`Viewer::require_owner_or_admin`).
//! - [`address`]: postal addresses: the `AddressInput` users and orders
//!   take, its validation into a stored `PostalAddress` (ISO 3166-1 country,
//!   postal codes per country), and the `@shareable` `MailingAddress`.
//! - [`client`]: GraphQL calls to another subgraph with the service credential.
//! - [`events`]: change events for subscriptions: an in-process channel, and
//!   for MongoDB an outbox collection every replica polls.
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
//! - [`store`]: connecting to MongoDB and opening the embedded store, plus what
//!   every repository on them shares (MongoDB error classes, 0/1 flags, the
//!   blocking-pool handle for `redb` and its error conversions, the
//!   `repo_error!` type with its mapping to the client's codes).
//! - `testing` (feature): a fresh MongoDB database per test.

pub mod address;
pub mod auth;
pub mod client;
pub mod error;
pub mod events;
pub mod graphql;
pub mod limits;
pub mod money;
pub mod server;
pub mod store;
pub mod sweeper;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;

pub use error::{ApiError, ApiResult};
pub use storefront_process::{listener, settings, startup, telemetry};
