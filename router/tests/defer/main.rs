//! `@defer` through the router's HTTP endpoint: the multipart stream
//! (`deferSpec=20220824`) parsed part by part, against fake subgraphs.
//!
//! # Layout
//! - `multipart`: a strict reader of the response stream (framing checked,
//!   each part's JSON and when it arrived).
//! - `delivery`: hand-written deferred plans: the primary part before a slow
//!   subgraph answers, nested defers, lists, labels, `if: false`, clients
//!   without multipart, batches, request dedupe, `Accept` spellings, GET.
//! - `errors`: nulled parents, subgraph errors, subgraphs down or timing
//!   out, nulls in non-null fields of deferred fragments.
//! - `planned`: the real planner on the fixture supergraph, end to end.
//!
//! Shared helpers (fake subgraphs, a router with hand-written plans) are in
//! `tests/common`.

#[path = "../common/mod.rs"]
mod common;

mod delivery;
mod errors;
mod multipart;
mod planned;
