//! Query plans: what the executor runs for one operation.
//!
//! A plan is a tree of [`PlanNode`]s. A [`FetchNode`] sends one operation to
//! one subgraph. At the root it is a plain query or mutation; under a
//! [`FlattenNode`] it is an `_entities` query whose representations are built
//! from the response data found at the flatten path, using the fetch's
//! `requires` selection (for example `... on User { __typename id }`).
//!
//! # Layout
//! - this file: the module's API, re-exported from the two files below.
//! - `query_plan`: the contract with the executor — the plan types
//!   ([`QueryPlan`], [`PlanNode`], [`FetchNode`], ...) and what an executor
//!   may rely on.
//! - `planner`: the driver — [`Planner`] (with [`PlanLimits`]), the one
//!   planning error [`PlanError`], and [`plan_text`]; how the planner walks.
//! - `builder`: the walk over the client's operation that collects fetches;
//!   `builder/root.rs` (root fields), `builder/abstract_types.rs`
//!   (interfaces, unions), `builder/jump.rs` (entity jumps through `@key`,
//!   `@requires`, re-fetch from an ancestor), `builder/aliases.rs` (aliases
//!   the planner adds), `builder/guard.rs` (conditional selections that
//!   cannot be planned), `builder/deferred.rs` (deferred fragments).
//! - `selection`: subgraph selection sets under construction and their text.
//! - `condition`: the `@skip`/`@include` condition under which a fetch is sent.
//! - `merge`: an entity fetch that feeds no other joins a sibling fetch to the
//!   same subgraph at the same path (one request instead of two).
//! - `emit`: fetches → plan nodes and subgraph operation text.
//! - `subscription`: a subscription's plan split into its primary fetch and
//!   the rest run per event.
//! - `defer`: a plan with deferred fragments split into its primary part and
//!   one [`DeferredNode`] per deferred fragment.
//! - `display`: the printed form (`impl Display for QueryPlan`).
//!
//! # Contract additions
//! [`Planner`], [`PlanError`], [`plan_text`] with [`PlanTextError`],
//! [`path_text`], `impl Display for QueryPlan`; [`RequiresSelection::Field`]
//! gained `alias`, [`FetchNode`] gained `output_rewrites`, `input_rewrites`
//! and `context_variables` (empty for most fetches); [`QueryPlan`] gained
//! `unplannable` ([`Unplannable`]) and `subscription` ([`SubscriptionNode`],
//! with [`OperationKind::Subscription`]), and `deferred` ([`DeferredNode`],
//! [`Planner::plan_deferred`], [`plan_text_deferred`]).

mod builder;
mod condition;
mod defer;
mod display;
mod emit;
mod merge;
mod planner;
mod query_plan;
mod selection;
mod subscription;

pub use condition::Condition;
pub use display::path_text;
pub use planner::{PlanError, PlanLimits, PlanTextError, Planner, plan_text, plan_text_deferred};
pub use query_plan::{
    ContextVariable, DeferredNode, FetchNode, FlattenNode, KeyRename, OperationKind, PathElement,
    PlanNode, QueryPlan, RequiresSelection, SubscriptionNode, TypenameRewrite, Unplannable,
};
