//! Merging the fields of a type: sharing, type, argument and `@override`
//! rules, and each field's `@join__field`s.
//!
//! # Layout
//! - `merge_fields`: one field at a time — its definitions, the override and
//!   `@external` rules, sharing, the merged type, arguments, join fields.

use std::collections::HashSet;

use apollo_compiler::ast::Type;

use super::values::{is_required, merged_type, ordered_names, quoted};
use super::{
    ContextArgument, JoinField, Merger, SuperField, SuperInputValue, SuperType, merge_applied,
    pick_description,
};
use crate::core::compose::context::parse_reference;
use crate::core::compose::model::{FieldDef, InputValueDef, Kind, Subgraph, TypeDef};
use crate::core::compose::{CompositionError, CompositionErrorCode};

/// The subgraphs a field is taken from by an `@override(from:)`. An
/// override of a field that itself overrides is an error (reported by
/// `check_overrides`) and is ignored.
fn overridden_sources<'a>(defs: &[(&Subgraph, &'a FieldDef)]) -> HashSet<&'a str> {
    defs.iter()
        .filter_map(|(_, f)| f.override_from.as_deref())
        .filter(|from| {
            defs.iter()
                .any(|(s, f)| s.name == *from && f.override_from.is_none())
        })
        .collect()
}

/// The definitions of one field, with the subgraph of each.
type Definitions<'s> = Vec<(&'s Subgraph, &'s FieldDef)>;

impl Merger<'_> {
    fn index_of(&self, subgraph: &Subgraph) -> usize {
        self.subgraphs
            .iter()
            .position(|s| s.name == subgraph.name)
            .unwrap_or_default()
    }

    pub(super) fn merge_fields(
        &mut self,
        merged: &mut SuperType,
        sources: &[(&Subgraph, &TypeDef)],
    ) {
        let type_name = merged.name.clone();
        let names = ordered_names(sources.iter().map(|(_, t)| t.fields.keys()));
        for name in names {
            // `@external` on a key field of a type extension only says the
            // field is defined elsewhere too (Federation 1 style): ignored.
            let (mut defs, fixed) = self.definitions(&type_name, &name, sources);
            let key_of_extension: Vec<FieldDef> = fixed.iter().map(|(_, f)| f.clone()).collect();
            for ((index, _), f) in fixed.iter().zip(&key_of_extension) {
                defs[*index].1 = f;
            }
            if let Some(field) =
                self.merge_field(merged.kind, &type_name, name, &defs, sources.len())
            {
                merged.fields.push(field);
            }
        }
    }

    /// The definitions of `type_name.name` across `sources`, and the ones to
    /// replace (by index) with a copy that is not `@external`: key fields of
    /// a type extension.
    fn definitions<'s>(
        &self,
        type_name: &str,
        name: &str,
        sources: &[(&'s Subgraph, &'s TypeDef)],
    ) -> (Definitions<'s>, Vec<(usize, FieldDef)>) {
        let mut defs = Vec::new();
        let mut fixed = Vec::new();
        for (s, t) in sources {
            let Some(f) = t.fields.get(name) else {
                continue;
            };
            if f.external && t.extension && self.is_key_field(s, type_name, name) {
                fixed.push((
                    defs.len(),
                    FieldDef {
                        external: false,
                        ..f.clone()
                    },
                ));
            }
            defs.push((*s, f));
        }
        (defs, fixed)
    }

    fn is_key_field(&self, subgraph: &Subgraph, type_name: &str, name: &str) -> bool {
        self.key_fields[self.index_of(subgraph)].contains(&(type_name.to_owned(), name.to_owned()))
    }

    /// One field of a type from its definitions: the override and
    /// `@external` rules, sharing, the merged type, arguments and the
    /// `@join__field`s. `None` when the types cannot be merged.
    fn merge_field(
        &mut self,
        kind: Kind,
        type_name: &str,
        name: String,
        defs: &[(&Subgraph, &FieldDef)],
        sources: usize,
    ) -> Option<SuperField> {
        let coordinate = format!("{type_name}.{name}");
        let overridden = overridden_sources(defs);
        self.check_overrides(&coordinate, defs);
        let resolving: Vec<&(&Subgraph, &FieldDef)> = defs
            .iter()
            .filter(|(s, f)| !f.external && !overridden.contains(s.name.as_str()))
            .collect();
        if kind == Kind::Object && resolving.len() > 1 {
            self.check_sharing(type_name, &name, &coordinate, &resolving);
        }
        let typed: Vec<&(&Subgraph, &FieldDef)> = if resolving.is_empty() {
            defs.iter().collect()
        } else {
            resolving
        };
        let ty = self.merged_field_type(&coordinate, &typed)?;
        let arg_defs: Vec<(&Subgraph, &FieldDef)> = typed.iter().map(|d| **d).collect();
        let args = self.merge_args(&coordinate, &arg_defs);
        let needs_join_field = defs.len() != sources
            || !overridden.is_empty()
            || defs.iter().any(|(_, f)| {
                f.external
                    || is_contextual(f)
                    || f.requires.is_some()
                    || f.provides.is_some()
                    || f.override_from.is_some()
                    || f.ty != ty
            });
        let join_fields = if needs_join_field {
            self.join_fields(type_name, &name, defs, &overridden, &ty)
        } else {
            Vec::new()
        };
        Some(SuperField {
            description: pick_description(
                self.hints,
                &coordinate,
                defs.iter()
                    .map(|(s, f)| (s.name.as_str(), f.description.as_ref())),
            ),
            applied: merge_applied(defs.iter().map(|(_, f)| &f.applied)),
            name,
            ty,
            args,
            join_fields,
        })
    }

    /// `OVERRIDE_SOURCE_HAS_OVERRIDE` and `EXTERNAL_MISSING_ON_BASE`.
    fn check_overrides(&mut self, coordinate: &str, defs: &[(&Subgraph, &FieldDef)]) {
        for (subgraph, field) in defs {
            let overridden_by_other = defs
                .iter()
                .any(|(_, f)| f.override_from.as_deref() == Some(subgraph.name.as_str()));
            if overridden_by_other && field.override_from.is_some() {
                self.errors.push(CompositionError::new(
                    CompositionErrorCode::OverrideSourceHasOverride,
                    Some(&subgraph.name),
                    Some(coordinate.to_owned()),
                    format!("{coordinate} is overridden from \"{}\" and overrides another subgraph itself", subgraph.name),
                ));
            }
        }
        if defs.iter().all(|(_, f)| f.external) {
            let subgraphs: Vec<&str> = defs.iter().map(|(s, _)| s.name.as_str()).collect();
            self.errors.push(CompositionError::new(
                CompositionErrorCode::ExternalMissingOnBase,
                defs.first().map(|(s, _)| s.name.as_str()),
                Some(coordinate.to_owned()),
                format!(
                    "{coordinate} is marked @external in {} but no subgraph defines it without @external",
                    quoted(&subgraphs)
                ),
            ));
        }
    }

    /// `INVALID_FIELD_SHARING`: an object field resolved by several
    /// subgraphs must be shareable (or a key field, or Federation 1) in each.
    fn check_sharing(
        &mut self,
        type_name: &str,
        name: &str,
        coordinate: &str,
        resolving: &[&(&Subgraph, &FieldDef)],
    ) {
        let non_shareable: Vec<&str> = resolving
            .iter()
            .filter(|(s, f)| !(f.shareable || s.fed1 || self.is_key_field(s, type_name, name)))
            .map(|(s, _)| s.name.as_str())
            .collect();
        if !non_shareable.is_empty() {
            let all: Vec<&str> = resolving.iter().map(|(s, _)| s.name.as_str()).collect();
            self.errors.push(CompositionError::new(
                CompositionErrorCode::InvalidFieldSharing,
                Some(non_shareable[0]),
                Some(coordinate.to_owned()),
                format!(
                    "non-shareable field {coordinate} is resolved from subgraphs {} and defined as non-shareable in {}",
                    quoted(&all),
                    quoted(&non_shareable)
                ),
            ));
        }
    }

    /// The most general of the field's types (`FIELD_TYPE_MISMATCH` when
    /// none can stand for every other).
    fn merged_field_type(
        &mut self,
        coordinate: &str,
        typed: &[&(&Subgraph, &FieldDef)],
    ) -> Option<Type> {
        let types: Vec<&Type> = typed.iter().map(|(_, f)| &f.ty).collect();
        let abstract_of = &self.abstract_of;
        let covariant =
            |a: &str, b: &str| a == b || abstract_of.contains(&(a.to_owned(), b.to_owned()));
        let merged = merged_type(&types, false, &covariant).cloned();
        if merged.is_none() {
            let listed: Vec<String> = typed
                .iter()
                .map(|(s, f)| format!("{} in \"{}\"", f.ty, s.name))
                .collect();
            self.errors.push(CompositionError::new(
                CompositionErrorCode::FieldTypeMismatch,
                None,
                Some(coordinate.to_owned()),
                format!(
                    "{coordinate} has incompatible types across subgraphs: {}",
                    listed.join(", ")
                ),
            ));
        }
        merged
    }

    /// One `@join__field` per definition; an overridden definition keeps
    /// one only where it is still used or progressively overridden.
    fn join_fields(
        &self,
        type_name: &str,
        name: &str,
        defs: &[(&Subgraph, &FieldDef)],
        overridden: &HashSet<&str>,
        ty: &Type,
    ) -> Vec<JoinField> {
        let types_differ = defs.iter().any(|(_, f)| f.ty != *ty);
        let mut join_fields = Vec::new();
        for (subgraph, field) in defs {
            let graph = subgraph.graph_id.clone();
            // An overridden field that is @external there anyway
            // stays an external field.
            if overridden.contains(subgraph.name.as_str()) && !field.external {
                // Used by a key, requires or provides, or to
                // implement an interface field of that subgraph.
                let used = self.usages[self.index_of(subgraph)]
                    .contains(&(type_name.to_owned(), name.to_owned()))
                    || implements_interface_field(subgraph, type_name, name);
                // With a progressive override (`label:`), the source
                // still resolves the field for part of the traffic.
                let label = defs.iter().find_map(|(_, f)| {
                    f.override_label
                        .clone()
                        .filter(|_| f.override_from.as_deref() == Some(&subgraph.name))
                });
                if used || label.is_some() {
                    join_fields.push(JoinField {
                        graph,
                        used_overridden: used,
                        override_label: label,
                        ..JoinField::default()
                    });
                }
                continue;
            }
            join_fields.push(JoinField {
                graph,
                requires: field.requires.clone(),
                provides: field.provides.clone(),
                ty: types_differ.then(|| field.ty.to_string()),
                external: field.external,
                override_from: field.override_from.clone(),
                override_label: field.override_label.clone(),
                used_overridden: false,
                context_arguments: context_arguments(subgraph, field),
            });
        }
        join_fields
    }

    /// Merges the arguments of one field: the intersection, with the most
    /// restrictive type and one default value. An argument some subgraph
    /// fills from a context is left out (the router passes it); where
    /// another subgraph has it as a plain argument, it must be optional there.
    fn merge_args(
        &mut self,
        coordinate: &str,
        defs: &[(&Subgraph, &FieldDef)],
    ) -> Vec<SuperInputValue> {
        let contextual: HashSet<&str> = defs
            .iter()
            .flat_map(|(_, f)| f.args.values())
            .filter(|a| a.from_context.is_some())
            .map(|a| a.name.as_str())
            .collect();
        for (subgraph, field) in defs {
            for arg in field
                .args
                .values()
                .filter(|a| a.from_context.is_none() && contextual.contains(a.name.as_str()))
            {
                let arg_coordinate = format!("{coordinate}({}:)", arg.name);
                if is_required(arg) {
                    self.errors.push(CompositionError::new(
                        CompositionErrorCode::ContextualArgumentNotContextualInAllSubgraphs,
                        Some(&subgraph.name),
                        Some(arg_coordinate.clone()),
                        format!("{arg_coordinate} is filled from a context in another subgraph, so clients cannot pass it, but \"{}\" requires it (make it nullable, give it a default or use @fromContext there too)", subgraph.name),
                    ));
                } else {
                    self.hints.push(format!(
                        "CONTEXTUAL_ARGUMENT_NOT_CONTEXTUAL_IN_ALL_SUBGRAPHS: {arg_coordinate} of subgraph \"{}\" is left out of the supergraph, as another subgraph fills it from a context",
                        subgraph.name
                    ));
                }
            }
        }
        let lists: Vec<Vec<(&str, &InputValueDef)>> = defs
            .iter()
            .map(|(s, f)| {
                f.args
                    .values()
                    .filter(|a| !contextual.contains(a.name.as_str()))
                    .map(|a| (s.name.as_str(), a))
                    .collect()
            })
            .collect();
        self.merge_input_values(coordinate, &lists, true)
    }
}

fn is_contextual(field: &FieldDef) -> bool {
    field.args.values().any(|a| a.from_context.is_some())
}

/// The `@join__field(contextArguments:)` of a field in one subgraph.
fn context_arguments(subgraph: &Subgraph, field: &FieldDef) -> Vec<ContextArgument> {
    field
        .args
        .values()
        .filter_map(|arg| {
            let (context, selection) = parse_reference(arg.from_context.as_deref()?)?;
            Some(ContextArgument {
                context: format!("{}__{context}", subgraph.name),
                name: arg.name.clone(),
                ty: arg.ty.to_string(),
                selection,
            })
        })
        .collect()
}

/// Whether `ty.field` of `subgraph` implements a field of one of the
/// interfaces `ty` implements there.
fn implements_interface_field(subgraph: &Subgraph, ty: &str, field: &str) -> bool {
    subgraph.types.get(ty).is_some_and(|t| {
        t.implements.iter().any(|i| {
            subgraph
                .types
                .get(i)
                .is_some_and(|i| i.fields.contains_key(field))
        })
    })
}
