//! Token generations: the users service checks its own tokens against the
//! store on every request ([`StoreRevocation`]), and publishes each user's
//! current generation to the other services at
//! `GET /.well-known/token-versions/<userId>` ([`routes`]), for callers with
//! the service credential only.
//!
//! Why an HTTP endpoint beside the JWKS rather than a GraphQL query: it is
//! what every service's [`Authenticator`] needs before any GraphQL runs, it
//! costs one indexed read and no parsing or planning, and it stays out of the
//! composed graph entirely (nothing to hide with `@inaccessible`, nothing the
//! router could route to). The other services cache the answer briefly; see
//! `storefront_shared::auth::revocation` for the bounds.

use async_trait::async_trait;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use storefront_shared::auth::revocation::{RevocationCheck, TOKEN_VERSIONS_PATH, TokenVersion};
use storefront_shared::auth::{Authenticator, Claims, SERVICE_TOKEN_HEADER, TokenError};
use storefront_shared::server::error_response;

use crate::store::SharedRepository;

/// Checks a token's generation against the store, uncached (the store is
/// this service's own).
pub struct StoreRevocation(pub SharedRepository);

#[async_trait]
impl RevocationCheck for StoreRevocation {
    async fn check(&self, claims: &Claims) -> Result<(), TokenError> {
        match self.0.find_by_id(&claims.sub).await {
            Ok(Some(user)) if claims.ver >= user.token_version => Ok(()),
            Ok(_) => Err(TokenError::Revoked),
            Err(error) => Err(TokenError::RevocationUnknown(error.to_string())),
        }
    }
}

#[derive(Clone)]
struct Published {
    repo: SharedRepository,
    auth: Authenticator,
}

/// `GET /.well-known/token-versions/{userId}`: `200 {"userId", "tokenVersion"}`,
/// `404` for an unknown id, `401` without the service credential; never cached.
pub fn routes(repo: SharedRepository, auth: Authenticator) -> Router {
    Router::new()
        .route(
            &format!("{TOKEN_VERSIONS_PATH}/{{user_id}}"),
            get(token_version),
        )
        .with_state(Published { repo, auth })
}

async fn token_version(
    State(published): State<Published>,
    Path(user_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let caller = published
        .auth
        .service_caller(headers.get(SERVICE_TOKEN_HEADER).map(HeaderValue::as_bytes));
    if !caller.0 {
        return error_response(
            StatusCode::UNAUTHORIZED,
            "token versions are only for Storefront services and need the service credential",
            "UNAUTHENTICATED",
        );
    }
    let no_store = [(header::CACHE_CONTROL, "no-store")];
    match published.repo.find_by_id(&user_id).await {
        Ok(Some(user)) => (
            no_store,
            axum::Json(TokenVersion {
                user_id: user.id,
                token_version: user.token_version,
            }),
        )
            .into_response(),
        Ok(None) => (
            no_store,
            error_response(StatusCode::NOT_FOUND, "no such user", "NOT_FOUND"),
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "cannot read a token version");
            error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "the user store is unavailable; try again shortly",
                "SERVICE_UNAVAILABLE",
            )
        }
    }
}
