//! JWT authentication at the router: the token is read from the
//! `Authorization` header (or a named cookie), its signature checked with
//! keys from JWKS URLs or files ([`keys`]), and its `exp`/`nbf`/`iss`/`aud`
//! checked with leeway. The result is the caller's [`Identity`] (its claims),
//! or anonymous; a present but invalid token is an [`AuthenticationError`].
//!
//! # Layout
//! - this file: [`Authenticator`] (settings → verifier; headers → identity),
//!   [`Identity`], [`AuthenticationError`], and the background JWKS
//!   refresher.
//! - [`keys`]: the [`keys::KeyStore`] (JWKS URLs and files).
//! - [`policy`]: the optional HTTP policy service for `@policy`.

pub mod keys;
pub mod policy;

use std::sync::{Arc, Weak};

use axum::http::HeaderMap;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use self::keys::{KeyStore, KeysError};
use crate::settings::JwtSettings;

/// The verified claims of the caller's token.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// Every claim of the token.
    pub claims: Map<String, Value>,
}

impl Identity {
    /// The scopes in claim `claim`: a space-separated string, or an array of
    /// strings.
    pub fn scopes(&self, claim: &str) -> Vec<&str> {
        match self.claims.get(claim) {
            Some(Value::String(text)) => text.split_whitespace().collect(),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// Why a request's token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthenticationError {
    /// No token, and the settings require one.
    #[error("this endpoint requires a token: send `Authorization: Bearer <token>`")]
    Missing,
    /// Not a JWT, or not in the expected header format.
    #[error("the token is malformed")]
    Malformed,
    /// Signed with an algorithm that is not accepted (`none`, HMAC, or one
    /// the settings leave out).
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    /// No known key verifies it (forged, or signed by an unknown key).
    #[error("the token's signature is not valid")]
    BadSignature,
    /// Past its `exp` (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// Before its `nbf` (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// Genuine but for another issuer or audience, or a required claim is missing.
    #[error("the token is not valid here: {0}")]
    Claims(String),
}

/// Why authentication could not be set up.
pub type SetupError = KeysError;

/// Verifies the tokens of requests (one per [`crate::AppState`]).
pub struct Authenticator {
    settings: JwtSettings,
    keys: Arc<KeyStore>,
    algorithms: Vec<Algorithm>,
    /// Whether the background refresher was started.
    refresher: std::sync::OnceLock<()>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("jwks_urls", &self.settings.jwks_urls)
            .finish_non_exhaustive()
    }
}

/// The accepted algorithm named `name`; never `none` or HMAC.
pub fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    let alg: Algorithm = name
        .trim()
        .parse()
        .map_err(|_| format!("unknown JWT algorithm `{name}`"))?;
    if jsonwebtoken::AlgorithmFamily::Hmac
        .algorithms()
        .contains(&alg)
    {
        return Err(format!(
            "JWT algorithm `{name}` is HMAC, which needs a shared secret: not accepted"
        ));
    }
    Ok(alg)
}

impl Authenticator {
    /// An authenticator for `settings`, or `None` when no key source is set
    /// (authentication off). Key files are read now; JWKS URLs are fetched
    /// by [`Authenticator::start`] and when tokens need them.
    pub fn new(settings: &JwtSettings) -> Result<Option<Arc<Self>>, SetupError> {
        if !settings.enabled() {
            return Ok(None);
        }
        let mut algorithms = Vec::new();
        for name in &settings.algorithms {
            let alg = parse_algorithm(name).map_err(|reason| KeysError::File {
                path: "jwt.algorithms".into(),
                reason,
            })?;
            algorithms.push(alg);
        }
        let keys = KeyStore::new(
            &settings.jwks_urls,
            &settings.key_paths(),
            settings.jwks_timeout,
            settings.jwks_min_refetch_interval,
        )?;
        Ok(Some(Arc::new(Authenticator {
            settings: settings.clone(),
            keys: Arc::new(keys),
            algorithms,
            refresher: std::sync::OnceLock::new(),
        })))
    }

    /// Starts the scheduled JWKS refresh (the first fetch at once) on the
    /// current tokio runtime; it stops when the authenticator is dropped.
    /// Calling it again does nothing.
    pub fn start(self: &Arc<Self>) {
        if !self.keys.has_remotes() || self.refresher.set(()).is_err() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak: Weak<Self> = Arc::downgrade(self);
        let every = self
            .settings
            .jwks_refresh_interval
            .max(std::time::Duration::from_secs(1));
        runtime.spawn(async move {
            loop {
                let Some(this) = weak.upgrade() else { return };
                this.keys.refresh_older_than(every).await;
                drop(this);
                tokio::time::sleep(every).await;
            }
        });
    }

    /// Whether a token is required.
    pub fn required(&self) -> bool {
        self.settings.required
    }

    /// The token in `headers`: from the configured header (with its prefix),
    /// else from the cookie. `Ok(None)` when there is none.
    pub fn token<'h>(
        &self,
        headers: &'h HeaderMap,
    ) -> Result<Option<TokenSource<'h>>, AuthenticationError> {
        if let Some(value) = headers.get(self.settings.header_name.as_str()) {
            let value = value.to_str().map_err(|_| AuthenticationError::Malformed)?;
            let prefix = self.settings.header_prefix.trim();
            let token = if prefix.is_empty() {
                value.trim()
            } else {
                let (scheme, rest) = value
                    .trim()
                    .split_once(' ')
                    .ok_or(AuthenticationError::Malformed)?;
                if !scheme.eq_ignore_ascii_case(prefix) {
                    return Err(AuthenticationError::Malformed);
                }
                rest.trim()
            };
            if token.is_empty() {
                return Err(AuthenticationError::Malformed);
            }
            return Ok(Some(TokenSource::Header(token)));
        }
        let Some(cookie) = &self.settings.cookie else {
            return Ok(None);
        };
        for header in headers.get_all(axum::http::header::COOKIE) {
            let Ok(text) = header.to_str() else { continue };
            for pair in text.split(';') {
                if let Some((name, value)) = pair.trim().split_once('=')
                    && name.trim() == cookie
                    && !value.trim().is_empty()
                {
                    return Ok(Some(TokenSource::Cookie(value.trim())));
                }
            }
        }
        Ok(None)
    }

    /// The caller: `Ok(None)` when anonymous (no token, not required), the
    /// identity for a valid token, an error for an invalid one.
    pub async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<Identity>, AuthenticationError> {
        match self.token(headers)? {
            Some(source) => self.verify(source.token()).await.map(Some),
            None if self.settings.required => Err(AuthenticationError::Missing),
            None => Ok(None),
        }
    }

    /// Verifies one token.
    pub async fn verify(&self, token: &str) -> Result<Identity, AuthenticationError> {
        let header = jsonwebtoken::decode_header(token).map_err(|error| {
            match error.kind() {
                // `alg: none` and unknown algorithms do not parse as a header.
                jsonwebtoken::errors::ErrorKind::Json(_) => AuthenticationError::Algorithm,
                _ => AuthenticationError::Malformed,
            }
        })?;
        if !self.algorithms.contains(&header.alg) {
            return Err(AuthenticationError::Algorithm);
        }
        let kid = header.kid.as_deref();
        match self.check(token, header.alg, kid) {
            Err(AuthenticationError::BadSignature) if self.keys.has_remotes() => {
                // Perhaps a key published since the last fetch (rate-limited).
                let unknown = kid.is_none_or(|kid| {
                    !self
                        .keys
                        .current()
                        .iter()
                        .any(|k| k.kid.as_deref() == Some(kid))
                });
                if !unknown {
                    return Err(AuthenticationError::BadSignature);
                }
                self.keys.refresh_for(kid).await;
                self.check(token, header.alg, kid)
            }
            other => other,
        }
    }

    /// Checks `token` against the keys known now that match `kid` (all of
    /// them when the token names none) and may verify `alg`.
    fn check(
        &self,
        token: &str,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<Identity, AuthenticationError> {
        let validation = self.validation(alg);
        let mut last = AuthenticationError::BadSignature;
        for key in self.keys.current() {
            if kid.is_some() && key.kid.as_deref() != kid {
                continue;
            }
            if !key.algorithms.contains(&alg) {
                continue;
            }
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation) {
                Ok(data) => {
                    return Ok(Identity {
                        claims: data.claims,
                    });
                }
                Err(error) => {
                    use jsonwebtoken::errors::ErrorKind;
                    last = match error.kind() {
                        ErrorKind::InvalidSignature
                        | ErrorKind::InvalidKeyFormat
                        | ErrorKind::InvalidAlgorithm => AuthenticationError::BadSignature,
                        ErrorKind::ExpiredSignature => return Err(AuthenticationError::Expired),
                        ErrorKind::ImmatureSignature => {
                            return Err(AuthenticationError::NotYetValid);
                        }
                        ErrorKind::InvalidIssuer => {
                            return Err(AuthenticationError::Claims("wrong issuer".into()));
                        }
                        ErrorKind::InvalidAudience => {
                            return Err(AuthenticationError::Claims("wrong audience".into()));
                        }
                        ErrorKind::MissingRequiredClaim(claim) => {
                            return Err(AuthenticationError::Claims(format!(
                                "the `{claim}` claim is missing"
                            )));
                        }
                        ErrorKind::InvalidClaimFormat(claim) => {
                            return Err(AuthenticationError::Claims(format!(
                                "the `{claim}` claim is malformed"
                            )));
                        }
                        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) => {
                            return Err(AuthenticationError::Malformed);
                        }
                        _ => AuthenticationError::BadSignature,
                    };
                }
            }
        }
        Err(last)
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        validation.leeway = self.settings.leeway.as_secs();
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        if self.settings.issuers.is_empty() {
            validation.iss = None;
        } else {
            validation.set_issuer(&self.settings.issuers);
            required.push("iss");
        }
        if self.settings.audiences.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&self.settings.audiences);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        validation
    }
}

/// Where a request's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource<'h> {
    /// The configured header.
    Header(&'h str),
    /// The configured cookie.
    Cookie(&'h str),
}

impl<'h> TokenSource<'h> {
    /// The token itself.
    pub fn token(&self) -> &'h str {
        match self {
            TokenSource::Header(token) | TokenSource::Cookie(token) => token,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn authenticator(cookie: Option<&str>) -> Arc<Authenticator> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("jwks.json");
        // One Ed25519 public key (any 32 bytes make a key to parse).
        std::fs::write(
            &path,
            r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
        )
        .expect("writes");
        let settings = JwtSettings {
            key_files: vec![path.display().to_string()],
            cookie: cookie.map(str::to_owned),
            ..JwtSettings::default()
        };
        Authenticator::new(&settings)
            .expect("valid settings")
            .expect("enabled")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).expect("ascii"));
        }
        headers
    }

    #[test]
    fn the_token_comes_from_the_bearer_header_in_any_case_or_else_the_cookie() {
        let auth = authenticator(Some("session"));
        let token = |pairs: &[(&'static str, &str)]| {
            auth.token(&headers(pairs))
                .map(|t| t.map(|t| t.token().to_owned()))
        };
        assert_eq!(
            token(&[("authorization", "Bearer abc")]),
            Ok(Some("abc".into()))
        );
        assert_eq!(
            token(&[("authorization", "bearer  abc ")]),
            Ok(Some("abc".into()))
        );
        assert_eq!(
            token(&[("authorization", "Basic abc")]),
            Err(AuthenticationError::Malformed)
        );
        assert_eq!(
            token(&[("authorization", "Bearer")]),
            Err(AuthenticationError::Malformed)
        );
        assert_eq!(
            token(&[("cookie", "a=1; session=xyz"), ("cookie", "b=2")]),
            Ok(Some("xyz".into()))
        );
        assert_eq!(token(&[("cookie", "sessionx=1")]), Ok(None));
        assert_eq!(token(&[]), Ok(None));
        let no_cookie = authenticator(None);
        assert_eq!(
            no_cookie.token(&headers(&[("cookie", "session=xyz")])),
            Ok(None)
        );
    }

    #[test]
    fn scopes_are_read_from_a_string_or_an_array() {
        let identity = |claims: serde_json::Value| Identity {
            claims: claims.as_object().cloned().unwrap_or_default(),
        };
        assert_eq!(
            identity(serde_json::json!({ "scope": " a  b " })).scopes("scope"),
            ["a", "b"]
        );
        assert_eq!(
            identity(serde_json::json!({ "scp": ["a", 1, "b"] })).scopes("scp"),
            ["a", "b"]
        );
        assert!(identity(serde_json::json!({})).scopes("scope").is_empty());
    }

    #[test]
    fn hmac_and_unknown_algorithms_are_refused() {
        assert!(parse_algorithm("EdDSA").is_ok());
        assert!(parse_algorithm("PS512").is_ok());
        assert!(parse_algorithm("HS256").is_err());
        assert!(parse_algorithm("none").is_err());
    }
}
