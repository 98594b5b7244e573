//! Coerce variables: the request's variable values checked and coerced
//! against the operation's variable definitions (defaults filled in).

use apollo_compiler::executable::Operation;
use apollo_compiler::request;
use apollo_compiler::response::{GraphQLError, JsonMap, serde_json_bytes};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use serde_json::{Map, Value};

use super::error::StageError;
use crate::response::{GraphqlError, codes};

/// The variables do not fit the operation.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.message)]
pub struct CoerceError(Box<GraphQLError>);

impl StageError for CoerceError {
    fn code(&self) -> &'static str {
        codes::BAD_USER_INPUT
    }

    fn into_errors(self) -> Vec<GraphqlError> {
        vec![GraphqlError::from_compiler(*self.0, codes::BAD_USER_INPUT)]
    }
}

/// The coerced variables, in the compiler's form (for introspection) and as
/// JSON (for the plan and the formatter).
pub struct Variables {
    /// As apollo-compiler coerced them.
    pub coerced: Valid<JsonMap>,
    /// The same values as JSON.
    pub json: Map<String, Value>,
}

/// Coerces `raw` for `operation` of `document`.
pub fn coerce(
    schema: &Valid<Schema>,
    document: &Valid<ExecutableDocument>,
    operation: &Operation,
    raw: Option<&Map<String, Value>>,
) -> Result<Variables, CoerceError> {
    let raw: JsonMap = raw
        .map(
            |v| match serde_json_bytes::Value::from(Value::Object(v.clone())) {
                serde_json_bytes::Value::Object(map) => map,
                _ => JsonMap::new(),
            },
        )
        .unwrap_or_default();
    let coerced = request::coerce_variable_values(schema, operation, &raw)
        .map_err(|e| CoerceError(Box::new(e.to_graphql_error(&document.sources))))?;
    let json = match serde_json::to_value(coerced.clone().into_inner()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    Ok(Variables { coerced, json })
}
