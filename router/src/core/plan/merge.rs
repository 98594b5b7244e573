//! Merges entity fetches that would ask one subgraph about the same objects
//! twice. The builder plans a field at an entity where it first meets it, so
//! a field without inputs (`inStock`) and a `@requires` field of the same
//! entity (`shippingEstimate`, which waits for `price` from another
//! subgraph) become two fetches to one subgraph at one path. When the first
//! one feeds no other fetch and its own inputs are ready before the second
//! runs, it joins the second: one request instead of two, and nothing waits
//! longer for data it needs.

use std::collections::BTreeSet;

use super::builder::Fetch;
use super::selection::{Conflict, FieldSel, Sel, SelSet};

/// Merges such fetches until none is left; fetch ids in `roots` and `deps`
/// are renumbered.
pub(super) fn merge_sibling_fetches(fetches: &mut Vec<Fetch>, roots: &mut [usize]) {
    while let Some((from, into, merged)) = find_merge(fetches) {
        fetches[into] = merged;
        remove(fetches, roots, from);
    }
}

/// A fetch `from` that can join fetch `into`, and the joined fetch.
fn find_merge(fetches: &[Fetch]) -> Option<(usize, usize, Fetch)> {
    for from in 0..fetches.len() {
        let a = &fetches[from];
        if a.path.is_none() || fetches.iter().any(|f| f.deps.contains(&from)) {
            continue;
        }
        for into in 0..fetches.len() {
            let b = &fetches[into];
            if into == from || b.graph != a.graph || b.path != a.path || b.defer != a.defer {
                continue;
            }
            let before_b = ancestors(fetches, into);
            // `from`'s inputs must be ready before `into` runs, and `into`
            // must not wait (through others) for `from`.
            if before_b.contains(&from) || !a.deps.iter().all(|d| before_b.contains(d)) {
                continue;
            }
            if let Ok(merged) = joined(b, a) {
                return Some((from, into, merged));
            }
        }
    }
    None
}

/// `into` with `from`'s selection and representation added, when both are
/// one fragment on the same type and nothing conflicts.
fn joined(into: &Fetch, from: &Fetch) -> Result<Fetch, Conflict> {
    let plain = |f: &Fetch| f.renames.is_empty() && f.typenames.is_empty() && f.contexts.is_empty();
    if !plain(into) || !plain(from) {
        return Err(Conflict);
    }
    match (
        into.selection.items.as_slice(),
        from.selection.items.as_slice(),
    ) {
        ([Sel::Fragment(x)], [Sel::Fragment(y)])
            if x.type_condition == y.type_condition && x.directives == y.directives => {}
        _ => return Err(Conflict),
    }
    let mut merged = into.clone();
    merge_selection(&mut merged.selection, &from.selection)?;
    merged.requires.merge_requires(&from.requires)?;
    Ok(merged)
}

/// Adds `other`'s selections to `set`, merging fields by response key (the
/// same key for another field is a conflict) and fragments by condition.
fn merge_selection(set: &mut SelSet, other: &SelSet) -> Result<(), Conflict> {
    for item in &other.items {
        match item {
            Sel::Field(field) => {
                let shell = FieldSel {
                    selections: field.selections.as_ref().map(|_| SelSet::default()),
                    ..field.clone()
                };
                let index = set.add_field(shell)?;
                if let (Some(Sel::Field(mine)), Some(theirs)) =
                    (set.items.get_mut(index), field.selections.as_ref())
                {
                    let nested = mine.selections.as_mut().ok_or(Conflict)?;
                    merge_selection(nested, theirs)?;
                }
            }
            Sel::Fragment(fragment) => {
                let index =
                    set.add_fragment(fragment.type_condition.clone(), fragment.directives.clone());
                if let Some(Sel::Fragment(mine)) = set.items.get_mut(index) {
                    merge_selection(&mut mine.selections, &fragment.selections)?;
                }
            }
        }
    }
    Ok(())
}

/// Every fetch `id` waits for, directly or through others.
fn ancestors(fetches: &[Fetch], id: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<usize> = fetches[id].deps.iter().copied().collect();
    while let Some(next) = stack.pop() {
        if seen.insert(next) {
            stack.extend(fetches[next].deps.iter().copied());
        }
    }
    seen
}

/// Removes fetch `gone` (nothing depends on it) and renumbers the others.
fn remove(fetches: &mut Vec<Fetch>, roots: &mut [usize], gone: usize) {
    fetches.remove(gone);
    let renumber = |id: usize| if id > gone { id - 1 } else { id };
    for fetch in fetches.iter_mut() {
        fetch.deps = fetch.deps.iter().map(|d| renumber(*d)).collect();
    }
    for root in roots.iter_mut() {
        *root = renumber(*root);
    }
}
