//! The domain error of every subgraph and its mapping to API.md's error codes.
//!
//! Resolvers return [`ApiResult`]; the conversion into `async_graphql::Error`
//! puts the SCREAMING_SNAKE code in `extensions.code`. `ApiError` has no
//! `Display` on purpose: async-graphql converts any `Display` type into an
//! error without a code, and this keeps `?` from taking that path. Internal errors are
//! logged in full where they are converted and shown to the client only as
//! "internal error".

use std::fmt;
use std::sync::Arc;

/// A result whose error is shown to the API's client.
pub type ApiResult<T> = Result<T, ApiError>;

/// Runs `work` in a task of its own and waits for its result. An HTTP
/// handler's future is dropped when its client disconnects or its caller's
/// timeout fires; a step of the order flow run through here still carries its
/// work to a recorded state. `what` names the work in the error should the
/// task itself fail (panic or runtime shutdown).
pub async fn detached<T, Fut>(what: &str, work: Fut) -> ApiResult<T>
where
    Fut: std::future::Future<Output = ApiResult<T>> + Send + 'static,
    T: Send + 'static,
{
    tokio::spawn(work)
        .await
        .map_err(|error| ApiError::internal(format!("{what} failed: {error}")))?
}

/// Everything a subgraph operation can fail with, as the client sees it.
/// Cloneable, so one failed DataLoader batch can answer each of its keys.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// No token, a bad token, or wrong credentials.
    Unauthenticated(String),
    /// Authenticated, but not allowed to do this.
    Forbidden(String),
    /// The input is invalid; the message says what to change.
    BadUserInput(String),
    /// An id or sku that does not exist.
    NotFound(String),
    /// The operation clashes with existing data (duplicate email, sku, ...).
    Conflict(String),
    /// An order line asks for more units than are available.
    InsufficientStock {
        /// The product that is short.
        sku: String,
        /// Units the line asked for.
        requested: i64,
        /// Units available when the line was tried.
        available: i64,
    },
    /// The operation does not apply in the current state.
    InvalidState(String),
    /// A service or provider needed for this operation is down or timed out.
    ServiceUnavailable(String),
    /// Anything else. The detail is logged, never shown.
    Internal(InternalError),
}

impl ApiError {
    /// The `extensions.code` the client sees.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::BadUserInput(_) => "BAD_USER_INPUT",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::InsufficientStock { .. } => "INSUFFICIENT_STOCK",
            ApiError::InvalidState(_) => "INVALID_STATE",
            ApiError::ServiceUnavailable(_) => "SERVICE_UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The message the client sees.
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated(m)
            | ApiError::Forbidden(m)
            | ApiError::BadUserInput(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::InvalidState(m)
            | ApiError::ServiceUnavailable(m) => m.clone(),
            ApiError::InsufficientStock {
                sku,
                requested,
                available,
            } => {
                format!("not enough stock for {sku}: {requested} requested, {available} available")
            }
            ApiError::Internal(_) => "internal error".into(),
        }
    }

    /// Wraps any error as an internal one; its detail is logged, not shown.
    pub fn internal(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApiError::Internal(InternalError(Arc::from(error.into())))
    }
}

/// The hidden cause of an [`ApiError::Internal`].
#[derive(Clone)]
pub struct InternalError(Arc<dyn std::error::Error + Send + Sync>);

impl fmt::Debug for InternalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for InternalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for InternalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        if let ApiError::Internal(cause) = &error {
            tracing::error!(error = %cause, detail = ?cause, "internal error");
        }
        let code = error.code();
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", code);
        if let ApiError::InsufficientStock {
            sku,
            requested,
            available,
        } = &error
        {
            extensions.set("sku", sku.as_str());
            extensions.set("requested", *requested);
            extensions.set("available", *available);
        }
        async_graphql::Error {
            message: error.message(),
            source: None,
            extensions: Some(extensions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extension_code(error: async_graphql::Error) -> String {
        let ext = error.extensions.expect("extensions are set");
        ext.get("code").expect("code is set").to_string()
    }

    #[test]
    fn maps_each_variant_to_its_api_code() {
        let cases = [
            (ApiError::Unauthenticated("x".into()), "UNAUTHENTICATED"),
            (ApiError::Forbidden("x".into()), "FORBIDDEN"),
            (ApiError::BadUserInput("x".into()), "BAD_USER_INPUT"),
            (ApiError::NotFound("x".into()), "NOT_FOUND"),
            (ApiError::Conflict("x".into()), "CONFLICT"),
            (ApiError::InvalidState("x".into()), "INVALID_STATE"),
            (
                ApiError::ServiceUnavailable("x".into()),
                "SERVICE_UNAVAILABLE",
            ),
        ];
        for (error, code) in cases {
            assert_eq!(extension_code(error.into()), format!("\"{code}\""));
        }
    }

    #[test]
    fn insufficient_stock_names_the_sku() {
        let error: async_graphql::Error = ApiError::InsufficientStock {
            sku: "MUG-1".into(),
            requested: 3,
            available: 1,
        }
        .into();
        assert!(error.message.contains("MUG-1"), "{}", error.message);
        assert_eq!(extension_code(error), "\"INSUFFICIENT_STOCK\"");
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let error: async_graphql::Error =
            ApiError::internal("connection string mongodb://secret@db").into();
        assert_eq!(error.message, "internal error");
        assert_eq!(extension_code(error), "\"INTERNAL_SERVER_ERROR\"");
    }
}
