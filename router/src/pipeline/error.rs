//! What a stage's error tells the client. Every stage has its own error type
//! and says, through [`StageError`], its `extensions.code` and HTTP status;
//! `?` turns any of them into the [`RequestFailure`] the HTTP layer answers
//! with. Errors that are the router's own fault are logged in full where
//! they arise and reach the client masked ([`Internal`]).

use crate::response::{GraphqlError, RequestFailure, codes};

/// An error of one pipeline stage, as the client sees it.
pub trait StageError: std::fmt::Display + Sized {
    /// Its `extensions.code`.
    fn code(&self) -> &'static str;

    /// The HTTP status under `application/graphql-response+json`.
    fn status(&self) -> u16 {
        400
    }

    /// Whether even `application/json` answers with [`StageError::status`]
    /// (the request was not a well-formed GraphQL request at all).
    fn always_status(&self) -> bool {
        false
    }

    /// The errors shown to the client: by default one, with the error's
    /// message and code.
    fn into_errors(self) -> Vec<GraphqlError> {
        vec![GraphqlError::new(self.to_string(), self.code())]
    }
}

impl<E: StageError> From<E> for RequestFailure {
    fn from(error: E) -> Self {
        RequestFailure {
            status: error.status(),
            always_status: error.always_status(),
            errors: error.into_errors(),
        }
    }
}

/// Something that should not happen went wrong inside the router: logged when
/// made, answered as a masked `INTERNAL_SERVER_ERROR` with HTTP 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("internal router error: {0}")]
pub struct Internal(pub &'static str);

impl Internal {
    /// Logs `what` and returns the error.
    pub fn logged(what: &'static str) -> Self {
        tracing::error!(what, "internal router error");
        Internal(what)
    }
}

impl StageError for Internal {
    fn code(&self) -> &'static str {
        codes::INTERNAL
    }

    fn status(&self) -> u16 {
        500
    }

    fn into_errors(self) -> Vec<GraphqlError> {
        vec![GraphqlError::new("internal error", codes::INTERNAL)]
    }
}

/// apollo-compiler's diagnostics as client errors with `code`.
pub(crate) fn diagnostics(
    list: &apollo_compiler::validation::DiagnosticList,
    code: &str,
) -> Vec<GraphqlError> {
    list.iter()
        .map(|d| GraphqlError::from_compiler(d.to_json(), code))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::RequestError;
    use crate::pipeline::plan::PlanStageError;

    #[test]
    fn a_stage_error_becomes_a_failure_with_its_code_and_status() {
        let failure = RequestFailure::from(RequestError::MutationOverGet);
        assert_eq!((failure.status, failure.always_status), (405, true));
        assert_eq!(failure.errors[0].code(), Some(codes::BAD_REQUEST));
        let failure = RequestFailure::from(PlanStageError::TooComplex("too big".into()));
        assert_eq!((failure.status, failure.always_status), (400, false));
        assert_eq!(failure.errors[0].message, "too big");
        assert_eq!(failure.errors[0].code(), Some(codes::QUERY_TOO_COMPLEX));
    }

    #[test]
    fn internal_errors_are_masked_with_status_500() {
        let failure = RequestFailure::from(Internal("the cache is poisoned"));
        assert_eq!(failure.status, 500);
        assert_eq!(failure.errors.len(), 1);
        assert_eq!(failure.errors[0].message, "internal error");
        assert_eq!(failure.errors[0].code(), Some(codes::INTERNAL));
    }
}
