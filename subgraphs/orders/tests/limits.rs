//! GraphQL request limits on the orders subgraph's own port (defence in depth:
//! other pods reach it without the router): the fragment bomb, deep nesting,
//! too many aliases and tokens are refused with a code before async-graphql
//! expands anything, the subgraph's own parse and validation errors are
//! coded, and an `_entities` batch as the router sends it still passes.
//! The checks are shared (`storefront_shared::limits::suite`, run by its
//! `limits_tests!`) behind the orders app.

mod common;

use axum::Router;

/// The orders app over fresh embedded stores (the environment lives as long as the app).
async fn app() -> (common::TestEnv, Router) {
    let env = common::TestEnv::new().await;
    let app = storefront_orders::app(env.state.clone());
    (env, app)
}

storefront_shared::limits_tests!(app().await, "Order", "id");
