//! Query planning, one module per federation feature: a fixture supergraph
//! (`tests/fixtures/plan/`) and an operation → a snapshot of the printed plan
//! (`snapshots/`), and where the plan alone does not show the behaviour, the
//! answer through the router against fake subgraphs.
//!
//! # Layout
//! - `root_fields`, `mutations`, `operations`: root fields over several
//!   subgraphs, mutations in order, fragments, aliases, variables.
//! - `keys`, `external_keys`: entity jumps through `@key`, and keys a subgraph
//!   has as `@external`.
//! - `requires`, `provides`, `shareable`, `value_types`: `@requires`,
//!   `@provides`/`@external`, `@shareable`/`@override`/`@inaccessible`, and
//!   value types in several subgraphs.
//! - `abstract_types`, `interface_objects`, `field_types`: interfaces and
//!   unions across subgraphs, `@interfaceObject`, fields a subgraph types
//!   narrower than the supergraph.
//! - `context`: `@fromContext` arguments.
//! - `conditions`, `unreachable_skipped`, `skipped_selections`:
//!   `@skip`/`@include` on fetches, on selections no subgraph can reach, and
//!   on every field of a selection (`skipped_selections/subgraphs.rs`: the
//!   async-graphql subgraphs it runs against).
//! - `internal_aliases`, `sibling_type_conflicts`: aliases the planner adds
//!   so its fields do not clash with the client's or with each other.
//! - `fetch_merging`: sibling entity fetches sent as one.
//! - `storefront`: the Storefront graph itself, on our supergraph and Apollo's.
//! - `subscriptions`: a subscription's primary fetch and the rest run per event.
//! - `defer`: `@defer` in the API schema, its validation, deferred
//!   fragments answered whole (planned like plain ones) when stripped, and
//!   plans split into a primary part and deferred nodes when kept.
//! - `preparing`: limits, the plan cache and planning off the async workers.
//!
//! Shared helpers (fake subgraphs, a router on a supergraph, requests) are in
//! `tests/common`.

#[path = "../common/mod.rs"]
mod common;

/// The fixture supergraph several modules plan against.
mod fixtures {
    /// The shop (`tests/fixtures/plan/shop.graphql` after the join-spec preamble).
    pub const SHOP: &str = concat!(
        include_str!("../fixtures/plan/join-preamble.graphql"),
        include_str!("../fixtures/plan/shop.graphql")
    );

    /// The printed plan of `operation` on the shop supergraph.
    pub fn shop_plan(operation: &str) -> String {
        storefront_router::core::plan::plan_text(SHOP, operation, None).expect("plans")
    }
}

mod abstract_types;
mod conditions;
mod context;
mod defer;
mod external_keys;
mod fetch_merging;
mod field_types;
mod interface_objects;
mod internal_aliases;
mod keys;
mod mutations;
mod operations;
mod preparing;
mod provides;
mod requires;
mod root_fields;
mod shareable;
mod sibling_type_conflicts;
mod skipped_selections;
mod storefront;
mod subscriptions;
mod unreachable_skipped;
mod value_types;
