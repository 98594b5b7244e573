//! The subgraph model: one subgraph's definitions once their federation
//! `@link` names are resolved, which the rules, merging and printing read.
//!
//! # Layout
//! - [`Subgraph`]: one parsed subgraph; its types ([`TypeDef`], [`FieldDef`],
//!   [`InputValueDef`], [`EnumValueDef`]) and executable directives
//!   ([`DirectiveDef`]), with the federation directives applied ([`Applied`],
//!   [`Key`]).
//! - the directive names GraphQL defines ([`EXECUTABLE_LOCATIONS`],
//!   [`BUILT_IN_DIRECTIVES`]) and small readers and printers of SDL values
//!   ([`string_arg`], [`bool_arg`], [`quote`], [`print_value`], [`description`]).
//!
//! Filled by `subgraph` (with `builder` and `link`); nothing here imports them.

use std::collections::BTreeSet;

use apollo_compiler::Node;
use apollo_compiler::ast::{self, Type, Value};
use indexmap::IndexMap;

/// The kind of a named type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Scalar,
    Object,
    Interface,
    Union,
    Enum,
    Input,
}

impl Kind {
    pub(super) fn keyword(self) -> &'static str {
        match self {
            Kind::Scalar => "scalar",
            Kind::Object => "type",
            Kind::Interface => "interface",
            Kind::Union => "union",
            Kind::Enum => "enum",
            Kind::Input => "input",
        }
    }
}

/// A `@key` of an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Key {
    pub fields: String,
    pub resolvable: bool,
    /// `resolvable:` was written (Apollo then repeats it in the supergraph).
    pub resolvable_written: bool,
}

/// Directives that are copied to the supergraph as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Applied {
    pub inaccessible: bool,
    /// `@tag(...)` and `@deprecated(...)` as printed, in source order, and
    /// an [`AccessKind::marker`] where an access-control directive was (object
    /// types print those in that order).
    pub others: Vec<String>,
    /// `@authenticated`, `@requiresScopes`, `@policy`: at most one of each
    /// once merged.
    pub access: Vec<Access>,
    /// `@cost` and `@listSize` (a [`super::cost::COST_MARKER`] or
    /// [`super::cost::LIST_SIZE_MARKER`] in `others` keeps each one's place).
    pub demand: super::cost::Demand,
}

/// The access-control directives composition carries (each its own spec:
/// `authenticated/v0.1`, `requiresScopes/v0.1`, `policy/v0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum AccessKind {
    Authenticated,
    RequiresScopes,
    Policy,
}

impl AccessKind {
    pub(super) const ALL: [AccessKind; 3] = [
        AccessKind::Authenticated,
        AccessKind::RequiresScopes,
        AccessKind::Policy,
    ];

    /// The spec's (and its directive's) name.
    pub(super) fn spec(self) -> &'static str {
        match self {
            AccessKind::Authenticated => "authenticated",
            AccessKind::RequiresScopes => "requiresScopes",
            AccessKind::Policy => "policy",
        }
    }

    /// Its argument: `scopes`, `policies` (none for `@authenticated`).
    pub(super) fn argument(self) -> Option<&'static str> {
        match self {
            AccessKind::Authenticated => None,
            AccessKind::RequiresScopes => Some("scopes"),
            AccessKind::Policy => Some("policies"),
        }
    }

    /// The spec's custom scalar, e.g. `requiresScopes__Scope`.
    pub(super) fn scalar(self) -> Option<&'static str> {
        match self {
            AccessKind::Authenticated => None,
            AccessKind::RequiresScopes => Some("requiresScopes__Scope"),
            AccessKind::Policy => Some("policy__Policy"),
        }
    }

    /// The placeholder in [`Applied::others`] that keeps its position.
    pub(super) fn marker(self) -> String {
        format!("\u{1}{}", self.spec())
    }

    /// The kind whose marker `text` is.
    pub(super) fn of_marker(text: &str) -> Option<AccessKind> {
        let name = text.strip_prefix('\u{1}')?;
        AccessKind::ALL.into_iter().find(|k| k.spec() == name)
    }
}

/// One access-control directive: its kind and, for scopes and policies,
/// its argument in disjunctive normal form (`[["a", "b"], ["c"]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Access {
    pub kind: AccessKind,
    pub value: Vec<Vec<String>>,
}

/// An argument or input field.
#[derive(Debug, Clone)]
pub(super) struct InputValueDef {
    pub name: String,
    pub description: Option<String>,
    pub ty: Type,
    /// The default value as GraphQL text.
    pub default: Option<String>,
    pub applied: Applied,
    /// `@fromContext(field:)` as written, e.g. `$user { locale }`: the
    /// router fills the argument, so it is not in the supergraph.
    pub from_context: Option<String>,
}

/// A field of an object or interface.
#[derive(Debug, Clone)]
pub(super) struct FieldDef {
    pub name: String,
    pub description: Option<String>,
    pub ty: Type,
    pub args: IndexMap<String, InputValueDef>,
    pub shareable: bool,
    pub external: bool,
    pub requires: Option<String>,
    pub provides: Option<String>,
    pub override_from: Option<String>,
    /// `@override(label:)` (progressive override, Federation 2.7).
    pub override_label: Option<String>,
    pub applied: Applied,
}

/// An enum value.
#[derive(Debug, Clone)]
pub(super) struct EnumValueDef {
    pub description: Option<String>,
    pub applied: Applied,
}

/// A named type as one subgraph defines it (all its extensions folded in).
#[derive(Debug, Clone)]
pub(super) struct TypeDef {
    pub name: String,
    pub kind: Kind,
    pub description: Option<String>,
    pub keys: Vec<Key>,
    /// Defined only by `extend type` (or marked `@extends`) in this subgraph.
    pub extension: bool,
    /// Marked `@extends` (in any of its definitions).
    pub extends: bool,
    /// A non-extension definition was seen.
    pub has_base: bool,
    pub shareable: bool,
    pub interface_object: bool,
    /// The names of the `@context`s this type sets (as written here).
    pub contexts: Vec<String>,
    pub applied: Applied,
    pub specified_by: Option<String>,
    pub implements: Vec<String>,
    pub fields: IndexMap<String, FieldDef>,
    pub input_fields: IndexMap<String, InputValueDef>,
    pub members: Vec<String>,
    pub values: IndexMap<String, EnumValueDef>,
}

/// An executable directive definition (merged into the supergraph when every
/// subgraph defines it).
#[derive(Debug, Clone)]
pub(super) struct DirectiveDef {
    pub name: String,
    pub description: Option<String>,
    pub args: IndexMap<String, InputValueDef>,
    pub repeatable: bool,
    /// Executable locations only, e.g. `FIELD`, `QUERY`.
    pub locations: Vec<String>,
}

pub(super) const EXECUTABLE_LOCATIONS: &[&str] = &[
    "QUERY",
    "MUTATION",
    "SUBSCRIPTION",
    "FIELD",
    "FRAGMENT_DEFINITION",
    "FRAGMENT_SPREAD",
    "INLINE_FRAGMENT",
    "VARIABLE_DEFINITION",
];

/// Directives GraphQL itself defines; never merged.
pub(super) const BUILT_IN_DIRECTIVES: &[&str] = &[
    "include",
    "skip",
    "deprecated",
    "specifiedBy",
    "oneOf",
    "defer",
    "stream",
];

/// One parsed subgraph.
#[derive(Debug, Clone)]
pub(super) struct Subgraph {
    pub name: String,
    pub url: String,
    /// The `join__Graph` value, e.g. `USERS`.
    pub graph_id: String,
    /// A Federation 1 subgraph (no federation `@link`).
    pub fed1: bool,
    /// The `x` of the linked federation version `v2.x` (0 for Federation 1).
    pub fed_minor: u32,
    pub types: IndexMap<String, TypeDef>,
    /// Executable directive definitions (not built-in, not federation's).
    pub directives: IndexMap<String, DirectiveDef>,
    /// Federation directives used here that the supergraph does not carry,
    /// for a hint.
    pub dropped_directives: BTreeSet<String>,
    /// Access-control directives imported under another name (`as:`).
    pub access_aliases: Vec<(AccessKind, String)>,
    /// `("cost" | "listSize", local name)` of the demand-control directives
    /// applied here, in order of first use.
    pub demand_names: Vec<(&'static str, String)>,
}

pub(super) fn string_arg(directive: &ast::Directive, name: &str) -> Option<String> {
    directive
        .specified_argument_by_name(name)
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

pub(super) fn bool_arg(directive: &ast::Directive, name: &str) -> Option<bool> {
    match directive.specified_argument_by_name(name).map(|v| &**v) {
        Some(Value::Boolean(b)) => Some(*b),
        _ => None,
    }
}

/// A GraphQL string literal.
pub(super) fn quote(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value as GraphQL text on one line: `["x", "y"]`, `{x: 1, y: RED}`.
pub(super) fn print_value(value: &Value) -> String {
    match value {
        Value::List(items) => {
            let items: Vec<String> = items.iter().map(|v| print_value(v)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(name, v)| format!("{name}: {}", print_value(v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
        other => other.to_string(),
    }
}

pub(super) fn description(d: &Option<Node<str>>) -> Option<String> {
    d.as_ref().map(|s| s.to_string())
}

impl TypeDef {
    pub(super) fn empty(name: &str, kind: Kind) -> TypeDef {
        TypeDef {
            name: name.to_owned(),
            kind,
            description: None,
            keys: Vec::new(),
            extension: true,
            extends: false,
            has_base: false,
            shareable: false,
            interface_object: false,
            contexts: Vec::new(),
            applied: Applied::default(),
            specified_by: None,
            implements: Vec::new(),
            fields: IndexMap::new(),
            input_fields: IndexMap::new(),
            members: Vec::new(),
            values: IndexMap::new(),
        }
    }
}

impl Subgraph {
    /// The object types of this subgraph that implement `interface`.
    pub(super) fn implementations<'a>(
        &'a self,
        interface: &'a str,
    ) -> impl Iterator<Item = &'a TypeDef> + 'a {
        self.types
            .values()
            .filter(move |t| t.kind == Kind::Object && t.implements.iter().any(|i| i == interface))
    }
}
