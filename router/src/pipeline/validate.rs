//! Validate: the syntax tree against the API schema, and the operation the
//! request names picked out of it.
//!
//! apollo-compiler checks every rule, `@defer`'s too (the incremental
//! delivery RFC's `DeferStreamDirectiveLabel`, `DeferStreamDirectiveOnRootField`
//! and `DeferStreamDirectiveOnValidOperations`). Those errors are shown with
//! graphql-js's messages, the ones clients and other servers already use
//! ([`DEFER_RULES`]); every other error with apollo-compiler's own.

use apollo_compiler::ast::Document;
use apollo_compiler::executable::Operation;
use apollo_compiler::response::GraphQLError;
use apollo_compiler::validation::{DiagnosticData, DiagnosticList, Valid};
use apollo_compiler::{ExecutableDocument, Node, Schema};

use super::error::StageError;
use crate::response::{GraphqlError, codes};

/// Why a parsed document cannot run.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// It does not validate against the API schema.
    #[error("{0}")]
    Invalid(DiagnosticList),
    /// It has no operation of the requested name (or several and no name).
    #[error("{}", .0.message)]
    UnknownOperation(Box<GraphQLError>),
}

impl StageError for ValidateError {
    fn code(&self) -> &'static str {
        match self {
            ValidateError::Invalid(_) => codes::VALIDATION_FAILED,
            ValidateError::UnknownOperation(_) => codes::OPERATION_RESOLUTION_FAILURE,
        }
    }

    fn into_errors(self) -> Vec<GraphqlError> {
        let code = self.code();
        match self {
            ValidateError::Invalid(list) => list
                .iter()
                .map(|d| {
                    let mut error = d.to_json();
                    if let Some(message) = graphql_js_message(d.error) {
                        error.message = message;
                    }
                    GraphqlError::from_compiler(error, code)
                })
                .collect(),
            ValidateError::UnknownOperation(error) => {
                vec![GraphqlError::from_compiler(*error, code)]
            }
        }
    }
}

/// apollo-compiler's names of the `@defer` rules' errors.
const DEFER_RULES: [&str; 4] = [
    "DuplicateDeferLabel",
    "DeferLabelMustNotBeVariable",
    "DeferOnRootMutationOrSubscriptionField",
    "DeferInSubscriptionMustBeConditional",
];

/// graphql-js's message for a `@defer` rule's error (apollo-compiler keeps
/// them for compatibility; the `defer` tests pin them).
fn graphql_js_message(error: &DiagnosticData) -> Option<String> {
    let name = error.unstable_error_name()?;
    if DEFER_RULES.contains(&name) {
        error.unstable_compat_message()
    } else {
        None
    }
}

/// The valid document and its selected operation.
pub fn validate(
    ast: &Document,
    schema: &Valid<Schema>,
    operation_name: Option<&str>,
) -> Result<(Valid<ExecutableDocument>, Node<Operation>), ValidateError> {
    let document = ast
        .to_executable_validate(schema)
        .map_err(|e| ValidateError::Invalid(e.errors))?;
    let operation = document
        .operations
        .get(operation_name)
        .map_err(|e| {
            ValidateError::UnknownOperation(Box::new(e.to_graphql_error(&document.sources)))
        })?
        .clone();
    Ok((document, operation))
}
