//! The supergraph model, read from a supergraph SDL in the standard join-spec
//! format (link v1.0, join v0.2 to v0.5) as Apollo's composition, rover and
//! this router's [`super::compose`] produce it.
//!
//! # Layout
//! - this file: [`Supergraph`] and the query model the planner reads —
//!   [`TypeModel`] (where a type lives and its keys), [`FieldModel`] (which
//!   subgraphs resolve a field, with `@requires`/`@provides`/`@override`),
//!   per-subgraph interface implementations, union members and enum values.
//! - `links`: the `@link`s on the schema (which specs, under which names).
//! - `join`: reading the `join__*` directives into the model.
//! - `api`: deriving the client-facing API schema.
//! - [`access`]: `@authenticated`, `@requiresScopes` and `@policy` read into
//!   [`access::AccessRules`].
//! - [`cost`]: `@cost` and `@listSize` read into [`cost::CostDirectives`].
//!
//! # Contract additions (beyond the agreed `schema`, `api_schema`, `subgraphs`)
//! `Supergraph::parse`, the pub fields `types` and `enums`, and the lookup
//! helpers below (`subgraph`, `type_model`, `field`, `possible_types_in`).

pub mod access;
mod api;
pub mod cost;
mod join;
mod links;

use apollo_compiler::Name;
use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;
use indexmap::IndexMap;

/// A subgraph named in the supergraph (`join__Graph`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubgraphInfo {
    /// The `join__Graph` enum value, e.g. `USERS`.
    pub id: String,
    /// The subgraph's name, e.g. `users`.
    pub name: String,
    /// Its GraphQL URL.
    pub url: String,
}

/// Why a supergraph SDL cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SupergraphError {
    /// Not valid GraphQL SDL.
    #[error("the supergraph SDL is invalid: {0}")]
    Invalid(String),
    /// Uses a spec version or feature this router does not support.
    #[error("unsupported supergraph: {0}")]
    Unsupported(String),
}

/// A loaded supergraph: the subgraphs, where every type and field lives, and
/// the API schema clients see.
#[derive(Debug)]
pub struct Supergraph {
    /// The supergraph schema with its join/link directives.
    pub schema: Valid<Schema>,
    /// The client-facing API schema: join/link machinery and `@inaccessible`
    /// elements removed.
    pub api_schema: Valid<Schema>,
    /// The subgraphs, in `join__Graph` order.
    pub subgraphs: Vec<SubgraphInfo>,
    /// Every object, interface and union type: where it lives and its fields.
    pub types: IndexMap<Name, TypeModel>,
    /// Every enum type: the subgraphs defining each value (`join__enumValue`).
    pub enums: IndexMap<Name, IndexMap<Name, Vec<String>>>,
    /// What types and fields require of the caller (`@authenticated`,
    /// `@requiresScopes`, `@policy`); empty for most supergraphs.
    pub access: access::AccessRules,
    /// The demand-control weights and list sizes (`@cost`, `@listSize`);
    /// empty for most supergraphs.
    pub cost: cost::CostDirectives,
}

/// The kind of a composite type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeKind {
    /// An object type.
    Object,
    /// An interface.
    Interface,
    /// A union.
    Union,
}

/// Where one composite type lives.
#[derive(Debug, Clone)]
pub struct TypeModel {
    /// The type's name.
    pub name: Name,
    /// Object, interface or union.
    pub kind: TypeKind,
    /// The subgraphs defining the type (by subgraph name, `join__type`).
    pub graphs: IndexMap<String, TypeInGraph>,
    /// The fields (objects and interfaces).
    pub fields: IndexMap<Name, FieldModel>,
    /// Objects: the interfaces it implements in each subgraph
    /// (`join__implements`). Interfaces: the interfaces they implement.
    pub implements: IndexMap<String, Vec<Name>>,
    /// Unions: the members in each subgraph (`join__unionMember`).
    pub members: IndexMap<String, Vec<Name>>,
    /// The contexts it sets for `@fromContext` arguments below it
    /// (`@context(name:)`).
    pub contexts: Vec<String>,
}

/// A type as one subgraph defines it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeInGraph {
    /// Its `@key`s there.
    pub keys: Vec<Key>,
    /// Whether the subgraph only extends it.
    pub extension: bool,
    /// Whether the subgraph declares it as an `@interfaceObject`.
    pub interface_object: bool,
    /// For an object type: the subgraph does not know it, but resolves it
    /// through this interface, which it declares as an `@interfaceObject`
    /// (entity fetches there send the interface's name as `__typename` and
    /// select on the interface).
    pub via_interface_object: Option<Name>,
}

/// One `@key` of a type in a subgraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The field set, e.g. `id` or `id organization { id }`.
    pub fields: String,
    /// Whether the subgraph resolves entities by this key (`_entities`).
    pub resolvable: bool,
}

/// Which subgraphs can resolve one field.
#[derive(Debug, Clone, Default)]
pub struct FieldModel {
    /// By subgraph name.
    pub graphs: IndexMap<String, FieldInGraph>,
}

/// A field as one subgraph defines it (`join__field`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldInGraph {
    /// `@external` there: the subgraph does not resolve it.
    pub external: bool,
    /// `@requires(fields:)`.
    pub requires: Option<String>,
    /// `@provides(fields:)`.
    pub provides: Option<String>,
    /// `@override(from:)`: the subgraph took the field over from that one.
    pub override_from: Option<String>,
    /// Progressive override label (the planner treats the override as complete).
    pub override_label: Option<String>,
    /// The field was overridden away from this subgraph but is still used there.
    pub used_overridden: bool,
    /// The field's type in this subgraph when it differs from the supergraph's.
    pub ty: Option<String>,
    /// Arguments the subgraph takes from an ancestor (`@fromContext`,
    /// `join__field(contextArguments:)`); they are not in the API schema.
    pub context_arguments: Vec<ContextArgument>,
}

/// One `@fromContext` argument: its value is read from the nearest enclosing
/// object that carries `context`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextArgument {
    /// The context's supergraph name (`@context(name:)` on types).
    pub context: String,
    /// The argument's name in the subgraph.
    pub name: String,
    /// Its GraphQL type, e.g. `String!`.
    pub ty: String,
    /// The field set read from the context object, e.g. `{ prop }`.
    pub selection: String,
}

impl FieldInGraph {
    /// Whether this subgraph resolves the field itself.
    pub fn resolvable(&self) -> bool {
        !self.external && !self.used_overridden
    }
}

impl Supergraph {
    /// Reads a supergraph SDL in the join-spec format.
    pub fn parse(sdl: &str) -> Result<Supergraph, SupergraphError> {
        let schema = Schema::parse_and_validate(sdl, "supergraph.graphql")
            .map_err(|e| SupergraphError::Invalid(e.errors.to_string()))?;
        let links = links::Links::read(&schema)?;
        let model = join::read(&schema, &links)?;
        let api_schema = api::api_schema(&schema, &links)?;
        let access = access::read(&schema, &links);
        let cost = cost::read(&schema, &links);
        Ok(Supergraph {
            schema,
            api_schema,
            subgraphs: model.subgraphs,
            types: model.types,
            enums: model.enums,
            access,
            cost,
        })
    }

    /// The subgraph with this name.
    pub fn subgraph(&self, name: &str) -> Option<&SubgraphInfo> {
        self.subgraphs.iter().find(|s| s.name == name)
    }

    /// The model of a composite type.
    pub fn type_model(&self, name: &str) -> Option<&TypeModel> {
        self.types.get(name)
    }

    /// The model of a field of an object or interface type.
    pub fn field(&self, type_name: &str, field: &str) -> Option<&FieldModel> {
        self.types.get(type_name)?.fields.get(field)
    }

    /// Whether `graph` resolves `type_name.field` itself.
    pub fn resolves(&self, graph: &str, type_name: &str, field: &str) -> bool {
        self.field(type_name, field)
            .and_then(|f| f.graphs.get(graph))
            .is_some_and(FieldInGraph::resolvable)
    }

    /// The object types `graph` may return for the abstract type `name` (or
    /// `[name]` for an object type it defines).
    pub fn possible_types_in(&self, graph: &str, name: &str) -> Vec<Name> {
        let Some(model) = self.types.get(name) else {
            return Vec::new();
        };
        match model.kind {
            TypeKind::Object => {
                if model.graphs.contains_key(graph) {
                    vec![model.name.clone()]
                } else {
                    Vec::new()
                }
            }
            TypeKind::Union => model.members.get(graph).cloned().unwrap_or_default(),
            TypeKind::Interface => self
                .types
                .values()
                .filter(|t| t.kind == TypeKind::Object)
                .filter(|t| {
                    t.implements
                        .get(graph)
                        .is_some_and(|i| i.iter().any(|i| i == name))
                })
                .map(|t| t.name.clone())
                .collect(),
        }
    }

    /// The object types of the supergraph that are `name` or belong to it.
    pub fn possible_types(&self, name: &str) -> Vec<Name> {
        let mut out = Vec::new();
        for graph in &self.subgraphs {
            for t in self.possible_types_in(&graph.name, name) {
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
