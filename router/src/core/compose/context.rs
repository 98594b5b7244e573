//! `@context` / `@fromContext` (Federation 2.8) in one subgraph: a type sets
//! a named context, and an argument marked `@fromContext(field: "$name {
//! field }")` of a field below it is filled by the router with what that
//! selection finds on the nearest type setting the context. The argument
//! is not part of the supergraph field; `@join__field(contextArguments:)`
//! records where its value comes from.
//!
//! The rules (codes as in Apollo's composition):
//!
//! | code | when |
//! |---|---|
//! | `CONTEXT_NAME_INVALID` | a context name with `_` or other than letters, digits |
//! | `NO_CONTEXT_IN_SELECTION` | `field:` does not start with `$name` followed by a selection |
//! | `CONTEXT_NOT_SET` | no type sets the context; the argument has a default; the field is on an interface or implements an interface field |
//! | `CONTEXT_INVALID_SELECTION` | the selection is not one field (or inline fragments on object types), selects unknown fields, or its type is not the argument's |
//! | `CONTEXT_NO_RESOLVABLE_KEY` | the type of the field has no resolvable `@key` |

use std::collections::BTreeSet;

use apollo_compiler::ast::Type;

use super::fieldset::{self, Selection};
use super::model::{InputValueDef, Kind, Subgraph, TypeDef};
use super::{CompositionError, CompositionErrorCode};

/// `$name rest` → `(name, rest)`, `rest` as written (e.g. ` { locale }`);
/// `None` when `field:` does not start with a `$name`. Spaces, commas and
/// comments may come before the name.
pub(super) fn parse_reference(value: &str) -> Option<(String, String)> {
    let rest = skip_ignored(value).strip_prefix('$')?;
    let rest = skip_ignored(rest);
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((name.to_owned(), rest[end..].to_owned()))
}

fn skip_ignored(mut text: &str) -> &str {
    loop {
        let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r', ',']);
        match trimmed.strip_prefix('#') {
            Some(comment) => text = comment.find('\n').map_or("", |i| &comment[i..]),
            None => return trimmed,
        }
    }
}

/// The selection of a reference as a field set: `{ a }` and `a` alike.
fn parse_selection(selection: &str) -> Result<Vec<Selection>, String> {
    let trimmed = selection.trim();
    let inner = match trimmed.strip_prefix('{') {
        Some(open) => open
            .strip_suffix('}')
            .ok_or_else(|| "unbalanced braces".to_owned())?,
        None => trimmed,
    };
    fieldset::parse(inner)
}

/// The types of `subgraph` that set the context `name`.
fn locations<'a>(subgraph: &'a Subgraph, name: &str) -> Vec<&'a TypeDef> {
    subgraph
        .types
        .values()
        .filter(|t| t.contexts.iter().any(|c| c == name))
        .collect()
}

/// The object types a value of `ty` may be in `subgraph`.
fn possible_types<'a>(subgraph: &'a Subgraph, ty: &'a TypeDef) -> Vec<&'a str> {
    match ty.kind {
        Kind::Object => vec![ty.name.as_str()],
        Kind::Union => ty.members.iter().map(String::as_str).collect(),
        Kind::Interface => subgraph
            .implementations(&ty.name)
            .map(|t| t.name.as_str())
            .collect(),
        _ => Vec::new(),
    }
}

/// The `(type, field)`s the `@fromContext` selections of `subgraph` read on
/// the types setting their context (so an `@external` one is used).
pub(super) fn selected_fields(subgraph: &Subgraph) -> BTreeSet<(String, String)> {
    let mut selected = BTreeSet::new();
    let arguments = subgraph
        .types
        .values()
        .flat_map(|t| t.fields.values())
        .flat_map(|f| f.args.values());
    for reference in arguments.filter_map(|a| a.from_context.as_deref()) {
        let Some((context, selection)) = parse_reference(reference) else {
            continue;
        };
        let Ok(selections) = parse_selection(&selection) else {
            continue;
        };
        for location in locations(subgraph, &context) {
            mark(subgraph, &location.name, &selections, &mut selected);
        }
    }
    selected
}

fn mark(
    subgraph: &Subgraph,
    ty: &str,
    selections: &[Selection],
    selected: &mut BTreeSet<(String, String)>,
) {
    let Some(def) = subgraph.types.get(ty) else {
        return;
    };
    for selection in selections {
        match selection {
            Selection::Field { name, children, .. } => {
                let Some(field) = def.fields.get(name) else {
                    continue;
                };
                selected.insert((ty.to_owned(), name.clone()));
                if def.kind == Kind::Interface {
                    for implementation in possible_types(subgraph, def) {
                        selected.insert((implementation.to_owned(), name.clone()));
                    }
                }
                mark(
                    subgraph,
                    field.ty.inner_named_type().as_str(),
                    children,
                    selected,
                );
            }
            Selection::Fragment { on, children } => {
                mark(subgraph, on.as_deref().unwrap_or(ty), children, selected);
            }
        }
    }
}

/// Runs the context rules of one subgraph.
pub(super) fn check(subgraph: &Subgraph, errors: &mut Vec<CompositionError>) {
    let sub = Some(subgraph.name.as_str());
    for ty in subgraph.types.values() {
        for name in &ty.contexts {
            let well_formed = name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric());
            if !well_formed {
                errors.push(CompositionError::new(
                    CompositionErrorCode::ContextNameInvalid,
                    sub,
                    Some(ty.name.clone()),
                    format!(
                        "context name \"{name}\" on {} must be a letter followed by letters and digits (no underscores)",
                        ty.name
                    ),
                ));
            }
        }
        for field in ty.fields.values() {
            for arg in field.args.values() {
                if let Some(reference) = &arg.from_context {
                    let coordinate = format!("{}.{}({}:)", ty.name, field.name, arg.name);
                    let checked = Argument {
                        subgraph,
                        ty,
                        field: &field.name,
                        arg,
                        coordinate,
                    };
                    checked.check(reference, errors);
                }
            }
        }
    }
}

/// One contextual argument being checked.
struct Argument<'a> {
    subgraph: &'a Subgraph,
    ty: &'a TypeDef,
    field: &'a str,
    arg: &'a InputValueDef,
    coordinate: String,
}

impl Argument<'_> {
    fn error(&self, code: CompositionErrorCode, message: String) -> CompositionError {
        CompositionError::new(
            code,
            Some(&self.subgraph.name),
            Some(self.coordinate.clone()),
            message,
        )
    }

    fn check(&self, reference: &str, errors: &mut Vec<CompositionError>) {
        let coordinate = &self.coordinate;
        if self.ty.kind != Kind::Object {
            errors.push(self.error(
                CompositionErrorCode::ContextNotSet,
                format!("{coordinate} takes its value from a context, which only fields of object types may do, not fields of interfaces"),
            ));
            return;
        }
        for interface in &self.ty.implements {
            if self
                .subgraph
                .types
                .get(interface)
                .is_some_and(|i| i.fields.contains_key(self.field))
            {
                errors.push(self.error(
                    CompositionErrorCode::ContextNotSet,
                    format!("{coordinate} takes its value from a context, but {}.{} implements the field of interface {interface}", self.ty.name, self.field),
                ));
            }
        }
        if self.arg.default.is_some() {
            errors.push(self.error(
                CompositionErrorCode::ContextNotSet,
                format!(
                    "{coordinate} takes its value from a context and so cannot have a default value"
                ),
            ));
        }
        let Some((context, selection)) =
            parse_reference(reference).filter(|(_, selection)| !selection.is_empty())
        else {
            errors.push(self.error(
                CompositionErrorCode::NoContextInSelection,
                format!("@fromContext(field: \"{reference}\") on {coordinate} must name a context (`$name`) followed by a selection"),
            ));
            return;
        };
        let locations = locations(self.subgraph, &context);
        if locations.is_empty() {
            errors.push(self.error(
                CompositionErrorCode::ContextNotSet,
                format!("{coordinate} reads context \"{context}\", which no type of this subgraph sets with @context"),
            ));
        } else if let Err(why) = self.check_selection(&selection, &locations) {
            errors.push(self.error(
                CompositionErrorCode::ContextInvalidSelection,
                format!(
                    "{coordinate} reads `{}` from context \"{context}\": {why}",
                    selection.trim()
                ),
            ));
        }
        if !self.ty.keys.iter().any(|k| k.resolvable) {
            errors.push(self.error(
                CompositionErrorCode::ContextNoResolvableKey,
                format!("{coordinate} takes its value from a context, so {} needs a resolvable @key (the router fetches it as an entity)", self.ty.name),
            ));
        }
    }

    /// The selection must be one field, or inline fragments on distinct
    /// object types, and give the argument's type on every location.
    fn check_selection(&self, selection: &str, locations: &[&TypeDef]) -> Result<(), String> {
        let selections = parse_selection(selection)?;
        let expected = self.arg.ty.to_string();
        let fragments: Vec<(&str, &[Selection])> = selections
            .iter()
            .filter_map(|s| match s {
                Selection::Fragment { on, children } => {
                    Some((on.as_deref().unwrap_or_default(), children.as_slice()))
                }
                Selection::Field { .. } => None,
            })
            .collect();
        if fragments.is_empty() {
            if selections.len() != 1 {
                return Err("it must select a single field".into());
            }
            for location in locations {
                self.check_type(&location.name, &selections, &expected)?;
            }
            return Ok(());
        }
        if fragments.len() != selections.len() {
            return Err("it must select either one field or only inline fragments".into());
        }
        let conditions: BTreeSet<&str> = fragments.iter().map(|(on, _)| *on).collect();
        if conditions.len() != fragments.len() || conditions.contains("") {
            return Err("each inline fragment needs its own type condition".into());
        }
        let mut used = BTreeSet::new();
        for location in locations {
            let possible = possible_types(self.subgraph, location);
            let mut matched = false;
            for (on, children) in &fragments {
                match self.subgraph.types.get(*on).map(|t| t.kind) {
                    None => return Err(format!("type {on} does not exist")),
                    Some(Kind::Object) => {}
                    Some(_) => return Err(format!("type condition {on} is not an object type")),
                }
                if possible.contains(on) {
                    matched = true;
                    used.insert(*on);
                    self.check_type(on, children, &expected)?;
                }
            }
            if !matched {
                return Err(format!(
                    "no type condition applies to {}, which sets the context",
                    location.name
                ));
            }
        }
        if let Some(unused) = conditions.difference(&used).next() {
            return Err(format!(
                "type condition {unused} matches no type that sets the context"
            ));
        }
        Ok(())
    }

    fn check_type(&self, ty: &str, selections: &[Selection], expected: &str) -> Result<(), String> {
        let found = selected_type(self.subgraph, ty, selections)?;
        if found == expected {
            Ok(())
        } else {
            Err(format!(
                "on {ty} it gives {found} but the argument is {expected} (a context value is always nullable)"
            ))
        }
    }
}

/// The type a selection gives on `ty`, without non-null markers (a context
/// value may be missing); every field selected side by side must agree.
fn selected_type(
    subgraph: &Subgraph,
    ty: &str,
    selections: &[Selection],
) -> Result<String, String> {
    let mut found: Option<String> = None;
    for selection in selections {
        let Selection::Field { name, children, .. } = selection else {
            return Err("inline fragments are only allowed at the top of the selection".into());
        };
        let this = if name == "__typename" {
            "String".to_owned()
        } else {
            let field = subgraph
                .types
                .get(ty)
                .and_then(|t| t.fields.get(name))
                .ok_or_else(|| format!("{ty}.{name} does not exist"))?;
            let inner = field.ty.inner_named_type().as_str();
            let composite = subgraph
                .types
                .get(inner)
                .is_some_and(|t| matches!(t.kind, Kind::Object | Kind::Interface | Kind::Union));
            let leaf = if children.is_empty() {
                if composite {
                    return Err(format!(
                        "{ty}.{name} is of composite type {inner} and needs a selection"
                    ));
                }
                inner.to_owned()
            } else {
                if !composite {
                    return Err(format!(
                        "{ty}.{name} is of leaf type {inner} and takes no selection"
                    ));
                }
                selected_type(subgraph, inner, children)?
            };
            wrap_lists(&field.ty, leaf)
        };
        match &found {
            Some(previous) if *previous != this => {
                return Err(format!(
                    "the fields it selects have different types ({previous} and {this})"
                ));
            }
            _ => found = Some(this),
        }
    }
    found.ok_or_else(|| "it selects nothing".to_owned())
}

/// `leaf` in the list wrappers of `ty`, without non-null markers.
fn wrap_lists(ty: &Type, leaf: String) -> String {
    match ty {
        Type::Named(_) | Type::NonNullNamed(_) => leaf,
        Type::List(inner) | Type::NonNullList(inner) => format!("[{}]", wrap_lists(inner, leaf)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_context_and_selection() {
        assert_eq!(
            parse_reference("$user { locale }"),
            Some(("user".into(), " { locale }".into()))
        );
        assert_eq!(
            parse_reference("  $ ctx ... on A { x }"),
            Some(("ctx".into(), " ... on A { x }".into()))
        );
        assert_eq!(parse_reference("{ locale }"), None);
        assert_eq!(parse_reference("$1x { a }"), None);
    }

    #[test]
    fn selections_parse_with_or_without_braces() {
        assert_eq!(parse_selection(" { a { b } }").map(|s| s.len()), Ok(1));
        assert_eq!(parse_selection(" a").map(|s| s.len()), Ok(1));
        assert!(parse_selection(" { a ").is_err());
    }
}
