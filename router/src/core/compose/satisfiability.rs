//! A simplified `SATISFIABILITY_ERROR` check: every field of an object type a
//! subgraph returns must be resolvable from there, either by the subgraph
//! itself (or its `@provides`) or by a jump to a subgraph that resolves it
//! through a resolvable `@key` whose fields the first subgraph has.
//!
//! Apollo's check walks every query path of the supergraph; this one looks
//! one hop at a time, which covers the usual mistakes (a value type missing
//! fields in one subgraph, an entity no subgraph can be entered through).

use std::collections::HashSet;

use super::CompositionError;
use super::fieldset::{self, Selection};
use super::merge::Supergraph;
use super::rules::effectively_external;
use super::subgraph::{Kind, Subgraph, TypeDef};

/// The top-level field names of a field set.
fn top_level(fields: &str) -> Vec<String> {
    fieldset::parse(fields)
        .map(|selections| {
            selections
                .into_iter()
                .filter_map(|s| match s {
                    Selection::Field { name, .. } => Some(name),
                    Selection::Fragment { .. } => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `subgraph` resolves `field` of its `ty` itself.
fn resolves(subgraph: &Subgraph, ty: &TypeDef, field: &str) -> bool {
    ty.fields.contains_key(field) && !effectively_external(subgraph, &ty.name, field)
}

/// Appends a `SATISFIABILITY_ERROR` for each field that cannot be reached.
pub(super) fn check(
    subgraphs: &[Subgraph],
    supergraph: &Supergraph,
    errors: &mut Vec<CompositionError>,
) {
    let mut reported = HashSet::new();
    for source in subgraphs {
        for parent in source.types.values() {
            for field in parent.fields.values() {
                if effectively_external(source, &parent.name, &field.name) {
                    continue;
                }
                let target = field.ty.inner_named_type().as_str();
                let Some(local) = source.types.get(target) else {
                    continue;
                };
                let Some(merged) = supergraph.types.iter().find(|t| t.name == target) else {
                    continue;
                };
                if merged.kind != Kind::Object || local.kind != Kind::Object {
                    continue;
                }
                let provided: Vec<String> =
                    field.provides.as_deref().map(top_level).unwrap_or_default();
                let has = |name: &str| {
                    resolves(source, local, name) || provided.iter().any(|p| p == name)
                };
                for wanted in &merged.fields {
                    let name = wanted.name.as_str();
                    if has(name) || wanted.join_fields.iter().any(|j| j.graph.is_empty()) {
                        continue;
                    }
                    let reachable = subgraphs.iter().any(|other| {
                        other.name != source.name
                            && other.types.get(target).is_some_and(|t| {
                                resolves(other, t, name)
                                    && t.keys.iter().any(|key| {
                                        key.resolvable
                                            && top_level(&key.fields).iter().all(|k| has(k))
                                    })
                            })
                    });
                    if !reachable
                        && reported.insert((
                            source.name.clone(),
                            target.to_owned(),
                            name.to_owned(),
                        ))
                    {
                        errors.push(CompositionError::new(
                            "SATISFIABILITY_ERROR",
                            Some(&source.name),
                            Some(format!("{target}.{name}")),
                            format!(
                                "{target}.{name} cannot be resolved for a {target} returned by {}.{} in subgraph \"{}\": it does not define the field and no subgraph resolving it has a resolvable @key on {target} whose fields \"{}\" has",
                                parent.name, field.name, source.name, source.name
                            ),
                        ));
                    }
                }
            }
        }
    }
}
