//! GraphQL request limits on the users subgraph's own port (defence in depth:
//! other pods reach it without the router): the fragment bomb, deep nesting,
//! too many aliases and tokens are refused with a code before async-graphql
//! expands anything, the subgraph's own parse and validation errors are
//! coded, and an `_entities` batch as the router sends it still passes.
//! The checks are shared (`storefront_shared::limits::suite`, run by its
//! `limits_tests!`) behind the users app.

mod common;

use axum::Router;

/// The users app over a fresh embedded store (the store lives as long as the app).
fn app() -> (common::TestService, Router) {
    let service = common::TestService::new();
    let app = storefront_users::app(service.state.clone());
    (service, app)
}

storefront_shared::limits_tests!(app(), "User", "id");
