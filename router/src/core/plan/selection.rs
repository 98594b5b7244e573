//! The selections the planner builds for one subgraph operation, with merging
//! by response key and a compact text form.

use std::fmt::Write as _;

use apollo_compiler::ast::{self, Value};
use apollo_compiler::{Name, Node};

use super::RequiresSelection;
use super::condition::{When, directives_condition};

/// A selection set under construction. Items are only ever appended, so an
/// index path ([`Loc`]) into nested sets stays valid.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct SelSet {
    pub items: Vec<Sel>,
}

/// An index path from a fetch's top-level selection set to a nested one.
pub(super) type Loc = Vec<usize>;

/// One selection.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Sel {
    Field(FieldSel),
    Fragment(FragSel),
}

/// A field; `selections` is `None` for leaves.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct FieldSel {
    pub alias: Option<Name>,
    pub name: Name,
    pub arguments: Vec<Node<ast::Argument>>,
    pub directives: ast::DirectiveList,
    pub selections: Option<SelSet>,
    /// The type the field was selected on, where known (to compare the
    /// response shapes of fields under one key).
    pub parent: Option<Name>,
}

impl FieldSel {
    /// A field without alias, arguments or directives.
    pub fn plain(name: Name, leaf: bool) -> Self {
        FieldSel {
            alias: None,
            name,
            arguments: Vec::new(),
            directives: ast::DirectiveList::new(),
            selections: if leaf { None } else { Some(SelSet::default()) },
            parent: None,
        }
    }

    /// The key of this field in the response.
    pub fn response_key(&self) -> &Name {
        self.alias.as_ref().unwrap_or(&self.name)
    }
}

/// An inline fragment, with or without a type condition.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct FragSel {
    pub type_condition: Option<Name>,
    pub directives: ast::DirectiveList,
    pub selections: SelSet,
}

/// Two different fields asked under one response key.
#[derive(Debug)]
pub(super) struct Conflict;

impl SelSet {
    /// The nested set at `loc`, read-only.
    pub fn at(&self, loc: &[usize]) -> Option<&SelSet> {
        let Some((first, rest)) = loc.split_first() else {
            return Some(self);
        };
        let next = match self.items.get(*first)? {
            Sel::Field(f) => f.selections.as_ref()?,
            Sel::Fragment(f) => &f.selections,
        };
        next.at(rest)
    }

    /// The fields of this set or its fragments (not nested fields) under
    /// response key `key` whose parent type is known.
    pub fn fields_with_key<'s>(&'s self, key: &str, out: &mut Vec<&'s FieldSel>) {
        for item in &self.items {
            match item {
                Sel::Field(f) if f.response_key() == key && f.parent.is_some() => out.push(f),
                Sel::Field(_) => {}
                Sel::Fragment(f) => f.selections.fields_with_key(key, out),
            }
        }
    }

    /// Whether a field of this set or its fragments answers under `key`.
    pub fn has_key(&self, key: &str) -> bool {
        self.items.iter().any(|item| match item {
            Sel::Field(f) => f.response_key() == key,
            Sel::Fragment(f) => f.selections.has_key(key),
        })
    }

    /// The nested set at `loc`.
    pub fn at_mut(&mut self, loc: &[usize]) -> Option<&mut SelSet> {
        let Some((first, rest)) = loc.split_first() else {
            return Some(self);
        };
        let next = match self.items.get_mut(*first)? {
            Sel::Field(f) => f.selections.as_mut()?,
            Sel::Fragment(f) => &mut f.selections,
        };
        next.at_mut(rest)
    }

    /// Adds a field (merging with an equal one) and returns its index.
    pub fn add_field(&mut self, field: FieldSel) -> Result<usize, Conflict> {
        for (i, item) in self.items.iter_mut().enumerate() {
            let Sel::Field(existing) = item else { continue };
            if existing.response_key() != field.response_key() {
                continue;
            }
            if existing.name != field.name || existing.arguments != field.arguments {
                return Err(Conflict);
            }
            if existing.directives == field.directives {
                return Ok(i);
            }
        }
        self.items.push(Sel::Field(field));
        Ok(self.items.len() - 1)
    }

    /// Merges the representation selection `other` into this one. Fields meet
    /// by name (the representation's key): the same name read under another
    /// alias or with other arguments is a conflict, and nothing is changed.
    pub fn merge_requires(&mut self, other: &SelSet) -> Result<(), Conflict> {
        let mut merged = self.clone();
        merged.merge_requires_into(other)?;
        *self = merged;
        Ok(())
    }

    fn merge_requires_into(&mut self, other: &SelSet) -> Result<(), Conflict> {
        for item in &other.items {
            match item {
                Sel::Field(field) => {
                    let existing = self.items.iter_mut().find_map(|s| match s {
                        Sel::Field(f) if f.name == field.name => Some(f),
                        _ => None,
                    });
                    match existing {
                        Some(f) if f.alias != field.alias || f.arguments != field.arguments => {
                            return Err(Conflict);
                        }
                        Some(f) => match (f.selections.as_mut(), field.selections.as_ref()) {
                            (Some(mine), Some(theirs)) => mine.merge_requires_into(theirs)?,
                            (None, None) => {}
                            _ => return Err(Conflict),
                        },
                        None => self.items.push(item.clone()),
                    }
                }
                Sel::Fragment(fragment) => {
                    let i = self
                        .add_fragment(fragment.type_condition.clone(), fragment.directives.clone());
                    if let Some(Sel::Fragment(mine)) = self.items.get_mut(i) {
                        mine.selections.merge_requires_into(&fragment.selections)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Adds an inline fragment (merging with an equal one) and returns its index.
    pub fn add_fragment(
        &mut self,
        type_condition: Option<Name>,
        directives: ast::DirectiveList,
    ) -> usize {
        for (i, item) in self.items.iter().enumerate() {
            if let Sel::Fragment(f) = item
                && f.type_condition == type_condition
                && f.directives == directives
            {
                return i;
            }
        }
        self.items.push(Sel::Fragment(FragSel {
            type_condition,
            directives,
            selections: SelSet::default(),
        }));
        self.items.len() - 1
    }

    /// When the set selects at least one field once `@skip`/`@include` are
    /// applied (`Never` for an empty set): for a fetch's top-level set, when
    /// the fetch has anything to fetch.
    pub(super) fn condition(&self) -> When {
        When::any(self.items.iter().map(|item| match item {
            Sel::Field(f) => directives_condition(&f.directives),
            Sel::Fragment(f) => When::all([
                directives_condition(&f.directives),
                f.selections.condition(),
            ]),
        }))
    }

    /// Drops fragments left empty (their fields all went to other fetches)
    /// and gives a composite field a `__typename` when its selections may be
    /// left empty: none are left (they all went to other fetches), or
    /// `@skip`/`@include` may remove every one. A selection set is never
    /// empty in GraphQL, and a subgraph answers `null` (async-graphql) or
    /// `{}` for an object whose fields are all skipped: with `__typename` it
    /// answers the object, which the client sees as `{}` (as the
    /// specification's execution gives) and a `null` only where the
    /// subgraph's value is null.
    pub fn prune(&mut self) {
        for item in &mut self.items {
            match item {
                Sel::Field(f) => {
                    if let Some(nested) = f.selections.as_mut() {
                        nested.prune();
                        if nested.condition() != When::Always {
                            let typename = apollo_compiler::name!("__typename");
                            // Fails only when the client took `__typename`
                            // as an alias of another field: then leave it.
                            let _ = nested.add_field(FieldSel::plain(typename, true));
                        }
                    }
                }
                Sel::Fragment(f) => f.selections.prune(),
            }
        }
        self.items
            .retain(|item| !matches!(item, Sel::Fragment(f) if f.selections.items.is_empty()));
    }

    /// The set as representation selections.
    pub fn to_requires(&self) -> Vec<RequiresSelection> {
        self.items
            .iter()
            .map(|item| match item {
                Sel::Field(f) => RequiresSelection::Field {
                    name: f.name.to_string(),
                    alias: f.alias.as_ref().map(Name::to_string),
                    selections: f
                        .selections
                        .as_ref()
                        .map(SelSet::to_requires)
                        .unwrap_or_default(),
                },
                Sel::Fragment(f) => RequiresSelection::InlineFragment {
                    type_condition: f
                        .type_condition
                        .as_ref()
                        .map(Name::to_string)
                        .unwrap_or_default(),
                    selections: f.selections.to_requires(),
                },
            })
            .collect()
    }

    /// The compact text form, `{ a b: c(x: $v) { d } ... on T { e } }`.
    pub fn write(&self, out: &mut String) {
        out.push('{');
        for item in &self.items {
            out.push(' ');
            match item {
                Sel::Field(f) => {
                    if let Some(alias) = &f.alias {
                        let _ = write!(out, "{alias}: ");
                    }
                    out.push_str(&f.name);
                    if !f.arguments.is_empty() {
                        out.push('(');
                        for (i, a) in f.arguments.iter().enumerate() {
                            if i > 0 {
                                out.push_str(", ");
                            }
                            let _ = write!(out, "{}: {}", a.name, a.value);
                        }
                        out.push(')');
                    }
                    for d in f.directives.iter() {
                        let _ = write!(out, " {d}");
                    }
                    if let Some(nested) = &f.selections {
                        out.push(' ');
                        nested.write(out);
                    }
                }
                Sel::Fragment(f) => {
                    out.push_str("...");
                    if let Some(t) = &f.type_condition {
                        let _ = write!(out, " on {t}");
                    }
                    for d in f.directives.iter() {
                        let _ = write!(out, " {d}");
                    }
                    out.push(' ');
                    f.selections.write(out);
                }
            }
        }
        out.push_str(" }");
    }

    /// The variables used anywhere in the set, in first-use order.
    pub fn variables(&self, out: &mut Vec<Name>) {
        for item in &self.items {
            match item {
                Sel::Field(f) => {
                    for a in &f.arguments {
                        value_variables(&a.value, out);
                    }
                    directive_variables(&f.directives, out);
                    if let Some(nested) = &f.selections {
                        nested.variables(out);
                    }
                }
                Sel::Fragment(f) => {
                    directive_variables(&f.directives, out);
                    f.selections.variables(out);
                }
            }
        }
    }
}

fn directive_variables(directives: &ast::DirectiveList, out: &mut Vec<Name>) {
    for d in directives.iter() {
        for a in &d.arguments {
            value_variables(&a.value, out);
        }
    }
}

fn value_variables(value: &Value, out: &mut Vec<Name>) {
    match value {
        Value::Variable(v) if !out.contains(v) => out.push(v.clone()),
        Value::List(items) => items.iter().for_each(|v| value_variables(v, out)),
        Value::Object(fields) => fields.iter().for_each(|(_, v)| value_variables(v, out)),
        _ => {}
    }
}
