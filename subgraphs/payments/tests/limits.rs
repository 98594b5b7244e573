//! GraphQL request limits on the payments subgraph's own port (defence in depth:
//! other pods reach it without the router): the fragment bomb, deep nesting,
//! too many aliases and tokens are refused with a code before async-graphql
//! expands anything, the subgraph's own parse and validation errors are
//! coded, and an `_entities` batch as the router sends it still passes.
//! The checks are shared (`storefront_shared::limits::suite`); this runs them
//! behind the payments app.

mod common;

use axum::Router;
use storefront_shared::limits::suite;

/// The payments app over a fresh embedded store (the service lives as long as the app).
async fn app() -> (common::TestService, Router) {
    let service = common::TestService::new().await;
    let app = storefront_payments::app(service.state.clone());
    (service, app)
}

#[tokio::test]
async fn a_fragment_bomb_is_refused_before_it_is_expanded() {
    let app = app().await;
    suite::fragment_bomb_is_refused(app.1).await;
}

#[tokio::test]
async fn fields_nested_deeper_than_the_limit_are_refused() {
    let app = app().await;
    suite::deep_nesting_is_refused(app.1).await;
}

#[tokio::test]
async fn more_aliases_than_the_limit_are_refused() {
    let app = app().await;
    suite::too_many_aliases_are_refused(app.1).await;
}

#[tokio::test]
async fn more_tokens_than_the_limit_fail_to_parse() {
    let app = app().await;
    suite::too_many_tokens_are_refused(app.1).await;
}

#[tokio::test]
async fn parse_validation_and_operation_name_errors_carry_codes() {
    let app = app().await;
    suite::request_errors_are_coded(app.1).await;
}

#[tokio::test]
async fn an_entities_batch_of_two_thousand_representations_passes_the_limits() {
    let (_service, app) = app().await;
    suite::many_representations_pass(app, "Payment", "id", 2000, &[]).await;
}
