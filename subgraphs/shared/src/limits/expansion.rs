//! What a parsed document amounts to once its fragments are expanded, found
//! without expanding them: each fragment is measured once, after the
//! fragments it spreads (memoised over the fragment graph, in an order found
//! without recursion), so a chain of fragments that each spread the next
//! twice costs one step per fragment, not 2^n. Counts saturate: they only
//! have to be compared with a limit.
//!
//! async-graphql's own checks (its recursion-depth check, its complexity and
//! depth visitors, execution) follow every spread, so they may only see a
//! document this has bounded: every operation *and* every fragment (its
//! validation also walks unused fragments, expanding their spreads).

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// The size of a selection set with its fragments expanded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measure {
    /// Selections (fields, fragment spreads, inline fragments).
    pub selections: usize,
    /// The deepest field nesting (a leaf field at the top is 1).
    pub depth: usize,
    /// The deepest nesting of sub-selections, spreads and inline fragments,
    /// as async-graphql's recursion-depth check counts it.
    pub nesting: usize,
    /// Aliased fields.
    pub aliases: usize,
    /// Fields at the top of the set (spreads and inline fragments expanded).
    pub top_fields: usize,
}

impl Measure {
    /// The larger of each count (the limits apply to each one separately).
    pub fn max(self, other: Measure) -> Measure {
        Measure {
            selections: self.selections.max(other.selections),
            depth: self.depth.max(other.depth),
            nesting: self.nesting.max(other.nesting),
            aliases: self.aliases.max(other.aliases),
            top_fields: self.top_fields.max(other.top_fields),
        }
    }
}

/// A document whose fragments cannot be expanded at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpansionError {
    /// A fragment spreads itself, directly or through others.
    #[error("fragment `{0}` spreads itself (directly or through other fragments)")]
    Cycle(String),
    /// A spread names a fragment the document does not define.
    #[error("unknown fragment `{0}`")]
    Unknown(String),
}

/// The largest measures of the document's operations and of its fragments
/// (each count is the largest over them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DocumentMeasure {
    /// Over every operation.
    pub operations: Measure,
    /// Over every fragment definition.
    pub fragments: Measure,
}

/// Measures `document`.
pub fn measure(document: &ExecutableDocument) -> Result<DocumentMeasure, ExpansionError> {
    let order = fragment_order(document)?;
    let mut measured: HashMap<&str, Measure> = HashMap::with_capacity(order.len());
    let mut fragments = Measure::default();
    for name in order {
        let Some(fragment) = document.fragments.get(name) else {
            return Err(ExpansionError::Unknown(name.to_owned()));
        };
        let measure = selection_set(&fragment.node.selection_set.node, &measured)?;
        fragments = fragments.max(measure);
        measured.insert(name, measure);
    }
    let mut operations = Measure::default();
    for (_, operation) in document.operations.iter() {
        operations = operations.max(selection_set(
            &operation.node.selection_set.node,
            &measured,
        )?);
    }
    Ok(DocumentMeasure {
        operations,
        fragments,
    })
}

/// Every fragment, each after the fragments it spreads (a depth-first
/// post-order over the spread graph, with an explicit stack); refuses cycles
/// and unknown fragments.
fn fragment_order(document: &ExecutableDocument) -> Result<Vec<&str>, ExpansionError> {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Mark {
        Open,
        Done,
    }
    let spreads: HashMap<&str, Vec<&str>> = document
        .fragments
        .iter()
        .map(|(name, fragment)| {
            let mut names = Vec::new();
            spread_names(&fragment.node.selection_set.node, &mut names);
            (name.as_str(), names)
        })
        .collect();
    let mut marks: HashMap<&str, Mark> = HashMap::with_capacity(spreads.len());
    let mut order = Vec::with_capacity(spreads.len());
    let mut roots: Vec<&str> = spreads.keys().copied().collect();
    roots.sort_unstable();
    for root in roots {
        if marks.contains_key(root) {
            continue;
        }
        marks.insert(root, Mark::Open);
        // (fragment, index of the next spread of it to follow)
        let mut stack = vec![(root, 0usize)];
        while let Some((name, next)) = stack.pop() {
            let children = spreads.get(name).map_or(&[][..], Vec::as_slice);
            let Some(&child) = children.get(next) else {
                marks.insert(name, Mark::Done);
                order.push(name);
                continue;
            };
            stack.push((name, next + 1));
            match marks.get(child) {
                Some(Mark::Done) => {}
                Some(Mark::Open) => return Err(ExpansionError::Cycle(child.to_owned())),
                None if !spreads.contains_key(child) => {
                    return Err(ExpansionError::Unknown(child.to_owned()));
                }
                None => {
                    marks.insert(child, Mark::Open);
                    stack.push((child, 0));
                }
            }
        }
    }
    Ok(order)
}

/// The fragments `set` spreads, at any depth of it (not through them).
fn spread_names<'a>(set: &'a SelectionSet, names: &mut Vec<&'a str>) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => spread_names(&field.node.selection_set.node, names),
            Selection::FragmentSpread(spread) => {
                names.push(spread.node.fragment_name.node.as_str());
            }
            Selection::InlineFragment(inline) => {
                spread_names(&inline.node.selection_set.node, names);
            }
        }
    }
}

/// Measures `set`, taking each fragment it spreads from `fragments`.
/// Recurses only into `set`'s own nesting, which the parser bounds.
fn selection_set(
    set: &SelectionSet,
    fragments: &HashMap<&str, Measure>,
) -> Result<Measure, ExpansionError> {
    let mut total = Measure::default();
    for selection in &set.items {
        let (inner, own) = match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                let nested = selection_set(&field.selection_set.node, fragments)?;
                let has_selection = !field.selection_set.node.items.is_empty();
                (
                    Measure {
                        depth: nested.depth + 1,
                        nesting: nested.nesting + usize::from(has_selection),
                        aliases: nested
                            .aliases
                            .saturating_add(usize::from(field.alias.is_some())),
                        top_fields: 1,
                        ..nested
                    },
                    true,
                )
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                let Some(&fragment) = fragments.get(name) else {
                    return Err(ExpansionError::Unknown(name.to_owned()));
                };
                (fragment, false)
            }
            Selection::InlineFragment(inline) => (
                selection_set(&inline.node.selection_set.node, fragments)?,
                false,
            ),
        };
        total.selections = total
            .selections
            .saturating_add(inner.selections)
            .saturating_add(1);
        total.depth = total.depth.max(inner.depth);
        total.nesting = total.nesting.max(if own {
            inner.nesting
        } else {
            inner.nesting + 1
        });
        total.aliases = total.aliases.saturating_add(inner.aliases);
        total.top_fields = total.top_fields.saturating_add(inner.top_fields);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn measure_of(query: &str) -> Result<DocumentMeasure, ExpansionError> {
        measure(&parse_query(query).expect("parses"))
    }

    #[test]
    fn counts_a_plain_operation() {
        let measure = measure_of("{ a { b c: d { e } } f }").expect("measures");
        assert_eq!(
            measure.operations,
            Measure {
                selections: 5,
                depth: 3,
                nesting: 2,
                aliases: 1,
                top_fields: 2,
            }
        );
    }

    #[test]
    fn expands_fragments_and_counts_spreads() {
        let measure = measure_of(
            "{ ...F x: a { ... on A { ...G } } } \
             fragment F on Query { a { b } } fragment G on A { y: b }",
        )
        .expect("measures");
        // ...F (1) + a (1) + b (1) + x: a (1) + inline (1) + ...G (1) + y: b (1)
        assert_eq!(measure.operations.selections, 7);
        assert_eq!(measure.operations.depth, 2);
        // x: a { ... on A { ...G { y } } }: field set, inline, spread.
        assert_eq!(measure.operations.nesting, 3);
        assert_eq!(measure.operations.aliases, 2);
        assert_eq!(measure.operations.top_fields, 2);
        assert_eq!(measure.fragments.selections, 2);
    }

    #[test]
    fn a_fragment_bomb_is_measured_in_linear_time() {
        let mut query = String::from("query { ...F0 }");
        for i in 0..64 {
            query.push_str(&format!(
                " fragment F{i} on Query {{ ...F{n} ...F{n} }}",
                n = i + 1
            ));
        }
        query.push_str(" fragment F64 on Query { __typename }");
        let measure = measure_of(&query).expect("measures");
        assert_eq!(measure.operations.selections, usize::MAX);
        assert_eq!(measure.operations.top_fields, usize::MAX);
        assert_eq!(measure.operations.nesting, 65);
        assert_eq!(measure.fragments.selections, usize::MAX);
    }

    #[test]
    fn long_fragment_chains_do_not_recurse() {
        let mut query = String::from("{ ...F0 }");
        for i in 0..20_000 {
            query.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
        }
        query.push_str(" fragment F20000 on Query { __typename }");
        let measure = measure_of(&query).expect("measures");
        assert_eq!(measure.operations.nesting, 20_001);
    }

    #[test]
    fn cycles_and_unknown_fragments_are_refused() {
        assert_eq!(
            measure_of("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
            Err(ExpansionError::Cycle("A".into()))
        );
        assert_eq!(
            measure_of("{ ...A } fragment A on Query { a { ...A } }"),
            Err(ExpansionError::Cycle("A".into()))
        );
        assert_eq!(
            measure_of("{ ...Missing }"),
            Err(ExpansionError::Unknown("Missing".into()))
        );
        assert_eq!(
            measure_of("{ a } fragment A on Query { ...Missing }"),
            Err(ExpansionError::Unknown("Missing".into()))
        );
    }
}
