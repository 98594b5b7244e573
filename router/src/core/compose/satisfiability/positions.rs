//! Where a query can be in the subgraphs: the positions a field, a key jump
//! or a type condition leads to, and whether a field set (a key, a
//! `@requires`) can be collected from a set of positions.

use super::{Downcast, MAX_DEPTH, Position, ROOT_TYPES, Walk, sorted};
use crate::core::compose::context::parse_reference;
use crate::core::compose::fieldset::{self, Selection, provided_children, provided_for};
use crate::core::compose::model::{FieldDef, Kind, Subgraph, TypeDef};
use crate::core::compose::rules::effectively_external;

impl<'a> Walk<'a> {
    /// Runs `f` one level deeper, or gives `fallback` past [`MAX_DEPTH`].
    fn nested<T>(&self, fallback: T, f: impl FnOnce() -> T) -> T {
        if *self.depth.borrow() >= MAX_DEPTH {
            return fallback;
        }
        *self.depth.borrow_mut() += 1;
        let result = f();
        *self.depth.borrow_mut() -= 1;
        result
    }

    /// The positions a field leads to from any of `positions` (after any
    /// key jumps); empty when none resolves it.
    pub(super) fn field(&self, name: &str, positions: &[Position]) -> Vec<Position> {
        let mut next = Vec::new();
        for position in positions {
            let reachable = self.closure(position);
            for candidate in &reachable {
                next.extend(self.advance(candidate, name, &reachable));
            }
        }
        sorted(next)
    }

    /// `position` and every position of the same entity that `@key` jumps
    /// reach from it (for root types: every subgraph's root).
    fn closure(&self, position: &Position) -> Vec<Position> {
        if let Some(known) = self.closures.borrow().get(position) {
            return known.clone();
        }
        // Asked again while working it out (a key that needs the entity
        // itself): the position alone, not remembered.
        if !self.in_progress.borrow_mut().insert(position.clone()) {
            return vec![position.clone()];
        }
        let mut set = vec![position.clone()];
        if ROOT_TYPES.contains(&position.ty.as_str()) {
            set.extend(self.roots(&position.ty));
        } else {
            loop {
                let mut added = false;
                for (index, subgraph) in self.subgraphs.iter().enumerate() {
                    if set.iter().any(|p| p.subgraph == index) {
                        continue;
                    }
                    // The entity itself, or an @interfaceObject of one of
                    // its interfaces.
                    let entered = self.entries(subgraph, &position.ty).into_iter().find(|ty| {
                        ty.keys.iter().filter(|k| k.resolvable).any(|key| {
                            fieldset::parse(&key.fields)
                                .is_ok_and(|fields| self.collects(&set, &fields))
                        })
                    });
                    if let Some(ty) = entered {
                        set.push(Position::new(index, &ty.name));
                        added = true;
                    }
                }
                if !added {
                    break;
                }
            }
        }
        let set = sorted(set);
        self.in_progress.borrow_mut().remove(position);
        self.closures
            .borrow_mut()
            .insert(position.clone(), set.clone());
        set
    }

    /// The types of `subgraph` a key jump for a `ty` may enter: `ty`
    /// itself, and for an object the @interfaceObjects of its interfaces.
    fn entries(&self, subgraph: &'a Subgraph, ty: &str) -> Vec<&'a TypeDef> {
        let mut entries: Vec<&TypeDef> = subgraph.types.get(ty).into_iter().collect();
        if let Some(merged) = self.types.get(ty).filter(|t| t.kind == Kind::Object) {
            entries.extend(
                merged
                    .implements
                    .iter()
                    .filter_map(|i| subgraph.types.get(i))
                    .filter(|t| t.interface_object),
            );
        }
        entries
    }

    /// Whether the field set can be fetched from `positions` (the key of a
    /// jump or the fields a `@requires` needs).
    fn collects(&self, positions: &[Position], selections: &[Selection]) -> bool {
        self.nested(false, || {
            selections.iter().all(|selection| match selection {
                Selection::Field { name, children, .. } => {
                    if name == "__typename" {
                        return true;
                    }
                    let next: Vec<Position> = positions
                        .iter()
                        .flat_map(|p| self.advance(p, name, positions))
                        .collect();
                    if next.is_empty() {
                        return false;
                    }
                    // What is under the field may come from key jumps too.
                    let reachable: Vec<Position> =
                        sorted(next.iter().flat_map(|p| self.closure(p)).collect());
                    children.is_empty() || self.collects(&reachable, children)
                }
                Selection::Fragment { on: None, children } => self.collects(positions, children),
                Selection::Fragment {
                    on: Some(on),
                    children,
                } => {
                    let cast: Vec<Position> =
                        positions.iter().filter_map(|p| self.cast(p, on)).collect();
                    cast.is_empty() || self.collects(&cast, children)
                }
            })
        })
    }

    /// Whether the subgraph answers `ty.field` itself: defined there, not
    /// external, not overridden away.
    fn resolves(&self, subgraph: usize, ty: &str, field: &str) -> bool {
        let Some(model) = self.subgraphs.get(subgraph) else {
            return false;
        };
        let Some(def) = model.types.get(ty).and_then(|t| t.fields.get(field)) else {
            return false;
        };
        if effectively_external(model, ty, field) || !self.contexts_met(model, def) {
            return false;
        }
        let joins = self
            .types
            .get(ty)
            .and_then(|t| t.fields.iter().find(|f| f.name == field))
            .map(|f| f.join_fields.as_slice())
            .unwrap_or_default();
        joins.is_empty()
            || joins
                .iter()
                .any(|j| j.graph == model.graph_id && !j.used_overridden && !j.external)
    }

    /// Whether the path so far sets every context the field's `@fromContext`
    /// arguments read in this subgraph.
    fn contexts_met(&self, subgraph: &Subgraph, field: &FieldDef) -> bool {
        let active = self.active.borrow();
        field
            .args
            .values()
            .filter_map(|a| parse_reference(a.from_context.as_deref()?))
            .all(|(context, _)| active.contains(&format!("{}__{context}", subgraph.name)))
    }

    /// Whether every type the supergraph says an interface may be that this
    /// subgraph defines answers the field itself (Apollo's condition for
    /// taking an interface field on the interface).
    fn answered_on_interface(&self, position: &Position, field: &str) -> bool {
        let Some(merged) = self.types.get(position.ty.as_str()).copied() else {
            return true;
        };
        let Some(subgraph) = self.subgraphs.get(position.subgraph) else {
            return false;
        };
        self.possible_types(merged)
            .into_iter()
            .filter(|t| subgraph.types.contains_key(*t))
            .all(|t| {
                self.resolves(position.subgraph, t, field)
                    && subgraph
                        .types
                        .get(t)
                        .and_then(|d| d.fields.get(field))
                        .is_some_and(|f| f.requires.is_none())
            })
    }

    /// The position `name` leads to from `position` in its own subgraph;
    /// `context` are the positions a `@requires` may take its fields from.
    fn advance(&self, position: &Position, name: &str, context: &[Position]) -> Vec<Position> {
        let Some(local) = self.subgraph_type(position) else {
            return Vec::new();
        };
        let provided = provided_children(&position.provided, &position.ty, name);
        let Some(field) = local.fields.get(name) else {
            if local.kind == Kind::Interface {
                return self.explode(position, name);
            }
            return Vec::new();
        };
        if provided.is_none() {
            if local.kind == Kind::Interface && !self.answered_on_interface(position, name) {
                return self.explode(position, name);
            }
            if local.kind != Kind::Interface
                && !self.resolves(position.subgraph, &position.ty, name)
            {
                return Vec::new();
            }
            if let Some(requires) = &field.requires {
                let met =
                    fieldset::parse(requires).is_ok_and(|needed| self.collects(context, &needed));
                if !met {
                    return Vec::new();
                }
            }
        }
        let provided = field
            .provides
            .as_deref()
            .and_then(|p| fieldset::parse(p).ok())
            .or(provided)
            .unwrap_or_default();
        vec![Position {
            subgraph: position.subgraph,
            ty: field.ty.inner_named_type().to_string(),
            provided,
        }]
    }

    /// An interface field the subgraph does not answer on the interface:
    /// each implementation there must answer it (after key jumps).
    fn explode(&self, position: &Position, name: &str) -> Vec<Position> {
        let Some(subgraph) = self.subgraphs.get(position.subgraph) else {
            return Vec::new();
        };
        let implementations: Vec<&TypeDef> = subgraph.implementations(&position.ty).collect();
        if implementations.is_empty() {
            return Vec::new();
        }
        self.nested(Vec::new(), || {
            let mut next = Vec::new();
            for implementation in implementations {
                let cast = Position {
                    subgraph: position.subgraph,
                    ty: implementation.name.clone(),
                    provided: provided_for(&position.provided, &implementation.name),
                };
                let reachable = self.closure(&cast);
                let found: Vec<Position> = reachable
                    .iter()
                    .flat_map(|c| self.advance(c, name, &reachable))
                    .collect();
                if found.is_empty() {
                    return Vec::new();
                }
                next.extend(found);
            }
            next
        })
    }

    /// `position` as a `target`, when its subgraph may return one there.
    fn cast(&self, position: &Position, target: &str) -> Option<Position> {
        let local = self.subgraph_type(position)?;
        let fits = position.ty == target
            || match local.kind {
                Kind::Union => local.members.iter().any(|m| m == target),
                Kind::Interface => self.subgraphs[position.subgraph]
                    .types
                    .get(target)
                    .is_some_and(|t| t.implements.contains(&position.ty)),
                _ => false,
            };
        fits.then(|| Position {
            subgraph: position.subgraph,
            ty: target.to_owned(),
            provided: provided_for(&position.provided, target),
        })
    }

    /// The type condition `... on target` on every position, for a
    /// supergraph abstract type of kind `kind`.
    pub(super) fn downcast(&self, kind: Kind, positions: &[Position], target: &str) -> Downcast {
        let mut next = Vec::new();
        for position in positions {
            if let Some(cast) = self.cast(position, target) {
                next.push(cast);
                continue;
            }
            let Some(local) = self.subgraph_type(position) else {
                continue;
            };
            if local.interface_object {
                // An @interfaceObject knows no implementations: a key jump
                // to a subgraph with the interface itself has to tell.
                next.extend(
                    self.closure(position)
                        .iter()
                        .filter_map(|p| self.cast(p, target)),
                );
            } else if kind == Kind::Union || local.kind != Kind::Object {
                // The subgraph never returns a `target` here.
                return Downcast::Never;
            }
            // An object where the supergraph has an interface: this position
            // cannot be cast (Apollo's check does not stop there).
        }
        if next.is_empty() {
            Downcast::Dead
        } else {
            Downcast::To(sorted(next))
        }
    }
}
