//! Deferred fragments in the walk: a leaf field a deferred fragment asks for
//! through an entity jump that an enclosing part (the primary part, or an
//! enclosing deferred fragment) already fetches at the same place is not
//! fetched again: its data is in the response tree before the fragment's
//! node runs.

use apollo_compiler::Node;
use apollo_compiler::executable::Field;

use super::{Builder, Cx};
use crate::core::plan::selection::Sel;

impl Builder<'_> {
    /// Records the deferred fragment `id` entered at `cx` (its parent part).
    pub(super) fn enter_deferred(&mut self, cx: &Cx, id: usize) -> Cx {
        self.defer_parents.entry(id).or_insert(cx.defer);
        let mut deferred = cx.clone();
        deferred.defer = Some(id);
        deferred
    }

    /// The fetch of an enclosing part that already selects the leaf `field`
    /// (same response key, name and arguments, no conditions) on the current
    /// objects; `None` outside deferred fragments.
    pub(super) fn fetched_by_enclosing_part(&self, cx: &Cx, field: &Node<Field>) -> Option<usize> {
        let defer = cx.defer?;
        if !cx.conditions.is_empty()
            || !field.directives.is_empty()
            || !field.selection_set.selections.is_empty()
        {
            return None;
        }
        let mut enclosing = vec![None];
        let mut part = self.defer_parents.get(&defer).copied().flatten();
        while let Some(id) = part {
            if enclosing.contains(&Some(id)) {
                break;
            }
            enclosing.push(Some(id));
            part = self.defer_parents.get(&id).copied().flatten();
        }
        self.fetches.iter().position(|fetch| {
            enclosing.contains(&fetch.defer)
                && fetch.path.as_ref() == Some(&cx.path)
                && fetch.selection.items.iter().any(|item| match item {
                    Sel::Fragment(top) => {
                        top.type_condition.as_ref() == Some(&cx.parent)
                            && top.directives.is_empty()
                            && top.selections.items.iter().any(|sel| match sel {
                                Sel::Field(f) => {
                                    f.response_key() == field.response_key()
                                        && f.name == field.name
                                        && f.arguments == field.arguments
                                        && f.directives.is_empty()
                                        && f.selections.is_none()
                                }
                                Sel::Fragment(_) => false,
                            })
                    }
                    Sel::Field(_) => false,
                })
        })
    }
}
