//! `@authenticated`, `@requiresScopes` and `@policy` merged as Apollo's
//! composition merges them: an element keeps every subgraph's requirement
//! (identical ones once; differing scopes or policies joined by
//! [`dnf_conjunction`]), and an interface (and each of its fields) takes the
//! requirements of its implementations, so that asking through the
//! interface never needs less than asking the object.
//!
//! # Layout
//! - [`merge_access`]: one element's requirements from its sources.
//! - [`dnf_conjunction`]: `and` of requirements in disjunctive normal form.
//! - [`propagate_to_interfaces`]: interfaces from their implementations.
//! - [`supergraph_names`]: which specs the supergraph links, in Apollo's
//!   order, under which names.
//!
//! What a field reading other data (`@requires`, `@fromContext`) must ask
//! for is checked in [`super::transitive`].

use std::collections::{HashMap, HashSet};

use super::super::model::{Access, AccessKind, Kind, Subgraph};
use super::SuperType;

/// One element's access directives from its `sources` (each a subgraph's,
/// in subgraph order): per kind, in order of first appearance, the one
/// value every source agrees on, or the conjunction of their values.
pub(super) fn merge_access<'a>(sources: impl Iterator<Item = &'a [Access]>) -> Vec<Access> {
    let mut kinds: Vec<(AccessKind, Vec<&Vec<Vec<String>>>)> = Vec::new();
    for source in sources {
        for access in source {
            let at = match kinds.iter().position(|(k, _)| *k == access.kind) {
                Some(at) => at,
                None => {
                    kinds.push((access.kind, Vec::new()));
                    kinds.len() - 1
                }
            };
            if !kinds[at].1.contains(&&access.value) {
                kinds[at].1.push(&access.value);
            }
        }
    }
    kinds
        .into_iter()
        .map(|(kind, values)| Access {
            kind,
            value: match values.as_slice() {
                [one] => (*one).clone(),
                _ => dnf_conjunction(values.into_iter().cloned().collect()),
            },
        })
        .collect()
}

/// The conjunction of requirements in disjunctive normal form, simplified as
/// Apollo's composition does: each conjunction sorted, duplicates dropped,
/// conjunctions that contain another dropped.
pub(super) fn dnf_conjunction(values: Vec<Vec<Vec<String>>>) -> Vec<Vec<String>> {
    let mut seen = HashSet::new();
    let mut filtered: Vec<Vec<Vec<String>>> = Vec::new();
    for mut value in values {
        if value.is_empty() {
            value = vec![Vec::new()];
        }
        for inner in &mut value {
            inner.sort();
        }
        value.sort_by_key(json);
        if seen.insert(json(&value)) {
            filtered.push(value);
        }
    }
    let mut parts = filtered.into_iter();
    let Some(mut result) = parts.next() else {
        return Vec::new();
    };
    for current in parts {
        let mut accumulator: Vec<Vec<String>> = Vec::new();
        let mut seen = HashSet::new();
        for left in &result {
            for right in &current {
                let mut candidate = left.clone();
                candidate.extend(right.iter().filter(|e| !left.contains(e)).cloned());
                candidate.sort();
                if seen.insert(json(&candidate)) {
                    accumulator.push(candidate);
                }
            }
        }
        result = without_subsumed(accumulator);
    }
    result
}

/// Drops every conjunction that contains a shorter (or earlier) one.
fn without_subsumed(mut values: Vec<Vec<String>>) -> Vec<Vec<String>> {
    values.sort_by_key(Vec::len);
    let mut kept: Vec<Vec<String>> = Vec::new();
    for candidate in values {
        if !kept.iter().any(|k| k.iter().all(|e| candidate.contains(e))) {
            kept.push(candidate);
        }
    }
    kept
}

/// A value as JavaScript's `JSON.stringify` writes it (Apollo sorts by it).
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Interfaces and their fields take the requirements of every object type
/// implementing them in the supergraph (and of those objects' fields, where
/// a subgraph resolves them).
pub(super) fn propagate_to_interfaces(subgraphs: &[Subgraph], types: &mut [SuperType]) {
    let mut implementations: HashMap<String, Vec<String>> = HashMap::new();
    for ty in types.iter().filter(|t| t.kind == Kind::Object) {
        for interface in &ty.implements {
            implementations
                .entry(interface.clone())
                .or_default()
                .push(ty.name.clone());
        }
    }
    for ty in types.iter_mut().filter(|t| t.kind == Kind::Interface) {
        let Some(objects) = implementations.get(&ty.name) else {
            continue;
        };
        let from_objects: Vec<&[Access]> = subgraphs
            .iter()
            .flat_map(|s| objects.iter().filter_map(|o| s.types.get(o)))
            .map(|o| o.applied.access.as_slice())
            .collect();
        let own = std::mem::take(&mut ty.applied.access);
        ty.applied.access = merge_access(std::iter::once(own.as_slice()).chain(from_objects));
        for field in &mut ty.fields {
            let from_objects: Vec<&[Access]> = subgraphs
                .iter()
                .flat_map(|s| objects.iter().filter_map(|o| s.types.get(o)))
                .filter_map(|o| o.fields.get(&field.name))
                .filter(|f| !f.external)
                .map(|f| f.applied.access.as_slice())
                .collect();
            let own = std::mem::take(&mut field.applied.access);
            field.applied.access =
                merge_access(std::iter::once(own.as_slice()).chain(from_objects));
        }
    }
}

/// How many access-control specs the supergraph links before the context
/// spec: those the subgraphs before the first one that sets a `@context`
/// use, and those that one uses (Apollo's composition links the specs in
/// the order their directives are first defined, subgraph by subgraph).
pub(super) fn context_link_at(subgraphs: &[Subgraph]) -> usize {
    let mut seen: HashSet<AccessKind> = HashSet::new();
    for subgraph in subgraphs {
        seen.extend(used_kinds(subgraph));
        if subgraph.types.values().any(|t| !t.contexts.is_empty()) {
            break;
        }
    }
    seen.len()
}

/// The access-control kinds a subgraph applies anywhere.
fn used_kinds(subgraph: &Subgraph) -> HashSet<AccessKind> {
    subgraph
        .types
        .values()
        .flat_map(|t| {
            t.applied
                .access
                .iter()
                .chain(t.fields.values().flat_map(|f| f.applied.access.iter()))
        })
        .map(|a| a.kind)
        .collect()
}

/// The access-control specs the supergraph links, in the order Apollo's
/// composition adds them (subgraphs in name order; in each, the kinds it
/// uses in spec order), each with its name in the supergraph (the first
/// alias a subgraph imported it under, else its own).
pub(super) fn supergraph_names(subgraphs: &[Subgraph]) -> Vec<(AccessKind, String)> {
    let mut names: Vec<(AccessKind, String)> = Vec::new();
    for subgraph in subgraphs {
        let used = used_kinds(subgraph);
        for kind in AccessKind::ALL {
            if used.contains(&kind) && !names.iter().any(|(k, _)| *k == kind) {
                names.push((kind, kind.spec().to_owned()));
            }
        }
    }
    for (kind, name) in &mut names {
        if let Some((_, alias)) = subgraphs
            .iter()
            .flat_map(|s| s.access_aliases.iter())
            .find(|(k, _)| k == kind)
        {
            *name = alias.clone();
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dnf(value: &[&[&str]]) -> Vec<Vec<String>> {
        value
            .iter()
            .map(|inner| inner.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    }

    #[test]
    fn conjunction_distributes_and_drops_subsumed_terms() {
        assert_eq!(
            dnf_conjunction(vec![dnf(&[&["a"], &["b"]]), dnf(&[&["c"]])]),
            dnf(&[&["a", "c"], &["b", "c"]])
        );
        assert_eq!(
            dnf_conjunction(vec![dnf(&[&["read:t"]]), dnf(&[&["read:t"], &["admin"]])]),
            dnf(&[&["read:t"]])
        );
        assert_eq!(
            dnf_conjunction(vec![dnf(&[&["books"]]), dnf(&[&["films"], &["all"]])]),
            dnf(&[&["all", "books"], &["books", "films"]])
        );
    }

    #[test]
    fn identical_requirements_are_kept_as_written() {
        let written = Access {
            kind: AccessKind::RequiresScopes,
            value: dnf(&[&["z"], &["a", "b"]]),
        };
        let merged = merge_access(
            [
                std::slice::from_ref(&written),
                std::slice::from_ref(&written),
            ]
            .into_iter(),
        );
        assert_eq!(merged, vec![written]);
    }
}
