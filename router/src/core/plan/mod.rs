//! Query plans: what the executor runs for one operation.
//!
//! A plan is a tree of [`PlanNode`]s. A [`FetchNode`] sends one operation to
//! one subgraph. At the root it is a plain query or mutation; under a
//! [`FlattenNode`] it is an `_entities` query whose representations are built
//! from the response data found at the flatten path, using the fetch's
//! `requires` selection (for example `... on User { __typename id }`).
//!
//! # Layout
//! - this file: the plan types (the contract with the executor), [`Planner`],
//!   [`PlanError`] and [`plan_text`].
//! - `builder`: the walk over the client's operation that collects fetches;
//!   `builder/root.rs` (root fields), `builder/abstract_types.rs`
//!   (interfaces, unions), `builder/jump.rs` (entity jumps through `@key`,
//!   `@requires`, re-fetch from an ancestor), `builder/aliases.rs` (aliases
//!   the planner adds), `builder/guard.rs` (conditional selections that
//!   cannot be planned).
//! - `selection`: subgraph selection sets under construction and their text.
//! - `condition`: the `@skip`/`@include` condition under which a fetch is sent.
//! - `merge`: an entity fetch that feeds no other joins a sibling fetch to the
//!   same subgraph at the same path (one request instead of two).
//! - `emit`: fetches → plan nodes and subgraph operation text.
//! - `display`: the printed form (`impl Display for QueryPlan`).
//!
//! # What the executor can rely on
//! - Every fetch result is merged into one response tree by response key; the
//!   final response is formatted by walking the client's operation, so extra
//!   fields (keys, `__typename`, `@requires` fields) are harmless.
//! - Client fields keep the client's response keys (aliases) in subgraph
//!   operations. Key and `@requires` fields the planner adds use the field name
//!   as response key, unless that key is taken: by a client field that is not
//!   the same field with the same arguments, or by the same field with other
//!   arguments an earlier `@requires` asked for on that type. Then they get an
//!   internal alias `<field>__sf<n>`, and the representation reads the value
//!   from that alias ([`RequiresSelection::Field::alias`]).
//! - One response key at two types with different subgraph types (`ID!` and
//!   `ID`) would fail the subgraph's validation: the later one is aliased
//!   `<key>__sf<n>` and the fetch carries a [`KeyRename`] back. That holds
//!   too where the two only meet because fields of one response key merge
//!   their selections (`... on A { f { id } } ... on B { f { id } }`); the
//!   objects of such an aliased field select `__typename`, and renames run
//!   outer keys first.
//! - A selection that a literal `@skip`/`@include` removes is not planned
//!   (normalisation drops it). One under conditions on variables that no
//!   subgraph reaches is left out of the nodes and listed in
//!   [`QueryPlan::unplannable`] with its condition; a request whose
//!   variables make one hold must not be executed
//!   ([`QueryPlan::unplannable_for`]).
//! - `@interfaceObject`: a subgraph that declares an interface as an object
//!   resolves the interface's fields for every implementation. Entity fetches
//!   there select on the interface and send its name as `__typename`
//!   ([`TypenameRewrite`]). Objects that come from such a subgraph carry the
//!   interface's name as `__typename`; when the client needs their concrete
//!   type (`__typename`, fragments on object types) an entity fetch to a
//!   subgraph where the interface has a `@key` asks for it first.
//! - An entity fetch holds one representation per object, so two `@requires`
//!   that need one field with different arguments go to separate fetches.
//! - Objects of an abstract type, and every object a key is read from, have
//!   `__typename` selected.
//! - A composite field whose selections `@skip`/`@include` may all remove
//!   (or that has none left in its fetch) selects an unconditional
//!   `__typename` too: the subgraph answers an object, never `{ }` or a
//!   `null` for an object with no field selected, and the formatter gives
//!   the client `{}` there, as GraphQL execution does.
//! - Representation selections (`requires`) are normalised for building by
//!   exact `__typename`: fragments are on object types only, and every
//!   abstract-typed field in them selects `__typename` first.
//! - A flatten path has no type conditions: the executor builds a
//!   representation only for objects whose `__typename` matches one of the
//!   `requires` fragments (or implements its interface), and skips the others
//!   and those missing key fields (for example under a skipped `@include`).
//! - Root fetches of a query run in [`PlanNode::Parallel`]; those of a mutation
//!   in [`PlanNode::Sequence`], consecutive root fields of one subgraph in one
//!   fetch. An entity fetch runs after the fetches it depends on.
//! - Operation names: `<ClientName>__<subgraph>__<n>` when the client named its
//!   operation, none otherwise. Variables: only those a fetch uses, declared with
//!   the client's types and defaults.
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
//! variable ([`ContextVariable`]) read from the nearest enclosing object that
//! sets the context, whose field is selected there. Unsupported: progressive
//! `@override` labels (treated as fully overridden), subscriptions, `@defer`.
//!
//! # Contract additions
//! [`Planner`], [`PlanError`], [`plan_text`] with [`PlanTextError`],
//! [`path_text`], `impl Display for QueryPlan`; [`RequiresSelection::Field`]
//! gained `alias`, [`FetchNode`] gained `output_rewrites`, `input_rewrites`
//! and `context_variables` (empty for most fetches); [`QueryPlan`] gained
//! `unplannable` ([`Unplannable`]).

mod builder;
mod condition;
mod display;
mod emit;
mod merge;
mod selection;

use std::sync::Arc;
use std::time::{Duration, Instant};

use apollo_compiler::ExecutableDocument;
use apollo_compiler::ast::OperationType;
use apollo_compiler::validation::Valid;
use serde::Serialize;

use super::normalize::{self, NormalizeError};
use super::supergraph::{Supergraph, SupergraphError};

pub use condition::Condition;
pub use display::path_text;

/// The plan for one operation.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct QueryPlan {
    /// The root node; `None` when nothing needs fetching (e.g. only `__typename`
    /// or introspection).
    pub node: Option<PlanNode>,
    /// Selections under `@skip`/`@include` on variables that no subgraph (or
    /// path of entity jumps) reaches: left out of `node`. A request whose
    /// variables make one's condition hold cannot be answered (see
    /// [`QueryPlan::unplannable_for`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unplannable: Vec<Unplannable>,
}

/// A selection left out of a plan because it cannot be planned, though its
/// `@skip`/`@include` on variables may remove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unplannable {
    /// The selection's response path (`@` for list items), its response key
    /// last (a fragment's: the path of the object it is in).
    pub path: String,
    /// When it would be executed: its conditions and those of the
    /// conditional selections around it.
    pub condition: Condition,
    /// Why it cannot be planned (for the log).
    pub reason: String,
}

impl QueryPlan {
    /// The first selection left out of the plan that these (coerced)
    /// variables would execute: the request cannot be answered then.
    pub fn unplannable_for(
        &self,
        variables: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<&Unplannable> {
        self.unplannable
            .iter()
            .find(|u| u.condition.holds(variables))
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum PlanNode {
    /// Send one operation to one subgraph.
    Fetch(FetchNode),
    /// Run the children one after another (later ones use earlier data).
    Sequence(Vec<PlanNode>),
    /// Run the children concurrently.
    Parallel(Vec<PlanNode>),
    /// Run the inner node for every object found at `path` in the response.
    Flatten(FlattenNode),
}

/// The kind of operation a fetch sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OperationKind {
    /// `query`.
    Query,
    /// `mutation`.
    Mutation,
}

/// One request to one subgraph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FetchNode {
    /// The subgraph's name (as in [`super::supergraph::SubgraphInfo::name`]).
    pub subgraph: String,
    /// Query or mutation.
    pub operation_kind: OperationKind,
    /// The complete operation text sent to the subgraph, built once at
    /// planning time. Entity fetches take `$representations: [_Any!]!`.
    pub operation: String,
    /// The operation name used in `operation` (for logs and tracing).
    pub operation_name: Option<String>,
    /// Client variables the operation uses (forwarded by name).
    pub variable_usages: Vec<String>,
    /// For entity fetches: the selection that builds each representation from
    /// the data at the flatten path, e.g. `... on User { __typename id }`;
    /// `None` for root fetches.
    pub requires: Option<Vec<RequiresSelection>>,
    /// Keys to rename in this fetch's result before it is merged (internal
    /// aliases that kept one response key at two types apart).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output_rewrites: Vec<KeyRename>,
    /// `__typename`s to change in representations before they are sent (a
    /// subgraph that knows a type only through an `@interfaceObject`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub input_rewrites: Vec<TypenameRewrite>,
    /// When the fetch is sent: `None` always; otherwise only when the
    /// condition holds for the request's variables (every top-level selection
    /// of the fetch is under `@skip`/`@include`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
    /// Variables of `@fromContext` arguments, whose value each entity takes
    /// from an enclosing object (entity fetches only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub context_variables: Vec<ContextVariable>,
}

/// A variable of an entity fetch whose value is read, for each entity, from
/// an enclosing object (a `@fromContext` argument). Entities with different
/// values are sent in separate requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextVariable {
    /// The variable's name (without `$`).
    pub name: String,
    /// Its GraphQL type, as declared in the operation.
    pub ty: String,
    /// How many elements of the flatten path lead to the enclosing object
    /// (the flatten path itself: the entity).
    pub ancestor_depth: usize,
    /// Reads the value from that object: one field (after type conditions),
    /// whose value the variable takes; `null` when it is missing.
    pub selection: Vec<RequiresSelection>,
}

/// Sets the `__typename` of the representations built for one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypenameRewrite {
    /// Objects whose `__typename` is this type (or implements it).
    pub type_condition: String,
    /// The `__typename` the subgraph knows them by (the interface).
    pub set_to: String,
}

/// Renames a key of the objects of one type at a path in a fetch's result.
///
/// A subgraph rejects an operation where one response key has two different
/// types (`id: ID!` on one union member, `id: ID` on another). The planner
/// then aliases the later one, and the executor gives the value its client's
/// key back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyRename {
    /// Response keys from the fetch's result (each entity, for entity
    /// fetches) to the objects; lists on the way are stepped through.
    pub path: Vec<String>,
    /// Only objects whose `__typename` is this type (or implements it).
    pub type_condition: String,
    /// The alias the subgraph answered under.
    pub from: String,
    /// The client's response key.
    pub to: String,
}

/// A selection used to build representations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum RequiresSelection {
    /// A field by name (the key in representations), with a nested selection
    /// for object-valued key fields.
    Field {
        /// The field name.
        name: String,
        /// The response key the value is read from, when the planner aliased
        /// the field in the subgraph operation (`None`: the field name).
        #[serde(skip_serializing_if = "Option::is_none")]
        alias: Option<String>,
        /// Nested selections (empty for leaves).
        selections: Vec<RequiresSelection>,
    },
    /// `... on Type { ... }`: applies to objects whose `__typename` is `Type`
    /// (or implements it, for interfaces).
    InlineFragment {
        /// The type condition.
        type_condition: String,
        /// The selections.
        selections: Vec<RequiresSelection>,
    },
}

/// Runs `node` at every object reached by `path`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlattenNode {
    /// Response keys from the root; [`PathElement::List`] steps into every list item.
    pub path: Vec<PathElement>,
    /// The fetch (or a nested plan) to run there.
    pub node: Box<PlanNode>,
}

/// One step of a flatten path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum PathElement {
    /// A response key (alias or field name).
    Key(String),
    /// Every item of a list (`@` in printed plans).
    List,
}

/// Why an operation cannot be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// No operation of that name (or several and no name given).
    #[error("unknown operation: {0}")]
    UnknownOperation(String),
    /// Subscriptions are not planned.
    #[error("subscriptions are not supported")]
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
    /// polynomial in the document's size; a normalised document plans the same.
    pub fn plan(
        &self,
        document: &Valid<ExecutableDocument>,
        operation_name: Option<&str>,
    ) -> Result<QueryPlan, PlanError> {
        let deadline = self.limits.max_time.map(|t| Instant::now() + t);
        let normalized = normalize::normalize(document, operation_name, self.limits.max_selections)
            .map_err(|e| match e {
                NormalizeError::UnknownOperation(name) => PlanError::UnknownOperation(name),
                too_many @ NormalizeError::TooManySelections { .. } => {
                    PlanError::TooComplex(too_many.to_string())
                }
            })?;
        let document = &normalized.document;
        let operation = document
            .operations
            .get(operation_name)
            .map_err(|e| PlanError::UnknownOperation(e.message().to_string()))?;
        let kind = match operation.operation_type {
            OperationType::Query => OperationKind::Query,
            OperationType::Mutation => OperationKind::Mutation,
            OperationType::Subscription => return Err(PlanError::Subscription),
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
        let mut emitter = emit::Emitter {
            fetches: &builder.fetches,
            operation,
            kind,
            order: Vec::new(),
        };
        let node = emitter.emit(&builder.roots);
        Ok(QueryPlan {
            node,
            unplannable: builder.unplannable,
        })
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

/// The printed plan of `operation` against a supergraph SDL (for `router plan`).
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
