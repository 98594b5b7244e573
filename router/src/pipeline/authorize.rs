//! Authorize: before planning, the fields and types the caller may not see
//! (`@authenticated`, `@requiresScopes`, `@policy`; the supergraph's
//! [`AccessRules`]) are removed from the normalised operation, as Apollo
//! Router does. Each removed selection answers `null` with an
//! `UNAUTHORIZED_FIELD_OR_TYPE` error at its path and is never requested
//! from a subgraph; a selection set left empty takes its field with it; an
//! operation left with nothing to fetch is refused (401 for an anonymous
//! caller, 403 otherwise).
//!
//! The rules, per selection:
//! - a field: its own requirement, its parent type's, its output type's;
//!   on an interface, also every implementation's requirement and the same
//!   field's requirement there (what any of them protects is protected);
//! - an inline fragment: its type condition's requirement.
//!
//! # Layout
//! - [`Grants`]: what the caller holds (token, scopes, policies by the
//!   settings' rules) and [`Grants::allows`].
//! - [`authorize`]: the walk; [`Outcome`] and [`Unauthorized`].

use apollo_compiler::ExecutableDocument;
use apollo_compiler::executable::{Operation, Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use serde_json::Value;

use super::error::StageError;
use crate::auth::Identity;
use crate::core::supergraph::Supergraph;
use crate::core::supergraph::access::{AccessRules, Requirement};
use crate::execute::data::{Data, Object};
use crate::response::{GraphqlError, PathSegment, codes};
use crate::settings::AuthorizationSettings;

/// The message of every removed selection's error (Apollo Router's).
pub const UNAUTHORIZED_MESSAGE: &str = "Unauthorized field or type";

/// What the caller holds.
#[derive(Debug, Clone, Copy)]
pub struct Grants<'a> {
    /// The verified token's claims; `None` when anonymous.
    pub identity: Option<&'a Identity>,
    /// The scope claim and the policy rules.
    pub settings: &'a AuthorizationSettings,
    /// The policies the policy service granted this request (for those no
    /// rule in the settings decides).
    pub granted: &'a [String],
}

impl Grants<'_> {
    /// Whether the caller meets `requirement`.
    pub fn allows(&self, requirement: &Requirement) -> bool {
        if requirement.is_empty() {
            return true;
        }
        let Some(identity) = self.identity else {
            return false;
        };
        let scopes = identity.scopes(&self.settings.scope_claim);
        let scopes_ok = requirement.scopes.is_empty()
            || requirement
                .scopes
                .iter()
                .any(|all| all.iter().all(|s| scopes.contains(&s.as_str())));
        let policies_ok = requirement.policies.is_empty()
            || requirement
                .policies
                .iter()
                .any(|all| all.iter().all(|p| self.policy_holds(identity, p)));
        scopes_ok && policies_ok
    }

    /// Whether policy `name` holds for `identity` by the settings' rule: every
    /// claim the rule names equals one of its values (for an array claim, one
    /// element does). A policy without a rule holds only if the policy
    /// service granted it.
    fn policy_holds(&self, identity: &Identity, name: &str) -> bool {
        let Some(rule) = self.settings.policies.get(name) else {
            return self.granted.iter().any(|g| g == name);
        };
        rule.iter()
            .all(|(claim, accepted)| match identity.claims.get(claim) {
                Some(Value::Array(items)) => items.iter().any(|item| accepted.contains(item)),
                Some(value) => accepted.contains(value),
                None => false,
            })
    }
}

/// The operation the caller may run.
#[derive(Debug)]
pub enum Outcome {
    /// Nothing was removed: run the operation as prepared.
    Unchanged,
    /// Some selections were removed.
    Filtered {
        /// The operation without them (still normalised).
        document: Box<Valid<ExecutableDocument>>,
        /// One error per removed selection.
        errors: Vec<GraphqlError>,
        /// The response paths of the removed fields (response keys, lists
        /// not counted), to strip whatever a subgraph sends there anyway.
        fields: Vec<Vec<String>>,
    },
}

/// Every field of the operation was removed: nothing is left to run.
#[derive(Debug, Clone)]
pub struct Unauthorized {
    /// One error per removed selection.
    pub errors: Vec<GraphqlError>,
    /// Whether the caller was anonymous (401) rather than lacking a grant (403).
    pub anonymous: bool,
}

impl std::fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(UNAUTHORIZED_MESSAGE)
    }
}

impl StageError for Unauthorized {
    fn code(&self) -> &'static str {
        codes::UNAUTHORIZED_FIELD_OR_TYPE
    }

    fn status(&self) -> u16 {
        if self.anonymous { 401 } else { 403 }
    }

    fn into_errors(self) -> Vec<GraphqlError> {
        self.errors
    }
}

/// Removes what `grants` do not allow from the one operation of the
/// normalised `document`.
pub fn authorize(
    supergraph: &Supergraph,
    document: &Valid<ExecutableDocument>,
    grants: Grants<'_>,
) -> Result<Outcome, Unauthorized> {
    let rules = &supergraph.access;
    if rules.is_empty() {
        return Ok(Outcome::Unchanged);
    }
    let Some(operation) = document.operations.iter().next() else {
        return Ok(Outcome::Unchanged);
    };
    let mut walk = Walk {
        supergraph,
        grants,
        removed: Vec::new(),
        path: Vec::new(),
    };
    if !walk.denies_any(&operation.selection_set) {
        return Ok(Outcome::Unchanged);
    }
    let mut filtered: Operation = operation.as_ref().clone();
    walk.filter(&mut filtered.selection_set);
    let fields: Vec<Vec<String>> = walk
        .removed
        .iter()
        .filter(|(_, field)| *field)
        .map(|(path, _)| path.clone())
        .collect();
    let errors: Vec<GraphqlError> = walk
        .removed
        .into_iter()
        .map(|(path, _)| {
            GraphqlError::new(UNAUTHORIZED_MESSAGE, codes::UNAUTHORIZED_FIELD_OR_TYPE)
                .with_path(path.into_iter().map(PathSegment::Key).collect())
        })
        .collect();
    let fetches_something = filtered
        .selection_set
        .selections
        .iter()
        .any(|s| !matches!(s, Selection::Field(f) if f.name.starts_with("__")));
    if !fetches_something {
        return Err(Unauthorized {
            errors,
            anonymous: grants.identity.is_none(),
        });
    }
    let mut out = ExecutableDocument::new();
    out.sources = document.sources.clone();
    out.operations.insert(filtered);
    Ok(Outcome::Filtered {
        // Removing selections from a valid normalised operation leaves it
        // valid: no selection set is left empty, variables may go unused.
        document: Box::new(Valid::assume_valid(out)),
        errors,
        fields,
    })
}

/// What selecting `parent.field` (of type `output`) requires: the field's
/// own requirement, its parent's and its output type's, and on an
/// interface every implementation's and its field's there.
fn field_requirements<'s>(
    supergraph: &'s Supergraph,
    parent: &str,
    field: &str,
    output: &str,
) -> Vec<&'s Requirement> {
    let rules = &supergraph.access;
    let mut all: Vec<&Requirement> = [
        rules.of_type(parent),
        rules.of_field(parent, field),
        rules.of_type(output),
    ]
    .into_iter()
    .flatten()
    .collect();
    if matches!(
        supergraph.api_schema.types.get(parent),
        Some(ExtendedType::Interface(_))
    ) {
        for object in supergraph.possible_types(parent) {
            all.extend(rules.of_type(&object));
            all.extend(rules.of_field(&object, field));
        }
    }
    all
}

/// Every `@policy` name an operation's selections may need decided, sorted.
pub fn policies_involved(supergraph: &Supergraph, document: &ExecutableDocument) -> Vec<String> {
    fn walk<'s>(supergraph: &'s Supergraph, set: &SelectionSet, out: &mut Vec<&'s Requirement>) {
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    if !field.name.starts_with("__") {
                        out.extend(field_requirements(
                            supergraph,
                            &set.ty,
                            &field.name,
                            field.ty().inner_named_type(),
                        ));
                    }
                    walk(supergraph, &field.selection_set, out);
                }
                Selection::InlineFragment(fragment) => {
                    if let Some(condition) = &fragment.type_condition {
                        out.extend(supergraph.access.of_type(condition));
                    }
                    walk(supergraph, &fragment.selection_set, out);
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    if supergraph.access.is_empty() {
        return Vec::new();
    }
    let mut requirements = Vec::new();
    for operation in document.operations.iter() {
        walk(supergraph, &operation.selection_set, &mut requirements);
    }
    let mut names: Vec<String> = requirements
        .into_iter()
        .flat_map(|r| r.policies.iter().flatten().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

struct Walk<'a> {
    supergraph: &'a Supergraph,
    grants: Grants<'a>,
    /// The response paths of removed selections, and whether each is a
    /// field (else an inline fragment at that path).
    removed: Vec<(Vec<String>, bool)>,
    path: Vec<String>,
}

impl Walk<'_> {
    fn type_allowed(&self, name: &str) -> bool {
        self.supergraph
            .access
            .of_type(name)
            .is_none_or(|r| self.grants.allows(r))
    }

    fn field_allowed(&self, parent: &str, field: &str, output: &str) -> bool {
        field_requirements(self.supergraph, parent, field, output)
            .into_iter()
            .all(|r| self.grants.allows(r))
    }

    /// Whether anything under `set` would be removed.
    fn denies_any(&self, set: &SelectionSet) -> bool {
        set.selections.iter().any(|selection| match selection {
            Selection::Field(field) => {
                (!field.name.starts_with("__")
                    && !self.field_allowed(&set.ty, &field.name, field.ty().inner_named_type()))
                    || self.denies_any(&field.selection_set)
            }
            Selection::InlineFragment(fragment) => {
                fragment
                    .type_condition
                    .as_ref()
                    .is_some_and(|t| !self.type_allowed(t))
                    || self.denies_any(&fragment.selection_set)
            }
            Selection::FragmentSpread(_) => false,
        })
    }

    /// Removes what is not allowed from `set`.
    fn filter(&mut self, set: &mut SelectionSet) {
        let parent = set.ty.clone();
        let selections = std::mem::take(&mut set.selections);
        for mut selection in selections {
            let keep = match &mut selection {
                Selection::Field(field) if field.name.starts_with("__") => true,
                Selection::Field(field) => {
                    self.path.push(field.response_key().to_string());
                    let keep =
                        if !self.field_allowed(&parent, &field.name, field.ty().inner_named_type())
                        {
                            self.removed.push((self.path.clone(), true));
                            false
                        } else if self.denies_any(&field.selection_set) {
                            let field = field.make_mut();
                            self.filter(&mut field.selection_set);
                            !field.selection_set.selections.is_empty()
                        } else {
                            true
                        };
                    self.path.pop();
                    keep
                }
                Selection::InlineFragment(fragment) => {
                    if fragment
                        .type_condition
                        .as_ref()
                        .is_some_and(|t| !self.type_allowed(t))
                    {
                        self.removed.push((self.path.clone(), false));
                        false
                    } else if self.denies_any(&fragment.selection_set) {
                        let fragment = fragment.make_mut();
                        self.filter(&mut fragment.selection_set);
                        !fragment.selection_set.selections.is_empty()
                    } else {
                        true
                    }
                }
                Selection::FragmentSpread(_) => true,
            };
            if keep {
                set.selections.push(selection);
            }
        }
    }
}

/// Removes the values at `paths` (response keys; every item of a list) from
/// `data`: a removed field answers null even if a subgraph sent it unasked.
pub fn strip(data: &mut Object, paths: &[Vec<String>]) {
    fn strip_in(value: &mut Data, path: &[String]) {
        match value {
            Data::Array(items) => items.iter_mut().for_each(|item| strip_in(item, path)),
            Data::Object(object) => strip_object(object, path),
            _ => {}
        }
    }
    fn strip_object(object: &mut Object, path: &[String]) {
        match path {
            [] => {}
            [last] => {
                object.remove(last);
            }
            [first, rest @ ..] => {
                if let Some(inner) = object.get_mut(first) {
                    strip_in(inner, rest);
                }
            }
        }
    }
    for path in paths {
        strip_object(data, path);
    }
}

/// Logs, once per loaded supergraph, the `@policy` names no rule in the
/// settings decides (they never hold).
pub fn warn_about_undecided_policies(rules: &AccessRules, settings: &AuthorizationSettings) {
    if settings.policy_service.is_some() {
        return;
    }
    for name in rules.policy_names() {
        if !settings.policies.contains_key(name) {
            tracing::warn!(
                policy = name,
                "the supergraph uses @policy({name}) but [service.authorization.policies] has no rule for it: the fields it protects are never served"
            );
        }
    }
}
