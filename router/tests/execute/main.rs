//! Execution through the router's HTTP endpoint, against fake subgraphs:
//! the executor on hand-written plans, values the API schema cannot show,
//! deduplication of identical queries, and the load benchmark's workload
//! end to end.
//!
//! # Layout
//! - `executor`: hand-written plans: parallel fetches, flatten over lists,
//!   batched representations, error paths, null propagation, subgraphs that
//!   are down or slow, forwarded headers.
//! - `authorization`: `@authenticated`, `@requiresScopes`, `@policy`
//!   enforced before planning: removed fields are null with an error and
//!   never fetched; an operation left empty is refused.
//! - `authorization_interface_object`: requirements on `@interfaceObject`
//!   fields, through the interface and through concrete types.
//! - `batching`: entity fetches ready together, of one operation to one
//!   subgraph, share a request.
//! - `api_values`: enum values and object types the API schema hides or does
//!   not know complete as null.
//! - `dedupe`: identical subgraph queries in flight are sent once, identical
//!   client queries may share one execution.
//! - `gateway_workload`: the load benchmark's subgraphs and `TestQuery`,
//!   and its supergraph URL rewriting (`benches/gateway`; its `data`,
//!   `schemas`, `server`, `supergraph` and `workload` modules are included
//!   below).
//!
//! Shared helpers (fake subgraphs, a router with hand-written plans,
//! requests) are in `tests/common`.

#[path = "../common/mod.rs"]
mod common;

mod api_values;
mod authorization;
mod authorization_interface_object;
mod batching;
mod dedupe;
mod executor;
mod gateway_workload;

// The load benchmark's own modules, at the crate root as in the bench, where
// they name each other `crate::data`; the tests use only part of them.
#[allow(dead_code)]
#[path = "../../benches/gateway/data.rs"]
mod data;
#[allow(dead_code)]
#[path = "../../benches/gateway/schemas.rs"]
mod schemas;
#[allow(dead_code)]
#[path = "../../benches/gateway/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "../../benches/gateway/supergraph.rs"]
mod supergraph;
#[allow(dead_code)]
#[path = "../../benches/gateway/workload.rs"]
mod workload;
