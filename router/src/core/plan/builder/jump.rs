//! Entity jumps: leaving the current subgraph through a `@key` for a field it
//! does not resolve (or one it resolves only with `@requires`).

use apollo_compiler::Name;
use apollo_compiler::ast;
use apollo_compiler::executable::{Field, InlineFragment, Selection, SelectionSet};
use tracing::trace;

use std::rc::Rc;

use apollo_compiler::Node;
use apollo_compiler::ast::OperationType;

use super::{Builder, Cx, Frame, MAX_DEPTH, Touched, key_mentions};
use crate::core::plan::selection::FieldSel;
use crate::core::plan::selection::{Sel, SelSet};
use crate::core::plan::{PlanError, TypenameRewrite};
use crate::core::supergraph::{Supergraph, TypeKind};

/// A chosen target: subgraph and key.
struct Target {
    graph: String,
    key: String,
}

impl Builder<'_> {
    /// Fetches `field` of the current object from another subgraph.
    pub(super) fn jump(&mut self, cx: &Cx, field: &Node<Field>) -> Result<Touched, PlanError> {
        if let Some(fetch) = self.fetched_by_enclosing_part(cx, field) {
            return Ok(Touched::from([fetch]));
        }
        self.jump_to(cx, field, None)
    }

    /// Like [`Self::jump`], to `forced` when given.
    fn jump_to(
        &mut self,
        cx: &Cx,
        field: &Node<Field>,
        forced: Option<&str>,
    ) -> Result<Touched, PlanError> {
        let object = cx.parent.clone();
        if cx.depth >= MAX_DEPTH {
            return Err(PlanError::Unsatisfiable(format!(
                "{object}.{} is too many entity jumps away from {}",
                field.name, cx.graph
            )));
        }
        // An object whose key no subgraph can take from here (its key fields
        // are `@external` and not provided) is entered by no jump from this
        // position: the path to it is fetched again from an ancestor
        // (`@provides` under a type condition on an interface field), rather
        // than fetching the key that way first and jumping a second time.
        // A failed attempt leaves no fetch or field behind.
        if forced.is_none() && !self.identifiable(cx, &object) {
            let saved = (self.fetches.clone(), self.roots.clone());
            if let Ok(Some(touched)) = self.refetch_from_ancestor(cx, field) {
                return Ok(touched);
            }
            (self.fetches, self.roots) = saved;
        }
        let target = match self.choose_target(cx, &object, field, forced) {
            Ok(target) => target,
            Err(err) => {
                // When re-fetching from an ancestor fails too, the first
                // reason is the clearer one.
                if forced.is_none()
                    && let Ok(Some(touched)) = self.refetch_from_ancestor(cx, field)
                {
                    return Ok(touched);
                }
                return Err(err);
            }
        };
        trace!(field = %field.name, from = %cx.graph, to = %target.graph, "entity jump");
        let in_target = self
            .sg
            .field(&object, &field.name)
            .and_then(|m| m.graphs.get(&target.graph));
        let requires = in_target.and_then(|g| g.requires.clone());
        let contexts = in_target
            .map(|g| g.context_arguments.clone())
            .unwrap_or_default();
        let (inner, child) =
            self.enter(cx, &object, &target.graph, &target.key, requires.as_deref())?;
        let field = if contexts.is_empty() {
            field.clone()
        } else {
            let (arguments, sources) = self.context_arguments(cx, child, &contexts)?;
            for source in sources {
                let known = self.fetches[child]
                    .deps
                    .iter()
                    .any(|d| *d == source || self.depends_on(*d, source));
                if source != child && !known {
                    self.fetches[child].deps.insert(source);
                }
            }
            let mut with_arguments = (**field).clone();
            with_arguments.arguments.extend(arguments);
            Node::new(with_arguments)
        };
        let force = requires.is_some() || !contexts.is_empty();
        // Within the guard of the client's field (`guard.rs`).
        let mut touched = self.plan_one_field(&inner, &field, force)?;
        touched.insert(child);
        Ok(touched)
    }

    /// Enters the current object (of type `object`) in `graph` through `key`:
    /// plans the key and `requires` fields in the current fetch, finds or
    /// creates the entity fetch, and returns where the walk stands in it.
    pub(super) fn enter(
        &mut self,
        cx: &Cx,
        object: &Name,
        graph: &str,
        key: &str,
        requires: Option<&str>,
    ) -> Result<(Cx, usize), PlanError> {
        // Key and required fields are aliased where the client's fields (or
        // another requirement's arguments) take their names.
        let client = self.client_fields(cx);
        let key_set = self.field_set(object, key)?;
        let key_set = self.alias_internal(object, &key_set, &client);
        let requires_set = match requires {
            Some(fields) => {
                let set = self.field_set(object, fields)?;
                Some(self.alias_internal(object, &set, &client))
            }
            None => None,
        };
        // Key (and required) fields are read from the current object, outside
        // any conditional fragment.
        let mut source = cx.clone();
        source.loc = cx.entity_loc.clone();
        source.conditions = Vec::new();
        source.depth = cx.depth + 1;
        self.add(
            &source,
            FieldSel::plain(apollo_compiler::name!("__typename"), true),
        )?;
        let mut deps = Touched::from([cx.fetch]);
        deps.extend(self.plan_set(&source, &key_set)?);
        if let Some(set) = &requires_set {
            deps.extend(self.plan_set(&source, set)?);
        }
        // The representation: `__typename` first, then the key, then `@requires` fields.
        let mut representation = SelSet::default();
        let i = representation.add_fragment(Some(object.clone()), ast::DirectiveList::new());
        if let Some(set) = representation.at_mut(&[i]) {
            let _ = set.add_field(FieldSel::plain(apollo_compiler::name!("__typename"), true));
            representation_into(self.sg, set, object, &key_set);
            if let Some(required) = &requires_set {
                representation_into(self.sg, set, object, required);
            }
        }
        let child = self.entity_fetch(graph, cx, deps, &representation);
        // A subgraph that knows the type only through an `@interfaceObject`
        // (or the interface itself as an object) gets the interface's name.
        let type_in = self.sg.type_model(object).and_then(|t| t.graphs.get(graph));
        let via = type_in.and_then(|t| t.via_interface_object.clone());
        let as_object = type_in.is_some_and(|t| t.interface_object);
        let fetch = &mut self.fetches[child];
        if let Some(set_to) = via.clone().or_else(|| as_object.then(|| object.clone())) {
            let rewrite = TypenameRewrite {
                type_condition: object.to_string(),
                set_to: set_to.to_string(),
            };
            if !fetch.typenames.contains(&rewrite) {
                fetch.typenames.push(rewrite);
            }
        }
        let fragment_type = via.unwrap_or_else(|| object.clone());
        let top = fetch
            .selection
            .add_fragment(Some(fragment_type), ast::DirectiveList::new());
        let mut loc = vec![top];
        for c in &cx.conditions {
            let set = self.set_at(child, &loc)?;
            loc.push(set.add_fragment(None, c.clone()));
        }
        let inner = Cx {
            fetch: child,
            graph: graph.to_string(),
            loc,
            entity_loc: vec![top],
            level: Vec::new(),
            parent: object.clone(),
            path: cx.path.clone(),
            conditions: cx.conditions.clone(),
            provided: None,
            depth: cx.depth + 1,
            frames: cx.frames.clone(),
            defer: cx.defer,
        };
        Ok((inner, child))
    }

    /// The entity fetch for `graph` at the current path with these
    /// dependencies, reused when one exists whose representation can take
    /// `representation` too.
    fn entity_fetch(
        &mut self,
        graph: &str,
        cx: &Cx,
        deps: Touched,
        representation: &SelSet,
    ) -> usize {
        // Waiting for a fetch implies waiting for what it waits for.
        let deps: Touched = deps
            .iter()
            .filter(|d| !deps.iter().any(|o| o != *d && self.depends_on(*o, **d)))
            .copied()
            .collect();
        // The first fetch to the same place whose representation takes this
        // one without a conflict; the merge is done by the check itself (it
        // changes nothing when it fails).
        let existing = self.fetches.iter_mut().position(|f| {
            f.graph == graph
                && f.path.as_ref() == Some(&cx.path)
                && f.deps == deps
                && f.defer == cx.defer
                && f.requires.merge_requires(representation).is_ok()
        });
        match existing {
            Some(id) => id,
            None => {
                let id = self.new_fetch(graph.to_string(), Some(cx.path.clone()), deps, cx.defer);
                self.fetches[id].requires = representation.clone();
                id
            }
        }
    }

    /// Whether fetch `a` waits (transitively) for fetch `b`.
    fn depends_on(&self, a: usize, b: usize) -> bool {
        self.fetches
            .get(a)
            .is_some_and(|f| f.deps.iter().any(|x| *x == b || self.depends_on(*x, b)))
    }

    /// Picks the subgraph (and key) to fetch `field` of `object` from.
    fn choose_target(
        &self,
        cx: &Cx,
        object: &Name,
        field: &Field,
        forced: Option<&str>,
    ) -> Result<Target, PlanError> {
        // Interfaces jump only from an `@interfaceObject` (see `plan_interface_object`).
        if !matches!(
            self.kind(object),
            Some(TypeKind::Object | TypeKind::Interface)
        ) {
            return Err(PlanError::Unsatisfiable(format!(
                "{object}.{} is not resolvable in {} and {object} is not an object type",
                field.name, cx.graph
            )));
        }
        let Some(model) = self.sg.field(object, &field.name) else {
            return Err(PlanError::Unsatisfiable(format!(
                "{object}.{} is unknown",
                field.name
            )));
        };
        let Some(type_model) = self.sg.type_model(object) else {
            return Err(PlanError::Unsatisfiable(format!("{object} is unknown")));
        };
        let mut best: Option<(Target, (bool, bool, usize))> = None;
        for (graph, in_graph) in &model.graphs {
            if !in_graph.resolvable()
                || (*graph == cx.graph
                    && in_graph.requires.is_none()
                    && in_graph.context_arguments.is_empty())
                || forced.is_some_and(|f| f != graph)
            {
                continue;
            }
            let Some(type_in) = type_model.graphs.get(graph) else {
                continue;
            };
            let keys: Vec<&str> = type_in
                .keys
                .iter()
                .filter(|k| k.resolvable)
                .map(|k| k.fields.as_str())
                .collect();
            let providable = keys
                .iter()
                .find(|k| self.can_provide(cx, object, k))
                .copied();
            // A key the source cannot provide is fetched first, unless it
            // needs the very field we are looking for.
            let fallback = keys.iter().copied().find(|k| !key_mentions(k, &field.name));
            let Some(key) = providable.or(fallback) else {
                continue;
            };
            let reuse = self.fetches.iter().any(|f| {
                f.graph == *graph
                    && f.path.as_ref() == Some(&cx.path)
                    && f.deps.len() == 1
                    && f.deps.contains(&cx.fetch)
                    && f.defer == cx.defer
            });
            let (score, _) = self.field_coverage(graph, object, field, None);
            let rank = (providable.is_some(), reuse, score);
            if best.as_ref().is_none_or(|(_, r)| rank > *r) {
                best = Some((
                    Target {
                        graph: graph.clone(),
                        key: key.to_string(),
                    },
                    rank,
                ));
            }
        }
        best.map(|(t, _)| t).ok_or_else(|| {
            PlanError::Unsatisfiable(format!(
                "{object}.{} cannot be reached from subgraph {}",
                field.name, cx.graph
            ))
        })
    }

    /// Whether some subgraph has a key of `object` that the current subgraph
    /// can return here, so that an entity jump can start from this object.
    fn identifiable(&self, cx: &Cx, object: &Name) -> bool {
        self.sg.type_model(object).is_some_and(|t| {
            t.graphs.iter().any(|(graph, in_graph)| {
                *graph != cx.graph
                    && in_graph
                        .keys
                        .iter()
                        .any(|k| k.resolvable && self.can_provide(cx, object, &k.fields))
            })
        })
    }

    /// Whether the current subgraph can return every field of `key` on `object`.
    pub(super) fn can_provide(&self, cx: &Cx, object: &Name, key: &str) -> bool {
        let Ok(set) = self.field_set(object, key) else {
            return false;
        };
        self.provides_set(cx, object, &set)
    }

    fn provides_set(&self, cx: &Cx, parent: &Name, set: &SelectionSet) -> bool {
        set.selections.iter().all(|sel| match sel {
            Selection::Field(f) => {
                let own_key = self.in_own_key(cx, parent, &f.name);
                let here = self.is_local(cx, parent, &f.name)
                    || (own_key
                        && self
                            .sg
                            .field(parent, &f.name)
                            .is_some_and(|m| m.graphs.contains_key(&cx.graph)));
                if !here {
                    return false;
                }
                if f.selection_set.selections.is_empty() {
                    return true;
                }
                let mut inner = cx.clone();
                inner.provided = cx
                    .provided
                    .as_ref()
                    .and_then(|p| p.below(self.sg, parent, &f.name));
                self.provides_set(&inner, f.ty().inner_named_type(), &f.selection_set)
            }
            Selection::InlineFragment(f) => self.provides_set(cx, parent, &f.selection_set),
            Selection::FragmentSpread(_) => false,
        })
    }
}

impl Builder<'_> {
    /// When no key leads to `field`, fetches the path to it again from the
    /// nearest ancestor (an entity, or the query root) that another subgraph
    /// can resolve the whole path from. `None` when there is none.
    fn refetch_from_ancestor(
        &mut self,
        cx: &Cx,
        field: &Node<Field>,
    ) -> Result<Option<Touched>, PlanError> {
        // Each field with the type it is selected on (an object type where
        // the walk went through a type condition).
        let mut chain = vec![(field.clone(), cx.parent.clone())];
        let mut frame: Option<Rc<Frame>> = cx.frames.clone();
        while let Some(fr) = frame {
            chain.insert(0, (fr.field.clone(), fr.cx.parent.clone()));
            let ancestor = &fr.cx;
            let is_query_root = self.operation_type == OperationType::Query
                && self.sg.schema.root_operation(OperationType::Query) == Some(&ancestor.parent);
            let graphs: Vec<String> = self.sg.subgraphs.iter().map(|s| s.name.clone()).collect();
            // From the root, a path is fetched again as the client wrote it
            // (no object type the walk chose on the way): a root field is not
            // re-entered for an object the first subgraph could not identify.
            let untyped;
            let chain_here = if is_query_root {
                untyped = declared_types(&ancestor.parent, &chain);
                &untyped
            } else {
                &chain
            };
            for graph in graphs {
                if graph == ancestor.graph || !self.chain_resolvable(&graph, chain_here) {
                    continue;
                }
                let Some(path_field) = synthetic_path(chain_here) else {
                    continue;
                };
                if is_query_root {
                    trace!(field = %field.name, subgraph = %graph, "re-fetch from the root");
                    let fetch = self.root_fetch(&graph, cx.defer);
                    let root = Cx {
                        fetch,
                        graph: graph.clone(),
                        loc: Vec::new(),
                        entity_loc: Vec::new(),
                        level: Vec::new(),
                        parent: ancestor.parent.clone(),
                        path: Vec::new(),
                        conditions: Vec::new(),
                        provided: None,
                        depth: ancestor.depth + 1,
                        frames: None,
                        defer: cx.defer,
                    };
                    return self.plan_field(&root, &path_field, false).map(Some);
                }
                let entity = self
                    .sg
                    .type_model(&ancestor.parent)
                    .and_then(|t| t.graphs.get(&graph))
                    .is_some_and(|t| t.keys.iter().any(|k| k.resolvable));
                if entity && matches!(self.kind(&ancestor.parent), Some(TypeKind::Object)) {
                    trace!(field = %field.name, subgraph = %graph, "re-fetch from an ancestor entity");
                    let mut ancestor = ancestor.clone();
                    ancestor.defer = cx.defer;
                    return self.jump_to(&ancestor, &path_field, Some(&graph)).map(Some);
                }
            }
            frame = ancestor.frames.clone();
        }
        Ok(None)
    }

    /// Whether `graph` resolves every field of `chain` on its type.
    fn chain_resolvable(&self, graph: &str, chain: &[(Node<Field>, Name)]) -> bool {
        chain
            .iter()
            .all(|(f, parent)| self.sg.resolves(graph, parent, &f.name))
    }
}

/// `chain` with each field on the declared type of the field before it.
fn declared_types(root: &Name, chain: &[(Node<Field>, Name)]) -> Vec<(Node<Field>, Name)> {
    let mut parent = root.clone();
    chain
        .iter()
        .map(|(f, _)| {
            let entry = (f.clone(), parent.clone());
            parent = f.ty().inner_named_type().clone();
            entry
        })
        .collect()
}

/// The first field of `chain` selecting only the next one (under a type
/// condition where that one is selected on a narrower type), down to the
/// last field with its own selections.
fn synthetic_path(chain: &[(Node<Field>, Name)]) -> Option<Node<Field>> {
    let ((last, _), rest) = chain.split_last()?;
    let mut current = last.clone();
    let mut current_parent = &chain.last()?.1;
    for (f, parent_of_f) in rest.iter().rev() {
        let mut parent: Field = (**f).clone();
        let own_type = f.ty().inner_named_type();
        let selection = if current_parent == own_type {
            Selection::Field(current)
        } else {
            let mut selection_set = SelectionSet::new(current_parent.clone());
            selection_set.selections.push(Selection::Field(current));
            Selection::InlineFragment(Node::new(InlineFragment {
                type_condition: Some(current_parent.clone()),
                directives: ast::DirectiveList::new(),
                selection_set,
            }))
        };
        parent.selection_set.selections = vec![selection];
        current = Node::new(parent);
        current_parent = parent_of_f;
    }
    Some(current)
}

/// Adds a key or `@requires` field set to a representation selection. The
/// executor matches fragments by exact `__typename`, so fragments are
/// normalised to object types, and abstract fields select `__typename`.
pub(super) fn representation_into(
    sg: &Supergraph,
    out: &mut SelSet,
    parent: &Name,
    set: &SelectionSet,
) {
    let is_abstract = matches!(
        sg.type_model(parent).map(|t| t.kind),
        Some(TypeKind::Interface | TypeKind::Union)
    );
    if !is_abstract {
        representation_flat(sg, out, parent, set);
        return;
    }
    let _ = out.add_field(FieldSel::plain(apollo_compiler::name!("__typename"), true));
    for sel in &set.selections {
        if let Selection::Field(f) = sel {
            representation_field(sg, out, f);
        }
    }
    for object in sg.possible_types(parent) {
        let mut fields = SelSet::default();
        for sel in &set.selections {
            if let Selection::InlineFragment(f) = sel
                && applies(sg, f.type_condition.as_ref(), &object)
            {
                representation_flat(sg, &mut fields, &object, &f.selection_set);
            }
        }
        if !fields.items.is_empty() {
            let i = out.add_fragment(Some(object), ast::DirectiveList::new());
            if let Some(target) = out.at_mut(&[i]) {
                target.items.extend(fields.items);
            }
        }
    }
}

/// The fields of `set` on the object type `object`, fragments flattened.
fn representation_flat(sg: &Supergraph, out: &mut SelSet, object: &Name, set: &SelectionSet) {
    for sel in &set.selections {
        match sel {
            Selection::Field(f) => representation_field(sg, out, f),
            Selection::InlineFragment(f) if applies(sg, f.type_condition.as_ref(), object) => {
                representation_flat(sg, out, object, &f.selection_set);
            }
            _ => {}
        }
    }
}

fn representation_field(sg: &Supergraph, out: &mut SelSet, field: &Field) {
    let leaf = field.selection_set.selections.is_empty();
    let mut sel = FieldSel::plain(field.name.clone(), leaf);
    sel.alias = field.alias.clone();
    sel.arguments = field.arguments.clone();
    if let Ok(i) = out.add_field(sel)
        && !leaf
        && let Some(Sel::Field(added)) = out.items.get_mut(i)
        && let Some(nested) = added.selections.as_mut()
    {
        representation_into(
            sg,
            nested,
            field.ty().inner_named_type(),
            &field.selection_set,
        );
    }
}

fn applies(sg: &Supergraph, condition: Option<&Name>, object: &Name) -> bool {
    condition.is_none_or(|c| c == object || sg.schema.is_subtype(c, object))
}
