//! Introspection: `__schema` and `__type` at the root are answered by the
//! router itself from the API schema. Checked when an operation is prepared
//! (turned off, or nested too deep) and answered when it runs, beside the
//! plan's fetches.

use apollo_compiler::collections::HashMap;
use apollo_compiler::executable::Operation;
use apollo_compiler::response::GraphQLError;
use apollo_compiler::response::JsonMap;
use apollo_compiler::schema::Implementers;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Name, Schema, introspection};
use serde_json::{Map, Value};

use super::error::StageError;
use crate::response::{GraphqlError, codes};

/// Why introspection was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectionError {
    /// The router's settings turn it off.
    #[error(
        "introspection (`__schema`, `__type`) is turned off on this router; `__typename` still works"
    )]
    Disabled,
    /// Nested too deep, or could not be answered.
    #[error("{}", .0.message)]
    Refused(Box<GraphQLError>),
}

impl StageError for IntrospectionError {
    fn code(&self) -> &'static str {
        match self {
            IntrospectionError::Disabled => codes::INTROSPECTION_DISABLED,
            IntrospectionError::Refused(_) => codes::BAD_REQUEST,
        }
    }

    fn into_errors(self) -> Vec<GraphqlError> {
        let code = self.code();
        match self {
            IntrospectionError::Refused(error) => vec![GraphqlError::from_compiler(*error, code)],
            disabled => vec![GraphqlError::new(disabled.to_string(), code)],
        }
    }
}

/// Whether `operation` introspects; refused when introspection is off or the
/// query nests too deep.
pub fn check(
    document: &Valid<ExecutableDocument>,
    operation: &Operation,
    enabled: bool,
) -> Result<bool, IntrospectionError> {
    let introspects = operation
        .root_fields(document)
        .any(|f| matches!(f.name.as_str(), "__schema" | "__type"));
    if !introspects {
        return Ok(false);
    }
    if !enabled {
        return Err(IntrospectionError::Disabled);
    }
    introspection::check_max_depth(document, operation).map_err(|e| {
        IntrospectionError::Refused(Box::new(e.to_graphql_error(&document.sources)))
    })?;
    Ok(true)
}

/// The introspection fields of `operation`, answered from the API schema.
pub fn answer(
    schema: &Valid<Schema>,
    implementers: &HashMap<Name, Implementers>,
    document: &Valid<ExecutableDocument>,
    operation: &Operation,
    variables: &Valid<JsonMap>,
) -> Result<Map<String, Value>, IntrospectionError> {
    let result =
        introspection::partial_execute(schema, implementers, document, operation, variables)
            .map_err(|e| {
                IntrospectionError::Refused(Box::new(e.to_graphql_error(&document.sources)))
            })?;
    match serde_json::to_value(result.data) {
        Ok(Value::Object(data)) => Ok(data),
        _ => Ok(Map::new()),
    }
}
