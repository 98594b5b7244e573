//! `@inaccessible` rules on the merged supergraph: an element hidden in any
//! subgraph is hidden; accessible elements must not need hidden ones.

use std::collections::HashMap;

use super::model::Supergraph;
use crate::core::compose::model::Kind;
use crate::core::compose::{CompositionError, CompositionErrorCode};

/// Checks the rules and records whether `@inaccessible`/`@tag` are used.
pub(super) fn check(supergraph: &mut Supergraph, errors: &mut Vec<CompositionError>) {
    let hidden: HashMap<&str, bool> = supergraph
        .types
        .iter()
        .map(|t| (t.name.as_str(), t.applied.inaccessible))
        .collect();
    let is_hidden = |name: &str| hidden.get(name).copied().unwrap_or(false);
    let mut uses_inaccessible = false;
    let mut uses_tag = false;
    let mut error = |code, coordinate: String, message: String| {
        errors.push(CompositionError::new(code, None, Some(coordinate), message));
    };
    for ty in &supergraph.types {
        uses_inaccessible |= ty.applied.inaccessible;
        uses_tag |= ty.applied.others.iter().any(|d| d.starts_with("@tag("));
        for field in &ty.fields {
            uses_inaccessible |= field.applied.inaccessible;
            uses_tag |= field.applied.others.iter().any(|d| d.starts_with("@tag("));
            for arg in &field.args {
                uses_inaccessible |= arg.applied.inaccessible;
                uses_tag |= arg.applied.others.iter().any(|d| d.starts_with("@tag("));
            }
        }
        for field in &ty.input_fields {
            uses_inaccessible |= field.applied.inaccessible;
            uses_tag |= field.applied.others.iter().any(|d| d.starts_with("@tag("));
        }
        for value in &ty.values {
            uses_inaccessible |= value.applied.inaccessible;
            uses_tag |= value.applied.others.iter().any(|d| d.starts_with("@tag("));
        }
        if ty.applied.inaccessible {
            if matches!(ty.name.as_str(), "Query") {
                error(
                    CompositionErrorCode::QueryRootTypeInaccessible,
                    ty.name.clone(),
                    "the Query root type cannot be @inaccessible".into(),
                );
            }
            continue;
        }
        let name = &ty.name;
        for field in ty.fields.iter().filter(|f| !f.applied.inaccessible) {
            let coordinate = format!("{name}.{}", field.name);
            let target = field.ty.inner_named_type().as_str();
            if is_hidden(target) {
                error(
                    CompositionErrorCode::ReferencedInaccessible,
                    coordinate.clone(),
                    format!("{coordinate} is accessible but its type {target} is @inaccessible"),
                );
            }
            for arg in &field.args {
                let arg_coordinate = format!("{coordinate}({}:)", arg.name);
                if arg.applied.inaccessible {
                    if arg.ty.is_non_null() && arg.default.is_none() {
                        error(
                            CompositionErrorCode::RequiredInaccessible,
                            arg_coordinate.clone(),
                            format!(
                                "required argument {arg_coordinate} is @inaccessible but its field is accessible"
                            ),
                        );
                    }
                } else if is_hidden(arg.ty.inner_named_type().as_str()) {
                    error(
                        CompositionErrorCode::ReferencedInaccessible,
                        arg_coordinate.clone(),
                        format!(
                            "argument {arg_coordinate} is accessible but its type {} is @inaccessible",
                            arg.ty.inner_named_type()
                        ),
                    );
                }
            }
        }
        for field in &ty.input_fields {
            let coordinate = format!("{name}.{}", field.name);
            if field.applied.inaccessible {
                if field.ty.is_non_null() && field.default.is_none() {
                    error(
                        CompositionErrorCode::RequiredInaccessible,
                        coordinate.clone(),
                        format!(
                            "required input field {coordinate} is @inaccessible but {name} is accessible"
                        ),
                    );
                }
            } else if is_hidden(field.ty.inner_named_type().as_str()) {
                error(
                    CompositionErrorCode::ReferencedInaccessible,
                    coordinate.clone(),
                    format!(
                        "input field {coordinate} is accessible but its type {} is @inaccessible",
                        field.ty.inner_named_type()
                    ),
                );
            }
        }
        let all_children_hidden = match ty.kind {
            Kind::Object | Kind::Interface => {
                !ty.fields.is_empty() && ty.fields.iter().all(|f| f.applied.inaccessible)
            }
            Kind::Input => {
                !ty.input_fields.is_empty()
                    && ty.input_fields.iter().all(|f| f.applied.inaccessible)
            }
            Kind::Enum => !ty.values.is_empty() && ty.values.iter().all(|v| v.applied.inaccessible),
            Kind::Union => !ty.members.is_empty() && ty.members.iter().all(|m| is_hidden(m)),
            Kind::Scalar => false,
        };
        if all_children_hidden {
            error(
                CompositionErrorCode::OnlyInaccessibleChildren,
                name.clone(),
                format!("{name} is accessible but all its members are @inaccessible"),
            );
        }
    }
    supergraph.uses_inaccessible = uses_inaccessible;
    supergraph.uses_tag = uses_tag;
}
