//! Merging the members of a type: fields (with sharing, type, argument and
//! `@override` rules), input fields (intersection) and enum values (by use).

use std::collections::HashSet;

use apollo_compiler::ast::Type;

use super::{
    ContextArgument, JoinField, Merger, SuperEnumValue, SuperField, SuperInputValue, SuperType,
    is_subtype, merge_applied, pick_description,
};
use crate::core::compose::CompositionError;
use crate::core::compose::context::parse_reference;
use crate::core::compose::subgraph::{FieldDef, InputValueDef, Kind, Subgraph, TypeDef};

/// Names in order of first appearance across `lists`.
fn ordered_names<'a>(lists: impl Iterator<Item = impl Iterator<Item = &'a String>>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for list in lists {
        for name in list {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

fn is_required(value: &InputValueDef) -> bool {
    value.ty.is_non_null() && value.default.is_none()
}

/// The type among `types` that can stand for every other (for inputs, the
/// most restrictive; for outputs, the most general).
fn merged_type<'t>(
    types: &[&'t Type],
    input: bool,
    named: &dyn Fn(&str, &str) -> bool,
) -> Option<&'t Type> {
    types.iter().copied().find(|candidate| {
        types.iter().all(|other| {
            if input {
                is_subtype(candidate, other, named)
            } else {
                is_subtype(other, candidate, named)
            }
        })
    })
}

impl Merger<'_> {
    fn index_of(&self, subgraph: &Subgraph) -> usize {
        self.subgraphs
            .iter()
            .position(|s| s.name == subgraph.name)
            .unwrap_or_default()
    }

    fn graph_id(&self, subgraph: &str) -> String {
        self.subgraphs
            .iter()
            .find(|s| s.name == subgraph)
            .map(|s| s.graph_id.clone())
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
            let coordinate = format!("{type_name}.{name}");
            // `@external` on a key field of a type extension only says the
            // field is defined elsewhere too (Federation 1 style): ignored.
            let key_of_extension: Vec<FieldDef>;
            let defs: Vec<(&Subgraph, &FieldDef)> = {
                let mut defs = Vec::new();
                let mut fixed = Vec::new();
                for (s, t) in sources {
                    let Some(f) = t.fields.get(&name) else {
                        continue;
                    };
                    let is_key = self.key_fields[self.index_of(s)]
                        .contains(&(type_name.clone(), name.clone()));
                    if f.external && is_key && t.extension {
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
                key_of_extension = fixed.iter().map(|(_, f)| f.clone()).collect();
                for ((index, _), f) in fixed.iter().zip(&key_of_extension) {
                    defs[*index].1 = f;
                }
                defs
            };
            let overridden: HashSet<&str> = defs
                .iter()
                .filter_map(|(_, f)| f.override_from.as_deref())
                // An override of a field that itself overrides is an error
                // (below) and is ignored.
                .filter(|from| {
                    defs.iter()
                        .any(|(s, f)| s.name == *from && f.override_from.is_none())
                })
                .collect();
            for (subgraph, field) in &defs {
                let overridden_by_other = defs
                    .iter()
                    .any(|(_, f)| f.override_from.as_deref() == Some(subgraph.name.as_str()));
                if overridden_by_other && field.override_from.is_some() {
                    self.errors.push(CompositionError::new(
                        "OVERRIDE_SOURCE_HAS_OVERRIDE",
                        Some(&subgraph.name),
                        Some(coordinate.clone()),
                        format!("{coordinate} is overridden from \"{}\" and overrides another subgraph itself", subgraph.name),
                    ));
                }
            }
            if defs.iter().all(|(_, f)| f.external) {
                let subgraphs: Vec<&str> = defs.iter().map(|(s, _)| s.name.as_str()).collect();
                self.errors.push(CompositionError::new(
                    "EXTERNAL_MISSING_ON_BASE",
                    defs.first().map(|(s, _)| s.name.as_str()),
                    Some(coordinate.clone()),
                    format!(
                        "{coordinate} is marked @external in {} but no subgraph defines it without @external",
                        quoted(&subgraphs)
                    ),
                ));
            }
            let resolving: Vec<&(&Subgraph, &FieldDef)> = defs
                .iter()
                .filter(|(s, f)| !f.external && !overridden.contains(s.name.as_str()))
                .collect();
            if merged.kind == Kind::Object && resolving.len() > 1 {
                let non_shareable: Vec<&str> = resolving
                    .iter()
                    .filter(|(s, f)| {
                        let key_field = self.key_fields[self.index_of(s)]
                            .contains(&(type_name.clone(), name.clone()));
                        !(f.shareable || s.fed1 || key_field)
                    })
                    .map(|(s, _)| s.name.as_str())
                    .collect();
                if !non_shareable.is_empty() {
                    let all: Vec<&str> = resolving.iter().map(|(s, _)| s.name.as_str()).collect();
                    self.errors.push(CompositionError::new(
                        "INVALID_FIELD_SHARING",
                        Some(non_shareable[0]),
                        Some(coordinate.clone()),
                        format!(
                            "non-shareable field {coordinate} is resolved from subgraphs {} and defined as non-shareable in {}",
                            quoted(&all),
                            quoted(&non_shareable)
                        ),
                    ));
                }
            }
            let typed: Vec<&(&Subgraph, &FieldDef)> = if resolving.is_empty() {
                defs.iter().collect()
            } else {
                resolving.clone()
            };
            let types: Vec<&Type> = typed.iter().map(|(_, f)| &f.ty).collect();
            let abstract_of = &self.abstract_of;
            let covariant =
                |a: &str, b: &str| a == b || abstract_of.contains(&(a.to_owned(), b.to_owned()));
            let Some(ty) = merged_type(&types, false, &covariant).cloned() else {
                let listed: Vec<String> = typed
                    .iter()
                    .map(|(s, f)| format!("{} in \"{}\"", f.ty, s.name))
                    .collect();
                self.errors.push(CompositionError::new(
                    "FIELD_TYPE_MISMATCH",
                    None,
                    Some(coordinate.clone()),
                    format!(
                        "{coordinate} has incompatible types across subgraphs: {}",
                        listed.join(", ")
                    ),
                ));
                continue;
            };
            let arg_defs: Vec<(&Subgraph, &FieldDef)> = typed.iter().map(|d| **d).collect();
            let args = self.merge_args(&coordinate, &arg_defs);
            let needs_join_field = defs.len() != sources.len()
                || !overridden.is_empty()
                || defs.iter().any(|(_, f)| {
                    f.external
                        || is_contextual(f)
                        || f.requires.is_some()
                        || f.provides.is_some()
                        || f.override_from.is_some()
                        || f.ty != ty
                });
            let types_differ = defs.iter().any(|(_, f)| f.ty != ty);
            let mut join_fields = Vec::new();
            if needs_join_field {
                for (subgraph, field) in &defs {
                    let graph = subgraph.graph_id.clone();
                    // An overridden field that is @external there anyway
                    // stays an external field.
                    if overridden.contains(subgraph.name.as_str()) && !field.external {
                        // Used by a key, requires or provides, or to
                        // implement an interface field of that subgraph.
                        let used = self.usages[self.index_of(subgraph)]
                            .contains(&(type_name.clone(), name.clone()))
                            || implements_interface_field(subgraph, &type_name, &name);
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
            }
            merged.fields.push(SuperField {
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
            });
        }
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
                        "CONTEXTUAL_ARGUMENT_NOT_CONTEXTUAL_IN_ALL_SUBGRAPHS",
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

    /// The shared part of argument and input-field merging.
    pub(super) fn merge_input_values(
        &mut self,
        coordinate: &str,
        lists: &[Vec<(&str, &InputValueDef)>],
        arguments: bool,
    ) -> Vec<SuperInputValue> {
        let names = ordered_names(lists.iter().map(|l| l.iter().map(|(_, v)| &v.name)));
        let (missing_code, type_code, default_code, what) = if arguments {
            (
                "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH",
                "FIELD_ARGUMENT_TYPE_MISMATCH",
                "FIELD_ARGUMENT_DEFAULT_MISMATCH",
                "argument",
            )
        } else {
            (
                "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH",
                "FIELD_TYPE_MISMATCH",
                "INPUT_FIELD_DEFAULT_MISMATCH",
                "input field",
            )
        };
        let mut merged = Vec::new();
        for name in names {
            let value_coordinate = if arguments {
                format!("{coordinate}({name}:)")
            } else {
                format!("{coordinate}.{name}")
            };
            let present: Vec<(&str, &InputValueDef)> = lists
                .iter()
                .filter_map(|l| l.iter().find(|(_, v)| v.name == name).copied())
                .collect();
            if present.len() < lists.len() {
                if let Some((subgraph, _)) = present.iter().find(|(_, v)| is_required(v)) {
                    self.errors.push(CompositionError::new(
                        missing_code,
                        Some(subgraph),
                        Some(value_coordinate.clone()),
                        format!("{what} {value_coordinate} is required in \"{subgraph}\" but missing in other subgraphs"),
                    ));
                } else {
                    self.hints.push(format!(
                        "INCONSISTENT_{}: {what} {value_coordinate} is not in every subgraph defining it and is left out of the supergraph",
                        if arguments { "ARGUMENT_PRESENCE" } else { "INPUT_OBJECT_FIELD" }
                    ));
                }
                continue;
            }
            let types: Vec<&Type> = present.iter().map(|(_, v)| &v.ty).collect();
            let Some(ty) = merged_type(&types, true, &|a, b| a == b).cloned() else {
                let listed: Vec<String> = present
                    .iter()
                    .map(|(s, v)| format!("{} in \"{s}\"", v.ty))
                    .collect();
                self.errors.push(CompositionError::new(
                    type_code,
                    None,
                    Some(value_coordinate.clone()),
                    format!(
                        "{what} {value_coordinate} has incompatible types: {}",
                        listed.join(", ")
                    ),
                ));
                continue;
            };
            let defaults: HashSet<&Option<String>> =
                present.iter().map(|(_, v)| &v.default).collect();
            if defaults.len() > 1 {
                let listed: Vec<String> = present
                    .iter()
                    .map(|(s, v)| {
                        format!(
                            "{} in \"{s}\"",
                            v.default.as_deref().unwrap_or("no default")
                        )
                    })
                    .collect();
                self.errors.push(CompositionError::new(
                    default_code,
                    None,
                    Some(value_coordinate.clone()),
                    format!(
                        "{what} {value_coordinate} has inconsistent default values: {}",
                        listed.join(", ")
                    ),
                ));
            }
            let mut join_fields = Vec::new();
            if !arguments && present.iter().any(|(_, v)| v.ty != ty) {
                for (subgraph, value) in &present {
                    join_fields.push(JoinField {
                        graph: self.graph_id(subgraph),
                        ty: Some(value.ty.to_string()),
                        ..JoinField::default()
                    });
                }
            }
            merged.push(SuperInputValue {
                join_fields,
                description: pick_description(
                    self.hints,
                    &value_coordinate,
                    present.iter().map(|(s, v)| (*s, v.description.as_ref())),
                ),
                applied: merge_applied(present.iter().map(|(_, v)| &v.applied)),
                default: present.iter().find_map(|(_, v)| v.default.clone()),
                name,
                ty,
            });
        }
        merged
    }

    pub(super) fn merge_input_fields(
        &mut self,
        merged: &mut SuperType,
        sources: &[(&Subgraph, &TypeDef)],
    ) {
        let lists: Vec<Vec<(&str, &InputValueDef)>> = sources
            .iter()
            .map(|(s, t)| {
                t.input_fields
                    .values()
                    .map(|f| (s.name.as_str(), f))
                    .collect()
            })
            .collect();
        merged.input_fields = self.merge_input_values(&merged.name, &lists, false);
        if merged.input_fields.is_empty() {
            self.errors.push(CompositionError::new(
                "EMPTY_MERGED_INPUT_TYPE",
                None,
                Some(merged.name.clone()),
                format!(
                    "no field of input type {} is in every subgraph defining it",
                    merged.name
                ),
            ));
        }
    }

    /// Enum values merge by use: only in inputs → intersection; only in
    /// outputs (or unused) → union; both → every subgraph must agree.
    /// `@inaccessible` values are kept whatever the use.
    pub(super) fn merge_enum_values(
        &mut self,
        merged: &mut SuperType,
        sources: &[(&Subgraph, &TypeDef)],
    ) {
        let name = merged.name.clone();
        let input = self.enums_in_input.contains(&name);
        let output = self.enums_in_output.contains(&name);
        let values = ordered_names(sources.iter().map(|(_, t)| t.values.keys()));
        for value in values {
            let defs: Vec<(&Subgraph, _)> = sources
                .iter()
                .filter_map(|(s, t)| t.values.get(&value).map(|v| (*s, v)))
                .collect();
            let coordinate = format!("{name}.{value}");
            // An @inaccessible value is never seen by clients, so it may be
            // missing elsewhere whatever the enum's use (as in Apollo's).
            let inaccessible = defs.iter().any(|(_, v)| v.applied.inaccessible);
            if defs.len() < sources.len() && !inaccessible {
                if input && output {
                    let missing: Vec<&str> = sources
                        .iter()
                        .filter(|(_, t)| !t.values.contains_key(&value))
                        .map(|(s, _)| s.name.as_str())
                        .collect();
                    self.errors.push(CompositionError::new(
                        "ENUM_VALUE_MISMATCH",
                        Some(missing[0]),
                        Some(coordinate.clone()),
                        format!(
                            "enum {name} is used as both input and output, so its values must be the same in every subgraph, but {value} is missing in {}",
                            quoted(&missing)
                        ),
                    ));
                    continue;
                }
                if input {
                    self.hints.push(format!(
                        "INCONSISTENT_ENUM_VALUE_FOR_INPUT_ENUM: {coordinate} is not in every subgraph defining input-only enum {name} and is left out of the supergraph"
                    ));
                    continue;
                }
            }
            merged.values.push(SuperEnumValue {
                description: pick_description(
                    self.hints,
                    &coordinate,
                    defs.iter()
                        .map(|(s, v)| (s.name.as_str(), v.description.as_ref())),
                ),
                applied: merge_applied(defs.iter().map(|(_, v)| &v.applied)),
                graphs: defs.iter().map(|(s, _)| s.graph_id.clone()).collect(),
                name: value,
            });
        }
        if merged.values.is_empty() {
            self.errors.push(CompositionError::new(
                "EMPTY_MERGED_ENUM_TYPE",
                None,
                Some(name.clone()),
                format!("no value of enum {name} is in every subgraph defining it"),
            ));
        }
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

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
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
