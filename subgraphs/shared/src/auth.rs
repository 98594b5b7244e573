//! Who is calling: a user with a token signed by the users service, another
//! Storefront service with the shared service credential, or nobody.
//!
//! Tokens are EdDSA JWTs. Every service verifies them with the users service's
//! public keys, fetched from its JWKS (`/.well-known/jwks.json` at the origin
//! of `USERS_URL`), cached, and fetched again when a token names an unknown key
//! id (at most once per [`JWKS_REFRESH_INTERVAL`]). A genuine token is then
//! checked against its user's current token generation ([`revocation`]), so
//! `changePassword` and `logoutEverywhere` revoke older tokens everywhere
//! within a stated bound.
//!
//! # Layout
//! - this file: [`Claims`], [`TokenError`], the [`KeySet`] that checks
//!   signatures, the [`Viewer`] and [`ServiceCaller`] a request is made by,
//!   and the [`Authenticator`] that turns headers into them.
//! - `jwks`: the [`JwksVerifier`] that fetches the users service's keys.
//! - [`revocation`]: token generations and their per-user cache.

mod jwks;
pub mod revocation;

pub use jwks::{JwksVerifier, jwks_url};

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::settings::{CommonSettings, Secret};
use revocation::{CachedRevocation, HttpTokenVersions, RevocationCheck};

/// The `iss` claim of every token the users service signs.
pub const ISSUER: &str = "storefront-users";
/// The `aud` claim of every token the users service signs.
pub const AUDIENCE: &str = "storefront";
/// The header that carries the service credential between services.
pub const SERVICE_TOKEN_HEADER: &str = "x-service-token";
/// The least time between two JWKS fetches caused by unknown key ids.
pub const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// A user's role.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Buys things.
    Customer,
    /// Manages the catalogue and sees every order.
    Admin,
}

/// The claims of a Storefront access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The user's role when the token was issued.
    pub role: Role,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Always [`ISSUER`].
    pub iss: String,
    /// Always [`AUDIENCE`].
    pub aud: String,
    /// A unique token id.
    pub jti: String,
    /// The user's token generation when it was issued; `changePassword` and
    /// `logoutEverywhere` bump it, which revokes older tokens ([`revocation`]).
    #[serde(default)]
    pub ver: u32,
}

impl Claims {
    /// Whether these are the claims of the user `owner` or of an ADMIN.
    pub fn is_owner_or_admin(&self, owner: &str) -> bool {
        self.sub == owner || self.role == Role::Admin
    }

    /// `Ok` for the user `owner` or an ADMIN; FORBIDDEN with `forbidden` as
    /// its message for anyone else (the one buyer-or-ADMIN rule of every
    /// subgraph).
    pub fn require_owner_or_admin(&self, owner: &str, forbidden: &str) -> ApiResult<()> {
        if self.is_owner_or_admin(owner) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(forbidden.to_owned()))
        }
    }
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT at all.
    #[error("the token is malformed")]
    Malformed,
    /// Past its expiry.
    #[error("the token has expired; log in again")]
    Expired,
    /// Signed by a key the users service does not publish, or not signed correctly.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// Well-formed and signed, but its claims are wrong (issuer, audience, algorithm).
    #[error("the token is not valid: {0}")]
    Invalid(String),
    /// The keys to check it could not be fetched.
    #[error("cannot verify the token right now: {0}")]
    KeysUnavailable(String),
    /// Genuine, but issued before its user's last password change or
    /// logout-everywhere (or the account is gone).
    #[error("this token was revoked; log in again")]
    Revoked,
    /// Genuine, but whether it was revoked cannot be told right now (the users
    /// service does not answer and nothing recent is known).
    #[error("cannot check the token right now: {0}")]
    RevocationUnknown(String),
}

/// Checks tokens and returns their claims.
#[async_trait]
pub trait TokenVerifier: Send + Sync + 'static {
    /// The token's claims if it is genuine and current.
    async fn verify(&self, token: &str) -> Result<Claims, TokenError>;
}

/// A set of public keys by key id.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, DecodingKey>,
}

impl KeySet {
    /// Keys from a JWKS document; keys without an id or of another type are skipped.
    pub fn from_jwks(jwks: &JwkSet) -> Self {
        let keys = jwks
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let key = DecodingKey::from_jwk(jwk).ok()?;
                Some((kid, key))
            })
            .collect();
        KeySet { keys }
    }

    /// Adds one key.
    pub fn insert(&mut self, kid: impl Into<String>, key: DecodingKey) {
        self.keys.insert(kid.into(), key);
    }

    fn contains(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    /// Verifies `token` against these keys. `Err(None)` means the key id is unknown.
    fn check(&self, token: &str) -> Result<Claims, Option<TokenError>> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Some(TokenError::Malformed))?;
        if header.alg != Algorithm::EdDSA {
            return Err(Some(TokenError::Invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            ))));
        }
        let kid = header
            .kid
            .ok_or_else(|| Some(TokenError::Invalid("the token names no key id".into())))?;
        let key = self.keys.get(&kid).ok_or(None)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                Some(match e.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::InvalidSignature => TokenError::BadSignature,
                    ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) => {
                        TokenError::Malformed
                    }
                    ErrorKind::InvalidIssuer => TokenError::Invalid("wrong issuer".into()),
                    ErrorKind::InvalidAudience => TokenError::Invalid("wrong audience".into()),
                    ErrorKind::MissingRequiredClaim(claim) => {
                        TokenError::Invalid(format!("the {claim} claim is missing"))
                    }
                    other => TokenError::Invalid(format!("{other:?}")),
                })
            })
    }
}

#[async_trait]
impl TokenVerifier for KeySet {
    async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.check(token)
            .map_err(|e| e.unwrap_or(TokenError::BadSignature))
    }
}

/// The caller of a request, as the token in `Authorization` says.
#[derive(Debug, Clone)]
pub enum Viewer {
    /// No token was sent.
    Anonymous,
    /// A genuine, current token.
    User(Claims),
    /// A token was sent but is not acceptable; the reason is shown when it matters.
    Rejected(TokenError),
}

impl Viewer {
    /// The caller's claims, or UNAUTHENTICATED (SERVICE_UNAVAILABLE when keys cannot be fetched).
    pub fn require_user(&self) -> ApiResult<&Claims> {
        match self {
            Viewer::User(claims) => Ok(claims),
            Viewer::Anonymous => Err(ApiError::Unauthenticated(
                "you must be logged in: send `Authorization: Bearer <token>`".into(),
            )),
            Viewer::Rejected(
                error @ (TokenError::KeysUnavailable(_) | TokenError::RevocationUnknown(_)),
            ) => Err(ApiError::ServiceUnavailable(error.to_string())),
            Viewer::Rejected(error) => Err(ApiError::Unauthenticated(error.to_string())),
        }
    }

    /// The caller's claims if they are the user `owner` or an ADMIN;
    /// UNAUTHENTICATED without a user, FORBIDDEN with `forbidden` for anyone else.
    pub fn require_owner_or_admin(&self, owner: &str, forbidden: &str) -> ApiResult<&Claims> {
        let claims = self.require_user()?;
        claims.require_owner_or_admin(owner, forbidden)?;
        Ok(claims)
    }

    /// The caller's claims if they are an ADMIN; FORBIDDEN for customers.
    pub fn require_admin(&self) -> ApiResult<&Claims> {
        let claims = self.require_user()?;
        if claims.role == Role::Admin {
            Ok(claims)
        } else {
            Err(ApiError::Forbidden("only an ADMIN may do this".into()))
        }
    }
}

/// Whether the request carried the service credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceCaller(pub bool);

impl ServiceCaller {
    /// UNAUTHENTICATED unless the caller is another Storefront service.
    pub fn require(&self) -> ApiResult<()> {
        if self.0 {
            Ok(())
        } else {
            Err(ApiError::Unauthenticated(
                "this operation is only for Storefront services and needs the service credential"
                    .into(),
            ))
        }
    }
}

/// Turns request headers into a [`Viewer`] and a [`ServiceCaller`].
#[derive(Clone)]
pub struct Authenticator {
    verifier: Arc<dyn TokenVerifier>,
    revocation: Option<Arc<dyn RevocationCheck>>,
    service_token: Secret,
}

impl Authenticator {
    /// Uses `verifier` for user tokens and `service_token` as the service
    /// credential; no revocation check (see [`Authenticator::with_revocation`]).
    pub fn new(verifier: Arc<dyn TokenVerifier>, service_token: Secret) -> Self {
        Authenticator {
            verifier,
            revocation: None,
            service_token,
        }
    }

    /// What orders, payments and inventory use: tokens verified with the
    /// users service's JWKS and checked against its token generations
    /// (cached for `TOKEN_VERSION_CACHE_TTL`, trusted for
    /// `TOKEN_VERSION_GRACE` while it does not answer), all at `USERS_URL`;
    /// `service_token` is [`CommonSettings::service_token`].
    pub fn for_users_service(
        common: &CommonSettings,
        service_token: Secret,
    ) -> Result<Self, String> {
        let verifier = JwksVerifier::for_users_url(&common.users_url)?;
        let versions = HttpTokenVersions::for_users_url(&common.users_url, service_token.clone())?;
        let revocation = CachedRevocation::new(
            Arc::new(versions),
            common.token_version_cache_ttl,
            common.token_version_grace,
        );
        Ok(Authenticator::new(Arc::new(verifier), service_token)
            .with_revocation(Arc::new(revocation)))
    }

    /// Also refuses genuine tokens that `revocation` says were revoked.
    pub fn with_revocation(mut self, revocation: Arc<dyn RevocationCheck>) -> Self {
        self.revocation = Some(revocation);
        self
    }

    /// The viewer named by an `Authorization` header value (or its absence).
    pub async fn viewer(&self, authorization: Option<&str>) -> Viewer {
        let Some(value) = authorization.map(str::trim).filter(|v| !v.is_empty()) else {
            return Viewer::Anonymous;
        };
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => return Viewer::Rejected(TokenError::Malformed),
        };
        let claims = match self.verifier.verify(token).await {
            Ok(claims) => claims,
            Err(error) => return Viewer::Rejected(error),
        };
        if let Some(revocation) = &self.revocation
            && let Err(error) = revocation.check(&claims).await
        {
            return Viewer::Rejected(error);
        }
        Viewer::User(claims)
    }

    /// Whether a service-credential header value is the right one (constant time).
    pub fn service_caller(&self, header: Option<&[u8]>) -> ServiceCaller {
        ServiceCaller(
            header.is_some_and(|given| {
                constant_time_eq(given, self.service_token.expose().as_bytes())
            }),
        )
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use jsonwebtoken::{EncodingKey, Header};

    pub(super) fn keypair() -> (EncodingKey, DecodingKey) {
        let signing = SigningKey::generate(&mut rand::rngs::OsRng);
        let der = signing.to_pkcs8_der().expect("encodes");
        let public = signing.verifying_key().to_bytes();
        (
            EncodingKey::from_ed_der(der.as_bytes()),
            DecodingKey::from_ed_der(&public),
        )
    }

    pub(super) fn claims(exp_offset: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: "u1".into(),
            role: Role::Customer,
            iat: now,
            exp: now + exp_offset,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            jti: "j1".into(),
            ver: 0,
        }
    }

    pub(super) fn sign(key: &EncodingKey, kid: &str, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, key).expect("signs")
    }

    fn authenticator(keys: KeySet) -> Authenticator {
        Authenticator::new(Arc::new(keys), Secret::new("svc"))
    }

    #[tokio::test]
    async fn accepts_a_genuine_token_and_rejects_forged_expired_and_malformed_ones() {
        let (signing, verifying) = keypair();
        let (forger, _) = keypair();
        let mut keys = KeySet::default();
        keys.insert("k1", verifying);
        let auth = authenticator(keys);

        let good = sign(&signing, "k1", &claims(600));
        match auth.viewer(Some(&format!("Bearer {good}"))).await {
            Viewer::User(c) => assert_eq!(c.sub, "u1"),
            other => panic!("expected a user, got {other:?}"),
        }

        let forged = sign(&forger, "k1", &claims(600));
        assert!(matches!(
            auth.viewer(Some(&format!("Bearer {forged}"))).await,
            Viewer::Rejected(TokenError::BadSignature)
        ));

        let expired = sign(&signing, "k1", &claims(-600));
        assert!(matches!(
            auth.viewer(Some(&format!("Bearer {expired}"))).await,
            Viewer::Rejected(TokenError::Expired)
        ));

        assert!(matches!(
            auth.viewer(Some("Bearer not.a.jwt")).await,
            Viewer::Rejected(TokenError::Malformed)
        ));
        assert!(matches!(
            auth.viewer(Some("Basic abc")).await,
            Viewer::Rejected(TokenError::Malformed)
        ));
        assert!(matches!(auth.viewer(None).await, Viewer::Anonymous));
    }

    #[tokio::test]
    async fn unknown_key_ids_are_rejected() {
        let (signing, verifying) = keypair();
        let mut keys = KeySet::default();
        keys.insert("k1", verifying);
        let token = sign(&signing, "other", &claims(600));
        let error = keys.verify(&token).await.expect_err("unknown kid");
        assert_eq!(error, TokenError::BadSignature);
    }

    #[test]
    fn viewers_map_to_api_codes() {
        let anonymous = Viewer::Anonymous.require_user().expect_err("anonymous");
        assert_eq!(anonymous.code(), "UNAUTHENTICATED");
        let customer = Viewer::User(claims(60));
        assert_eq!(
            customer.require_admin().expect_err("not admin").code(),
            "FORBIDDEN"
        );
        let unverifiable = Viewer::Rejected(TokenError::KeysUnavailable("down".into()));
        assert_eq!(
            unverifiable.require_user().expect_err("down").code(),
            "SERVICE_UNAVAILABLE"
        );
        let revoked = Viewer::Rejected(TokenError::Revoked);
        assert_eq!(
            revoked.require_user().expect_err("revoked").code(),
            "UNAUTHENTICATED"
        );
        let unknown = Viewer::Rejected(TokenError::RevocationUnknown("down".into()));
        assert_eq!(
            unknown.require_user().expect_err("unknown").code(),
            "SERVICE_UNAVAILABLE"
        );
    }

    /// Revokes every token older than generation 1.
    struct RevokedBefore1;

    #[async_trait]
    impl RevocationCheck for RevokedBefore1 {
        async fn check(&self, claims: &Claims) -> Result<(), TokenError> {
            if claims.ver < 1 {
                Err(TokenError::Revoked)
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test]
    async fn a_genuine_but_revoked_token_is_rejected() {
        let (signing, verifying) = keypair();
        let mut keys = KeySet::default();
        keys.insert("k1", verifying);
        let auth = authenticator(keys).with_revocation(Arc::new(RevokedBefore1));
        let old = sign(&signing, "k1", &claims(600));
        assert!(matches!(
            auth.viewer(Some(&format!("Bearer {old}"))).await,
            Viewer::Rejected(TokenError::Revoked)
        ));
        let current = sign(
            &signing,
            "k1",
            &Claims {
                ver: 1,
                ..claims(600)
            },
        );
        assert!(matches!(
            auth.viewer(Some(&format!("Bearer {current}"))).await,
            Viewer::User(_)
        ));
    }

    #[test]
    fn service_credential_must_match_exactly() {
        let auth = authenticator(KeySet::default());
        assert!(auth.service_caller(Some(b"svc")).0);
        assert!(!auth.service_caller(Some(b"svc2")).0);
        assert!(!auth.service_caller(None).0);
        assert_eq!(
            ServiceCaller(false).require().expect_err("no").code(),
            "UNAUTHENTICATED"
        );
    }

    #[test]
    fn only_the_owner_or_an_admin_passes_the_owner_check() {
        let customer = claims(60);
        assert!(customer.require_owner_or_admin("u1", "no").is_ok());
        let error = customer
            .require_owner_or_admin("u2", "only u2")
            .expect_err("another user");
        assert_eq!(error.code(), "FORBIDDEN");
        assert_eq!(error.message(), "only u2");
        let admin = Claims {
            role: Role::Admin,
            ..claims(60)
        };
        assert!(admin.require_owner_or_admin("u2", "no").is_ok());
        let viewer = Viewer::User(customer);
        assert!(viewer.require_owner_or_admin("u1", "no").is_ok());
        let anonymous = Viewer::Anonymous.require_owner_or_admin("u1", "no");
        assert_eq!(anonymous.expect_err("anonymous").code(), "UNAUTHENTICATED");
    }
}
