//! The pure core of the router: no tokio, no reqwest, no axum, no I/O.
//!
//! # Layout
//! - [`compose`]: subgraph SDLs → a supergraph SDL in the join-spec format.
//! - [`supergraph`]: a join-spec supergraph SDL → the [`supergraph::Supergraph`]
//!   model (subgraphs, where each type and field lives, keys, the API schema).
//! - [`normalize`]: a validated operation with fragments inlined and fields
//!   merged, so every later walk is linear in its size.
//! - [`plan`]: a validated operation → a [`plan::QueryPlan`] of fetches.
//! - [`cost`]: an operation's estimated cost (demand control, `@cost` and
//!   `@listSize`).

pub mod compose;
pub mod cost;
pub mod normalize;
pub mod plan;
pub mod supergraph;
