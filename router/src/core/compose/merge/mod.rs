//! The subgraph models → one supergraph model with its join metadata.
//!
//! Subgraphs are visited in name order, so fields appear in the order of the
//! first subgraph that defines them (as in Apollo's output).
//!
//! # Layout
//! - [`mod@self`]: types (kinds, join types, implementations, members),
//!   executable directives, copied directives and descriptions.
//! - `fields`: the fields of a type (sharing, types, arguments, `@override`,
//!   join fields).
//! - `values`: arguments, input fields and enum values.
//! - `inaccessible`: the `@inaccessible` rules on the merged model.
//! - `access`: `@authenticated`, `@requiresScopes`, `@policy` (merged, and
//!   propagated from implementations to interfaces).
//! - `transitive`: `MISSING_TRANSITIVE_AUTH_REQUIREMENTS` for `@requires`
//!   and `@fromContext`.
//! - `model`: the supergraph model.

use std::collections::HashSet;

use apollo_compiler::ast::Type;

use super::fieldset;
use super::model::{Applied, Kind, Subgraph, TypeDef};
use super::rules::field_set_usages;
use super::{CompositionError, CompositionErrorCode};

pub(super) use model::{
    ContextArgument, JoinField, JoinType, SuperDirective, SuperEnumValue, SuperField,
    SuperInputValue, SuperType, Supergraph,
};

/// Shared context of one merge.
struct Merger<'a> {
    subgraphs: &'a [Subgraph],
    errors: &'a mut Vec<CompositionError>,
    hints: &'a mut Vec<String>,
    /// Per subgraph: the `(type, field)`s its key/requires/provides select.
    usages: Vec<HashSet<(String, String)>>,
    /// Per subgraph: the `(type, field)`s selected by its keys.
    key_fields: Vec<HashSet<(String, String)>>,
    /// Enum names used as an input type (arguments, input fields).
    enums_in_input: HashSet<String>,
    /// Enum names used as an output type (field types).
    enums_in_output: HashSet<String>,
    /// `(type, abstract type)` pairs: the type implements the interface or
    /// belongs to the union in some subgraph.
    abstract_of: HashSet<(String, String)>,
}

/// Forgets each `@override(from:)` naming a subgraph that is not composed
/// (Apollo's composition ignores it, with a hint).
pub(super) fn drop_unknown_overrides(subgraphs: &mut [Subgraph], hints: &mut Vec<String>) {
    let names: HashSet<String> = subgraphs.iter().map(|s| s.name.clone()).collect();
    for subgraph in subgraphs.iter_mut() {
        for ty in subgraph.types.values_mut() {
            for field in ty.fields.values_mut() {
                let Some(from) = field.override_from.take_if(|from| !names.contains(from)) else {
                    continue;
                };
                field.override_label = None;
                hints.push(format!(
                    "FROM_SUBGRAPH_DOES_NOT_EXIST: {}.{} in subgraph \"{}\" overrides subgraph \"{from}\", which is not composed: the @override is ignored",
                    ty.name, field.name, subgraph.name
                ));
            }
        }
    }
}

/// Merges the subgraphs; problems go to `errors`, hints to `hints`.
pub(super) fn merge(
    subgraphs: &[Subgraph],
    errors: &mut Vec<CompositionError>,
    hints: &mut Vec<String>,
) -> Supergraph {
    let mut names: Vec<&String> = subgraphs.iter().flat_map(|s| s.types.keys()).collect();
    names.sort_by(|a, b| a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b)));
    names.dedup();
    let mut merger = Merger {
        subgraphs,
        errors,
        hints,
        usages: subgraphs.iter().map(field_set_usages).collect(),
        key_fields: subgraphs.iter().map(key_fields).collect(),
        enums_in_input: HashSet::new(),
        enums_in_output: HashSet::new(),
        abstract_of: subgraphs
            .iter()
            .flat_map(|s| s.types.values())
            .flat_map(|t| {
                let implements = t.implements.iter().map(|i| (t.name.clone(), i.clone()));
                let members = t.members.iter().map(|m| (m.clone(), t.name.clone()));
                implements.chain(members).collect::<Vec<_>>()
            })
            .collect(),
    };
    merger.collect_enum_usage();
    let mut types: Vec<SuperType> = names
        .into_iter()
        .filter_map(|name| merger.merge_type(name))
        .collect();
    add_interface_object_fields(&mut types);
    access::propagate_to_interfaces(subgraphs, &mut types);
    check_interface_fields_implemented(&types, merger.errors);
    let directives = merger.merge_directives();
    if !subgraphs
        .iter()
        .any(|s| s.types.get("Query").is_some_and(|q| !q.fields.is_empty()))
    {
        merger.errors.push(CompositionError::new(
            CompositionErrorCode::NoQueries,
            None,
            Some("Query".into()),
            "no subgraph defines a Query field",
        ));
    }
    let mut graphs: Vec<(String, String, String)> = subgraphs
        .iter()
        .map(|s| (s.graph_id.clone(), s.name.clone(), s.url.clone()))
        .collect();
    graphs.sort();
    // The cost spec came with Federation 2.9: a subgraph that applies it
    // needs join v0.5 whatever federation version it links.
    let join_minor = match subgraphs
        .iter()
        .map(|s| {
            if s.demand_names.is_empty() {
                s.fed_minor
            } else {
                s.fed_minor.max(9)
            }
        })
        .max()
        .unwrap_or_default()
    {
        0..=6 => 3,
        7 => 4,
        _ => 5,
    };
    let uses_context = subgraphs
        .iter()
        .any(|s| s.types.values().any(|t| !t.contexts.is_empty()));
    let mut supergraph = Supergraph {
        join_minor,
        uses_inaccessible: false,
        uses_tag: false,
        uses_context,
        graphs,
        types,
        directives,
        access: access::supergraph_names(subgraphs),
        context_link_at: access::context_link_at(subgraphs),
        demand: super::cost::supergraph_names(subgraphs).map(|mut names| {
            let first = subgraphs
                .iter()
                .position(|s| !s.demand_names.is_empty())
                .unwrap_or_default();
            names.after_access = access::supergraph_names(&subgraphs[..=first]).len();
            names
        }),
    };
    super::cost::resolve_supergraph(&mut supergraph);
    inaccessible::check(&mut supergraph, merger.errors);
    transitive::check(
        subgraphs,
        &supergraph.types,
        &supergraph.graphs,
        merger.errors,
    );
    supergraph
}

/// `INTERFACE_FIELD_NO_IMPLEM`: every merged interface field must be on
/// every merged implementation.
fn check_interface_fields_implemented(types: &[SuperType], errors: &mut Vec<CompositionError>) {
    for object in types
        .iter()
        .filter(|t| matches!(t.kind, Kind::Object | Kind::Interface))
    {
        for interface in types.iter().filter(|t| object.implements.contains(&t.name)) {
            for field in &interface.fields {
                if !object.fields.iter().any(|f| f.name == field.name) {
                    errors.push(CompositionError::new(
                        CompositionErrorCode::InterfaceFieldNoImplem,
                        None,
                        Some(format!("{}.{}", interface.name, field.name)),
                        format!(
                            "interface field {}.{} is not defined on {}, which implements {}",
                            interface.name, field.name, object.name, interface.name
                        ),
                    ));
                }
            }
        }
    }
}

/// Fields an `@interfaceObject` adds to an interface are added to its
/// implementations too, with a graph-less `@join__field` (the planner resolves
/// them through the interface object).
fn add_interface_object_fields(types: &mut [SuperType]) {
    let mut additions: Vec<(usize, SuperField)> = Vec::new();
    for interface in types
        .iter()
        .filter(|t| t.kind == Kind::Interface && t.join_types.iter().any(|j| j.interface_object))
    {
        for (index, object) in types.iter().enumerate() {
            if object.kind != Kind::Object || !object.implements.contains(&interface.name) {
                continue;
            }
            for field in &interface.fields {
                if object.fields.iter().any(|f| f.name == field.name) {
                    continue;
                }
                additions.push((
                    index,
                    SuperField {
                        name: field.name.clone(),
                        description: field.description.clone(),
                        ty: field.ty.clone(),
                        args: field.args.clone(),
                        applied: field.applied.clone(),
                        join_fields: vec![JoinField::default()],
                    },
                ));
            }
        }
    }
    for (index, field) in additions {
        types[index].fields.push(field);
    }
}

/// The `(type, field)`s each key of a subgraph selects (implicitly shareable).
fn key_fields(subgraph: &Subgraph) -> HashSet<(String, String)> {
    let mut fields = HashSet::new();
    for ty in subgraph.types.values() {
        for key in &ty.keys {
            let Ok(selections) = fieldset::parse(&key.fields) else {
                continue;
            };
            let mut stack = vec![(ty.name.clone(), selections)];
            while let Some((type_name, selections)) = stack.pop() {
                for selection in selections {
                    match selection {
                        fieldset::Selection::Field { name, children, .. } => {
                            let inner = subgraph
                                .types
                                .get(&type_name)
                                .and_then(|t| t.fields.get(&name))
                                .map(|f| f.ty.inner_named_type().to_string());
                            fields.insert((type_name.clone(), name));
                            if let Some(inner) = inner {
                                stack.push((inner, children));
                            }
                        }
                        fieldset::Selection::Fragment { on, children } => {
                            stack.push((on.unwrap_or_else(|| type_name.clone()), children));
                        }
                    }
                }
            }
        }
    }
    fields
}

/// Picks the most common description (ties: the first subgraph's) and hints
/// when they differ.
fn pick_description<'a>(
    hints: &mut Vec<String>,
    coordinate: &str,
    descriptions: impl Iterator<Item = (&'a str, Option<&'a String>)>,
) -> Option<String> {
    let mut counts: Vec<(&String, usize, &str)> = Vec::new();
    for (subgraph, description) in descriptions {
        let Some(description) = description else {
            continue;
        };
        match counts.iter_mut().find(|(d, _, _)| *d == description) {
            Some(entry) => entry.1 += 1,
            None => counts.push((description, 1, subgraph)),
        }
    }
    let best = counts
        .iter()
        .enumerate()
        .max_by(|(ia, a), (ib, b)| a.1.cmp(&b.1).then(ib.cmp(ia)))
        .map(|(_, entry)| entry)?;
    if counts.len() > 1 {
        hints.push(format!(
            "INCONSISTENT_DESCRIPTION: \"{coordinate}\" has inconsistent descriptions across subgraphs; the supergraph uses the one from subgraph \"{}\"",
            best.2
        ));
    }
    Some(best.0.clone())
}

/// The copied directives of every subgraph: grouped by directive, the
/// directives in order of first appearance (as Apollo's composition merges
/// them), each application once.
fn merge_applied<'a>(all: impl Iterator<Item = &'a Applied>) -> Applied {
    let all: Vec<&Applied> = all.collect();
    let mut merged = Applied {
        access: access::merge_access(all.iter().map(|a| a.access.as_slice())),
        demand: super::cost::merge(all.iter().map(|a| &a.demand)),
        ..Applied::default()
    };
    let mut groups: Vec<(&str, Vec<&String>)> = Vec::new();
    for applied in all {
        merged.inaccessible |= applied.inaccessible;
        for directive in &applied.others {
            let name = directive.split('(').next().unwrap_or_default();
            match groups.iter_mut().find(|(n, _)| *n == name) {
                Some((_, group)) => group.push(directive),
                None => groups.push((name, vec![directive])),
            }
        }
    }
    for (name, group) in groups {
        let mut kept: Vec<&String> = Vec::new();
        for directive in group {
            let repeated = match name {
                "@deprecated" => !kept.is_empty(),
                // Apollo's composition keeps one `@context` per name as the
                // subgraph wrote it: the first subgraph's (in name order).
                "@context" => kept
                    .iter()
                    .any(|k| context_as_written(k) == context_as_written(directive)),
                _ => kept.contains(&directive),
            };
            if !repeated {
                kept.push(directive);
            }
        }
        merged.others.extend(kept.into_iter().cloned());
    }
    merged
}

/// `@context(name: "users__user")` → `user")`: the name as the subgraph wrote it.
fn context_as_written(directive: &str) -> &str {
    directive
        .split_once("__")
        .map_or(directive, |(_, written)| written)
}

/// Whether `sub` can stand where `sup` is expected: `T!` for `T`, and named
/// types as `named` allows (an object for its interface or union in outputs).
pub(super) fn is_subtype(sub: &Type, sup: &Type, named: &dyn Fn(&str, &str) -> bool) -> bool {
    match (sub, sup) {
        (Type::Named(a) | Type::NonNullNamed(a), Type::Named(b))
        | (Type::NonNullNamed(a), Type::NonNullNamed(b)) => named(a, b),
        (Type::List(a) | Type::NonNullList(a), Type::List(b))
        | (Type::NonNullList(a), Type::NonNullList(b)) => is_subtype(a, b, named),
        _ => false,
    }
}

impl Merger<'_> {
    fn collect_enum_usage(&mut self) {
        for subgraph in self.subgraphs {
            for ty in subgraph.types.values() {
                for field in ty.fields.values() {
                    self.enums_in_output
                        .insert(field.ty.inner_named_type().to_string());
                    for arg in field.args.values() {
                        self.enums_in_input
                            .insert(arg.ty.inner_named_type().to_string());
                    }
                }
                for field in ty.input_fields.values() {
                    self.enums_in_input
                        .insert(field.ty.inner_named_type().to_string());
                }
            }
        }
    }

    /// Executable directives: those every subgraph defines, with the
    /// locations and arguments they all share.
    fn merge_directives(&mut self) -> Vec<SuperDirective> {
        let subgraphs = self.subgraphs;
        let Some(first) = subgraphs.first() else {
            return Vec::new();
        };
        let mut merged = Vec::new();
        for name in first.directives.keys() {
            let defs: Vec<(&Subgraph, &super::model::DirectiveDef)> = subgraphs
                .iter()
                .filter_map(|s| s.directives.get(name).map(|d| (s, d)))
                .collect();
            if defs.len() < subgraphs.len() {
                continue;
            }
            let locations: Vec<String> = defs[0]
                .1
                .locations
                .iter()
                .filter(|l| defs.iter().all(|(_, d)| d.locations.contains(l)))
                .cloned()
                .collect();
            if locations.is_empty() {
                continue;
            }
            let lists: Vec<Vec<(&str, &super::model::InputValueDef)>> = defs
                .iter()
                .map(|(s, d)| d.args.values().map(|a| (s.name.as_str(), a)).collect())
                .collect();
            merged.push(SuperDirective {
                name: name.clone(),
                description: defs.iter().find_map(|(_, d)| d.description.clone()),
                args: self.merge_input_values(&format!("@{name}"), &lists, true),
                repeatable: defs.iter().all(|(_, d)| d.repeatable),
                locations,
            });
        }
        merged
    }

    fn merge_type(&mut self, name: &str) -> Option<SuperType> {
        let subgraphs = self.subgraphs;
        let sources: Vec<(&Subgraph, &TypeDef)> = subgraphs
            .iter()
            .filter_map(|s| s.types.get(name).map(|t| (s, t)))
            .collect();
        let kind = self.merged_kind(name, &sources)?;
        let description = pick_description(
            self.hints,
            name,
            sources
                .iter()
                .map(|(s, t)| (s.name.as_str(), t.description.as_ref())),
        );
        let mut join_types = Vec::new();
        for (subgraph, ty) in &sources {
            let base = JoinType {
                graph: subgraph.graph_id.clone(),
                key: None,
                // Apollo marks only keys, and only of a type this subgraph
                // marks `@extends` or defines by `extend type` alone
                // (Federation 1 subgraphs extend types as a matter of
                // course: only `@extends` counts there; never root types).
                extension: false,
                resolvable: true,
                resolvable_written: false,
                interface_object: ty.interface_object,
            };
            let extension = (ty.extends || (ty.extension && !subgraph.fed1))
                && !matches!(name, "Query" | "Mutation" | "Subscription");
            for key in &ty.keys {
                join_types.push(JoinType {
                    key: Some(key.fields.clone()),
                    extension,
                    resolvable: key.resolvable,
                    resolvable_written: key.resolvable_written,
                    graph: subgraph.graph_id.clone(),
                    ..base.clone()
                });
            }
            if ty.keys.is_empty() {
                join_types.push(base);
            }
        }
        let mut merged = SuperType {
            name: name.to_owned(),
            kind,
            description,
            join_types,
            join_implements: Vec::new(),
            implements: Vec::new(),
            join_members: Vec::new(),
            members: Vec::new(),
            applied: merge_applied(sources.iter().map(|(_, t)| &t.applied)),
            specified_by: sources.iter().find_map(|(_, t)| t.specified_by.clone()),
            fields: Vec::new(),
            input_fields: Vec::new(),
            values: Vec::new(),
        };
        for (subgraph, ty) in &sources {
            for interface in &ty.implements {
                merged
                    .join_implements
                    .push((subgraph.graph_id.clone(), interface.clone()));
                if !merged.implements.contains(interface) {
                    merged.implements.push(interface.clone());
                }
            }
            for member in &ty.members {
                merged
                    .join_members
                    .push((subgraph.graph_id.clone(), member.clone()));
                if !merged.members.contains(member) {
                    merged.members.push(member.clone());
                }
            }
        }
        // Apollo lists `@join__unionMember` member by member (in the merged
        // order), each with its subgraphs in name order.
        let members = merged.members.clone();
        merged
            .join_members
            .sort_by_key(|(_, member)| members.iter().position(|m| m == member));
        match kind {
            Kind::Object | Kind::Interface => self.merge_fields(&mut merged, &sources),
            Kind::Input => self.merge_input_fields(&mut merged, &sources),
            Kind::Enum => self.merge_enum_values(&mut merged, &sources),
            Kind::Scalar | Kind::Union => {}
        }
        Some(merged)
    }

    /// The merged kind, or `None` (with `TYPE_KIND_MISMATCH`) when subgraphs
    /// disagree. An `@interfaceObject` object and an interface merge to an
    /// interface.
    fn merged_kind(&mut self, name: &str, sources: &[(&Subgraph, &TypeDef)]) -> Option<Kind> {
        let (_, first) = sources.first()?;
        let effective = |t: &TypeDef| {
            if t.interface_object {
                Kind::Interface
            } else {
                t.kind
            }
        };
        let kind = effective(first);
        let mismatched: Vec<String> = sources
            .iter()
            .filter(|(_, t)| effective(t) != kind)
            .map(|(s, t)| format!("{} in \"{}\"", t.kind.keyword(), s.name))
            .collect();
        if mismatched.is_empty() {
            return Some(kind);
        }
        self.errors.push(CompositionError::new(
            CompositionErrorCode::TypeKindMismatch,
            None,
            Some(name.to_owned()),
            format!(
                "type {name} is defined as {} in \"{}\" but as {}",
                first.kind.keyword(),
                sources[0].0.name,
                mismatched.join(", ")
            ),
        ));
        None
    }
}

mod access;
mod fields;
mod inaccessible;
mod model;
mod transitive;
mod values;
