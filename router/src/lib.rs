//! The Storefront federation router (work in progress).
//!
//! # Layout
//! - [`compose`]: subgraph SDLs → a supergraph SDL in the join-spec format (pure).
pub mod compose;
