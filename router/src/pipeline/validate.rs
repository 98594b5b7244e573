//! Validate: the syntax tree against the API schema, and the operation the
//! request names picked out of it.

use apollo_compiler::ast::Document;
use apollo_compiler::executable::Operation;
use apollo_compiler::response::GraphQLError;
use apollo_compiler::validation::{DiagnosticList, Valid};
use apollo_compiler::{ExecutableDocument, Node, Schema};

use super::error::{StageError, diagnostics};
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
            ValidateError::Invalid(list) => diagnostics(&list, code),
            ValidateError::UnknownOperation(error) => {
                vec![GraphqlError::from_compiler(*error, code)]
            }
        }
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
