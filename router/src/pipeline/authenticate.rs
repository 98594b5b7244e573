//! Authenticate: the request's token (if any) checked before anything else
//! runs ([`crate::auth::Authenticator`]). A present but invalid token — or
//! none where the settings require one — is `UNAUTHENTICATED` with HTTP 401
//! (whatever the `Accept`), before any subgraph is called.
//!
//! # Layout
//! - [`authenticate`], and [`AuthenticationError`] as a [`StageError`].

use axum::http::HeaderMap;

use super::error::StageError;
use crate::auth::{AuthenticationError, Authenticator, Identity};
use crate::response::codes;

impl StageError for AuthenticationError {
    fn code(&self) -> &'static str {
        codes::UNAUTHENTICATED
    }

    fn status(&self) -> u16 {
        401
    }

    fn always_status(&self) -> bool {
        true
    }
}

/// The caller of a request with `headers`: anonymous when authentication is
/// off or no token was sent (and none is required).
pub async fn authenticate(
    authenticator: Option<&Authenticator>,
    headers: &HeaderMap,
) -> Result<Option<Identity>, AuthenticationError> {
    match authenticator {
        Some(authenticator) => authenticator.authenticate(headers).await,
        None => Ok(None),
    }
}
