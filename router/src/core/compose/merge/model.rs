//! The supergraph model that merging builds and `print` prints: types with
//! their join metadata (`@join__type`, `@join__field`, ...).

use apollo_compiler::ast::Type;

use crate::core::compose::model::{AccessKind, Applied, Kind};

/// The composed supergraph, ready to print.
#[derive(Debug)]
pub(crate) struct Supergraph {
    /// `(graph id, name, url)`, sorted by graph id.
    pub graphs: Vec<(String, String, String)>,
    /// Every type, sorted by name.
    pub types: Vec<SuperType>,
    /// Executable directives every subgraph defines.
    pub directives: Vec<SuperDirective>,
    pub uses_inaccessible: bool,
    pub uses_tag: bool,
    /// Some subgraph sets a `@context` (the supergraph links the context spec).
    pub uses_context: bool,
    /// How many of the access-control links precede the context link (the
    /// specs are linked in the order subgraphs, in name order, first use
    /// them; in one subgraph, the access-control ones before the context).
    pub context_link_at: usize,
    /// The `x` of join `v0.x`: 3 up to Federation 2.6, 4 for 2.7, 5 from 2.8
    /// (as Apollo's composition picks it).
    pub join_minor: u32,
    /// The access-control specs linked (in Apollo's order) and the name of
    /// each one's directive in the supergraph.
    pub access: Vec<(AccessKind, String)>,
    /// The names of `@cost` and `@listSize`, when the supergraph links the
    /// cost spec.
    pub demand: Option<crate::core::compose::cost::Names>,
}

/// An executable directive definition kept in the supergraph.
#[derive(Debug)]
pub(crate) struct SuperDirective {
    pub name: String,
    pub description: Option<String>,
    pub args: Vec<SuperInputValue>,
    pub repeatable: bool,
    pub locations: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct JoinType {
    pub graph: String,
    pub key: Option<String>,
    pub extension: bool,
    pub resolvable: bool,
    /// Print `resolvable:` even when `true` (the subgraph wrote it).
    pub resolvable_written: bool,
    pub interface_object: bool,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct JoinField {
    pub graph: String,
    pub requires: Option<String>,
    pub provides: Option<String>,
    pub ty: Option<String>,
    pub external: bool,
    pub override_from: Option<String>,
    pub override_label: Option<String>,
    pub used_overridden: bool,
    /// The arguments of the field this subgraph fills from a context.
    pub context_arguments: Vec<ContextArgument>,
}

/// One `@fromContext` argument, as `@join__field(contextArguments:)` lists it.
#[derive(Debug, Clone)]
pub(crate) struct ContextArgument {
    /// The context, named after its subgraph: `users__user`.
    pub context: String,
    pub name: String,
    /// The argument's type, e.g. `String`.
    pub ty: String,
    /// What follows `$context` in `@fromContext(field:)`, as written.
    pub selection: String,
}

#[derive(Debug, Clone)]
pub(crate) struct SuperInputValue {
    pub name: String,
    pub description: Option<String>,
    pub ty: Type,
    pub default: Option<String>,
    pub applied: Applied,
    /// Input fields whose type differs across subgraphs get `@join__field`s.
    pub join_fields: Vec<JoinField>,
}

#[derive(Debug)]
pub(crate) struct SuperField {
    pub name: String,
    pub description: Option<String>,
    pub ty: Type,
    pub args: Vec<SuperInputValue>,
    pub applied: Applied,
    /// Empty when the field needs no `@join__field`.
    pub join_fields: Vec<JoinField>,
}

#[derive(Debug)]
pub(crate) struct SuperEnumValue {
    pub name: String,
    pub description: Option<String>,
    pub applied: Applied,
    pub graphs: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct SuperType {
    pub name: String,
    pub kind: Kind,
    pub description: Option<String>,
    pub join_types: Vec<JoinType>,
    /// `(graph, interface)` for `@join__implements`.
    pub join_implements: Vec<(String, String)>,
    pub implements: Vec<String>,
    /// `(graph, member)` for `@join__unionMember`.
    pub join_members: Vec<(String, String)>,
    pub members: Vec<String>,
    pub applied: Applied,
    pub specified_by: Option<String>,
    pub fields: Vec<SuperField>,
    pub input_fields: Vec<SuperInputValue>,
    pub values: Vec<SuperEnumValue>,
}
