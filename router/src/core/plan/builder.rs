//! The planning walk: the client's selections, subgraph by subgraph, with an
//! entity fetch wherever a field lives elsewhere.
//!
//! Each [`Fetch`] collects a [`SelSet`]; a fetch that needs data of others
//! (keys, `@requires` fields) lists them in `deps`. The walk prefers to stay
//! in the current subgraph, groups the fields of one jump (same subgraph, same
//! path, same dependencies) into one fetch, and expands abstract types into
//! their possible object types only when a field needs it.
//!
//! The walk carries the innermost deferred fragment it is in (`Cx::defer`):
//! a jump from there creates (or reuses) only fetches of that fragment, and
//! a leaf an enclosing part already fetches at the same place is not fetched
//! again (`builder/deferred.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Instant;

use apollo_compiler::ast::{self, OperationType};
use apollo_compiler::executable::{ExecutableDocument, Field, FieldSet, Selection, SelectionSet};
use apollo_compiler::{Name, Node};

use super::selection::{Conflict, FieldSel, Loc, SelSet};
use super::{ContextVariable, KeyRename, PathElement, PlanError, TypenameRewrite, Unplannable};
use crate::core::normalize::{defer_id, removed, without_defer};
use crate::core::supergraph::{Supergraph, TypeKind};

/// How deep key and `@requires` resolution may recurse before giving up.
const MAX_DEPTH: usize = 8;

/// One fetch being built.
#[derive(Debug, Clone)]
pub(super) struct Fetch {
    pub graph: String,
    /// `None` for root fetches; the flatten path for entity fetches.
    pub path: Option<Vec<PathElement>>,
    /// Representation selections (entity fetches).
    pub requires: SelSet,
    pub selection: SelSet,
    /// The fetches whose data this one needs.
    pub deps: BTreeSet<usize>,
    /// Keys to give back their client's name in the result.
    pub renames: Vec<KeyRename>,
    /// `__typename`s to change in the representations.
    pub typenames: Vec<TypenameRewrite>,
    /// Variables of `@fromContext` arguments.
    pub contexts: Vec<ContextVariable>,
    /// The deferred fragment (`@defer(id:)`) this fetch is for; `None`: the
    /// primary part.
    pub defer: Option<usize>,
}

/// Where the walk stands.
#[derive(Debug, Clone)]
struct Cx {
    fetch: usize,
    graph: String,
    /// The selection set being filled.
    loc: Loc,
    /// The set of the current object (outside conditional fragments): keys go here.
    entity_loc: Loc,
    /// The set of the enclosing field (or the fetch's top), where response
    /// keys of all its fragments meet.
    level: Loc,
    parent: Name,
    path: Vec<PathElement>,
    /// `@skip`/`@include` of enclosing fragments, repeated in entity fetches.
    conditions: Vec<ast::DirectiveList>,
    provided: Option<Provided>,
    depth: usize,
    /// The enclosing levels, nearest first (for re-fetching a path from an
    /// ancestor when no key leads to a field).
    frames: Option<Rc<Frame>>,
    /// The innermost deferred fragment around (`@defer(id:)`): fetches a jump
    /// creates here are for it alone (`None`: the primary part).
    defer: Option<usize>,
}

/// One enclosing level: where the walk stood and the client field it entered.
#[derive(Debug)]
struct Frame {
    cx: Cx,
    field: Node<Field>,
}

/// Fetch ids holding planned data.
type Touched = BTreeSet<usize>;

/// A fragment's type condition, directives and selections.
type FragmentParts<'s> = (Option<&'s Name>, &'s ast::DirectiveList, &'s SelectionSet);

pub(super) struct Builder<'a> {
    sg: &'a Supergraph,
    doc: &'a ExecutableDocument,
    pub fetches: Vec<Fetch>,
    /// Root fetches in order.
    pub roots: Vec<usize>,
    operation_type: OperationType,
    /// Internal (key and `@requires`) fields: the arguments first asked for
    /// each (type, field), and the aliases given to other arguments.
    internal: InternalAliases,
    /// When planning gives up ([`super::PlanLimits::max_time`]).
    pub deadline: Option<Instant>,
    /// Leave out a selection under `@skip`/`@include` on variables that
    /// cannot be planned, recording it in `unplannable` (see `guard.rs`).
    pub tolerant: bool,
    /// The conditions of the selections being planned, outermost first.
    guards: Vec<ast::DirectiveList>,
    /// The selections left out.
    pub unplannable: Vec<Unplannable>,
    /// Each deferred fragment met, with the one around it (`None`: primary).
    defer_parents: BTreeMap<usize, Option<usize>>,
}

fn list_depth(ty: &ast::Type) -> usize {
    match ty {
        ast::Type::Named(_) | ast::Type::NonNullNamed(_) => 0,
        ast::Type::List(inner) | ast::Type::NonNullList(inner) => 1 + list_depth(inner),
    }
}

impl<'a> Builder<'a> {
    pub fn new(sg: &'a Supergraph, doc: &'a ExecutableDocument) -> Self {
        Builder {
            sg,
            doc,
            fetches: Vec::new(),
            roots: Vec::new(),
            operation_type: OperationType::Query,
            internal: InternalAliases::default(),
            deadline: None,
            tolerant: false,
            guards: Vec::new(),
            unplannable: Vec::new(),
            defer_parents: BTreeMap::new(),
        }
    }

    fn new_fetch(
        &mut self,
        graph: String,
        path: Option<Vec<PathElement>>,
        deps: BTreeSet<usize>,
        defer: Option<usize>,
    ) -> usize {
        self.fetches.push(Fetch {
            graph,
            path,
            requires: SelSet::default(),
            selection: SelSet::default(),
            deps,
            renames: Vec::new(),
            typenames: Vec::new(),
            contexts: Vec::new(),
            defer,
        });
        self.fetches.len() - 1
    }

    fn set_at(&mut self, fetch: usize, loc: &[usize]) -> Result<&mut SelSet, PlanError> {
        self.fetches
            .get_mut(fetch)
            .and_then(|f| f.selection.at_mut(loc))
            .ok_or_else(|| PlanError::Internal("lost track of a selection set".into()))
    }

    fn kind(&self, ty: &str) -> Option<TypeKind> {
        self.sg.type_model(ty).map(|t| t.kind)
    }

    fn field_set(&self, ty: &Name, fields: &str) -> Result<SelectionSet, PlanError> {
        FieldSet::parse(&self.sg.schema, ty.clone(), fields, "fields")
            .map(|f| f.selection_set)
            .map_err(|e| PlanError::InvalidFieldSet {
                type_name: ty.to_string(),
                fields: fields.to_string(),
                message: e.errors.to_string(),
            })
    }

    /// Whether the current subgraph returns `parent.field` itself.
    fn is_local(&self, cx: &Cx, parent: &str, field: &str) -> bool {
        if cx
            .provided
            .as_ref()
            .is_some_and(|p| p.provides(self.sg, parent, field))
        {
            return true;
        }
        let Some(model) = self.sg.field(parent, field) else {
            return true;
        };
        let Some(here) = model.graphs.get(&cx.graph) else {
            return false;
        };
        if here.requires.is_some() || !here.context_arguments.is_empty() {
            return false;
        }
        here.resolvable() || (!here.used_overridden && self.in_own_key(cx, parent, field))
    }

    /// Whether `field` is part of a key of `parent` in the current subgraph
    /// that it can return although `@external`: where it extends the type
    /// (Fed1-style `extend type`), or where the object was entered by an
    /// entity fetch (the key came in the representation). Otherwise another
    /// subgraph owns the value and this one's is not trusted.
    fn in_own_key(&self, cx: &Cx, parent: &str, field: &str) -> bool {
        let entered = self
            .fetches
            .get(cx.fetch)
            .is_some_and(|f| f.path.as_ref() == Some(&cx.path));
        self.sg
            .type_model(parent)
            .and_then(|t| t.graphs.get(&cx.graph))
            .is_some_and(|t| {
                (t.extension || entered) && t.keys.iter().any(|k| key_mentions(&k.fields, field))
            })
    }

    /// Plans a selection set at `cx`.
    fn plan_set(&mut self, cx: &Cx, set: &SelectionSet) -> Result<Touched, PlanError> {
        if set.selections.iter().any(|s| removed(s.directives())) {
            // Normalisation's placeholder `__typename @skip(if: true)`.
            let mut kept = set.clone();
            kept.selections.retain(|s| !removed(s.directives()));
            return self.plan_set(cx, &kept);
        }
        if self.is_interface_object(&cx.graph, &cx.parent) {
            return self.plan_interface_object(cx, set);
        }
        match self.kind(&cx.parent) {
            Some(TypeKind::Interface | TypeKind::Union) => {
                if self.direct_ok(cx, &cx.parent, set) || self.keyed_without_objects(cx) {
                    self.plan_abstract(cx, set)
                } else {
                    let mut touched = Touched::new();
                    for object in self.sg.possible_types_in(&cx.graph, &cx.parent) {
                        let i = self
                            .set_at(cx.fetch, &cx.loc)?
                            .add_fragment(Some(object.clone()), ast::DirectiveList::new());
                        let mut inner = cx.clone();
                        inner.loc.push(i);
                        inner.entity_loc = inner.loc.clone();
                        inner.parent = object;
                        touched.extend(self.plan_set(&inner, set)?);
                    }
                    Ok(touched)
                }
            }
            _ => {
                let mut touched = Touched::new();
                for sel in &set.selections {
                    touched.extend(self.plan_selection(cx, sel)?);
                }
                Ok(touched)
            }
        }
    }

    /// An interface with a `@key` in the current subgraph but no implementation
    /// there: the fields it does not resolve are fetched through its key on
    /// the interface itself (or planning fails clearly), rather than dropped.
    fn keyed_without_objects(&self, cx: &Cx) -> bool {
        self.kind(&cx.parent) == Some(TypeKind::Interface)
            && self
                .sg
                .type_model(&cx.parent)
                .and_then(|t| t.graphs.get(&cx.graph))
                .is_some_and(|t| t.keys.iter().any(|k| k.resolvable))
            && self.sg.possible_types_in(&cx.graph, &cx.parent).is_empty()
    }

    /// The type condition, directives and selections of an inline fragment or
    /// a fragment spread; `None` for a field.
    fn fragment_parts<'s>(&self, sel: &'s Selection) -> Result<Option<FragmentParts<'s>>, PlanError>
    where
        'a: 's,
    {
        Ok(Some(match sel {
            Selection::Field(_) => return Ok(None),
            Selection::InlineFragment(f) => {
                (f.type_condition.as_ref(), &f.directives, &f.selection_set)
            }
            Selection::FragmentSpread(s) => {
                let frag = self.doc.fragments.get(&s.fragment_name).ok_or_else(|| {
                    PlanError::Internal(format!("no fragment {}", s.fragment_name))
                })?;
                (
                    Some(frag.type_condition()),
                    &s.directives,
                    &frag.selection_set,
                )
            }
        }))
    }

    /// A selection under an object type.
    fn plan_selection(&mut self, cx: &Cx, sel: &Selection) -> Result<Touched, PlanError> {
        let Some((type_condition, directives, inner)) = self.fragment_parts(sel)? else {
            return match sel {
                Selection::Field(f) => self.plan_field(cx, f, false),
                _ => Ok(Touched::new()),
            };
        };
        if !type_condition.is_none_or(|t| self.applies(t, &cx.parent)) {
            return Ok(Touched::new());
        }
        self.plan_fragment_body(cx, directives, inner)
    }

    /// A fragment's selections at the current type, wrapped in its
    /// conditions. A deferred fragment's (`@defer(id:)`) are planned for its
    /// id: fields the current subgraph resolves stay in the current fetch,
    /// jumps go to fetches of that deferred fragment only.
    fn plan_fragment_body(
        &mut self,
        cx: &Cx,
        directives: &ast::DirectiveList,
        inner: &SelectionSet,
    ) -> Result<Touched, PlanError> {
        if let Some(id) = defer_id(directives) {
            let deferred = self.enter_deferred(cx, id);
            let directives = without_defer(directives);
            return self.plan_fragment_body(&deferred, &directives, inner);
        }
        self.guarded(std::slice::from_ref(directives), &cx.path, "", |b| {
            b.plan_fragment_here(cx, directives, inner)
        })
    }

    fn plan_fragment_here(
        &mut self,
        cx: &Cx,
        directives: &ast::DirectiveList,
        inner: &SelectionSet,
    ) -> Result<Touched, PlanError> {
        if directives.is_empty() {
            return self.plan_set(cx, inner);
        }
        let i = self
            .set_at(cx.fetch, &cx.loc)?
            .add_fragment(None, directives.clone());
        let mut inner_cx = cx.clone();
        inner_cx.loc.push(i);
        inner_cx.conditions.push(directives.clone());
        self.plan_set(&inner_cx, inner)
    }

    /// Whether a fragment on `condition` applies to objects of type `object`.
    fn applies(&self, condition: &str, object: &str) -> bool {
        condition == object || self.sg.schema.is_subtype(condition, object)
    }

    /// Plans one field of the client's (see [`Builder::plan_one_field`]).
    fn plan_field(
        &mut self,
        cx: &Cx,
        field: &Node<Field>,
        force: bool,
    ) -> Result<Touched, PlanError> {
        let directives = std::slice::from_ref(&field.directives);
        self.guarded(directives, &cx.path, field.response_key(), |b| {
            b.plan_one_field(cx, field, force)
        })
    }

    /// Plans one field: here when the subgraph resolves it (or `force`), else
    /// through an entity fetch.
    fn plan_one_field(
        &mut self,
        cx: &Cx,
        field: &Node<Field>,
        force: bool,
    ) -> Result<Touched, PlanError> {
        if self.deadline.is_some_and(|d| Instant::now() > d) {
            return Err(PlanError::TooComplex(
                "the operation took too long to plan".into(),
            ));
        }
        if field.name == "__typename" {
            let mut f = FieldSel::plain(field.name.clone(), true);
            f.alias = field.alias.clone();
            f.directives = field.directives.clone();
            self.add(cx, f)?;
            return Ok(Touched::from([cx.fetch]));
        }
        if !force && !self.is_local(cx, &cx.parent, &field.name) {
            return self.jump(cx, field);
        }
        let leaf = field.selection_set.selections.is_empty();
        let alias = match self.shape_alias(cx, field) {
            Some(alias) => Some(alias),
            None => field.alias.clone(),
        };
        let sel = FieldSel {
            alias,
            name: field.name.clone(),
            arguments: field.arguments.clone(),
            directives: field.directives.clone(),
            selections: if leaf { None } else { Some(SelSet::default()) },
            parent: Some(cx.parent.clone()),
        };
        let i = self.add(cx, sel)?;
        let mut touched = Touched::from([cx.fetch]);
        if leaf {
            return Ok(touched);
        }
        let api_type = field.ty().inner_named_type().clone();
        let child_type = self.type_in_graph(&cx.graph, &cx.parent, &field.name, &api_type);
        let mut path = cx.path.clone();
        path.push(PathElement::Key(field.response_key().to_string()));
        path.extend(std::iter::repeat_n(
            PathElement::List,
            list_depth(field.ty()),
        ));
        let provided = self.provided_below(&cx.graph, &cx.parent, field, cx.provided.as_ref())?;
        let mut loc = cx.loc.clone();
        loc.push(i);
        let inner = Cx {
            fetch: cx.fetch,
            graph: cx.graph.clone(),
            loc: loc.clone(),
            entity_loc: loc.clone(),
            level: loc,
            parent: child_type.clone(),
            path,
            conditions: Vec::new(),
            provided,
            depth: cx.depth,
            frames: Some(Rc::new(Frame {
                cx: cx.clone(),
                field: field.clone(),
            })),
            defer: cx.defer,
        };
        if matches!(
            self.kind(&api_type),
            Some(TypeKind::Interface | TypeKind::Union)
        ) {
            self.add(
                &inner,
                FieldSel::plain(apollo_compiler::name!("__typename"), true),
            )?;
        }
        touched.extend(self.plan_set(&inner, &field.selection_set)?);
        Ok(touched)
    }

    /// The named type of `parent.field` in `graph`: the supergraph's, unless
    /// `join__field(type:)` says the subgraph declares it narrower (a union
    /// field that one subgraph types as one of its members). Fragments are
    /// then planned against what that subgraph can actually answer.
    fn type_in_graph(&self, graph: &str, parent: &str, field: &str, api_type: &Name) -> Name {
        self.sg
            .field(parent, field)
            .and_then(|m| m.graphs.get(graph))
            .and_then(|g| g.ty.as_deref())
            .map(|ty| ty.trim_matches(|c: char| matches!(c, '[' | ']' | '!' | ' ')))
            .filter(|named| *named != api_type.as_str() && self.kind(named).is_some())
            .and_then(|named| Name::new(named).ok())
            .unwrap_or_else(|| api_type.clone())
    }

    /// The client's fields at the current object (fragments flattened);
    /// empty at the root.
    fn client_fields(&self, cx: &Cx) -> Vec<Node<Field>> {
        let mut out = Vec::new();
        if let Some(frame) = &cx.frames {
            self.collect_fields(&frame.field.selection_set, &mut out);
        }
        out
    }

    fn collect_fields(&self, set: &SelectionSet, out: &mut Vec<Node<Field>>) {
        for sel in &set.selections {
            match sel {
                Selection::Field(f) => out.push(f.clone()),
                Selection::InlineFragment(f) => self.collect_fields(&f.selection_set, out),
                Selection::FragmentSpread(s) => {
                    if let Some(frag) = self.doc.fragments.get(&s.fragment_name) {
                        self.collect_fields(&frag.selection_set, out);
                    }
                }
            }
        }
    }

    fn add(&mut self, cx: &Cx, field: FieldSel) -> Result<usize, PlanError> {
        let key = field.response_key().to_string();
        self.set_at(cx.fetch, &cx.loc)?
            .add_field(field)
            .map_err(|Conflict| PlanError::AliasConflict {
                response_key: key,
                type_name: cx.parent.to_string(),
            })
    }
}

/// Whether the key field set `key` names `field` (at any depth).
fn key_mentions(key: &str, field: &str) -> bool {
    key.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| w == field)
}

mod abstract_types;
mod aliases;
mod context;
mod coverage;
mod deferred;
mod guard;
mod interface_object;
mod jump;
mod provided;
mod root;

use aliases::InternalAliases;
use provided::Provided;
