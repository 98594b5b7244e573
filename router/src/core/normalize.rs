//! The client's operation normalised once, before limits are counted, the plan
//! is built and the response is formatted: named fragments inlined, fields
//! with the same response key (and the same directives) merged into one,
//! fragments without directives on the type they sit in flattened, and
//! fragments with the same type condition and directives merged.
//! `@skip`/`@include` on variables stay where the client wrote them; a
//! selection a literal condition removes (`@skip(if: true)`,
//! `@include(if: false)`) is dropped, so nothing later plans, counts or sends
//! it (an unreachable field there cannot make planning fail). A fragment left
//! empty goes too; a field or operation left with no selection keeps one
//! [`removed`] `__typename @skip(if: true)`, so the document stays valid
//! GraphQL and the field still answers its object (`{}`) or `null`.
//!
//! Every later walk is then linear in the size of the result: a document of
//! nested duplicated spreads (`fragment F0 on Query { ...F1 ...F1 }`, twenty
//! levels) normalises to the few fields it names instead of the 2^20 paths a
//! walk through the spreads takes. The result can still be large (twenty
//! levels of `a { ...F } b { ...F }` name 2^20 distinct response paths), so
//! it is built against a budget of selections and abandoned when it runs out.
//!
//! Normalising a normalised document gives the same document back.
//!
//! `@defer`: [`normalize`] drops it from fragments ([`without_defer`]): the
//! incremental delivery RFC lets a server answer a deferred fragment with the
//! rest of the response, which is what a client that does not accept
//! multipart gets (and every subscription). A deferred fragment is then a
//! plain fragment (flattened where it has no other directive), so no later
//! stage plans, sends or formats anything different for it, with any `if:`.
//! [`normalize_deferred`] keeps those whose `if:` holds for the request's
//! variables, each an inline fragment of its own marked
//! `@defer(id: <n>, label:)` (`deferred`), which the planner splits off and
//! the formatter sends as increments.
//!
//! # Layout
//! - [`normalize`], [`normalize_deferred`] → [`Normalized`]; `Walk`: the
//!   walk both share (`build` a selection set from its occurrences,
//!   `collect` them by key).
//! - [`removed`], [`without_defer`]: literal conditions and `@defer` stripping.
//! - `deferred`: whether a `@defer` applies, its `@defer(id:)` directive,
//!   [`defer_id`]/[`defer_label`] reading it back, and its tests.
//!
//! Like GraphQL's `CollectFields`, a fragment spread flattened into one
//! selection set is followed once, and the merged field's sub-selections are
//! the selections of every occurrence, in order.

use std::borrow::Cow;
use std::collections::HashSet;

use apollo_compiler::ast::DirectiveList;
use apollo_compiler::executable::{Field, InlineFragment, Operation, Selection, SelectionSet};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Name, Node};
use indexmap::IndexMap;

mod deferred;

use deferred::Defers;
pub use deferred::{defer_id, defer_label};

/// Why an operation could not be normalised.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NormalizeError {
    /// No operation of that name (or several and no name given).
    #[error("unknown operation: {0}")]
    UnknownOperation(String),
    /// The normalised operation would have more selections than allowed.
    #[error(
        "the operation has more than {limit} selections once its fragments are expanded and its fields merged"
    )]
    TooManySelections {
        /// The limit.
        limit: usize,
    },
}

/// A normalised document: the one selected operation, no named fragments.
#[derive(Debug, Clone)]
pub struct Normalized {
    /// The document (valid because the input was, and normalising keeps
    /// validity: merged fields were already required to be mergeable).
    pub document: Valid<ExecutableDocument>,
    /// How many selections (fields and inline fragments) it has.
    pub selections: usize,
    /// How many deferred fragments it keeps ([`normalize_deferred`]); 0 for
    /// [`normalize`], which strips `@defer`.
    pub deferred: usize,
}

impl Normalized {
    /// Its one operation (`None` only if the document was changed since).
    pub fn operation(&self) -> Option<&Node<Operation>> {
        self.document.operations.iter().next()
    }
}

/// Normalises operation `operation_name` of `document`, building at most
/// `max_selections` selections.
pub fn normalize(
    document: &Valid<ExecutableDocument>,
    operation_name: Option<&str>,
    max_selections: usize,
) -> Result<Normalized, NormalizeError> {
    normalize_with(document, operation_name, max_selections, None)
}

/// Normalises operation `operation_name` of `document` like [`normalize`],
/// but keeps the deferred fragments whose `if:` holds for `variables` (the
/// request's values; a variable absent takes its default, and without one the
/// fragment is deferred). Each becomes an inline fragment of its own, never
/// flattened nor merged with another, whose directives are its other
/// directives as written followed by one `@defer(id: <n>, label: "<label>")`
/// (`label` only when the client gave one): ids 0, 1, … in the order the
/// normalised document has them, a parent before its children ([`defer_id`]
/// reads them back). A `@defer` whose `if:` does not hold is dropped, as
/// [`normalize`] drops every one.
pub fn normalize_deferred(
    document: &Valid<ExecutableDocument>,
    operation_name: Option<&str>,
    max_selections: usize,
    variables: &serde_json::Map<String, serde_json::Value>,
) -> Result<Normalized, NormalizeError> {
    normalize_with(document, operation_name, max_selections, Some(variables))
}

fn normalize_with(
    document: &Valid<ExecutableDocument>,
    operation_name: Option<&str>,
    max_selections: usize,
    variables: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<Normalized, NormalizeError> {
    let operation = document
        .operations
        .get(operation_name)
        .map_err(|e| NormalizeError::UnknownOperation(e.message().to_string()))?;
    let mut walk = Walk {
        document,
        count: 0,
        max: max_selections,
        defers: variables.map(|variables| Defers {
            variables,
            operation,
            next_id: 0,
            occurrences: 0,
        }),
    };
    let selection_set = walk.build(
        &operation.selection_set.ty,
        &[&operation.selection_set],
        Empty::Placeholder,
    )?;
    let mut normalized = ExecutableDocument::new();
    normalized.sources = document.sources.clone();
    let mut op: Operation = operation.as_ref().clone();
    op.selection_set = selection_set;
    normalized
        .operations
        .insert(located(operation.location(), op));
    Ok(Normalized {
        document: Valid::assume_valid(normalized),
        selections: walk.count,
        deferred: walk.defers.map_or(0, |d| d.next_id),
    })
}

fn located<T>(location: Option<apollo_compiler::parser::SourceSpan>, value: T) -> Node<T> {
    match location {
        Some(location) => Node::new_parsed(value, location),
        None => Node::new(value),
    }
}

/// What one normalised selection set is made of, by first occurrence.
#[derive(PartialEq, Eq, Hash)]
enum Key {
    /// A field: its response key and directives.
    Field(Name, DirectiveList),
    /// An inline fragment: its type condition and directives.
    Fragment(Option<Name>, DirectiveList),
    /// A deferred fragment (its occurrence, so it merges with none): its type
    /// condition, its other directives and its label.
    Deferred(usize, Option<Name>, DirectiveList, Option<String>),
}

enum Entry<'d> {
    Field {
        first: &'d Node<Field>,
        sets: Vec<&'d SelectionSet>,
    },
    Fragment {
        location: Option<apollo_compiler::parser::SourceSpan>,
        sets: Vec<&'d SelectionSet>,
    },
}

#[derive(Default)]
struct Collected<'d> {
    entries: IndexMap<Key, Entry<'d>>,
    /// Named fragments already flattened into this set.
    visited: HashSet<&'d str>,
}

/// What [`Walk::build`] does with a selection set that literal conditions
/// leave empty.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Empty {
    /// Leave it empty (a fragment, dropped by its caller).
    Keep,
    /// Put the placeholder `__typename @skip(if: true)` in it.
    Placeholder,
}

/// Whether `@skip(if: true)` or `@include(if: false)` removes a selection
/// with these directives whatever the variables are.
pub fn removed(directives: &DirectiveList) -> bool {
    let literal = |name: &str| {
        directives
            .get(name)
            .and_then(|d| d.specified_argument_by_name("if"))
            .and_then(|v| v.to_bool())
    };
    literal("skip") == Some(true) || literal("include") == Some(false)
}

/// A fragment's `directives` without `@defer` (see the module doc).
pub fn without_defer(directives: &DirectiveList) -> Cow<'_, DirectiveList> {
    if directives.get("defer").is_none() {
        return Cow::Borrowed(directives);
    }
    let mut kept = directives.clone();
    kept.0.retain(|d| d.name.as_str() != "defer");
    Cow::Owned(kept)
}

/// The selection kept in a selection set whose every selection a literal
/// condition removed.
fn placeholder() -> Selection {
    use apollo_compiler::ast::{Argument, Directive, Value};
    use apollo_compiler::schema::FieldDefinition;
    use apollo_compiler::{name, ty};
    let typename = FieldDefinition {
        description: None,
        name: name!("__typename"),
        arguments: Vec::new(),
        ty: ty!(String!),
        directives: Default::default(),
    };
    let skip = Directive {
        name: name!("skip"),
        arguments: vec![Node::new(Argument {
            name: name!("if"),
            value: Node::new(Value::Boolean(true)),
        })],
    };
    let field = Field::new(name!("__typename"), Node::new(typename)).with_directive(skip);
    Selection::Field(Node::new(field))
}

struct Walk<'d> {
    document: &'d ExecutableDocument,
    count: usize,
    max: usize,
    /// `Some` when deferred fragments are kept ([`normalize_deferred`]).
    defers: Option<Defers<'d>>,
}

fn push_set<'d>(sets: &mut Vec<&'d SelectionSet>, set: &'d SelectionSet) {
    if !sets.iter().any(|s| std::ptr::eq(*s, set)) {
        sets.push(set);
    }
}

impl<'d> Walk<'d> {
    /// One selection set of type `ty` from the client's `sets` (all the
    /// occurrences of one merged field or fragment).
    fn build(
        &mut self,
        ty: &Name,
        sets: &[&'d SelectionSet],
        empty: Empty,
    ) -> Result<SelectionSet, NormalizeError> {
        let mut collected = Collected::default();
        for set in sets {
            self.collect(ty, set, &mut collected);
        }
        let mut out = SelectionSet::new(ty.clone());
        for (key, entry) in collected.entries {
            self.count += 1;
            if self.count > self.max {
                return Err(NormalizeError::TooManySelections { limit: self.max });
            }
            match (key, entry) {
                (Key::Field(_, _), Entry::Field { first, sets }) => {
                    let mut field = first.as_ref().clone();
                    if !field.selection_set.selections.is_empty() {
                        let inner = field.ty().inner_named_type().clone();
                        field.selection_set = self.build(&inner, &sets, Empty::Placeholder)?;
                    }
                    out.selections
                        .push(Selection::Field(located(first.location(), field)));
                }
                (Key::Fragment(type_condition, directives), Entry::Fragment { location, sets }) => {
                    let inner = type_condition.clone().unwrap_or_else(|| ty.clone());
                    let selection_set = self.build(&inner, &sets, Empty::Keep)?;
                    if selection_set.selections.is_empty() {
                        // Not counted: normalising again gives the same count.
                        self.count -= 1;
                        continue;
                    }
                    let fragment = InlineFragment {
                        type_condition,
                        directives,
                        selection_set,
                    };
                    out.selections
                        .push(Selection::InlineFragment(located(location, fragment)));
                }
                (
                    Key::Deferred(_, type_condition, directives, label),
                    Entry::Fragment { location, sets },
                ) => {
                    let inner = type_condition.clone().unwrap_or_else(|| ty.clone());
                    let Some(fragment) =
                        self.build_deferred(&inner, &sets, type_condition, directives, label)?
                    else {
                        continue;
                    };
                    out.selections
                        .push(Selection::InlineFragment(located(location, fragment)));
                }
                // Keys and entries are created in pairs.
                _ => {}
            }
        }
        if out.selections.is_empty() && empty == Empty::Placeholder {
            out.selections.push(placeholder());
        }
        Ok(out)
    }

    fn collect(&mut self, ty: &Name, set: &'d SelectionSet, out: &mut Collected<'d>) {
        for selection in &set.selections {
            if removed(selection.directives()) {
                continue;
            }
            match selection {
                Selection::Field(field) => {
                    let key = Key::Field(field.response_key().clone(), field.directives.clone());
                    match out.entries.entry(key).or_insert_with(|| Entry::Field {
                        first: field,
                        sets: Vec::new(),
                    }) {
                        Entry::Field { sets, .. } => push_set(sets, &field.selection_set),
                        Entry::Fragment { .. } => {}
                    }
                }
                Selection::FragmentSpread(spread) => {
                    let document = self.document;
                    let Some(fragment) = document.fragments.get(&spread.fragment_name) else {
                        continue;
                    };
                    let condition = fragment.type_condition();
                    if let Some(label) = self.deferred(&spread.directives) {
                        self.collect_deferred(
                            Some(condition.clone()),
                            &spread.directives,
                            label,
                            spread.location(),
                            &fragment.selection_set,
                            out,
                        );
                        continue;
                    }
                    let directives = without_defer(&spread.directives);
                    if directives.is_empty() && condition == ty {
                        if out.visited.insert(spread.fragment_name.as_str()) {
                            self.collect(ty, &fragment.selection_set, out);
                        }
                        continue;
                    }
                    out.fragment(
                        Some(condition.clone()),
                        &directives,
                        spread.location(),
                        &fragment.selection_set,
                    );
                }
                Selection::InlineFragment(inline) => {
                    if let Some(label) = self.deferred(&inline.directives) {
                        self.collect_deferred(
                            inline.type_condition.clone(),
                            &inline.directives,
                            label,
                            inline.location(),
                            &inline.selection_set,
                            out,
                        );
                        continue;
                    }
                    let directives = without_defer(&inline.directives);
                    let flat = directives.is_empty()
                        && inline.type_condition.as_ref().is_none_or(|c| c == ty);
                    if flat {
                        self.collect(ty, &inline.selection_set, out);
                        continue;
                    }
                    out.fragment(
                        inline.type_condition.clone(),
                        &directives,
                        inline.location(),
                        &inline.selection_set,
                    );
                }
            }
        }
    }
}

impl<'d> Collected<'d> {
    fn fragment(
        &mut self,
        type_condition: Option<Name>,
        directives: &DirectiveList,
        location: Option<apollo_compiler::parser::SourceSpan>,
        set: &'d SelectionSet,
    ) {
        let key = Key::Fragment(type_condition, directives.clone());
        match self.entries.entry(key).or_insert_with(|| Entry::Fragment {
            location,
            sets: Vec::new(),
        }) {
            Entry::Fragment { sets, .. } => push_set(sets, set),
            Entry::Field { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apollo_compiler::Schema;

    const SCHEMA: &str = "type Query { a: A b: A n: Int u: U } type A { a: A b: A n: Int m: Int } \
        union U = A | B type B { n: Int } \
        directive @defer(if: Boolean! = true, label: String) on FRAGMENT_SPREAD | INLINE_FRAGMENT";

    fn normalized(query: &str, max: usize) -> Result<String, NormalizeError> {
        let schema = Schema::parse_and_validate(SCHEMA, "s.graphql").expect("valid schema");
        let document =
            ExecutableDocument::parse_and_validate(&schema, query, "q.graphql").expect("valid");
        let n = normalize(&document, None, max)?;
        let text = n.document.serialize().no_indent().to_string();
        // Idempotent.
        let again = normalize(&n.document, None, max)?;
        assert_eq!(again.document.serialize().no_indent().to_string(), text);
        assert_eq!(again.selections, n.selections);
        Ok(text)
    }

    fn bomb(levels: usize, body: &str) -> String {
        let mut q = String::from("query { ...F0 }");
        for i in 0..levels {
            q.push_str(&format!(
                " fragment F{i} on Query {{ ...F{n} ...F{n} }}",
                n = i + 1
            ));
        }
        q.push_str(&format!(" fragment F{levels} on Query {{ {body} }}"));
        q
    }

    #[test]
    fn duplicated_spreads_collapse_to_the_fields_they_name() {
        let text = normalized(&bomb(30, "n a { n }"), 100).expect("small");
        assert_eq!(text, "{ n a { n } }");
    }

    #[test]
    fn duplicated_spreads_under_fields_collapse_too() {
        let mut q = String::from("query { a { ...F0 } }");
        for i in 0..30 {
            q.push_str(&format!(
                " fragment F{i} on A {{ a {{ ...F{n} }} a {{ ...F{n} }} }}",
                n = i + 1
            ));
        }
        q.push_str(" fragment F30 on A { n }");
        let text = normalized(&q, 100).expect("small");
        assert_eq!(text.matches("a {").count(), 31);
    }

    #[test]
    fn fields_merge_by_response_key_in_first_occurrence_order() {
        let text = normalized("{ a { n } n x: b { m } a { m a { n } } }", 100).expect("ok");
        assert_eq!(text, "{ a { n m a { n } } n x: b { m } }");
    }

    #[test]
    fn conditions_and_type_conditions_are_kept() {
        let text = normalized(
            "query($v: Boolean!) { n @skip(if: $v) n a { ... @include(if: $v) { n } ... @include(if: $v) { m } } \
             u { ... on A { n } ... on B { n } ...X } } fragment X on A { m }",
            100,
        )
        .expect("ok");
        assert_eq!(
            text,
            "query($v: Boolean!) { n @skip(if: $v) n a { ... @include(if: $v) { n m } } \
             u { ... on A { n m } ... on B { n } } }"
        );
    }

    #[test]
    fn selections_a_literal_condition_removes_are_dropped() {
        let text = normalized(
            "query($v: Boolean!) { n @skip(if: true) a @include(if: false) { n } \
             b { n @skip(if: false) m @include(if: true) a @skip(if: true) { n } } \
             u { ... on A @include(if: false) { n } ... on B { n @skip(if: true) } ...X @skip(if: true) } \
             v: a @skip(if: $v) { n } } fragment X on A { m }",
            100,
        )
        .expect("ok");
        assert_eq!(
            text,
            "query($v: Boolean!) { b { n @skip(if: false) m @include(if: true) } \
             u { __typename @skip(if: true) } v: a @skip(if: $v) { n } }"
        );
    }

    #[test]
    fn an_operation_whose_selections_are_all_removed_keeps_a_skipped_typename() {
        let text = normalized("{ a @include(if: false) { n } n @skip(if: true) }", 100);
        assert_eq!(text, Ok("{ __typename @skip(if: true) }".to_string()));
        let text = normalized(
            "{ a { n @skip(if: true) a @include(if: false) { n } } }",
            100,
        );
        assert_eq!(text, Ok("{ a { __typename @skip(if: true) } }".to_string()));
    }

    #[test]
    fn deferred_fragments_become_plain_fragments_whatever_their_condition() {
        let text = normalized(
            "query($d: Boolean!) { ... @defer { n } a { ...X @defer(label: \"x\") \
             ... on A @defer(if: false) { m } } u { ... on A @defer(if: $d) { n } ...Y @defer } \
             b { ... @defer(label: \"b\") @include(if: $d) { n } } } \
             fragment X on A { n } fragment Y on B { n }",
            100,
        );
        assert_eq!(
            text,
            Ok(
                "query($d: Boolean!) { n a { n m } u { ... on A { n } ... on B { n } } \
                b { ... @include(if: $d) { n } } }"
                    .to_string()
            )
        );
    }

    #[test]
    fn distinct_paths_past_the_budget_are_refused() {
        let mut q = String::from("query { a { ...F0 } }");
        for i in 0..20 {
            q.push_str(&format!(
                " fragment F{i} on A {{ a {{ ...F{n} }} b {{ ...F{n} }} }}",
                n = i + 1
            ));
        }
        q.push_str(" fragment F20 on A { n }");
        assert_eq!(
            normalized(&q, 1000),
            Err(NormalizeError::TooManySelections { limit: 1000 })
        );
    }
}
