//! The plan contract: the types a query plan is made of, and what an executor
//! may rely on when it runs one. The planner (`planner`) builds them; nothing
//! here knows how.
//!
//! # Layout
//! - [`QueryPlan`] with its [`PlanNode`]s: [`FetchNode`] (with
//!   [`RequiresSelection`], [`KeyRename`], [`TypenameRewrite`],
//!   [`ContextVariable`]), [`FlattenNode`] (with [`PathElement`]),
//!   `Sequence` and `Parallel`; [`Unplannable`] selections left out;
//!   [`SubscriptionNode`] (a subscription's primary fetch and the rest run
//!   per event); [`DeferredNode`] (what one deferred fragment fetches after
//!   the primary part).
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
//! - A subscription's plan has no `node` but a [`SubscriptionNode`]: the
//!   primary fetch is the one root fetch, sent as a `subscription`; `rest`
//!   holds the entity fetches that depend on it, run against each event's
//!   data as if the primary fetch had just answered it.
//! - A plan of an operation normalised with its deferred fragments kept
//!   (`@defer(id:)`, [`crate::core::normalize::normalize_deferred`]) has one
//!   [`DeferredNode`] per fragment, by id; `node` is then the primary part.
//!   The primary part fetches every field selected outside deferred
//!   fragments, the fields of deferred fragments that a subgraph being
//!   fetched there resolves anyway (no second fetch: their data waits in the
//!   response tree for the fragment's increment), and the key and
//!   `@requires` fields that subgraph resolves for the deferred fetches.
//!   Whatever a deferred fragment needs through an entity jump (its fields,
//!   and `@requires` inputs that live in yet another subgraph) is fetched
//!   only by its `DeferredNode::node` (a leaf that a fetch of an enclosing
//!   part selects already at the same place, unconditionally, is not fetched
//!   again: it is in the response tree). A deferred node's fetches depend only
//!   on fetches of its own node and of its enclosing parts (the primary node,
//!   its parent's node, …), which have run before it; fetches are never
//!   shared between parts. No subgraph operation carries `@defer`.
//! - Operation names: `<ClientName>__<subgraph>__<n>` when the client named its
//!   operation, none otherwise. Variables: only those a fetch uses, declared with
//!   the client's types and defaults.

use serde::Serialize;

use super::condition::Condition;

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
    /// For a subscription: the fetch that subscribes to the root field and
    /// the rest run for every event ([`SubscriptionNode`]); `node` is then
    /// `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<SubscriptionNode>,
    /// Deferred fragments, by id (a parent before its children); empty:
    /// nothing deferred. When not empty, `node` is the primary part.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<DeferredNode>,
}

/// What one deferred fragment needs beyond its parent part (Apollo's
/// `DeferredNode`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeferredNode {
    /// The fragment's `@defer(id:)` in the normalised document.
    pub id: usize,
    /// The client's label.
    pub label: Option<String>,
    /// The enclosing deferred fragment's id; `None`: it sits in the primary part.
    pub parent: Option<usize>,
    /// Response path from the root to the objects the fragment applies to
    /// (response keys; [`PathElement::List`] for every list item). The
    /// fragment applies to those objects whose `__typename` matches
    /// `type_condition` (or implements it).
    pub path: Vec<PathElement>,
    /// The fragment's type condition; `None`: the type of the objects at `path`.
    pub type_condition: Option<String>,
    /// The fetches only this fragment needs (entity fetches, flatten paths
    /// from the root, exactly like those in `node`); `None` when its data
    /// arrives with its parent part's fetches.
    pub node: Option<PlanNode>,
}

/// A subscription's plan (Apollo's `SubscriptionNode { primary, rest }`).
///
/// `primary` subscribes to the one root field at its subgraph; it selects
/// what that subgraph resolves plus the keys and `__typename` the rest
/// needs. Every event the subgraph sends is the response tree `rest` starts
/// from: `rest` (entity fetches only, flatten paths from the root) runs
/// once per event, exactly as the part of a query after its root fetch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscriptionNode {
    /// The subscription sent to the root field's subgraph
    /// ([`OperationKind::Subscription`]).
    pub primary: FetchNode,
    /// What runs for every event; `None` when the subgraph's event is the
    /// whole answer.
    pub rest: Option<Box<PlanNode>>,
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
    /// `subscription` (only [`SubscriptionNode::primary`]).
    Subscription,
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
