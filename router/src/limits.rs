//! Operation limits (depth, aliases, root fields), checked after validation
//! and before planning.

use std::collections::HashSet;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::executable::{Operation, Selection, SelectionSet};

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
        aliases: 0,
        max_depth: 0,
        fragments: HashSet::new(),
    };
    walk.selection_set(&operation.selection_set, 1);
    if walk.max_depth > limits.max_depth {
        return Err(LimitError::Depth {
            found: walk.max_depth,
            limit: limits.max_depth,
        });
    }
    if walk.aliases > limits.max_aliases {
        return Err(LimitError::Aliases {
            found: walk.aliases,
            limit: limits.max_aliases,
        });
    }
    Ok(())
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    aliases: usize,
    max_depth: usize,
    /// Fragments on the current path (validation rejects cycles; this guards anyway).
    fragments: HashSet<&'a str>,
}

impl<'a> Walk<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, depth: usize) {
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    if field.alias.is_some() {
                        self.aliases += 1;
                    }
                    self.max_depth = self.max_depth.max(depth);
                    self.selection_set(&field.selection_set, depth + 1);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.fragment_name.as_str();
                    if let Some(fragment) = self.document.fragments.get(name)
                        && self.fragments.insert(name)
                    {
                        self.selection_set(&fragment.selection_set, depth);
                        self.fragments.remove(name);
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.selection_set(&inline.selection_set, depth)
                }
            }
        }
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
