//! The front door's settings: `[service.jwt]` (who is calling: JWT
//! authentication) and `[service.authorization]` (what they may see:
//! `@requiresScopes` and `@policy`).
//!
//! ```toml
//! [service.jwt]
//! jwks_urls = ["http://users:4001/.well-known/jwks.json"]
//! issuers = ["storefront-users"]
//! audiences = ["storefront"]
//! required = false
//! cookie = "session"
//!
//! [service.authorization]
//! scope_claim = "scope"
//!
//! [service.authorization.policies]
//! admin = { role = ["ADMIN"] }
//! ```
//!
//! # Layout
//! - [`JwtSettings`]: key sources, algorithms, claims checked, where the
//!   token is read from.
//! - [`AuthorizationSettings`]: the scope claim and the policy rules.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use storefront_process::settings;

/// The algorithms accepted when the settings name none: every asymmetric
/// one (never `none`, never an HMAC secret).
pub const DEFAULT_ALGORITHMS: [&str; 9] = [
    "EdDSA", "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
];

/// JWT authentication at the router (`[service.jwt]`). Off (every request
/// anonymous, tokens left to the subgraphs) until a key source is set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtSettings {
    /// JWKS URLs to take the verification keys from (`JWT_JWKS_URLS`,
    /// comma-separated), e.g. the users service's
    /// `http://users:4001/.well-known/jwks.json`. Fetched at start, again
    /// every [`JwtSettings::jwks_refresh_interval`], and when a token names an
    /// unknown key id (at most once per
    /// [`JwtSettings::jwks_min_refetch_interval`] per URL).
    #[serde(deserialize_with = "settings::string_list")]
    pub jwks_urls: Vec<String>,
    /// Files holding a JWKS (JSON) with more verification keys, read once at
    /// start (`JWT_KEY_FILES`, comma-separated).
    #[serde(deserialize_with = "settings::string_list")]
    pub key_files: Vec<String>,
    /// The signature algorithms accepted (`JWT_ALGORITHMS`): any of `EdDSA`,
    /// `ES256`, `ES384`, `RS256`, `RS384`, `RS512`, `PS256`, `PS384`,
    /// `PS512`. HMAC (`HS*`) and `none` are refused at start. Default: all of
    /// them. A key whose JWK names an `alg` is used for that one only.
    #[serde(deserialize_with = "settings::string_list")]
    pub algorithms: Vec<String>,
    /// Accepted `iss` values (`JWT_ISSUERS`, comma-separated); empty: any
    /// issuer (and `iss` not required).
    #[serde(deserialize_with = "settings::string_list")]
    pub issuers: Vec<String>,
    /// Accepted `aud` values (`JWT_AUDIENCES`, comma-separated); empty: the
    /// audience is not checked.
    #[serde(deserialize_with = "settings::string_list")]
    pub audiences: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`, e.g. `"30s"` (`JWT_LEEWAY`).
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// Whether a request without a token is refused with `UNAUTHENTICATED`
    /// (HTTP 401) instead of running anonymously (`JWT_REQUIRED`).
    pub required: bool,
    /// The header the token is read from (`JWT_HEADER_NAME`).
    pub header_name: String,
    /// The scheme before the token in that header (`JWT_HEADER_PREFIX`),
    /// compared without regard to case; empty: the whole value is the token.
    pub header_prefix: String,
    /// A cookie to read the token from when the header is absent
    /// (`JWT_COOKIE`). A token from the cookie is forwarded to the subgraphs
    /// as `Authorization: Bearer …`, so they see the same caller.
    pub cookie: Option<String>,
    /// How often each JWKS URL is fetched again (`JWT_JWKS_REFRESH_INTERVAL`).
    #[serde(with = "humantime_serde")]
    pub jwks_refresh_interval: Duration,
    /// The least time between two fetches of one JWKS URL (scheduled or
    /// caused by unknown key ids), so forged tokens cannot make the router
    /// hammer the JWKS host (`JWT_JWKS_MIN_REFETCH_INTERVAL`).
    #[serde(with = "humantime_serde")]
    pub jwks_min_refetch_interval: Duration,
    /// How long one JWKS fetch may take (`JWT_JWKS_TIMEOUT`).
    #[serde(with = "humantime_serde")]
    pub jwks_timeout: Duration,
}

impl Default for JwtSettings {
    fn default() -> Self {
        JwtSettings {
            jwks_urls: Vec::new(),
            key_files: Vec::new(),
            algorithms: DEFAULT_ALGORITHMS.map(str::to_owned).to_vec(),
            issuers: Vec::new(),
            audiences: Vec::new(),
            leeway: Duration::from_secs(30),
            required: false,
            header_name: "authorization".into(),
            header_prefix: "Bearer".into(),
            cookie: None,
            jwks_refresh_interval: Duration::from_secs(5 * 60),
            jwks_min_refetch_interval: Duration::from_secs(10),
            jwks_timeout: Duration::from_secs(5),
        }
    }
}

impl JwtSettings {
    /// Whether tokens are checked at the router at all (a key source is set).
    pub fn enabled(&self) -> bool {
        !self.jwks_urls.is_empty() || !self.key_files.is_empty()
    }

    /// The key files as paths.
    pub fn key_paths(&self) -> Vec<PathBuf> {
        self.key_files.iter().map(PathBuf::from).collect()
    }
}

/// What the authorization directives are decided by
/// (`[service.authorization]`). `@authenticated` needs only a valid token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthorizationSettings {
    /// The claim holding the token's scopes for `@requiresScopes`: a string
    /// of space-separated scopes, or an array of strings
    /// (`AUTHORIZATION_SCOPE_CLAIM`).
    pub scope_claim: String,
    /// `@policy` rules, by policy name: each maps claim names to accepted
    /// values, e.g. `admin = { role = ["ADMIN"] }`. A policy holds when
    /// every claim it names is present and equals one of its values (for an
    /// array claim: one element does). A policy with no rule never holds
    /// (fail closed). Only in the settings file.
    pub policies: BTreeMap<String, BTreeMap<String, Vec<Value>>>,
    /// An HTTP service that decides the policies no rule above decides
    /// (`[service.authorization.policy_service]`; its URL also from
    /// `AUTHORIZATION_POLICY_SERVICE_URL`). Asked once per request that
    /// selects such policies; no answer in time, or any failure, denies them.
    pub policy_service: Option<PolicyServiceSettings>,
}

impl Default for AuthorizationSettings {
    fn default() -> Self {
        AuthorizationSettings {
            scope_claim: "scope".into(),
            policies: BTreeMap::new(),
            policy_service: None,
        }
    }
}

/// The policy service: `POST url` with `{"policies": {"<name>": null, …},
/// "claims": {…} | null}` and answering `{"policies": {"<name>": true|false,
/// …}}`; only `true` grants a policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyServiceSettings {
    /// Its URL (`AUTHORIZATION_POLICY_SERVICE_URL`).
    pub url: String,
    /// How long one decision may take (`AUTHORIZATION_POLICY_SERVICE_TIMEOUT`);
    /// past it every policy asked is denied.
    #[serde(with = "humantime_serde", default = "default_policy_timeout")]
    pub timeout: Duration,
}

fn default_policy_timeout() -> Duration {
    Duration::from_secs(1)
}

/// The `[service]` keys the `JWT_*` and `AUTHORIZATION_*` variables set:
/// `JWT_JWKS_URLS` → `jwt.jwks_urls`.
pub(super) fn env_key(var: &str) -> Option<String> {
    if let Some(rest) = var.strip_prefix("JWT_") {
        return Some(format!("jwt.{}", rest.to_ascii_lowercase()));
    }
    if let Some(rest) = var.strip_prefix("AUTHORIZATION_POLICY_SERVICE_") {
        return Some(format!(
            "authorization.policy_service.{}",
            rest.to_ascii_lowercase()
        ));
    }
    var.strip_prefix("AUTHORIZATION_")
        .map(|rest| format!("authorization.{}", rest.to_ascii_lowercase()))
}
