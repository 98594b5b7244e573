//! GraphQL request limits on the payments subgraph's own port (defence in depth:
//! other pods reach it without the router): the fragment bomb, deep nesting,
//! too many aliases and tokens are refused with a code before async-graphql
//! expands anything, the subgraph's own parse and validation errors are
//! coded, and an `_entities` batch as the router sends it still passes.
//! The checks are shared (`storefront_shared::limits::suite`, run by its
//! `limits_tests!`) behind the payments app.

mod common;

use axum::Router;

/// The payments app over a fresh embedded store (the service lives as long as the app).
async fn app() -> (common::TestService, Router) {
    let service = common::TestService::new().await;
    let app = storefront_payments::app(service.state.clone());
    (service, app)
}

storefront_shared::limits_tests!(app().await, "Payment", "id");
