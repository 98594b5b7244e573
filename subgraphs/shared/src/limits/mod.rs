//! Limits on what one GraphQL request may ask of a subgraph, enforced on the
//! subgraph's own port (defence in depth: other pods reach the subgraphs
//! without the router), and the `extensions.code` of the subgraph's own
//! request errors.
//!
//! A request goes through, in order (each step bounds what the next may cost):
//! 1. the body limit (`max_body_bytes`, the HTTP endpoint's, `413`);
//! 2. a lexical pre-pass ([`tokens`]): at most `parser_max_tokens` tokens and
//!    `parser_max_recursion` nested brackets, else `GRAPHQL_PARSE_FAILED`;
//! 3. parsing (async-graphql's parser), else `GRAPHQL_PARSE_FAILED`;
//! 4. the expanded size ([`expansion`]), measured once per fragment without
//!    expanding anything: unknown and cyclic fragments are refused
//!    (`GRAPHQL_VALIDATION_FAILED`); too many selections once expanded gets
//!    `QUERY_TOO_COMPLEX`; too many root fields, too deep, too nested or too
//!    many aliases get `BAD_REQUEST` — the router's codes for the same limits;
//! 5. async-graphql's own limits, set to the same values as a second line
//!    (`limit_depth`, `limit_complexity`, `limit_recursive_depth`,
//!    `limit_directives`), then its validation (`GRAPHQL_VALIDATION_FAILED`)
//!    and execution.
//!
//! Step 4 must come before async-graphql sees the document: its
//! recursion-depth check, its validation visitors and its executor all
//! follow every fragment spread, so a 1 KB document of fragments that each
//! spread the next twice costs them 2^30 steps (and the response 2^30 fields).
//!
//! # Layout
//! - this file: [`apply`] (a schema's limits and the [`Guard`] extension)
//!   and the error codes; [`RequestLimits`] (the settings, `[common.limits]`)
//!   is `storefront_process::settings`'s, re-exported here.
//! - [`tokens`]: the lexical pre-pass.
//! - [`expansion`]: the fragment-expanded measure of a parsed document.
//! - `documents` (tests, feature `testing`): hostile documents, one per limit.
//! - `suite` (feature `testing`): the checks every subgraph's `tests/limits.rs` runs.

#[cfg(any(test, feature = "testing"))]
pub mod documents;
pub mod expansion;
#[cfg(feature = "testing")]
pub mod suite;
pub mod tokens;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
    NextRequest, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{
    ErrorExtensionValues, Request, Response, SchemaBuilder, ServerError, ServerResult,
    ValidationResult, Variables,
};
pub use storefront_process::settings::{DEFAULT_MAX_BODY_BYTES, RequestLimits};

use expansion::ExpansionError;
use tokens::LexLimit;

/// `extensions.code` values of a subgraph's request errors (Apollo's, and
/// the router's for the same limits).
pub mod codes {
    /// The document is not valid GraphQL syntax, or too large to parse.
    pub const PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    /// The document does not validate against the subgraph's schema.
    pub const VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// No operation, or an unknown one, was selected.
    pub const UNKNOWN_OPERATION_NAME: &str = "GRAPHQL_UNKNOWN_OPERATION_NAME";
    /// The request breaks a limit (depth, nesting, aliases, root fields).
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// The operation is too large once its fragments are expanded.
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
}

/// A limit a document breaks, as the client is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// Too many tokens or brackets nested too deeply, before parsing.
    #[error(transparent)]
    Lexical(#[from] LexLimit),
    /// Fragments that cannot be expanded.
    #[error(transparent)]
    Fragments(#[from] ExpansionError),
    /// Too many root fields.
    #[error("the operation has {} root fields; the limit is {limit}", Count(*.found))]
    RootFields {
        /// The count found.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// Fields nest too deeply.
    #[error("the document is nested {found} levels deep; the limit is {limit}")]
    Depth {
        /// The depth found.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// Selection sets, spreads and inline fragments nest too deeply.
    #[error(
        "the document nests selection sets, fragment spreads and inline fragments {found} levels deep; the limit is {limit}"
    )]
    Nesting {
        /// The nesting found.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// Too many aliases.
    #[error("the operation has {} aliases; the limit is {limit}", Count(*.found))]
    Aliases {
        /// The count found.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// Too many selections once fragments are expanded.
    #[error(
        "the document has {} selections once its fragments are expanded; the limit is {limit}",
        Count(*.found)
    )]
    Selections {
        /// The count found.
        found: usize,
        /// The limit.
        limit: usize,
    },
}

/// A count that may have saturated.
struct Count(usize);

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == usize::MAX {
            write!(f, "at least {}", usize::MAX)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl LimitError {
    /// The `extensions.code` the client sees.
    pub fn code(&self) -> &'static str {
        match self {
            LimitError::Lexical(_) => codes::PARSE_FAILED,
            LimitError::Fragments(_) => codes::VALIDATION_FAILED,
            LimitError::Selections { .. } => codes::QUERY_TOO_COMPLEX,
            LimitError::RootFields { .. }
            | LimitError::Depth { .. }
            | LimitError::Nesting { .. }
            | LimitError::Aliases { .. } => codes::BAD_REQUEST,
        }
    }
}

impl From<LimitError> for ServerError {
    fn from(error: LimitError) -> Self {
        with_code(ServerError::new(error.to_string(), None), error.code())
    }
}

/// Checks `source` before it is parsed (step 2).
pub fn check_source(limits: &RequestLimits, source: &str) -> Result<(), LimitError> {
    Ok(tokens::check(
        source,
        limits.parser_max_tokens,
        limits.parser_max_recursion,
    )?)
}

/// Checks a parsed document's expanded size (step 4).
pub fn check_document(
    limits: &RequestLimits,
    document: &ExecutableDocument,
) -> Result<(), LimitError> {
    let measured = expansion::measure(document)?;
    let operations = measured.operations;
    let any = operations.max(measured.fragments);
    if any.selections > limits.max_selections {
        return Err(LimitError::Selections {
            found: any.selections,
            limit: limits.max_selections,
        });
    }
    if operations.top_fields > limits.max_root_fields {
        return Err(LimitError::RootFields {
            found: operations.top_fields,
            limit: limits.max_root_fields,
        });
    }
    if any.depth > limits.max_depth {
        return Err(LimitError::Depth {
            found: any.depth,
            limit: limits.max_depth,
        });
    }
    if any.nesting > limits.parser_max_recursion {
        return Err(LimitError::Nesting {
            found: any.nesting,
            limit: limits.parser_max_recursion,
        });
    }
    if operations.aliases > limits.max_aliases {
        return Err(LimitError::Aliases {
            found: operations.aliases,
            limit: limits.max_aliases,
        });
    }
    Ok(())
}

/// `builder` with `limits`: async-graphql's own limits set to them, and the
/// [`Guard`] extension that checks them first and codes the request errors.
pub fn apply<Q, M, S>(
    builder: SchemaBuilder<Q, M, S>,
    limits: &RequestLimits,
) -> SchemaBuilder<Q, M, S> {
    builder
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_selections)
        .limit_recursive_depth(limits.parser_max_recursion)
        .limit_directives(limits.max_directives)
        .extension(Guard {
            limits: Arc::new(limits.clone()),
        })
}

/// The extension that enforces [`RequestLimits`] before async-graphql parses
/// (steps 2–4) and gives the request errors their codes.
#[derive(Debug, Clone)]
pub struct Guard {
    limits: Arc<RequestLimits>,
}

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardRequest {
            limits: self.limits.clone(),
            executing: AtomicBool::new(false),
        })
    }
}

/// [`Guard`] for one request.
struct GuardRequest {
    limits: Arc<RequestLimits>,
    /// Whether execution started: an error without a code before it can
    /// only come from selecting the operation.
    executing: AtomicBool,
}

#[async_trait::async_trait]
impl Extension for GuardRequest {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        if !self.executing.load(Ordering::Acquire) {
            for error in &mut response.errors {
                set_code_if_missing(error, codes::UNKNOWN_OPERATION_NAME);
            }
        }
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        check_source(&self.limits, &request.query)?;
        let document = request
            .parsed_query()
            .map_err(|error| with_code(error, codes::PARSE_FAILED))?;
        check_document(&self.limits, document)?;
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // Parsed in `prepare_request` already: what fails here is one of
        // async-graphql's own limits (recursion depth, directives).
        next.run(ctx, query, variables)
            .await
            .map_err(|error| with_code(error, codes::BAD_REQUEST))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|error| with_code(error, codes::VALIDATION_FAILED))
                .collect()
        })
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        self.executing.store(true, Ordering::Release);
        next.run(ctx, operation_name).await
    }
}

/// `error` with `extensions.code` set to `code` (kept when it has one).
fn with_code(mut error: ServerError, code: &str) -> ServerError {
    set_code_if_missing(&mut error, code);
    error
}

fn set_code_if_missing(error: &mut ServerError, code: &str) {
    let extensions = error
        .extensions
        .get_or_insert_with(ErrorExtensionValues::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
}

#[cfg(test)]
mod tests;
