//! What the client gets back: GraphQL errors (client-facing, with a
//! SCREAMING_SNAKE `extensions.code`) and the response body.

use serde::Serialize;
use serde_json::{Map, Value};

/// `extensions.code` values the router itself produces.
pub mod codes {
    /// The document is not valid GraphQL syntax.
    pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    /// The document does not validate against the API schema.
    pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// The HTTP request is not a GraphQL request (or breaks a limit).
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// Variables do not match the operation's variable definitions.
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    /// No operation (or an unknown one) was selected.
    pub const OPERATION_RESOLUTION_FAILURE: &str = "GRAPHQL_UNKNOWN_OPERATION_NAME";
    /// A subgraph could not be reached, failed, or timed out.
    pub const SUBGRAPH_UNAVAILABLE: &str = "SUBGRAPH_UNAVAILABLE";
    /// A subgraph answered with something that is not a GraphQL response.
    pub const SUBGRAPH_INVALID_RESPONSE: &str = "SUBGRAPH_INVALID_RESPONSE";
    /// The operation is too large once normalised, or took too long to plan.
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    /// A non-null field resolved to null.
    pub const NULL_IN_NON_NULL: &str = "NON_NULLABLE_FIELD_WAS_NULL";
    /// A value of an interface or union type whose object type no subgraph
    /// told, where the client's selection depends on it.
    pub const UNRESOLVED_ABSTRACT_TYPE: &str = "UNRESOLVED_ABSTRACT_TYPE";
    /// No supergraph is loaded yet.
    pub const NOT_READY: &str = "SUPERGRAPH_NOT_LOADED";
    /// The request was refused as a possible cross-site request forgery.
    pub const CSRF_BLOCKED: &str = "CSRF_BLOCKED";
    /// `__schema` or `__type` asked of a router with introspection off.
    pub const INTROSPECTION_DISABLED: &str = "INTROSPECTION_DISABLED";
    /// A present but invalid token, or none where one is required.
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    /// A field or type the caller may not see (`@authenticated`,
    /// `@requiresScopes`, `@policy`): answered as null, never fetched.
    pub const UNAUTHORIZED_FIELD_OR_TYPE: &str = "UNAUTHORIZED_FIELD_OR_TYPE";
    /// An automatic persisted query's hash the router does not know: the
    /// client retries with the document (Apollo's persisted-queries link).
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    /// A persisted query id sent to a router with automatic persisted queries
    /// off and no manifest entry for it.
    pub const PERSISTED_QUERY_NOT_SUPPORTED: &str = "PERSISTED_QUERY_NOT_SUPPORTED";
    /// The document sent with a persisted query id is not the one the id
    /// names (its sha256, or the manifest's text).
    pub const PERSISTED_QUERY_HASH_MISMATCH: &str = "PERSISTED_QUERY_HASH_MISMATCH";
    /// Safelisting: the document (or id) is not in the persisted-operations
    /// manifest.
    pub const PERSISTED_QUERY_NOT_IN_LIST: &str = "PERSISTED_QUERY_NOT_IN_LIST";
    /// A rate limit refused the request (HTTP 429 with `Retry-After`); the
    /// users service says the same of a throttled login.
    pub const TOO_MANY_REQUESTS: &str = "TOO_MANY_REQUESTS";
    /// Anything else; details are logged, never shown.
    pub const INTERNAL: &str = "INTERNAL_SERVER_ERROR";
}

/// A location in the client's document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// One element of an error path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PathSegment {
    /// An object key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// A client-facing GraphQL error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphqlError {
    /// Shown to the client as written.
    pub message: String,
    /// Where in the client's document, if known.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
    /// The response path of the field it belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<PathSegment>>,
    /// `code`, and for subgraph errors `serviceName`.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub extensions: Map<String, Value>,
}

impl GraphqlError {
    /// An error with `message` and `extensions.code = code`.
    pub fn new(message: impl Into<String>, code: &str) -> Self {
        let mut extensions = Map::new();
        extensions.insert("code".into(), Value::String(code.into()));
        GraphqlError {
            message: message.into(),
            locations: Vec::new(),
            path: None,
            extensions,
        }
    }

    /// Adds `extensions.serviceName`.
    pub fn with_service(mut self, subgraph: &str) -> Self {
        self.extensions
            .insert("serviceName".into(), Value::String(subgraph.into()));
        self
    }

    /// Sets the response path.
    pub fn with_path(mut self, path: Vec<PathSegment>) -> Self {
        self.path = Some(path);
        self
    }

    /// From an apollo-compiler error (diagnostic or request error) with `code`.
    pub fn from_compiler(error: apollo_compiler::response::GraphQLError, code: &str) -> Self {
        let mut this = GraphqlError::new(error.message, code);
        this.locations = error
            .locations
            .iter()
            .map(|l| Location {
                line: l.line,
                column: l.column,
            })
            .collect();
        this
    }

    /// The `extensions.code`, if any.
    pub fn code(&self) -> Option<&str> {
        self.extensions.get("code").and_then(Value::as_str)
    }
}

/// A request error: the request is rejected before execution, so the response
/// has no `data` key.
#[derive(Debug, Clone)]
pub struct RequestFailure {
    /// The HTTP status under `application/graphql-response+json`
    /// (`application/json` answers 200 unless the request was not GraphQL at all).
    pub status: u16,
    /// Whether even `application/json` must answer with `status` (malformed
    /// requests, wrong method or media type, body too large).
    pub always_status: bool,
    /// The errors.
    pub errors: Vec<GraphqlError>,
}

impl RequestFailure {
    /// A request error that `application/json` answers with 200.
    pub fn graphql(errors: Vec<GraphqlError>) -> Self {
        RequestFailure {
            status: 400,
            always_status: false,
            errors,
        }
    }

    /// A request that is not a well-formed GraphQL-over-HTTP request.
    pub fn http(status: u16, message: impl Into<String>) -> Self {
        RequestFailure {
            status,
            always_status: true,
            errors: vec![GraphqlError::new(message, codes::BAD_REQUEST)],
        }
    }
}
