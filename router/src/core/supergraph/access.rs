//! Access rules: the `@authenticated`, `@requiresScopes(scopes:)` and
//! `@policy(policies:)` directives of the supergraph (specs
//! `authenticated/v0.1`, `requiresScopes/v0.1`, `policy/v0.1`), read into
//! what each type and field requires of the caller. The router enforces them
//! before planning (`pipeline::authorize`).
//!
//! Scopes and policies are in disjunctive normal form, as the specs say:
//! `[["a", "b"], ["c"]]` holds with (a and b) or c.
//!
//! # Layout
//! - [`Requirement`] and [`AccessRules`]: the model.
//! - `read`: the directives, under their linked names, into the model.

use apollo_compiler::Name;
use apollo_compiler::Schema;
use apollo_compiler::ast::Directive;
use apollo_compiler::schema::ExtendedType;
use std::collections::HashMap;

use super::links::Links;

/// What one type or field requires of the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirement {
    /// `@authenticated`: any valid token.
    pub authenticated: bool,
    /// `@requiresScopes`: alternatives (any one) of scope sets (all of them).
    pub scopes: Vec<Vec<String>>,
    /// `@policy`: alternatives (any one) of policy sets (all of them).
    pub policies: Vec<Vec<String>>,
}

impl Requirement {
    /// Whether it requires nothing.
    pub fn is_empty(&self) -> bool {
        !self.authenticated && self.scopes.is_empty() && self.policies.is_empty()
    }
}

/// The access rules of a supergraph, by type and by field.
#[derive(Debug, Clone, Default)]
pub struct AccessRules {
    /// Types (objects, interfaces, unions, scalars, enums) that require something.
    pub types: HashMap<Name, Requirement>,
    /// Fields that require something, by (type, field).
    pub fields: HashMap<(Name, Name), Requirement>,
}

impl AccessRules {
    /// Whether the supergraph protects nothing (the router then skips the
    /// authorization stage altogether).
    pub fn is_empty(&self) -> bool {
        self.types.is_empty() && self.fields.is_empty()
    }

    /// What type `name` requires, if anything.
    pub fn of_type(&self, name: &str) -> Option<&Requirement> {
        self.types.get(name)
    }

    /// What field `type_name.field` requires, if anything.
    pub fn of_field(&self, type_name: &str, field: &str) -> Option<&Requirement> {
        let key = (Name::new(type_name).ok()?, Name::new(field).ok()?);
        self.fields.get(&key)
    }

    /// Every policy name used, sorted (to warn about policies without rules).
    pub fn policy_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .types
            .values()
            .chain(self.fields.values())
            .flat_map(|r| r.policies.iter().flatten().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// The local names of the three directives, for those the supergraph links.
struct Names {
    authenticated: Option<String>,
    scopes: Option<String>,
    policy: Option<String>,
}

impl Names {
    /// The requirement of an element with these directives (`all(name)`:
    /// its directives of that name).
    fn requirement<'d>(&self, all: impl Fn(&str) -> Vec<&'d Directive>) -> Requirement {
        let mut requirement = Requirement::default();
        if let Some(name) = &self.authenticated {
            requirement.authenticated = !all(name).is_empty();
        }
        if let Some(name) = &self.scopes {
            for d in all(name) {
                requirement
                    .scopes
                    .extend(lists(d.specified_argument_by_name("scopes")));
            }
        }
        if let Some(name) = &self.policy {
            for d in all(name) {
                requirement
                    .policies
                    .extend(lists(d.specified_argument_by_name("policies")));
            }
        }
        requirement
    }
}

/// `[["a", "b"], ["c"]]` as lists of strings.
fn lists(value: Option<&apollo_compiler::Node<apollo_compiler::ast::Value>>) -> Vec<Vec<String>> {
    let Some(outer) = value.and_then(|v| v.as_list()) else {
        return Vec::new();
    };
    outer
        .iter()
        .map(|inner| {
            inner
                .as_list()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

/// Reads the access rules of a supergraph schema.
pub(super) fn read(schema: &Schema, links: &Links) -> AccessRules {
    let names = Names {
        authenticated: links.directive_of("authenticated", "authenticated"),
        scopes: links.directive_of("requiresScopes", "requiresScopes"),
        policy: links.directive_of("policy", "policy"),
    };
    let mut rules = AccessRules::default();
    if names.authenticated.is_none() && names.scopes.is_none() && names.policy.is_none() {
        return rules;
    }
    for (type_name, ty) in &schema.types {
        if ty.is_built_in() {
            continue;
        }
        let directives = ty.directives();
        let requirement =
            names.requirement(|name| directives.get_all(name).map(|d| &***d).collect());
        if !requirement.is_empty() {
            rules.types.insert(type_name.clone(), requirement);
        }
        let fields = match ty {
            ExtendedType::Object(object) => &object.fields,
            ExtendedType::Interface(interface) => &interface.fields,
            _ => continue,
        };
        for (field_name, field) in fields {
            let requirement =
                names.requirement(|name| field.directives.get_all(name).map(|d| &**d).collect());
            if !requirement.is_empty() {
                rules
                    .fields
                    .insert((type_name.clone(), field_name.clone()), requirement);
            }
        }
    }
    rules
}
