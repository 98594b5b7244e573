//! Root fields: each goes to a subgraph that resolves its whole selection,
//! else to one already fetched from, else to the one that resolves most of
//! it; a mutation's consecutive root fields of one subgraph share a fetch.

use std::collections::BTreeSet;

use apollo_compiler::ast::{self, OperationType};
use apollo_compiler::executable::{Field, Selection, SelectionSet};
use apollo_compiler::{Name, Node};
use tracing::trace;

use super::{Builder, Cx, Touched};
use crate::core::normalize::{defer_id, without_defer};
use crate::core::plan::PlanError;

/// A root field, the conditions of the fragments around it, and the
/// innermost deferred fragment it is in.
type RootEntry<'s> = (&'s Node<Field>, Vec<ast::DirectiveList>, Option<usize>);

impl<'a> Builder<'a> {
    /// Plans the root selections of an operation.
    pub fn plan_root(
        &mut self,
        kind: OperationType,
        root: &Name,
        set: &SelectionSet,
    ) -> Result<(), PlanError> {
        self.operation_type = kind;
        let mut entries = Vec::new();
        self.root_fields(set, &mut Vec::new(), None, &mut entries);
        let mut last: Option<(String, usize)> = None;
        for (field, conditions, defer) in entries {
            let before = last.clone();
            let planned = self.guarded(&conditions, &[], field.response_key(), |b| {
                b.plan_root_field(kind, root, field, (&conditions, defer), &mut last)
            })?;
            if planned.is_empty() {
                // Left out (see `guard.rs`): the fetch `last` names may be gone.
                last = before;
            }
        }
        Ok(())
    }

    /// Plans one root field (under the `conditions` of the fragments around
    /// it, in the deferred fragment `defer`); `last` is the subgraph and
    /// fetch of the previous one.
    fn plan_root_field(
        &mut self,
        kind: OperationType,
        root: &Name,
        field: &Node<Field>,
        (conditions, defer): (&[ast::DirectiveList], Option<usize>),
        last: &mut Option<(String, usize)>,
    ) -> Result<Touched, PlanError> {
        {
            let candidates: Vec<String> = self
                .sg
                .field(root, &field.name)
                .map(|f| {
                    f.graphs
                        .iter()
                        .filter(|(_, g)| g.resolvable())
                        .map(|(n, _)| n.clone())
                        .collect()
                })
                .unwrap_or_default();
            let preferred = match kind {
                OperationType::Mutation => last.as_ref().map(|(g, _)| g.clone()),
                _ => None,
            };
            let graph = if let Some(p) = preferred.filter(|p| candidates.contains(p)) {
                p
            } else {
                candidates
                    .iter()
                    .max_by_key(|g| {
                        let (resolved, total) = self.field_coverage(g, root, field, None);
                        (
                            // A subgraph that resolves the whole selection
                            // beats one already fetched from.
                            resolved == total,
                            self.roots.iter().any(|r| {
                                self.fetches[*r].graph == **g && self.fetches[*r].defer == defer
                            }),
                            resolved,
                            std::cmp::Reverse(candidates.iter().position(|c| c == *g)),
                        )
                    })
                    .cloned()
                    .ok_or_else(|| {
                        PlanError::Unsatisfiable(format!(
                            "no subgraph resolves {root}.{}",
                            field.name
                        ))
                    })?
            };
            let fetch = match kind {
                OperationType::Mutation => match &*last {
                    Some((g, id)) if *g == graph => *id,
                    _ => self.new_fetch(graph.clone(), None, BTreeSet::new(), defer),
                },
                _ => self.root_fetch(&graph, defer),
            };
            if !self.roots.contains(&fetch) {
                self.roots.push(fetch);
            }
            *last = Some((graph.clone(), fetch));
            trace!(field = %field.name, subgraph = %graph, "root field");
            let mut loc = Vec::new();
            for c in conditions {
                let set = self.set_at(fetch, &loc)?;
                loc.push(set.add_fragment(None, c.clone()));
            }
            let cx = Cx {
                fetch,
                graph,
                loc,
                entity_loc: Vec::new(),
                level: Vec::new(),
                parent: root.clone(),
                path: Vec::new(),
                conditions: Vec::new(),
                provided: None,
                depth: 0,
                frames: None,
                defer,
            };
            self.plan_field(&cx, field, false)
        }
    }

    /// Root fields with the conditions of the fragments around them and the
    /// innermost deferred fragment they are in.
    fn root_fields<'s>(
        &self,
        set: &'s SelectionSet,
        conditions: &mut Vec<ast::DirectiveList>,
        defer: Option<usize>,
        out: &mut Vec<RootEntry<'s>>,
    ) where
        'a: 's,
    {
        for sel in &set.selections {
            match sel {
                Selection::Field(f) => {
                    if !matches!(f.name.as_str(), "__typename" | "__schema" | "__type") {
                        out.push((f, conditions.clone(), defer));
                    }
                }
                Selection::InlineFragment(f) => {
                    let inner = defer_id(&f.directives).or(defer);
                    self.with_condition(&without_defer(&f.directives), conditions, |c| {
                        self.root_fields(&f.selection_set, c, inner, out)
                    });
                }
                Selection::FragmentSpread(s) => {
                    if let Some(frag) = self.doc.fragments.get(&s.fragment_name) {
                        let inner = defer_id(&s.directives).or(defer);
                        self.with_condition(&without_defer(&s.directives), conditions, |c| {
                            self.root_fields(&frag.selection_set, c, inner, out)
                        });
                    }
                }
            }
        }
    }

    fn with_condition(
        &self,
        directives: &ast::DirectiveList,
        conditions: &mut Vec<ast::DirectiveList>,
        f: impl FnOnce(&mut Vec<ast::DirectiveList>),
    ) {
        let pushed = !directives.is_empty();
        if pushed {
            conditions.push(directives.clone());
        }
        f(conditions);
        if pushed {
            conditions.pop();
        }
    }

    /// The root fetch of a query for `graph` in the part `defer`, created
    /// when missing.
    pub(super) fn root_fetch(&mut self, graph: &str, defer: Option<usize>) -> usize {
        if let Some(id) = self
            .roots
            .iter()
            .copied()
            .find(|r| self.fetches[*r].graph == graph && self.fetches[*r].defer == defer)
        {
            return id;
        }
        let id = self.new_fetch(graph.to_string(), None, BTreeSet::new(), defer);
        self.roots.push(id);
        id
    }
}
