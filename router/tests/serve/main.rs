//! The router as a service: GraphQL over HTTP, CORS, its defences, metrics,
//! the playground and the composed supergraph source, on the app in-process;
//! and the `router` binary run as a process (its command line, and the
//! OpenTelemetry export).
//!
//! # Layout
//! - `http`: GraphQL over HTTP: methods, media types, request errors with
//!   locations and codes, limits, introspection, probes.
//! - `client_batching`: a JSON array of requests in one POST (off by
//!   default, limited, answers in order).
//! - `cors`: CORS for the configured origins only.
//! - `demand_control`: estimated operation cost refused (enforce, nothing
//!   fetched) or reported (measure, `extensions.cost`, the histogram).
//! - `hardening`: timeouts against slow clients, graceful shutdown,
//!   `Content-Type` as a media type, CSRF prevention, introspection and the
//!   playground turned off, `x-request-id`.
//! - `jwt`: JWT authentication at the router: JWKS (refetch bound), key
//!   files, algorithms, claims, header and cookie, 401 before any subgraph.
//! - `metrics`: `GET /metrics`, per router.
//! - `persisted`: trusted documents (manifest, log, safelist) and automatic
//!   persisted queries, over POST and GET; the APQ cache's byte bound.
//! - `playground`: the page at `/` and its assets, on this origin only.
//! - `source`: the supergraph composed from the subgraphs, swapped when they
//!   change, the last good one kept.
//! - `cli`: the `router` binary's `plan` and `compose` subcommands and its
//!   start-up errors.
//! - `telemetry`: the `router` binary exports its spans over OTLP and
//!   propagates the trace.
//!
//! Shared helpers (fake subgraphs, a router with hand-written plans,
//! requests, readiness polling) are in `tests/common`.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod client_batching;
mod cors;
mod demand_control;
mod hardening;
mod http;
mod jwt;
mod metrics;
mod persisted;
mod playground;
mod source;
mod telemetry;
