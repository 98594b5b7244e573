//! Aliases the planner adds: for a client field whose response key another
//! field at its level uses with another shape in the subgraph, and for
//! internal (key and `@requires`) fields whose name a client field or other
//! arguments already take.
//!
//! # Layout
//! - [`Builder::shape_alias`]: while walking, against the fields already at
//!   the level of the enclosing field (fragments on other types).
//! - [`Builder::alias_merged_conflicts`]: once the fetches are built, against
//!   the fields that meet only when fields of one response key merge their
//!   selections (GraphQL's `SameResponseShape`), e.g. `... on A { f { ... on
//!   X { id } } } ... on B { f { ... on Y { id } } }` with `X.id: ID` and
//!   `Y.id: ID!` in the subgraph.
//! - [`Builder::alias_internal`]: key and `@requires` fields.

use std::collections::HashMap;

use apollo_compiler::executable::{Field, Selection, SelectionSet};
use apollo_compiler::{Name, Node, ast};

use super::{Builder, Cx};
use crate::core::plan::selection::{FieldSel, Loc, Sel, SelSet};
use crate::core::plan::{KeyRename, PathElement};

/// See [`Builder::alias_internal`].
#[derive(Debug, Default, Clone)]
pub(super) struct InternalAliases {
    first_arguments: HashMap<(Name, Name), String>,
    aliases: HashMap<(Name, Name, String), Name>,
    pub(super) next: usize,
}

impl Builder<'_> {
    /// The response shape of `parent.field` as `graph` declares it
    /// (`join__field(type:)`, else the supergraph's type): list and non-null
    /// wrappers, and the named type for leaves. Two fields under one response
    /// key must have the same shape; composite types of any name may merge
    /// (their sub-selections are compared instead), so they print as `{}`.
    fn response_shape(&self, graph: &str, parent: &str, name: &str) -> Option<String> {
        let ty = match self
            .sg
            .field(parent, name)
            .and_then(|m| m.graphs.get(graph))
            .and_then(|g| g.ty.clone())
        {
            Some(ty) => ty,
            None => self.sg.schema.type_field(parent, name).ok()?.ty.to_string(),
        };
        let named = ty.trim_matches(|c: char| matches!(c, '[' | ']' | '!' | ' '));
        Some(if self.kind(named).is_some() {
            ty.replace(named, "{}")
        } else {
            ty
        })
    }

    /// An alias for a field whose response key another field at this level
    /// (in a fragment on another type) already uses with another response
    /// shape in this subgraph; the fetch then renames it back. `None` when
    /// the key is free (shapes are only compared when a key is shared).
    pub(super) fn shape_alias(&mut self, cx: &Cx, field: &Field) -> Option<Name> {
        let key = field.response_key();
        let fetch = self.fetches.get(cx.fetch)?;
        let level = fetch.selection.at(&cx.level)?;
        let mut others = Vec::new();
        level.fields_with_key(key, &mut others);
        others.retain(|f| f.name != field.name || f.parent.as_ref() != Some(&cx.parent));
        if others.is_empty() {
            return None;
        }
        let shape = self.response_shape(&cx.graph, &cx.parent, &field.name)?;
        let differs = others.iter().any(|f| {
            f.parent
                .as_ref()
                .and_then(|p| self.response_shape(&cx.graph, p, &f.name))
                .is_some_and(|s| s != shape)
        });
        if !differs {
            return None;
        }
        let alias = loop {
            let candidate = format!("{key}__sf{}", self.internal.next);
            self.internal.next += 1;
            if !level.has_key(&candidate) {
                break Name::new(&candidate).ok()?;
            }
        };
        let base = fetch.path.as_ref().map_or(0, Vec::len);
        let path = cx
            .path
            .iter()
            .skip(base)
            .filter_map(|p| match p {
                PathElement::Key(k) => Some(k.clone()),
                PathElement::List => None,
            })
            .collect();
        self.fetches[cx.fetch].renames.push(KeyRename {
            path,
            type_condition: cx.parent.to_string(),
            from: alias.to_string(),
            to: key.to_string(),
        });
        Some(alias)
    }

    /// Aliases, in every fetch, each field whose response key a field met
    /// earlier at its merged level (see the module's Layout) answers with
    /// another shape in the subgraph, which would otherwise reject the whole
    /// operation; the fetch renames it back, and its objects select
    /// `__typename` so that the executor can tell them.
    pub(in crate::core::plan) fn alias_merged_conflicts(&mut self) {
        for id in 0..self.fetches.len() {
            let mut found = Vec::new();
            self.merged_conflicts(id, &[Vec::new()], &[], &mut found);
            if found.is_empty() {
                continue;
            }
            for conflict in found {
                self.alias_conflict(id, conflict);
            }
            // A rename below a renamed key follows the client's key, so
            // renames run outer first (the key's depth is its path's length).
            self.fetches[id].renames.sort_by_key(|r| r.path.len());
        }
    }

    /// The fields of the merged level made of the sets at `levels` of fetch
    /// `id` (response keys `path` from the fetch's result) whose shape
    /// differs from the first known shape of their key, and those of every
    /// merged level below.
    fn merged_conflicts(
        &self,
        id: usize,
        levels: &[Loc],
        path: &[String],
        out: &mut Vec<MergeConflict>,
    ) {
        let Some(fetch) = self.fetches.get(id) else {
            return;
        };
        let mut met = Vec::new();
        for level in levels {
            if let Some(set) = fetch.selection.at(level) {
                met_fields(set, level, level, &mut met);
            }
        }
        let mut keys: Vec<&Name> = Vec::new();
        for m in &met {
            if !keys.contains(&m.key) {
                keys.push(m.key);
            }
        }
        for key in keys {
            let shape = |m: &Met| {
                m.field
                    .parent
                    .as_ref()
                    .and_then(|p| self.response_shape(&fetch.graph, p, &m.field.name))
            };
            let group: Vec<(&Met, Option<String>)> = met
                .iter()
                .filter(|m| m.key == key)
                .map(|m| (m, shape(m)))
                .collect();
            let first = group.iter().find_map(|(_, s)| s.clone());
            let mut below = path.to_vec();
            below.push(key.to_string());
            let mut merged = Vec::new();
            for (m, s) in &group {
                let nested = m.field.selections.is_some().then(|| m.nested());
                let differs = matches!((&first, s), (Some(f), Some(s)) if f != s);
                if differs {
                    out.push(MergeConflict {
                        set: m.set.clone(),
                        index: m.index,
                        level: m.level.clone(),
                        levels: levels.to_vec(),
                        path: path.to_vec(),
                    });
                    if let Some(nested) = nested {
                        self.merged_conflicts(id, &[nested], &below, out);
                    }
                } else {
                    merged.extend(nested);
                }
            }
            if !merged.is_empty() {
                self.merged_conflicts(id, &merged, &below, out);
            }
        }
    }

    /// Gives the field of `conflict` in fetch `id` a fresh alias.
    fn alias_conflict(&mut self, id: usize, conflict: MergeConflict) {
        let Some(fetch) = self.fetches.get(id) else {
            return;
        };
        let Some(Sel::Field(field)) = fetch
            .selection
            .at(&conflict.set)
            .and_then(|s| s.items.get(conflict.index))
        else {
            return;
        };
        let (key, parent) = (field.response_key().clone(), field.parent.clone());
        let Some(parent) = parent else { return };
        let alias = loop {
            let candidate = format!("{key}__sf{}", self.internal.next);
            self.internal.next += 1;
            let taken = conflict
                .levels
                .iter()
                .filter_map(|l| fetch.selection.at(l))
                .any(|s| s.has_key(&candidate));
            if !taken {
                break Name::new(&candidate).ok();
            }
        };
        let Some(alias) = alias else { return };
        let fetch = &mut self.fetches[id];
        if let Some(Sel::Field(field)) = fetch
            .selection
            .at_mut(&conflict.set)
            .and_then(|s| s.items.get_mut(conflict.index))
        {
            field.alias = Some(alias.clone());
        }
        if let Some(level) = fetch.selection.at_mut(&conflict.level) {
            let typename = apollo_compiler::name!("__typename");
            // Fails only when the client took `__typename` as an alias of
            // another field: its objects are then not told apart.
            let _ = level.add_field(FieldSel::plain(typename, true));
        }
        fetch.renames.push(KeyRename {
            path: conflict.path,
            type_condition: parent.to_string(),
            from: alias.to_string(),
            to: key.to_string(),
        });
    }

    /// Gives the fields of an internal (key or `@requires`) field set an alias
    /// where their own name cannot be their response key: a client field at
    /// that level takes the key for another field or other arguments, or an
    /// earlier internal field of this type took it with other arguments.
    /// `client` are the client's fields at this level.
    pub(super) fn alias_internal(
        &mut self,
        parent: &Name,
        set: &SelectionSet,
        client: &[Node<Field>],
    ) -> SelectionSet {
        let mut out = set.clone();
        for sel in &mut out.selections {
            match sel {
                Selection::Field(node) => {
                    let field = node.make_mut();
                    let arguments = arguments_text(&field.arguments);
                    let same_key: Vec<&Node<Field>> = client
                        .iter()
                        .filter(|c| *c.response_key() == field.name)
                        .collect();
                    let client_clash = same_key
                        .iter()
                        .any(|c| c.name != field.name || arguments_text(&c.arguments) != arguments);
                    let first = self
                        .internal
                        .first_arguments
                        .entry((parent.clone(), field.name.clone()))
                        .or_insert_with(|| arguments.clone());
                    if client_clash || *first != arguments {
                        field.alias = self.internal_alias(parent, &field.name, arguments, client);
                    }
                    if !field.selection_set.selections.is_empty() {
                        let mut nested = Vec::new();
                        if field.alias.is_none() {
                            for c in same_key {
                                self.collect_fields(&c.selection_set, &mut nested);
                            }
                        }
                        let ty = field.ty().inner_named_type().clone();
                        field.selection_set =
                            self.alias_internal(&ty, &field.selection_set, &nested);
                    }
                }
                Selection::InlineFragment(node) => {
                    let fragment = node.make_mut();
                    let ty = fragment
                        .type_condition
                        .clone()
                        .unwrap_or_else(|| parent.clone());
                    fragment.selection_set =
                        self.alias_internal(&ty, &fragment.selection_set, client);
                }
                Selection::FragmentSpread(_) => {}
            }
        }
        out
    }

    /// The alias of an internal field: the same for the same (type, field,
    /// arguments) within a plan, never a response key of the client's.
    fn internal_alias(
        &mut self,
        parent: &Name,
        name: &Name,
        arguments: String,
        client: &[Node<Field>],
    ) -> Option<Name> {
        let taken = |alias: &str| client.iter().any(|c| c.response_key() == alias);
        let key = (parent.clone(), name.clone(), arguments);
        if let Some(alias) = self.internal.aliases.get(&key)
            && !taken(alias)
        {
            return Some(alias.clone());
        }
        loop {
            let candidate = format!("{name}__sf{}", self.internal.next);
            self.internal.next += 1;
            if taken(&candidate) {
                continue;
            }
            let alias = Name::new(&candidate).ok()?;
            self.internal.aliases.insert(key, alias.clone());
            return Some(alias);
        }
    }
}

/// A field of a merged level.
struct Met<'s> {
    field: &'s FieldSel,
    key: &'s Name,
    /// The set holding it, and its index there.
    set: Loc,
    index: usize,
    /// The set of the level it was found under (its object's selections).
    level: Loc,
}

impl Met<'_> {
    /// Where the field's own selections are.
    fn nested(&self) -> Loc {
        let mut loc = self.set.clone();
        loc.push(self.index);
        loc
    }
}

/// A field to alias, found by [`Builder::merged_conflicts`].
struct MergeConflict {
    set: Loc,
    index: usize,
    level: Loc,
    /// The sets of its merged level (the alias must be new in all).
    levels: Vec<Loc>,
    /// Response keys from the fetch's result to its objects.
    path: Vec<String>,
}

/// The fields of `set` (at `loc`, under the level set `level`) and of its
/// fragments, in order.
fn met_fields<'s>(set: &'s SelSet, loc: &Loc, level: &Loc, out: &mut Vec<Met<'s>>) {
    for (index, item) in set.items.iter().enumerate() {
        match item {
            Sel::Field(field) => out.push(Met {
                field,
                key: field.response_key(),
                set: loc.clone(),
                index,
                level: level.clone(),
            }),
            Sel::Fragment(fragment) => {
                let mut inner = loc.clone();
                inner.push(index);
                met_fields(&fragment.selections, &inner, level, out);
            }
        }
    }
}

/// Arguments as text, for comparing two uses of a field.
fn arguments_text(arguments: &[Node<ast::Argument>]) -> String {
    let mut out = String::new();
    for a in arguments {
        out.push_str(&a.name);
        out.push(':');
        out.push_str(&a.value.to_string());
        out.push(' ');
    }
    out
}
