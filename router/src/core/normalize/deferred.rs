//! Deferred fragments kept by [`normalize_deferred`](super::normalize_deferred):
//! whether a `@defer` applies for the request's variables, the
//! `@defer(id:, label:)` a kept fragment carries, and reading it back.
//!
//! # Layout
//! - [`defer_id`], [`defer_label`]: read a kept fragment's `@defer` back.
//! - `Defers`: the walk's state (variables, next id), `defer_directive`;
//!   the walk's steps for deferred fragments (`Walk::deferred`,
//!   `collect_deferred`, `build_deferred`).
//! - tests of the normalised form with defers kept.

use apollo_compiler::ast::DirectiveList;
use apollo_compiler::executable::{InlineFragment, Operation, SelectionSet};
use apollo_compiler::{Name, Node};

use super::{Collected, Empty, Entry, Key, NormalizeError, Walk, without_defer};

/// The `id` of the `@defer(id:)` a deferred fragment has in a document from
/// [`normalize_deferred`]; `None` on a fragment that is not deferred.
pub fn defer_id(directives: &DirectiveList) -> Option<usize> {
    let id = directives.get("defer")?.specified_argument_by_name("id")?;
    match id.as_ref() {
        apollo_compiler::ast::Value::Int(n) => n.try_to_i32().ok()?.try_into().ok(),
        _ => None,
    }
}

/// The label of a deferred fragment of a document from [`normalize_deferred`].
pub fn defer_label(directives: &DirectiveList) -> Option<&str> {
    directives
        .get("defer")?
        .specified_argument_by_name("label")?
        .as_str()
}

/// What [`normalize_deferred`] needs to keep deferred fragments.
pub(super) struct Defers<'d> {
    pub(super) variables: &'d serde_json::Map<String, serde_json::Value>,
    pub(super) operation: &'d Operation,
    /// The next `@defer(id:)`.
    pub(super) next_id: usize,
    /// Deferred fragments collected so far (keys that never merge).
    pub(super) occurrences: usize,
}

impl Defers<'_> {
    /// Whether a `@defer` with this `if:` argument (`None`: absent) defers.
    pub(super) fn holds(&self, condition: Option<&apollo_compiler::ast::Value>) -> bool {
        use apollo_compiler::ast::Value;
        match condition {
            None => true,
            Some(Value::Boolean(b)) => *b,
            Some(Value::Variable(name)) => match self.variables.get(name.as_str()) {
                Some(serde_json::Value::Bool(b)) => *b,
                Some(_) => true,
                None => self
                    .operation
                    .variables
                    .iter()
                    .find(|v| v.name == *name)
                    .and_then(|v| v.default_value.as_ref())
                    .and_then(|v| v.to_bool())
                    .unwrap_or(true),
            },
            Some(_) => true,
        }
    }
}

/// The `@defer(id: <id>, label: "<label>")` of a kept deferred fragment.
fn defer_directive(id: usize, label: Option<&str>) -> Node<apollo_compiler::ast::Directive> {
    use apollo_compiler::ast::{Argument, Directive, Value};
    use apollo_compiler::name;
    let mut arguments = vec![Node::new(Argument {
        name: name!("id"),
        value: Node::new(Value::Int(i32::try_from(id).unwrap_or(i32::MAX).into())),
    })];
    if let Some(label) = label {
        arguments.push(Node::new(Argument {
            name: name!("label"),
            value: Node::new(Value::String(label.to_owned())),
        }));
    }
    Node::new(Directive {
        name: name!("defer"),
        arguments,
    })
}

impl<'d> Walk<'d> {
    /// `Some(label)` when a fragment with these directives is kept deferred.
    pub(super) fn deferred(&self, directives: &DirectiveList) -> Option<Option<String>> {
        let defers = self.defers.as_ref()?;
        let defer = directives.get("defer")?;
        if !defers.holds(defer.specified_argument_by_name("if").map(|v| v.as_ref())) {
            return None;
        }
        Some(
            defer
                .specified_argument_by_name("label")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
        )
    }

    /// Collects a deferred fragment: a key of its own.
    pub(super) fn collect_deferred(
        &mut self,
        type_condition: Option<Name>,
        directives: &DirectiveList,
        label: Option<String>,
        location: Option<apollo_compiler::parser::SourceSpan>,
        set: &'d SelectionSet,
        out: &mut Collected<'d>,
    ) {
        let occurrence = self.defers.as_mut().map_or(0, |d| {
            d.occurrences += 1;
            d.occurrences
        });
        let key = Key::Deferred(
            occurrence,
            type_condition,
            without_defer(directives).into_owned(),
            label,
        );
        out.entries.insert(
            key,
            Entry::Fragment {
                location,
                sets: vec![set],
            },
        );
    }

    /// A kept deferred fragment on `ty` from its `sets`, with its
    /// `@defer(id:, label:)` after its other `directives`; `None` when
    /// literal conditions leave it empty (its id is then free again).
    pub(super) fn build_deferred(
        &mut self,
        ty: &Name,
        sets: &[&'d SelectionSet],
        type_condition: Option<Name>,
        mut directives: DirectiveList,
        label: Option<String>,
    ) -> Result<Option<InlineFragment>, NormalizeError> {
        let id = self.defers.as_ref().map_or(0, |d| d.next_id);
        if let Some(defers) = self.defers.as_mut() {
            defers.next_id += 1;
        }
        let selection_set = self.build(ty, sets, Empty::Keep)?;
        if selection_set.selections.is_empty() {
            // Nothing in it was deferred either. Not counted: normalising
            // again gives the same count.
            self.count -= 1;
            if let Some(defers) = self.defers.as_mut() {
                defers.next_id = id;
            }
            return Ok(None);
        }
        directives.push(defer_directive(id, label.as_deref()));
        Ok(Some(InlineFragment {
            type_condition,
            directives,
            selection_set,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{normalize, normalize_deferred};
    use super::*;
    use apollo_compiler::executable::Selection;
    use apollo_compiler::{ExecutableDocument, Schema};
    use serde_json::json;

    const SCHEMA: &str = "type Query { a: A b: A n: Int u: U } type A { a: A b: A n: Int m: Int } \
        union U = A | B type B { n: Int } \
        directive @defer(if: Boolean! = true, label: String) on FRAGMENT_SPREAD | INLINE_FRAGMENT";

    /// The normalised text with defers kept, and how many.
    fn deferred(query: &str, variables: serde_json::Value) -> (String, usize) {
        let schema = Schema::parse_and_validate(SCHEMA, "s.graphql").expect("valid schema");
        let document =
            ExecutableDocument::parse_and_validate(&schema, query, "q.graphql").expect("valid");
        let variables = variables.as_object().cloned().unwrap_or_default();
        let n = normalize_deferred(&document, None, 100, &variables).expect("normalises");
        (n.document.serialize().no_indent().to_string(), n.deferred)
    }

    #[test]
    fn deferred_fragments_are_kept_with_ids_in_document_order_and_labels() {
        let (text, count) = deferred(
            "{ n ... @defer(label: \"top\") { a { n } } a { ... @defer { m ... @defer(label: \"in\") { n } } } }",
            json!({}),
        );
        assert_eq!(
            text,
            "{ n ... @defer(id: 0, label: \"top\") { a { n } } \
             a { ... @defer(id: 1) { m ... @defer(id: 2, label: \"in\") { n } } } }"
        );
        assert_eq!(count, 3);
    }

    #[test]
    fn deferred_spreads_become_inline_fragments_on_their_type_condition() {
        let (text, count) = deferred(
            "{ a { ...X @defer ...X @defer(label: \"again\") } u { ...X @defer } } fragment X on A { n }",
            json!({}),
        );
        assert_eq!(
            text,
            "{ a { ... on A @defer(id: 0) { n } ... on A @defer(id: 1, label: \"again\") { n } } \
             u { ... on A @defer(id: 2) { n } } }"
        );
        assert_eq!(count, 3);
    }

    #[test]
    fn deferred_fragments_are_never_merged_nor_flattened() {
        let (text, _) = deferred(
            "{ a { n ... @defer { n } ... @defer { n } ... on A @defer { m } ... on A @defer { m } } }",
            json!({}),
        );
        assert_eq!(
            text,
            "{ a { n ... @defer(id: 0) { n } ... @defer(id: 1) { n } \
             ... on A @defer(id: 2) { m } ... on A @defer(id: 3) { m } } }"
        );
    }

    #[test]
    fn defer_if_false_makes_a_plain_fragment_and_takes_no_id() {
        let (text, count) = deferred(
            "query($d: Boolean!, $e: Boolean! = false, $f: Boolean! = false) { \
             a { ... @defer(if: false) { n } ... @defer(if: $d) { m } } \
             b { ... @defer(if: $e) { n } ... @defer(if: $f, label: \"f\") { m } ... @defer { n } } }",
            json!({ "d": false, "f": true }),
        );
        assert_eq!(
            text,
            "query($d: Boolean!, $e: Boolean! = false, $f: Boolean! = false) { \
             a { n m } b { n ... @defer(id: 0, label: \"f\") { m } ... @defer(id: 1) { n } } }"
        );
        assert_eq!(count, 2);
    }

    #[test]
    fn defer_if_a_variable_true_or_absent_without_default_defers() {
        let (text, count) = deferred(
            "query($d: Boolean! = false, $t: Boolean! = true) { \
             a { ... @defer(if: $d) { n } } b { ... @defer(if: $t) { n } } }",
            json!({ "d": true }),
        );
        assert_eq!(
            text,
            "query($d: Boolean! = false, $t: Boolean! = true) { \
             a { ... @defer(id: 0) { n } } b { ... @defer(id: 1) { n } } }"
        );
        assert_eq!(count, 2);
    }

    #[test]
    fn skip_and_include_stay_before_the_defer_and_literal_ones_still_remove() {
        let (text, count) = deferred(
            "query($i: Boolean!) { a { ... @include(if: $i) @defer(label: \"i\") { n } \
             ... @skip(if: true) @defer { m } ...X @defer @skip(if: $i) } } fragment X on A { m }",
            json!({ "i": true }),
        );
        assert_eq!(
            text,
            "query($i: Boolean!) { a { ... @include(if: $i) @defer(id: 0, label: \"i\") { n } \
             ... on A @skip(if: $i) @defer(id: 1) { m } } }"
        );
        assert_eq!(count, 2);
    }

    #[test]
    fn a_deferred_fragment_left_empty_is_dropped_and_frees_its_id() {
        let (text, count) = deferred(
            "{ a { ... @defer { n @skip(if: true) } ... @defer { m } } }",
            json!({}),
        );
        assert_eq!(text, "{ a { ... @defer(id: 0) { m } } }");
        assert_eq!(count, 1);
    }

    #[test]
    fn defer_id_and_label_read_the_kept_directive_back() {
        let schema = Schema::parse_and_validate(SCHEMA, "s.graphql").expect("valid schema");
        let query = "{ a { ... @defer(label: \"x\") { n } ... @defer { m } } }";
        let document =
            ExecutableDocument::parse_and_validate(&schema, query, "q.graphql").expect("valid");
        let n = normalize_deferred(&document, None, 100, &Default::default()).expect("ok");
        let operation = n.operation().expect("one operation");
        let Some(Selection::Field(a)) = operation.selection_set.selections.first() else {
            panic!("a first");
        };
        let read: Vec<_> = a
            .selection_set
            .selections
            .iter()
            .map(|s| (defer_id(s.directives()), defer_label(s.directives())))
            .collect();
        assert_eq!(read, [(Some(0), Some("x")), (Some(1), None)]);
        assert_eq!(defer_id(&a.directives), None);
        // The stripping normalisation keeps none.
        let stripped = normalize(&document, None, 100).expect("ok");
        assert_eq!(stripped.deferred, 0);
        assert_eq!(
            stripped.document.serialize().no_indent().to_string(),
            "{ a { n m } }"
        );
    }
}
