//! Checks of one subgraph on its own: references to defined types, `@key`,
//! `@requires`, `@provides`, `@external` use and `@override` misuse (the
//! `@context` rules are in `context`).

use std::collections::HashSet;

use super::fieldset::{self, Selection};
use super::model::{Kind, Subgraph, TypeDef};
use super::{CompositionError, CompositionErrorCode};

const BUILT_IN_SCALARS: &[&str] = &["Int", "Float", "String", "Boolean", "ID"];

/// The `(type, field)` pairs the subgraph's key, requires and provides field
/// sets and its `@fromContext` selections select (the fields an `@external`
/// may be used by).
pub(super) fn field_set_usages(subgraph: &Subgraph) -> HashSet<(String, String)> {
    let mut used = HashSet::new();
    for ty in subgraph.types.values() {
        for key in &ty.keys {
            if let Ok(selections) = fieldset::parse(&key.fields) {
                walk(subgraph, &ty.name, &selections, &mut |t, f| {
                    used.insert((t.to_owned(), f.to_owned()));
                });
            }
        }
        for field in ty.fields.values() {
            if let Some(Ok(selections)) = field.requires.as_deref().map(fieldset::parse) {
                walk(subgraph, &ty.name, &selections, &mut |t, f| {
                    used.insert((t.to_owned(), f.to_owned()));
                });
            }
            if let Some(Ok(selections)) = field.provides.as_deref().map(fieldset::parse) {
                let target = field.ty.inner_named_type().to_string();
                walk(subgraph, &target, &selections, &mut |t, f| {
                    used.insert((t.to_owned(), f.to_owned()));
                });
            }
        }
    }
    used.extend(super::context::selected_fields(subgraph));
    used
}

/// Visits every `(type, field)` a field set selects; returns the names of
/// fields that do not exist (as `Type.field`).
fn walk(
    subgraph: &Subgraph,
    type_name: &str,
    selections: &[Selection],
    visit: &mut dyn FnMut(&str, &str),
) -> Vec<String> {
    let mut unknown = Vec::new();
    for selection in selections {
        match selection {
            Selection::Field { name, children, .. } => {
                if name == "__typename" {
                    continue;
                }
                let field = subgraph
                    .types
                    .get(type_name)
                    .and_then(|t| t.fields.get(name));
                match field {
                    Some(field) => {
                        visit(type_name, name);
                        let inner = field.ty.inner_named_type().to_string();
                        unknown.extend(walk(subgraph, &inner, children, visit));
                    }
                    None => unknown.push(format!("{type_name}.{name}")),
                }
            }
            Selection::Fragment { on, children } => {
                let target = on.as_deref().unwrap_or(type_name);
                unknown.extend(walk(subgraph, target, children, visit));
            }
        }
    }
    unknown
}

fn type_exists(subgraph: &Subgraph, name: &str) -> bool {
    BUILT_IN_SCALARS.contains(&name) || subgraph.types.contains_key(name)
}

/// Runs every single-subgraph rule and appends what it finds.
/// `@authenticated`, `@requiresScopes` and `@policy` may not sit on an
/// interface, its fields or an `@interfaceObject` type (composition derives
/// an interface's requirements from its implementations); the fields of an
/// `@interfaceObject` may carry them.
fn check_access_on_interface(
    subgraph: &Subgraph,
    ty: &TypeDef,
    errors: &mut Vec<CompositionError>,
) {
    if ty.kind != Kind::Interface && !ty.interface_object {
        return;
    }
    let what = if ty.interface_object {
        "interface object"
    } else {
        "interface"
    };
    let mut report = |what: &str, coordinate: String, access: &[super::model::Access]| {
        for directive in access {
            let name = directive.kind.spec();
            errors.push(CompositionError::new(
                CompositionErrorCode::AuthRequirementsAppliedOnInterface,
                Some(&subgraph.name),
                Some(coordinate.clone()),
                format!(
                    "Invalid use of @{name} on {what} \"{coordinate}\": @{name} cannot be applied on interfaces, interface fields and interface objects"
                ),
            ));
        }
    };
    report(what, ty.name.clone(), &ty.applied.access);
    // The fields of an `@interfaceObject` may carry requirements: the
    // supergraph puts them on the interface's field and on every
    // implementation's.
    if ty.kind == Kind::Interface {
        for field in ty.fields.values() {
            report(
                "field",
                format!("{}.{}", ty.name, field.name),
                &field.applied.access,
            );
        }
    }
}

pub(super) fn check_subgraph(subgraph: &Subgraph, errors: &mut Vec<CompositionError>) {
    let sub = Some(subgraph.name.as_str());
    let error = |code, coordinate: String, message: String| {
        CompositionError::new(code, sub, Some(coordinate), message)
    };
    for ty in subgraph.types.values() {
        check_references(subgraph, ty, errors);
        check_access_on_interface(subgraph, ty, errors);
        for key in &ty.keys {
            check_field_set(subgraph, ty, &ty.name, &key.fields, "KEY", errors);
        }
        for field in ty.fields.values() {
            let coordinate = format!("{}.{}", ty.name, field.name);
            if let Some(requires) = &field.requires {
                check_field_set(subgraph, ty, &ty.name, requires, "REQUIRES", errors);
            }
            if let Some(provides) = &field.provides {
                let target = field.ty.inner_named_type().to_string();
                match subgraph.types.get(&target) {
                    Some(t) if matches!(t.kind, Kind::Object | Kind::Interface | Kind::Union) => {
                        check_field_set(subgraph, t, &target, provides, "PROVIDES", errors);
                    }
                    _ => errors.push(error(
                        CompositionErrorCode::ProvidesOnNonObjectField,
                        coordinate.clone(),
                        format!(
                            "@provides on {coordinate}, whose type {target} is not a composite type"
                        ),
                    )),
                }
            }
            if let Some(from) = &field.override_from {
                if from == &subgraph.name {
                    errors.push(error(
                        CompositionErrorCode::OverrideFromSelfError,
                        coordinate.clone(),
                        format!("{coordinate} overrides its own subgraph \"{from}\""),
                    ));
                }
                if field.external {
                    errors.push(error(
                        CompositionErrorCode::OverrideCollisionWithAnotherDirective,
                        coordinate.clone(),
                        format!("{coordinate} cannot be both @override and @external"),
                    ));
                }
            }
        }
    }
    if !subgraph.fed1 {
        check_external_used(subgraph, errors);
    }
    super::context::check(subgraph, errors);
    super::cost::check(subgraph, errors);
}

fn check_references(subgraph: &Subgraph, ty: &TypeDef, errors: &mut Vec<CompositionError>) {
    let sub = Some(subgraph.name.as_str());
    let mut missing = |coordinate: String, name: &str| {
        if !type_exists(subgraph, name) {
            errors.push(CompositionError::new(
                CompositionErrorCode::InvalidGraphql,
                sub,
                Some(coordinate),
                format!("unknown type {name}"),
            ));
        }
    };
    for field in ty.fields.values() {
        let coordinate = format!("{}.{}", ty.name, field.name);
        missing(coordinate.clone(), field.ty.inner_named_type().as_str());
        for arg in field.args.values() {
            missing(
                format!("{coordinate}({}:)", arg.name),
                arg.ty.inner_named_type().as_str(),
            );
        }
    }
    for field in ty.input_fields.values() {
        missing(
            format!("{}.{}", ty.name, field.name),
            field.ty.inner_named_type().as_str(),
        );
    }
    for name in ty.implements.iter().chain(&ty.members) {
        missing(ty.name.clone(), name);
    }
}

/// Checks a key/requires/provides field set against `target` (the type it
/// selects from). `rule` is `KEY`, `REQUIRES` or `PROVIDES`.
fn check_field_set(
    subgraph: &Subgraph,
    owner: &TypeDef,
    target: &str,
    fields: &str,
    rule: &'static str,
    errors: &mut Vec<CompositionError>,
) {
    let sub = Some(subgraph.name.as_str());
    let (invalid, missing_external) = match rule {
        "KEY" => (CompositionErrorCode::KeyInvalidFields, None),
        "REQUIRES" => (
            CompositionErrorCode::RequiresInvalidFields,
            Some(CompositionErrorCode::RequiresFieldsMissingExternal),
        ),
        _ => (
            CompositionErrorCode::ProvidesInvalidFields,
            Some(CompositionErrorCode::ProvidesFieldsMissingExternal),
        ),
    };
    let directive = rule.to_ascii_lowercase();
    let selections = match fieldset::parse(fields) {
        Ok(selections) => selections,
        Err(why) => {
            errors.push(CompositionError::new(
                invalid,
                sub,
                Some(owner.name.clone()),
                format!(
                    "@{directive}(fields: \"{fields}\") on {} is invalid: {why}",
                    owner.name
                ),
            ));
            return;
        }
    };
    let mut selected = Vec::new();
    let unknown = walk(subgraph, target, &selections, &mut |t, f| {
        selected.push((t.to_owned(), f.to_owned()));
    });
    for name in unknown {
        errors.push(CompositionError::new(
            invalid,
            sub,
            Some(owner.name.clone()),
            format!("@{directive}(fields: \"{fields}\") selects {name}, which does not exist"),
        ));
    }
    for (type_name, field_name) in &selected {
        let Some(field) = subgraph
            .types
            .get(type_name)
            .and_then(|t| t.fields.get(field_name))
        else {
            continue;
        };
        let coordinate = format!("{type_name}.{field_name}");
        if rule == "KEY" {
            let inner = field.ty.inner_named_type();
            let leaf_kind = subgraph.types.get(inner.as_str()).map(|t| t.kind);
            if matches!(leaf_kind, Some(Kind::Interface | Kind::Union)) {
                errors.push(CompositionError::new(
                    CompositionErrorCode::KeyFieldsSelectInvalidType,
                    sub,
                    Some(owner.name.clone()),
                    format!(
                        "@key on {} selects {coordinate}, of interface or union type {inner}",
                        owner.name
                    ),
                ));
            }
            if !field.args.is_empty() {
                errors.push(CompositionError::new(
                    CompositionErrorCode::KeyFieldsHasArgs,
                    sub,
                    Some(owner.name.clone()),
                    format!(
                        "@key on {} selects {coordinate}, which has arguments",
                        owner.name
                    ),
                ));
            }
        }
    }
    if let (Some(missing_external), false) = (missing_external, subgraph.fed1) {
        let mut leaves = Vec::new();
        non_external_leaves(subgraph, target, &selections, false, &mut leaves);
        for coordinate in leaves {
            errors.push(CompositionError::new(
                missing_external,
                sub,
                Some(owner.name.clone()),
                format!(
                    "@{directive}(fields: \"{fields}\") selects {coordinate}, which is not marked @external"
                ),
            ));
        }
    }
}

/// The leaf fields of a requires/provides selection that are neither
/// `@external` nor under an `@external` field (fields with a sub-selection
/// may be local: only what they lead to has to come from elsewhere).
fn non_external_leaves(
    subgraph: &Subgraph,
    type_name: &str,
    selections: &[Selection],
    under_external: bool,
    found: &mut Vec<String>,
) {
    for selection in selections {
        match selection {
            Selection::Field { name, children, .. } => {
                let Some(field) = subgraph
                    .types
                    .get(type_name)
                    .and_then(|t| t.fields.get(name))
                else {
                    continue;
                };
                let external = under_external
                    || effectively_external(subgraph, type_name, name)
                    || (!children.is_empty()
                        && external_in_an_implementation(subgraph, type_name, name));
                if children.is_empty() {
                    if !external {
                        found.push(format!("{type_name}.{name}"));
                    }
                } else {
                    let inner = field.ty.inner_named_type().to_string();
                    non_external_leaves(subgraph, &inner, children, external, found);
                }
            }
            Selection::Fragment { on, children } => {
                let target = on.as_deref().unwrap_or(type_name);
                non_external_leaves(subgraph, target, children, under_external, found);
            }
        }
    }
}

/// Whether an interface's field is `@external` in one of the subgraph's
/// implementations of it: what a selection under it provides or requires
/// then comes from elsewhere (as in Apollo's composition).
fn external_in_an_implementation(subgraph: &Subgraph, interface: &str, field: &str) -> bool {
    subgraph
        .types
        .get(interface)
        .is_some_and(|t| t.kind == Kind::Interface)
        && subgraph.types.values().any(|t| {
            t.implements.iter().any(|i| i == interface)
                && t.fields.get(field).is_some_and(|f| f.external)
        })
}

/// Whether a field is external for the rules: `@external` on a key field of a
/// type extension only says the field is defined elsewhere too (Federation 1
/// style), so such a field is not.
pub(super) fn effectively_external(subgraph: &Subgraph, type_name: &str, field_name: &str) -> bool {
    let Some(ty) = subgraph.types.get(type_name) else {
        return false;
    };
    let external = ty.fields.get(field_name).is_some_and(|f| f.external);
    let key_of_extension = ty.extension
        && ty.keys.iter().any(|key| {
            fieldset::parse(&key.fields).is_ok_and(|selections| {
                selections
                    .iter()
                    .any(|s| matches!(s, Selection::Field { name, .. } if name == field_name))
            })
        });
    external && !key_of_extension
}

/// `EXTERNAL_UNUSED`: an `@external` field no key, requires or provides uses
/// (and that implements no interface field).
fn check_external_used(subgraph: &Subgraph, errors: &mut Vec<CompositionError>) {
    let used = field_set_usages(subgraph);
    for ty in subgraph.types.values() {
        for field in ty.fields.values().filter(|f| f.external) {
            let for_interface = ty.implements.iter().any(|i| {
                subgraph
                    .types
                    .get(i)
                    .is_some_and(|i| i.fields.contains_key(&field.name))
            });
            if !for_interface && !used.contains(&(ty.name.clone(), field.name.clone())) {
                errors.push(CompositionError::new(
                    CompositionErrorCode::ExternalUnused,
                    Some(&subgraph.name),
                    Some(format!("{}.{}", ty.name, field.name)),
                    format!(
                        "{}.{} is marked @external but no @key, @requires or @provides uses it",
                        ty.name, field.name
                    ),
                ));
            }
        }
    }
}
