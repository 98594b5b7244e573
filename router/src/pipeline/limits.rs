//! Limits: the operation's depth, aliases and root fields, checked after
//! validation and before normalising (which has its own selection budget).

use std::collections::HashMap;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::executable::{Operation, Selection, SelectionSet};

use super::error::StageError;
use crate::response::codes;
use crate::settings::Limits;

/// A limit the operation breaks, as the client is told.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitError {
    /// Selections nest too deeply.
    #[error("the operation is nested {found} levels deep; the limit is {limit}")]
    Depth {
        /// The depth found.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// Too many aliases.
    #[error("the operation has {found} aliases; the limit is {limit}")]
    Aliases {
        /// The count found.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// Too many root fields.
    #[error("the operation has {found} root fields; the limit is {limit}")]
    RootFields {
        /// The count found.
        found: usize,
        /// The limit.
        limit: usize,
    },
}

impl StageError for LimitError {
    fn code(&self) -> &'static str {
        codes::BAD_REQUEST
    }
}

/// Checks `operation` of `document` against `limits`.
pub fn check(
    document: &ExecutableDocument,
    operation: &Operation,
    limits: &Limits,
) -> Result<(), LimitError> {
    let root_fields = operation.root_fields(document).count();
    if root_fields > limits.max_root_fields {
        return Err(LimitError::RootFields {
            found: root_fields,
            limit: limits.max_root_fields,
        });
    }
    let mut walk = Walk {
        document,
        fragments: HashMap::new(),
    };
    let measure = walk.selection_set(&operation.selection_set);
    if measure.depth > limits.max_depth {
        return Err(LimitError::Depth {
            found: measure.depth,
            limit: limits.max_depth,
        });
    }
    if measure.aliases > limits.max_aliases {
        return Err(LimitError::Aliases {
            found: measure.aliases,
            limit: limits.max_aliases,
        });
    }
    Ok(())
}

/// What a selection set contributes: how deep its fields nest and how many
/// aliases it has with its fragments expanded (saturating: a document of
/// duplicated spreads expands exponentially, and its count only has to be
/// compared with a limit).
#[derive(Debug, Clone, Copy, Default)]
struct Measure {
    depth: usize,
    aliases: usize,
}

/// Measures selection sets, each named fragment once: a walk that followed
/// every spread would take exponential time on nested duplicated spreads.
struct Walk<'a> {
    document: &'a ExecutableDocument,
    /// Fragments measured (`None` while one is being measured: validation
    /// rejects cycles; this guards anyway).
    fragments: HashMap<&'a str, Option<Measure>>,
}

impl<'a> Walk<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> Measure {
        let mut measure = Measure::default();
        for selection in &set.selections {
            let inner = match selection {
                Selection::Field(field) => {
                    let nested = self.selection_set(&field.selection_set);
                    Measure {
                        depth: nested.depth + 1,
                        aliases: nested
                            .aliases
                            .saturating_add(usize::from(field.alias.is_some())),
                    }
                }
                Selection::FragmentSpread(spread) => self.fragment(spread.fragment_name.as_str()),
                Selection::InlineFragment(inline) => self.selection_set(&inline.selection_set),
            };
            measure.depth = measure.depth.max(inner.depth);
            measure.aliases = measure.aliases.saturating_add(inner.aliases);
        }
        measure
    }

    fn fragment(&mut self, name: &'a str) -> Measure {
        match self.fragments.get(name) {
            Some(Some(measure)) => return *measure,
            Some(None) => return Measure::default(),
            None => {}
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return Measure::default();
        };
        self.fragments.insert(name, None);
        let measure = self.selection_set(&fragment.selection_set);
        self.fragments.insert(name, Some(measure));
        measure
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use apollo_compiler::Schema;

    fn check_query(query: &str, limits: &Limits) -> Result<(), LimitError> {
        let schema =
            Schema::parse_and_validate("type Query { a: A } type A { b: A n: Int }", "s.graphql")
                .expect("valid schema");
        let document =
            ExecutableDocument::parse_and_validate(&schema, query, "q.graphql").expect("valid");
        let operation = document.operations.get(None).expect("one operation");
        check(&document, operation, limits)
    }

    #[test]
    fn depth_counts_through_fragments() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        assert!(check_query("{ a { b { n } } }", &limits).is_ok());
        let error = check_query("{ a { ...F } } fragment F on A { b { b { n } } }", &limits);
        assert_eq!(error, Err(LimitError::Depth { found: 4, limit: 3 }));
    }

    #[test]
    fn nested_duplicated_spreads_are_measured_at_once() {
        let mut query = String::from("{ a { ...F0 } }");
        for i in 0..64 {
            query.push_str(&format!(
                " fragment F{i} on A {{ x: n ...F{n} ...F{n} }}",
                n = i + 1
            ));
        }
        query.push_str(" fragment F64 on A { b { n } }");
        let limits = Limits {
            max_aliases: 1000,
            ..Limits::default()
        };
        // 2^64 - 1 aliases once expanded: the count saturates.
        assert_eq!(
            check_query(&query, &limits),
            Err(LimitError::Aliases {
                found: usize::MAX,
                limit: 1000
            })
        );
    }

    #[test]
    fn aliases_and_root_fields_are_counted() {
        let limits = Limits {
            max_aliases: 1,
            max_root_fields: 2,
            ..Limits::default()
        };
        assert!(matches!(
            check_query("{ x: a { n } y: a { n } }", &limits),
            Err(LimitError::Aliases { found: 2, .. })
        ));
        assert!(matches!(
            check_query("{ x: a { n } a { n } z: a { n } }", &limits),
            Err(LimitError::RootFields { found: 3, .. })
        ));
    }
}
