//! `MISSING_TRANSITIVE_AUTH_REQUIREMENTS`, as Apollo's composition checks it
//! after merging: a field that reads other data of the supergraph to
//! resolve (through `@requires`, or through an argument filled by
//! `@fromContext`) would hand that data to callers who may not see it, so
//! the field (with its type) must need at least what the data needs.
//!
//! - `@requires`: every field its selection reads (and the field's output
//!   type, and every type condition) must need no more than it does.
//! - `@fromContext`: for each context argument, every type that sets the
//!   context must need no more than the field does, and so must everything
//!   the context's selection reads from that type (as for `@requires`).
//!
//! # Layout
//! - [`check`]: both checks over the merged supergraph.
//! - `Needs`: what a caller of one field has proven (its requirements and
//!   its type's, together), and whether that meets other requirements.
//! - `first_unmet`: the first selection whose requirements are not met.

use std::collections::HashMap;

use super::super::fieldset::{self, Selection};
use super::super::model::{Access, AccessKind, Subgraph};
use super::access::dnf_conjunction;
use super::model::{JoinField, SuperType};
use crate::core::compose::{CompositionError, CompositionErrorCode};

/// Checks every field with `@requires` (first) and every field with a
/// `@fromContext` argument, pushing one error per subgraph and selection
/// that reads data needing more than the field.
pub(super) fn check(
    subgraphs: &[Subgraph],
    types: &[SuperType],
    graphs: &[(String, String, String)],
    errors: &mut Vec<CompositionError>,
) {
    let checker = Checker {
        types: types.iter().map(|t| (t.name.as_str(), t)).collect(),
        contexts: contexts(subgraphs),
        graphs,
    };
    for ty in types {
        for field in &ty.fields {
            for join in &field.join_fields {
                checker.check_requires(ty, &field.name, &field.applied.access, join, errors);
            }
        }
    }
    for ty in types {
        for field in &ty.fields {
            for join in &field.join_fields {
                checker.check_from_context(ty, &field.name, &field.applied.access, join, errors);
            }
        }
    }
}

/// The types that set each context, by the context's supergraph name
/// (`<subgraph>__<name>`, as `@join__field(contextArguments:)` names it).
fn contexts(subgraphs: &[Subgraph]) -> HashMap<String, Vec<String>> {
    let mut contexts: HashMap<String, Vec<String>> = HashMap::new();
    for subgraph in subgraphs {
        for ty in subgraph.types.values() {
            for name in &ty.contexts {
                contexts
                    .entry(format!("{}__{name}", subgraph.name))
                    .or_default()
                    .push(ty.name.clone());
            }
        }
    }
    for names in contexts.values_mut() {
        names.sort();
        names.dedup();
    }
    contexts
}

struct Checker<'a> {
    types: HashMap<&'a str, &'a SuperType>,
    contexts: HashMap<String, Vec<String>>,
    graphs: &'a [(String, String, String)],
}

impl Checker<'_> {
    fn check_requires(
        &self,
        ty: &SuperType,
        field: &str,
        access: &[Access],
        join: &JoinField,
        errors: &mut Vec<CompositionError>,
    ) {
        let Some(requires) = &join.requires else {
            return;
        };
        let Ok(selections) = fieldset::parse(requires) else {
            return;
        };
        let mut needs = Needs::of(&ty.applied.access);
        needs.add(access);
        if let Some(what) = self.first_unmet(&needs, &ty.name, &selections) {
            errors.push(self.error(ty, field, join, &what, "@requires"));
        }
    }

    fn check_from_context(
        &self,
        ty: &SuperType,
        field: &str,
        access: &[Access],
        join: &JoinField,
        errors: &mut Vec<CompositionError>,
    ) {
        let mut needs = Needs::of(&ty.applied.access);
        needs.add(access);
        for argument in &join.context_arguments {
            let Some(targets) = self.contexts.get(&argument.context) else {
                continue;
            };
            for target in targets {
                let target_access = self
                    .types
                    .get(target.as_str())
                    .map_or(&[][..], |t| t.applied.access.as_slice());
                let unmet = if needs.satisfies(target_access) {
                    parse_selection(&argument.selection)
                        .and_then(|selections| self.first_unmet(&needs, target, &selections))
                } else {
                    Some(format!("data in context {}", argument.context))
                };
                if let Some(what) = unmet {
                    errors.push(self.error(ty, field, join, &what, "@fromContext"));
                }
            }
        }
    }

    fn error(
        &self,
        ty: &SuperType,
        field: &str,
        join: &JoinField,
        what: &str,
        directive: &str,
    ) -> CompositionError {
        let coordinate = format!("{}.{field}", ty.name);
        let subgraph = self
            .graphs
            .iter()
            .find(|(id, _, _)| *id == join.graph)
            .map(|(_, name, _)| name.as_str());
        CompositionError::new(
            CompositionErrorCode::MissingTransitiveAuthRequirements,
            subgraph,
            Some(coordinate.clone()),
            format!(
                "Field \"{coordinate}\" does not specify necessary @authenticated, @requiresScopes and/or @policy auth requirements to access the transitive {what} from {directive} selection set."
            ),
        )
    }

    /// The first selection under `parent` whose requirements `needs` does
    /// not meet, described as Apollo's message does.
    fn first_unmet(&self, needs: &Needs, parent: &str, selections: &[Selection]) -> Option<String> {
        for selection in selections {
            match selection {
                Selection::Field { name, children, .. } => {
                    let Some(field) = self
                        .types
                        .get(parent)
                        .and_then(|t| t.fields.iter().find(|f| f.name == *name))
                    else {
                        continue;
                    };
                    let output = field.ty.inner_named_type().as_str();
                    if !needs.satisfies(&field.applied.access)
                        || !needs.satisfies(self.access_of(output))
                    {
                        return Some(format!("field \"{parent}.{name}\" data"));
                    }
                    if let Some(unmet) = self.first_unmet(needs, output, children) {
                        return Some(unmet);
                    }
                }
                Selection::Fragment { on, children } => {
                    if let Some(condition) = on
                        && !needs.satisfies(self.access_of(condition))
                    {
                        return Some(format!(
                            "data in inline fragment type condition \"{condition}\""
                        ));
                    }
                    let inner = on.as_deref().unwrap_or(parent);
                    if let Some(unmet) = self.first_unmet(needs, inner, children) {
                        return Some(unmet);
                    }
                }
            }
        }
        None
    }

    fn access_of(&self, ty: &str) -> &[Access] {
        self.types
            .get(ty)
            .map_or(&[][..], |t| t.applied.access.as_slice())
    }
}

/// A context selection as a field set: `{ a }` and `a` alike.
fn parse_selection(selection: &str) -> Option<Vec<Selection>> {
    let trimmed = selection.trim();
    let inner = match trimmed.strip_prefix('{') {
        Some(open) => open.strip_suffix('}')?,
        None => trimmed,
    };
    fieldset::parse(inner).ok()
}

/// What a caller of a field has proven: the field's and its type's
/// requirements together.
#[derive(Debug, Default)]
struct Needs {
    authenticated: bool,
    scopes: Option<Vec<Vec<String>>>,
    policies: Option<Vec<Vec<String>>>,
}

impl Needs {
    fn of(access: &[Access]) -> Needs {
        let mut needs = Needs::default();
        needs.add(access);
        needs
    }

    fn add(&mut self, access: &[Access]) {
        for a in access {
            let slot = match a.kind {
                AccessKind::Authenticated => {
                    self.authenticated = true;
                    continue;
                }
                AccessKind::RequiresScopes => &mut self.scopes,
                AccessKind::Policy => &mut self.policies,
            };
            *slot = Some(match slot.take() {
                Some(held) => dnf_conjunction(vec![held, a.value.clone()]),
                None => a.value.clone(),
            });
        }
    }

    /// Whether a caller meeting these needs always meets `other` too.
    fn satisfies(&self, other: &[Access]) -> bool {
        let other = Needs::of(other);
        (self.authenticated || !other.authenticated)
            && implies(self.scopes.as_ref(), other.scopes.as_ref())
            && implies(self.policies.as_ref(), other.policies.as_ref())
    }
}

/// Whether every conjunction of `first` contains one of `second`'s.
fn implies(first: Option<&Vec<Vec<String>>>, second: Option<&Vec<Vec<String>>>) -> bool {
    let truth = vec![Vec::new()];
    let first = first.filter(|f| !f.is_empty()).unwrap_or(&truth);
    let second = second.filter(|s| !s.is_empty()).unwrap_or(&truth);
    first.iter().all(|all| {
        second
            .iter()
            .any(|needed| needed.iter().all(|e| all.contains(e)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(value: &[&[&str]]) -> Access {
        Access {
            kind: AccessKind::RequiresScopes,
            value: value
                .iter()
                .map(|inner| inner.iter().map(|s| (*s).to_owned()).collect())
                .collect(),
        }
    }

    #[test]
    fn a_caller_with_more_scopes_meets_fewer() {
        let needs = Needs::of(&[scopes(&[&["a", "b"]])]);
        assert!(needs.satisfies(&[scopes(&[&["a"]])]));
        assert!(needs.satisfies(&[scopes(&[&["c"], &["b"]])]));
        assert!(!needs.satisfies(&[scopes(&[&["c"]])]));
    }

    #[test]
    fn an_alternative_the_caller_may_take_must_meet_the_data() {
        let needs = Needs::of(&[scopes(&[&["a"], &["b"]])]);
        assert!(!needs.satisfies(&[scopes(&[&["a"]])]));
        assert!(needs.satisfies(&[scopes(&[&["a"], &["b"]])]));
    }

    #[test]
    fn context_selections_parse_with_or_without_braces() {
        assert_eq!(parse_selection(" { prop }"), parse_selection("prop"));
        assert!(parse_selection("{ prop").is_none());
    }
}
