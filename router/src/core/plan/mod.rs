//! Query plans: what the executor runs for one operation.
//!
//! A plan is a tree of [`PlanNode`]s. A [`FetchNode`] sends one operation to
//! one subgraph. At the root it is a plain query or mutation; under a
//! [`FlattenNode`] it is an `_entities` query whose representations are built
//! from the response data found at the flatten path, using the fetch's
//! `requires` selection (for example `... on User { __typename id }`).

use serde::Serialize;

/// The plan for one operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryPlan {
    /// The root node; `None` when nothing needs fetching (e.g. only `__typename`
    /// or introspection).
    pub node: Option<PlanNode>,
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
}

/// A selection used to build representations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum RequiresSelection {
    /// A field by name (response key equals the field name in representations),
    /// with a nested selection for object-valued key fields.
    Field {
        /// The field name.
        name: String,
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
