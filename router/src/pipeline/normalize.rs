//! Normalise: the selected operation alone, fragments inlined and fields
//! merged ([`crate::core::normalize`]), within the selection budget. Done once
//! per cache miss; the planner and the formatter both work on the result.

use apollo_compiler::ExecutableDocument;
use apollo_compiler::validation::Valid;

use super::error::StageError;
use crate::core::normalize::{self, NormalizeError, Normalized};
use crate::response::codes;

impl StageError for NormalizeError {
    fn code(&self) -> &'static str {
        codes::QUERY_TOO_COMPLEX
    }
}

/// Normalises operation `operation_name` of `document` with at most
/// `max_selections` selections.
pub fn normalize(
    document: &Valid<ExecutableDocument>,
    operation_name: Option<&str>,
    max_selections: usize,
) -> Result<Normalized, NormalizeError> {
    normalize::normalize(document, operation_name, max_selections)
}

/// As [`normalize`], keeping the deferred fragments whose `@defer(if:)`
/// holds for `variables` (the request's, coerced).
pub fn normalize_deferred(
    document: &Valid<ExecutableDocument>,
    operation_name: Option<&str>,
    max_selections: usize,
    variables: &serde_json::Map<String, serde_json::Value>,
) -> Result<Normalized, NormalizeError> {
    normalize::normalize_deferred(document, operation_name, max_selections, variables)
}
