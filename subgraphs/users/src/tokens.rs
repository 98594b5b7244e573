//! Access tokens: the Ed25519 signing key, issuing EdDSA JWTs, and the JWKS
//! that publishes the public key to the other services.
//!
//! The key comes from `JWT_SIGNING_KEY` (PEM), `JWT_SIGNING_KEY_FILE`, or, for
//! the local run, a key generated once and kept at
//! `DATA_DIR/users/jwt-signing-key.pem` (mode 0600) so tokens survive restarts.
//! The key id is the key's RFC 7638 JWK thumbprint, so it is stable too.
//!
//! Besides the shared [`Claims`] every token carries a `scope` claim, the
//! OAuth 2.0 way (RFC 8693 §4.2: space-separated), for the router's
//! `@requiresScopes`: every user has [`CUSTOMER_SCOPE`], an ADMIN
//! [`ADMIN_SCOPE`] as well (see [`scope_of`]). The services themselves keep
//! deciding on `role`; they ignore `scope`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm,
    OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, ThumbprintHash,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;
use storefront_shared::auth::{AUDIENCE, Claims, ISSUER, KeySet, Role};

use crate::domain::User;
use crate::settings::{SIGNING_KEY_ENV, SIGNING_KEY_FILE_ENV, UsersSettings};

/// The scope every signed-in user has: buying, their own orders and addresses.
pub const CUSTOMER_SCOPE: &str = "customer";
/// The scope of an ADMIN: managing the catalogue and seeing every order.
pub const ADMIN_SCOPE: &str = "admin";

/// The `scope` claim of a token for a user with `role`: space-separated
/// scopes, `customer` for everyone and `admin` too for an ADMIN (who can
/// also buy).
pub fn scope_of(role: Role) -> String {
    match role {
        Role::Customer => CUSTOMER_SCOPE.to_owned(),
        Role::Admin => format!("{CUSTOMER_SCOPE} {ADMIN_SCOPE}"),
    }
}

/// What a token's payload holds: the shared claims and `scope`.
#[derive(Serialize)]
struct SignedClaims<'a> {
    #[serde(flatten)]
    claims: &'a Claims,
    scope: String,
}

/// The name of the generated key file under `DATA_DIR/users/`.
pub const KEY_FILE_NAME: &str = "jwt-signing-key.pem";

/// The signing key cannot be loaded or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Both ways of naming a key were given.
    #[error("set either {SIGNING_KEY_FILE_ENV} or {SIGNING_KEY_ENV}, not both")]
    Ambiguous,
    /// The key file cannot be read.
    #[error("cannot read the token signing key {path}: {source}")]
    Read {
        /// The key file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A new key cannot be stored.
    #[error("cannot store a new token signing key at {path}: {source}")]
    Write {
        /// The key file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The text is not an Ed25519 private key in PKCS#8 PEM.
    #[error(
        "the token signing key from {origin} is not an Ed25519 private key in PKCS#8 PEM: {reason}"
    )]
    NotEd25519 {
        /// Where the key came from.
        origin: String,
        /// What the parser said.
        reason: String,
    },
    /// The key could not be encoded for signing.
    #[error("cannot prepare the token signing key: {0}")]
    Encode(String),
    /// A token lifetime of zero would make every token expired.
    #[error("token_ttl (TOKEN_TTL) must be at least one second")]
    ZeroTtl,
}

/// Loads the signing key the settings name, or the local one (generated on first use).
pub fn load_signing_key(
    settings: &UsersSettings,
    service_dir: &Path,
) -> Result<SigningKey, KeyError> {
    match (&settings.signing_key_file, &settings.signing_key_pem) {
        (Some(_), Some(_)) => Err(KeyError::Ambiguous),
        (None, Some(pem)) => parse_pem(pem.expose(), SIGNING_KEY_ENV),
        (Some(path), None) => read_key_file(path),
        (None, None) => load_or_create(&service_dir.join(KEY_FILE_NAME)),
    }
}

fn parse_pem(pem: &str, origin: &str) -> Result<SigningKey, KeyError> {
    SigningKey::from_pkcs8_pem(pem.trim()).map_err(|e| KeyError::NotEd25519 {
        origin: origin.to_owned(),
        reason: e.to_string(),
    })
}

fn read_key_file(path: &Path) -> Result<SigningKey, KeyError> {
    let pem = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_pem(&pem, &path.display().to_string())
}

/// Reads the key at `path`, or generates one and writes it there with mode 0600.
fn load_or_create(path: &Path) -> Result<SigningKey, KeyError> {
    if path.exists() {
        return read_key_file(path);
    }
    let write_error = |source| KeyError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write_error)?;
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Encode(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(pem.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(write_error)?;
            tracing::info!(path = %path.display(), "generated a new token signing key");
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key_file(path),
        Err(e) => Err(write_error(e)),
    }
}

/// A token and when it expires.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Its `exp`.
    pub expires_at: DateTime<Utc>,
}

/// Signs access tokens and publishes the matching public key.
pub struct TokenIssuer {
    encoding: EncodingKey,
    jwk: Jwk,
    kid: String,
    public_key: [u8; 32],
    ttl: Duration,
}

impl TokenIssuer {
    /// An issuer that signs with `key`; tokens live for `ttl` (at least a second).
    pub fn new(key: &SigningKey, ttl: Duration) -> Result<Self, KeyError> {
        if ttl.as_secs() == 0 {
            return Err(KeyError::ZeroTtl);
        }
        let der = key
            .to_pkcs8_der()
            .map_err(|e| KeyError::Encode(e.to_string()))?;
        let public_key = key.verifying_key().to_bytes();
        let mut jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::EdDSA),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: URL_SAFE_NO_PAD.encode(public_key),
            }),
        };
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| KeyError::Encode(e.to_string()))?;
        jwk.common.key_id = Some(kid.clone());
        Ok(TokenIssuer {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            jwk,
            kid,
            public_key,
            ttl,
        })
    }

    /// The key id in every token's header: the public key's JWK thumbprint.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// How long tokens live.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The JWKS served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: vec![self.jwk.clone()],
        }
    }

    /// The public key as a [`KeySet`], so this service verifies its own tokens without HTTP.
    pub fn key_set(&self) -> KeySet {
        let mut keys = KeySet::default();
        keys.insert(self.kid.clone(), DecodingKey::from_ed_der(&self.public_key));
        keys
    }

    /// A token for `user`, valid from now for the configured lifetime.
    pub fn issue(&self, user: &User) -> Result<IssuedToken, jsonwebtoken::errors::Error> {
        let issued_at = Utc::now().timestamp();
        let lifetime = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let expires = issued_at.saturating_add(lifetime);
        let claims = Claims {
            sub: user.id.clone(),
            role: user.role,
            iat: issued_at,
            exp: expires,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            jti: uuid::Uuid::new_v4().to_string(),
            ver: user.token_version,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let payload = SignedClaims {
            claims: &claims,
            scope: scope_of(user.role),
        };
        let token = jsonwebtoken::encode(&header, &payload, &self.encoding)?;
        let expires_at = DateTime::from_timestamp(expires, 0).unwrap_or(DateTime::<Utc>::MAX_UTC);
        Ok(IssuedToken { token, expires_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DisplayName, Email, PasswordHash};
    use storefront_shared::auth::TokenVerifier;
    use storefront_shared::settings::Secret;

    fn user() -> User {
        User::new(
            Email::parse("ada@example.com").expect("valid"),
            DisplayName::parse("Ada").expect("valid"),
            Role::Admin,
            PasswordHash::new("h"),
        )
    }

    fn issuer(key: &SigningKey) -> TokenIssuer {
        TokenIssuer::new(key, Duration::from_secs(3600)).expect("issuer")
    }

    #[tokio::test]
    async fn issued_tokens_verify_with_the_published_keys() {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let issuer = issuer(&key);
        let user = user();
        let issued = issuer.issue(&user).expect("signs");

        let header = jsonwebtoken::decode_header(&issued.token).expect("header");
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some(issuer.kid()));

        let claims = KeySet::from_jwks(&issuer.jwks())
            .verify(&issued.token)
            .await
            .expect("verifies");
        assert_eq!(claims.sub, user.id);
        assert_eq!(claims.role, Role::Admin);
        assert_eq!(claims.exp - claims.iat, 3600);
        assert_eq!(issued.expires_at.timestamp(), claims.exp);
        assert!(uuid::Uuid::parse_str(&claims.jti).is_ok());
        issuer
            .key_set()
            .verify(&issued.token)
            .await
            .expect("own key set");
    }

    /// The payload of `token`, as any JWT library would read it.
    fn payload(token: &str) -> serde_json::Value {
        let part = token.split('.').nth(1).expect("a JWT has a payload");
        let bytes = URL_SAFE_NO_PAD.decode(part).expect("base64url");
        serde_json::from_slice(&bytes).expect("a JSON payload")
    }

    #[tokio::test]
    async fn tokens_carry_space_separated_scopes_by_role() {
        let issuer = issuer(&SigningKey::generate(&mut rand::rngs::OsRng));
        let mut user = user();
        user.role = Role::Customer;
        let customer = issuer.issue(&user).expect("signs");
        assert_eq!(payload(&customer.token)["scope"], "customer");
        user.role = Role::Admin;
        let admin = issuer.issue(&user).expect("signs");
        let claims = payload(&admin.token);
        assert_eq!(claims["scope"], "customer admin");
        let scopes: Vec<&str> = claims["scope"]
            .as_str()
            .expect("a string")
            .split(' ')
            .collect();
        assert!(scopes.contains(&ADMIN_SCOPE) && scopes.contains(&CUSTOMER_SCOPE));
        // The shared claims sit beside it, and the services still accept the token.
        assert_eq!(claims["sub"], user.id.as_str());
        assert_eq!(claims["role"], "ADMIN");
        let verified = issuer
            .key_set()
            .verify(&admin.token)
            .await
            .expect("verifies");
        assert_eq!(verified.role, Role::Admin);
    }

    #[test]
    fn the_jwks_describes_an_ed25519_signing_key() {
        let issuer = issuer(&SigningKey::generate(&mut rand::rngs::OsRng));
        let json = serde_json::to_value(issuer.jwks()).expect("serializes");
        let key = &json["keys"][0];
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kid"], issuer.kid());
        assert_eq!(key["x"].as_str().map(str::len), Some(43));
        assert!(
            key.get("d").is_none(),
            "the private key must not be published"
        );
    }

    #[test]
    fn the_key_id_is_stable_for_a_key_and_differs_between_keys() {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let other = SigningKey::generate(&mut rand::rngs::OsRng);
        assert_eq!(issuer(&key).kid(), issuer(&key).kid());
        assert_ne!(issuer(&key).kid(), issuer(&other).kid());
    }

    #[test]
    fn a_generated_key_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = UsersSettings::default();
        let first = load_signing_key(&settings, dir.path()).expect("generates");
        let second = load_signing_key(&settings, dir.path()).expect("reuses");
        assert_eq!(first.to_bytes(), second.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE_NAME))
                .expect("key file exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn keys_from_settings_are_used_and_bad_ones_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let pem = key.to_pkcs8_pem(LineEnding::LF).expect("pem").to_string();
        let path = dir.path().join("key.pem");
        std::fs::write(&path, &pem).expect("writes");

        let from_file = UsersSettings {
            signing_key_file: Some(path.clone()),
            ..UsersSettings::default()
        };
        let loaded = load_signing_key(&from_file, dir.path()).expect("loads");
        assert_eq!(loaded.to_bytes(), key.to_bytes());

        let inline = UsersSettings {
            signing_key_pem: Some(Secret::new(pem)),
            ..UsersSettings::default()
        };
        let loaded = load_signing_key(&inline, dir.path()).expect("loads");
        assert_eq!(loaded.to_bytes(), key.to_bytes());

        let garbage = UsersSettings {
            signing_key_pem: Some(Secret::new("not a key")),
            ..UsersSettings::default()
        };
        let error = load_signing_key(&garbage, dir.path()).expect_err("rejected");
        assert!(error.to_string().contains("JWT_SIGNING_KEY"), "{error}");

        let missing = UsersSettings {
            signing_key_file: Some(dir.path().join("nope.pem")),
            ..UsersSettings::default()
        };
        let error = load_signing_key(&missing, dir.path()).expect_err("missing");
        assert!(error.to_string().contains("nope.pem"), "{error}");
    }

    #[test]
    fn a_zero_lifetime_is_refused() {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        assert!(matches!(
            TokenIssuer::new(&key, Duration::ZERO),
            Err(KeyError::ZeroTtl)
        ));
    }
}
