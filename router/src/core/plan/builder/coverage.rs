//! How much of a selection a subgraph answers without a jump (what it
//! resolves itself and what an enclosing `@provides` adds), for choosing the
//! subgraph of a root field or an entity jump.

use apollo_compiler::Name;
use apollo_compiler::executable::{Field, Selection, SelectionSet};

use super::{Builder, Provided};
use crate::core::plan::PlanError;

impl Builder<'_> {
    /// How many fields of `field`'s selections (at any depth) `graph`
    /// resolves without a jump, counting those it `@provides` there, and how
    /// many fields there are.
    pub(super) fn field_coverage(
        &self,
        graph: &str,
        parent: &Name,
        field: &Field,
        provided: Option<&Provided>,
    ) -> (usize, usize) {
        let below = self
            .provided_below(graph, parent, field, provided)
            .unwrap_or_default();
        self.coverage(
            graph,
            field.ty().inner_named_type(),
            &field.selection_set,
            below.as_ref(),
        )
    }

    fn coverage(
        &self,
        graph: &str,
        parent: &Name,
        set: &SelectionSet,
        provided: Option<&Provided>,
    ) -> (usize, usize) {
        let (mut resolved, mut total) = (0, 0);
        for sel in &set.selections {
            let (here, all) = match sel {
                Selection::Field(f) if f.name == "__typename" => (0, 0),
                Selection::Field(f) => {
                    let (r, t) = self.field_coverage(graph, parent, f, provided);
                    if self.sg.resolves(graph, parent, &f.name)
                        || provided.is_some_and(|p| p.provides(self.sg, parent, &f.name))
                    {
                        (1 + r, 1 + t)
                    } else {
                        (0, 1 + t)
                    }
                }
                Selection::InlineFragment(f) => {
                    let t = f.type_condition.as_ref().unwrap_or(parent);
                    self.coverage(graph, t, &f.selection_set, provided)
                }
                Selection::FragmentSpread(s) => match self.doc.fragments.get(&s.fragment_name) {
                    Some(frag) => {
                        self.coverage(graph, frag.type_condition(), &frag.selection_set, provided)
                    }
                    None => (0, 0),
                },
            };
            resolved += here;
            total += all;
        }
        (resolved, total)
    }

    /// What `graph` returns below `parent.field` without a jump beyond what
    /// it resolves itself: what an enclosing `@provides` (`provided`) names
    /// there, and the field's own `@provides` in `graph`.
    pub(super) fn provided_below(
        &self,
        graph: &str,
        parent: &Name,
        field: &Field,
        provided: Option<&Provided>,
    ) -> Result<Option<Provided>, PlanError> {
        if field.selection_set.selections.is_empty() {
            return Ok(None);
        }
        let mut below = provided.and_then(|p| p.below(self.sg, parent, &field.name));
        let own = self
            .sg
            .field(parent, &field.name)
            .and_then(|m| m.graphs.get(graph))
            .and_then(|g| g.provides.as_deref());
        if let Some(fields) = own {
            let api_type = field.ty().inner_named_type();
            let child_type = self.type_in_graph(graph, parent, &field.name, api_type);
            let set = self.field_set(&child_type, fields)?;
            below.get_or_insert_with(Provided::default).merge(&set);
        }
        Ok(below)
    }
}
