//! The planner driver: [`Planner::plan`] normalises one operation, walks it
//! (`builder`), merges sibling fetches (`merge`) and emits the plan (`emit`);
//! [`PlanError`] is the one error planning reports.
//!
//! # Layout
//! - [`Planner`] and its [`PlanLimits`]; [`PlanError`].
//! - [`plan_text`] (with [`PlanTextError`]), [`plan_text_deferred`]: the
//!   printed plan of an operation against a supergraph SDL, for `router plan`.
//!
//! # How the planner walks
//! Greedy and deterministic. A root field goes to a subgraph that resolves its
//! whole selection, else to one already fetched from, else to the one that
//! resolves most of it. Each field stays in the current subgraph when it
//! resolves it (or `@provides` it there); otherwise it jumps through a `@key`
//! of the target that the current subgraph can provide (keys it cannot provide
//! are fetched first, which chains jumps), preferring a fetch already going
//! to the same place and the subgraph that resolves most of the selection.
//! `@requires` fields are planned at the entity first and sent in the
//! representation. A value-type field no key leads to is fetched again, with
//! the path to it, from the nearest ancestor entity (or shared query root
//! field) that another subgraph resolves. An `@external` key field is read
//! from a subgraph only where it extends the type (Fed1 style) or where the
//! object came in by an entity fetch. A field with `@fromContext` arguments
//! goes through its key (also from its own subgraph), each argument a
//! variable ([`ContextVariable`](super::ContextVariable)) read from the nearest enclosing object that
//! sets the context, whose field is selected there. Unsupported: progressive
//! `@override` labels (treated as fully overridden).
//!
//! `@defer` ([`Planner::plan_deferred`]): a deferred fragment's selections
//! are walked with its id; fields the current subgraph resolves stay in the
//! current fetch (their data comes with the parent part), jumps go to
//! fetches of that fragment only (never reused by, nor merged with, another
//! part's), and the keys and `@requires` inputs they need are read in the
//! current fetch. `defer` then emits one node per part.
//!
//! A subscription plans as a query of its one root field, then splits
//! (`subscription`) into the primary fetch and the rest run per event.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apollo_compiler::ExecutableDocument;
use apollo_compiler::ast::OperationType;
use apollo_compiler::validation::Valid;

use super::query_plan::{OperationKind, QueryPlan};
use super::{builder, defer, emit, merge, subscription};
use crate::core::normalize::{self, NormalizeError, Normalized};
use crate::core::supergraph::{Supergraph, SupergraphError};

/// Why an operation cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// No operation of that name (or several and no name given).
    #[error("unknown operation: {0}")]
    UnknownOperation(String),
    /// A subscription whose root field does not come from one subgraph
    /// fetch (a subscription has one root field, sent to one subgraph).
    #[error("a subscription must select one root field that one subgraph resolves")]
    Subscription,
    /// No subgraph (or path of entity jumps) reaches a field.
    #[error("cannot plan: {0}")]
    Unsatisfiable(String),
    /// A key, `@requires` or `@provides` field set of the supergraph is invalid.
    #[error("invalid field set `{fields}` on {type_name}: {message}")]
    InvalidFieldSet {
        /// The type.
        type_name: String,
        /// The field set.
        fields: String,
        /// The parser's message.
        message: String,
    },
    /// A client alias takes the response key of a key field the planner needs.
    #[error("the response key `{response_key}` on {type_name} is needed for a key field")]
    AliasConflict {
        /// The response key.
        response_key: String,
        /// The type.
        type_name: String,
    },
    /// The operation is too large or takes too long to plan
    /// ([`PlanLimits`]); the client is told.
    #[error("{0}")]
    TooComplex(String),
    /// A planner bug.
    #[error("internal planner error: {0}")]
    Internal(String),
}

/// Bounds on planning one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    /// The most selections the operation may have once normalised (fragments
    /// inlined, fields merged).
    pub max_selections: usize,
    /// How long planning may take (`None`: no limit).
    pub max_time: Option<Duration>,
}

impl Default for PlanLimits {
    fn default() -> Self {
        PlanLimits {
            max_selections: 20_000,
            max_time: Some(Duration::from_secs(2)),
        }
    }
}

/// Plans operations for one supergraph; build it once per supergraph.
#[derive(Debug, Clone)]
pub struct Planner {
    supergraph: Arc<Supergraph>,
    limits: PlanLimits,
}

impl Planner {
    /// A planner for this supergraph, with the default [`PlanLimits`].
    pub fn new(supergraph: Arc<Supergraph>) -> Self {
        Self::with_limits(supergraph, PlanLimits::default())
    }

    /// A planner for this supergraph bounded by `limits`.
    pub fn with_limits(supergraph: Arc<Supergraph>, limits: PlanLimits) -> Self {
        Planner { supergraph, limits }
    }

    /// The supergraph it plans for.
    pub fn supergraph(&self) -> &Arc<Supergraph> {
        &self.supergraph
    }

    /// Plans one operation of a document validated against the API schema.
    /// The result depends only on (supergraph, document, operation name).
    /// The operation is normalised first ([`normalize`]), so planning is
    /// polynomial in the document's size; a normalised document plans the
    /// same. A caller that has normalised already calls
    /// [`Planner::plan_normalized`].
    pub fn plan(
        &self,
        document: &Valid<ExecutableDocument>,
        operation_name: Option<&str>,
    ) -> Result<QueryPlan, PlanError> {
        let normalized = normalize::normalize(document, operation_name, self.limits.max_selections)
            .map_err(normalize_error)?;
        self.plan_normalized(&normalized)
    }

    /// Plans one operation with its deferred fragments kept
    /// ([`normalize::normalize_deferred`]: `@defer(if:)` resolved from
    /// `variables`), for a client that accepts incremental delivery: the
    /// plan's `node` is the primary part and `deferred` holds the rest. The
    /// result depends on (supergraph, document, operation name, the values
    /// of the variables `@defer(if:)` reads). A subscription is planned as by
    /// [`Planner::plan`], `@defer` stripped (no deferred delivery there).
    pub fn plan_deferred(
        &self,
        document: &Valid<ExecutableDocument>,
        operation_name: Option<&str>,
        variables: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<QueryPlan, PlanError> {
        let subscription = document
            .operations
            .get(operation_name)
            .is_ok_and(|o| o.operation_type == OperationType::Subscription);
        if subscription {
            return self.plan(document, operation_name);
        }
        let normalized = normalize::normalize_deferred(
            document,
            operation_name,
            self.limits.max_selections,
            variables,
        )
        .map_err(normalize_error)?;
        self.plan_normalized(&normalized)
    }

    /// Plans the one operation of a normalised document.
    pub fn plan_normalized(&self, normalized: &Normalized) -> Result<QueryPlan, PlanError> {
        let deadline = self.limits.max_time.map(|t| Instant::now() + t);
        let document = &normalized.document;
        let operation = normalized
            .operation()
            .ok_or_else(|| PlanError::UnknownOperation("the document has no operation".into()))?;
        let kind = match operation.operation_type {
            OperationType::Query => OperationKind::Query,
            OperationType::Mutation => OperationKind::Mutation,
            OperationType::Subscription => OperationKind::Subscription,
        };
        let root = self
            .supergraph
            .schema
            .root_operation(operation.operation_type)
            .cloned()
            .ok_or_else(|| PlanError::Internal("no root type".into()))?;
        let mut builder = builder::Builder::new(&self.supergraph, document);
        builder.deadline = deadline;
        let planned = builder.plan_root(operation.operation_type, &root, &operation.selection_set);
        if let Err(PlanError::Unsatisfiable(_)) = planned {
            // Again, leaving out what `@skip`/`@include` on variables may
            // remove and cannot be planned (`builder/guard.rs`).
            builder = builder::Builder::new(&self.supergraph, document);
            builder.deadline = deadline;
            builder.tolerant = true;
            builder.plan_root(operation.operation_type, &root, &operation.selection_set)?;
        } else {
            planned?;
        }
        merge::merge_sibling_fetches(&mut builder.fetches, &mut builder.roots);
        builder.alias_merged_conflicts();
        let mut deferred = defer::deferred_nodes(operation);
        let node = if deferred.is_empty() {
            let mut emitter = emit::Emitter {
                fetches: &builder.fetches,
                operation,
                kind,
                order: Vec::new(),
                deferred_part: false,
            };
            emitter.emit(&builder.roots)
        } else {
            defer::emit_parts(
                &builder.fetches,
                &builder.roots,
                operation,
                kind,
                &mut deferred,
            )
        };
        if kind == OperationKind::Subscription {
            return Ok(QueryPlan {
                node: None,
                unplannable: builder.unplannable,
                subscription: Some(subscription::split(node)?),
                deferred: Vec::new(),
            });
        }
        Ok(QueryPlan {
            node,
            unplannable: builder.unplannable,
            subscription: None,
            deferred,
        })
    }
}

fn normalize_error(error: NormalizeError) -> PlanError {
    match error {
        NormalizeError::UnknownOperation(name) => PlanError::UnknownOperation(name),
        too_many @ NormalizeError::TooManySelections { .. } => {
            PlanError::TooComplex(too_many.to_string())
        }
    }
}

/// Why [`plan_text`] failed.
#[derive(Debug, thiserror::Error)]
pub enum PlanTextError {
    /// The supergraph cannot be read.
    #[error(transparent)]
    Supergraph(#[from] SupergraphError),
    /// The operation is not valid against the API schema.
    #[error("invalid operation: {0}")]
    InvalidOperation(String),
    /// Planning failed.
    #[error(transparent)]
    Plan(#[from] PlanError),
}

/// The printed plan of `operation` against a supergraph SDL, `@defer`
/// stripped (what a client without incremental delivery gets;
/// `router plan --no-defer`).
pub fn plan_text(
    supergraph_sdl: &str,
    operation: &str,
    operation_name: Option<&str>,
) -> Result<String, PlanTextError> {
    let supergraph = Supergraph::parse(supergraph_sdl)?;
    let document = ExecutableDocument::parse_and_validate(
        &supergraph.api_schema,
        operation,
        "operation.graphql",
    )
    .map_err(|e| PlanTextError::InvalidOperation(e.errors.to_string()))?;
    let plan = Planner::new(Arc::new(supergraph)).plan(&document, operation_name)?;
    Ok(plan.to_string())
}

/// The printed plan of `operation` against a supergraph SDL with its
/// deferred fragments kept, `@defer(if:)` resolved from `variables` (what a
/// client that accepts incremental delivery gets; `router plan`).
pub fn plan_text_deferred(
    supergraph_sdl: &str,
    operation: &str,
    operation_name: Option<&str>,
    variables: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, PlanTextError> {
    let supergraph = Supergraph::parse(supergraph_sdl)?;
    let document = ExecutableDocument::parse_and_validate(
        &supergraph.api_schema,
        operation,
        "operation.graphql",
    )
    .map_err(|e| PlanTextError::InvalidOperation(e.errors.to_string()))?;
    let plan =
        Planner::new(Arc::new(supergraph)).plan_deferred(&document, operation_name, variables)?;
    Ok(plan.to_string())
}
