//! Parse: the document text to a syntax tree, within the parser's token and
//! recursion limits.

use apollo_compiler::ast::Document;
use apollo_compiler::parser::Parser;
use apollo_compiler::validation::DiagnosticList;

use super::error::{StageError, diagnostics};
use crate::response::{GraphqlError, codes};
use crate::settings::Limits;

/// Why a document could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not GraphQL syntax.
    #[error("{0}")]
    Syntax(DiagnosticList),
    /// More tokens than the parser may read.
    #[error("the document has more than {0} tokens, the router's limit")]
    TooManyTokens(usize),
    /// Nested deeper than the parser may go.
    #[error("the document nests more than {0} levels deep, the parser's limit")]
    TooDeep(usize),
}

impl StageError for ParseError {
    fn code(&self) -> &'static str {
        codes::PARSE_FAILED
    }

    fn into_errors(self) -> Vec<GraphqlError> {
        match self {
            ParseError::Syntax(list) => diagnostics(&list, codes::PARSE_FAILED),
            other => vec![GraphqlError::new(other.to_string(), codes::PARSE_FAILED)],
        }
    }
}

/// Parses `query`; a document over the token or recursion limit gets one
/// error that names the limit.
pub fn parse(query: &str, limits: &Limits) -> Result<Document, ParseError> {
    Parser::new()
        .token_limit(limits.parser_max_tokens)
        .recursion_limit(limits.parser_max_recursion)
        .parse_ast(query, "request.graphql")
        .map_err(|e| {
            let over = |what: &str| e.errors.iter().any(|d| d.error.to_string().contains(what));
            if over("token limit") {
                ParseError::TooManyTokens(limits.parser_max_tokens)
            } else if over("recursion limit") {
                ParseError::TooDeep(limits.parser_max_recursion)
            } else {
                ParseError::Syntax(e.errors)
            }
        })
}
