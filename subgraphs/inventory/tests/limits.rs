//! GraphQL request limits on the inventory subgraph's own port (defence in depth:
//! other pods reach it without the router): the fragment bomb, deep nesting,
//! too many aliases and tokens are refused with a code before async-graphql
//! expands anything, the subgraph's own parse and validation errors are
//! coded, and an `_entities` batch as the router sends it still passes.
//! The checks are shared (`storefront_shared::limits::suite`, run by its
//! `limits_tests!`) behind the inventory app.

mod common;

use axum::Router;

/// The inventory app over a fresh embedded store (the directory lives as long as the app).
async fn app() -> (tempfile::TempDir, Router) {
    let (dir, store) = common::embedded_store().await;
    let (_signer, authenticator) = common::TokenSigner::new();
    let app = storefront_inventory::app(storefront_inventory::AppState::new(store, authenticator));
    (dir, app)
}

storefront_shared::limits_tests!(app().await, "Product", "sku");
