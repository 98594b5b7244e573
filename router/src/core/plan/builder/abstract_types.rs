//! Selections on interfaces and unions: kept on the abstract type when the
//! subgraph resolves every field there, else split into one inline fragment per
//! possible object type (so fields living elsewhere can jump per type).

use apollo_compiler::Name;
use apollo_compiler::ast;
use apollo_compiler::executable::{Selection, SelectionSet};

use super::{Builder, Cx, Touched};
use crate::core::plan::PlanError;
use crate::core::supergraph::TypeKind;

impl Builder<'_> {
    /// Whether `set` can be sent as is on the abstract type `parent`.
    pub(super) fn direct_ok(&self, cx: &Cx, parent: &Name, set: &SelectionSet) -> bool {
        let Some(model) = self.sg.type_model(parent) else {
            return false;
        };
        if cx.provided.is_some() || !model.graphs.contains_key(&cx.graph) {
            return false;
        }
        let objects = self.sg.possible_types_in(&cx.graph, parent);
        set.selections.iter().all(|sel| match sel {
            Selection::Field(f) => {
                f.name == "__typename"
                    || (model.kind == TypeKind::Interface
                        && self.is_local(cx, parent, &f.name)
                        && objects.iter().all(|o| self.is_local(cx, o, &f.name)))
            }
            Selection::InlineFragment(f) => match &f.type_condition {
                Some(t) if t != parent => true,
                _ => self.direct_ok(cx, parent, &f.selection_set),
            },
            Selection::FragmentSpread(s) => match self.doc.fragments.get(&s.fragment_name) {
                Some(frag) if frag.type_condition() == parent => {
                    self.direct_ok(cx, parent, &frag.selection_set)
                }
                _ => true,
            },
        })
    }

    /// Plans `set` on an abstract type kept as such in the subgraph operation.
    pub(super) fn plan_abstract(
        &mut self,
        cx: &Cx,
        set: &SelectionSet,
    ) -> Result<Touched, PlanError> {
        let mut touched = Touched::new();
        for sel in &set.selections {
            let Some((type_condition, directives, inner)) = self.fragment_parts(sel)? else {
                if let Selection::Field(f) = sel {
                    touched.extend(self.plan_field(cx, f, false)?);
                }
                continue;
            };
            match type_condition {
                Some(t) if *t != cx.parent => {
                    let path_graphs = self.path_graphs(cx);
                    let own: Vec<Name> = self
                        .sg
                        .possible_types_in(&cx.graph, &cx.parent)
                        .into_iter()
                        .filter(|o| {
                            path_graphs
                                .iter()
                                .all(|g| self.sg.possible_types_in(g, &cx.parent).contains(o))
                        })
                        .collect();
                    let objects: Vec<Name> =
                        own.into_iter().filter(|o| self.applies(t, o)).collect();
                    for object in objects {
                        let i = self
                            .set_at(cx.fetch, &cx.loc)?
                            .add_fragment(Some(object.clone()), ast::DirectiveList::new());
                        let mut inner_cx = cx.clone();
                        inner_cx.loc.push(i);
                        inner_cx.entity_loc = inner_cx.loc.clone();
                        inner_cx.parent = object;
                        touched.extend(self.plan_fragment_body(&inner_cx, directives, inner)?);
                    }
                }
                _ => touched.extend(self.plan_fragment_body(cx, directives, inner)?),
            }
        }
        Ok(touched)
    }

    /// The subgraphs that could all answer the path down to the abstract
    /// position `cx` (back to the nearest entity or root field): a shareable
    /// path may be answered by any of them, so only the possible types they
    /// all know are safe to ask for (the federation audit's expectation).
    fn path_graphs(&self, cx: &Cx) -> Vec<String> {
        let Some(model) = self.sg.type_model(&cx.parent) else {
            return vec![cx.graph.clone()];
        };
        // An entity interface is entered by its key: the subgraph the walk
        // jumped to answers alone.
        if model
            .graphs
            .values()
            .any(|g| g.interface_object || g.keys.iter().any(|k| k.resolvable))
        {
            return vec![cx.graph.clone()];
        }
        let mut frame = cx.frames.clone();
        let mut graphs: Option<Vec<String>> = None;
        while let Some(level) = frame {
            let parent = &level.cx.parent;
            let field = level.field.name.as_str();
            let resolving = |g: &String| self.sg.resolves(g, parent, field);
            let narrowed: Vec<String> = match graphs {
                None => self
                    .sg
                    .subgraphs
                    .iter()
                    .map(|s| s.name.clone())
                    .filter(|g| resolving(g))
                    .collect(),
                Some(list) => list.into_iter().filter(|g| resolving(g)).collect(),
            };
            graphs = Some(narrowed);
            let entity = self.sg.type_model(parent).is_some_and(|m| {
                m.graphs
                    .values()
                    .any(|g| g.keys.iter().any(|k| k.resolvable))
            });
            if entity || level.cx.frames.is_none() {
                break;
            }
            frame = level.cx.frames.clone();
        }
        let mut graphs = graphs.unwrap_or_default();
        if !graphs.contains(&cx.graph) {
            graphs.push(cx.graph.clone());
        }
        graphs
    }
}
