//! The Storefront federation router (work in progress).
//!
//! # Layout
//! - [`core`]: the pure core — composition, the supergraph model, query planning.
pub mod core;
