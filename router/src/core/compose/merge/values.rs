//! Merging values: argument and input-field lists (intersection, the most
//! restrictive type, one default), input types and enum values (by use).
//!
//! # Layout
//! - `merge_input_values`: the shared part of argument and input-field merging.
//! - `merge_input_fields`, `merge_enum_values`: the members of input and enum types.
//! - small helpers the field merging shares: `ordered_names`, `merged_type`,
//!   `is_required`, `quoted`.

use std::collections::HashSet;

use apollo_compiler::ast::Type;

use super::{
    JoinField, Merger, SuperEnumValue, SuperInputValue, SuperType, is_subtype, merge_applied,
    pick_description,
};
use crate::core::compose::model::{InputValueDef, Subgraph, TypeDef};
use crate::core::compose::{CompositionError, CompositionErrorCode};

/// Names in order of first appearance across `lists`.
pub(super) fn ordered_names<'a>(
    lists: impl Iterator<Item = impl Iterator<Item = &'a String>>,
) -> Vec<String> {
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

pub(super) fn is_required(value: &InputValueDef) -> bool {
    value.ty.is_non_null() && value.default.is_none()
}

/// The type among `types` that can stand for every other (for inputs, the
/// most restrictive; for outputs, the most general).
pub(super) fn merged_type<'t>(
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

pub(super) fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Merger<'_> {
    fn graph_id(&self, subgraph: &str) -> String {
        self.subgraphs
            .iter()
            .find(|s| s.name == subgraph)
            .map(|s| s.graph_id.clone())
            .unwrap_or_default()
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
                CompositionErrorCode::RequiredArgumentMissingInSomeSubgraph,
                CompositionErrorCode::FieldArgumentTypeMismatch,
                CompositionErrorCode::FieldArgumentDefaultMismatch,
                "argument",
            )
        } else {
            (
                CompositionErrorCode::RequiredInputFieldMissingInSomeSubgraph,
                CompositionErrorCode::FieldTypeMismatch,
                CompositionErrorCode::InputFieldDefaultMismatch,
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
                CompositionErrorCode::EmptyMergedInputType,
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
                        CompositionErrorCode::EnumValueMismatch,
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
                CompositionErrorCode::EmptyMergedEnumType,
                None,
                Some(name.clone()),
                format!("no value of enum {name} is in every subgraph defining it"),
            ));
        }
    }
}
