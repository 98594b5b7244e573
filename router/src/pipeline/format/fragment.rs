//! Formatting for incremental delivery (`@defer`): where the formatter met
//! deferred fragments ([`Met`]), and one fragment's selection formatted at
//! one object of the response tree ([`Formatter::format_fragment`]).

use apollo_compiler::executable::SelectionSet;

use super::{Formatter, Step};
use crate::execute::data::{Data, Object};
use crate::response::PathSegment;

/// A deferred fragment met while formatting a payload: it applies to the
/// object at `path` (of runtime type `type_name`), which was written, so
/// it gets an increment there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Met {
    /// The fragment's `@defer(id:)`.
    pub id: usize,
    /// The object's response path (concrete list indices).
    pub path: Vec<PathSegment>,
    /// The object's type.
    pub type_name: String,
    /// The response keys the payload that met it wrote at that object.
    pub outside: Vec<String>,
}

impl<'a> Formatter<'a> {
    /// Writes the `data` of one increment: the deferred fragment's
    /// selection `set` on the object at `path` of `data`, whose type is
    /// `type_name` (nested deferred fragments left out, met as in
    /// [`Formatter::format_operation`]); `null` when one of its non-null
    /// fields is null. `false`, and nothing written, when there is no
    /// object at `path` any more.
    pub fn format_fragment(
        &mut self,
        set: &'a SelectionSet,
        type_name: &'a str,
        path: &'a [PathSegment],
        data: &'a Object,
        out: &mut Vec<u8>,
    ) -> bool {
        let mut value: Option<&'a Data> = None;
        for step in path {
            let next = match (step, value) {
                (PathSegment::Key(key), None) => data.get(key),
                (PathSegment::Key(key), Some(Data::Object(object))) => object.get(key),
                (PathSegment::Index(index), Some(Data::Array(items))) => items.get(*index),
                _ => None,
            };
            match next {
                Some(next) => value = Some(next),
                None => return false,
            }
        }
        let object = match value {
            None => data,
            Some(Data::Object(object)) => object,
            Some(_) => return false,
        };
        self.path = path
            .iter()
            .map(|segment| match segment {
                PathSegment::Key(key) => Step::Key(key),
                PathSegment::Index(index) => Step::Index(*index),
            })
            .collect();
        let start = out.len();
        if !self.selection_set(type_name, &[set], object, out) {
            out.truncate(start);
            self.met.clear();
            out.extend_from_slice(b"null");
        }
        self.path.clear();
        true
    }
}
