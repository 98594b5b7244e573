//! Aliases the planner adds: for a client field whose response key another
//! field at its level uses with another shape in the subgraph, and for
//! internal (key and `@requires`) fields whose name a client field or other
//! arguments already take.

use std::collections::HashMap;

use apollo_compiler::executable::{Field, Selection, SelectionSet};
use apollo_compiler::{Name, Node, ast};

use super::{Builder, Cx};
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
