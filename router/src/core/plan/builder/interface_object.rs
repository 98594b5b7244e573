//! `@interfaceObject`: a subgraph that declares an interface as an object
//! type. Objects it returns carry the interface's name as `__typename`; the
//! interface's fields are planned on the interface there, and whatever needs
//! the concrete type (`__typename`, fragments on other types) is planned
//! after an entity fetch to a subgraph that knows the implementations.

use apollo_compiler::executable::{Selection, SelectionSet};

use super::{Builder, Cx, Touched};
use crate::core::plan::PlanError;
use crate::core::plan::selection::FieldSel;

impl Builder<'_> {
    /// Whether `graph` declares the interface `ty` as an `@interfaceObject`.
    pub(super) fn is_interface_object(&self, graph: &str, ty: &str) -> bool {
        self.sg
            .type_model(ty)
            .and_then(|t| t.graphs.get(graph))
            .is_some_and(|t| t.interface_object)
    }

    /// Plans `set` on an interface the current subgraph has as an object.
    pub(super) fn plan_interface_object(
        &mut self,
        cx: &Cx,
        set: &SelectionSet,
    ) -> Result<Touched, PlanError> {
        let mut touched = Touched::new();
        let mut concrete = Vec::new();
        for sel in &set.selections {
            let Some((type_condition, directives, inner)) = self.fragment_parts(sel)? else {
                match sel {
                    Selection::Field(f) if f.name != "__typename" => {
                        touched.extend(self.plan_field(cx, f, false)?);
                    }
                    _ => concrete.push(sel.clone()),
                }
                continue;
            };
            if type_condition.is_none_or(|t| self.applies(t, &cx.parent)) {
                touched.extend(self.plan_fragment_body(cx, directives, inner)?);
            } else {
                concrete.push(sel.clone());
            }
        }
        if concrete.is_empty() {
            return Ok(touched);
        }
        let (inner, child) = self.concrete_type(cx)?;
        touched.insert(child);
        let set = SelectionSet {
            ty: cx.parent.clone(),
            selections: concrete,
        };
        touched.extend(self.plan_set(&inner, &set)?);
        Ok(touched)
    }

    /// An entity fetch for the concrete `__typename` of the current objects
    /// (of an interface the current subgraph has as an object), from a
    /// subgraph where the interface is an interface with a `@key`.
    fn concrete_type(&mut self, cx: &Cx) -> Result<(Cx, usize), PlanError> {
        let interface = cx.parent.clone();
        let candidates: Vec<(String, String)> = self
            .sg
            .type_model(&interface)
            .map(|t| {
                t.graphs
                    .iter()
                    .filter(|(g, t)| !t.interface_object && **g != cx.graph)
                    .flat_map(|(g, t)| {
                        t.keys
                            .iter()
                            .filter(|k| k.resolvable)
                            .map(|k| (g.clone(), k.fields.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let chosen = candidates
            .iter()
            .find(|(_, key)| self.can_provide(cx, &interface, key))
            .or(candidates.first())
            .cloned();
        let Some((graph, key)) = chosen else {
            return Err(PlanError::Unsatisfiable(format!(
                "the concrete type of {interface} objects from subgraph {} cannot be found: \
                 no subgraph defines {interface} as an interface with a key",
                cx.graph
            )));
        };
        let (inner, child) = self.enter(cx, &interface, &graph, &key, None)?;
        let mut top = inner.clone();
        top.loc = inner.entity_loc.clone();
        self.add(
            &top,
            FieldSel::plain(apollo_compiler::name!("__typename"), true),
        )?;
        Ok((inner, child))
    }
}
