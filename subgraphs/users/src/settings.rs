//! The users service's own `[service]` settings.
//!
//! ```toml
//! [service]
//! token_ttl = "1h"
//! # signing_key_file = "/run/secrets/jwt-signing-key.pem"
//! ```

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use storefront_shared::settings::{Secret, ServiceSettings};

/// The environment variable that names the signing key file.
pub const SIGNING_KEY_FILE_ENV: &str = "JWT_SIGNING_KEY_FILE";
/// The environment variable that holds the signing key itself.
pub const SIGNING_KEY_ENV: &str = "JWT_SIGNING_KEY";

/// Settings of the users service alone (the `[service]` table).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsersSettings {
    /// How long an access token stays valid (`TOKEN_TTL`), e.g. `"15m"` or `"1h"`.
    #[serde(with = "humantime_serde")]
    pub token_ttl: Duration,
    /// A PKCS#8 PEM file with the Ed25519 key that signs tokens (`JWT_SIGNING_KEY_FILE`).
    /// Without it and without `signing_key_pem`, a key is generated once and kept at
    /// `DATA_DIR/users/jwt-signing-key.pem`.
    pub signing_key_file: Option<PathBuf>,
    /// The Ed25519 signing key itself as PKCS#8 PEM (`JWT_SIGNING_KEY`); never logged.
    pub signing_key_pem: Option<Secret>,
}

impl Default for UsersSettings {
    fn default() -> Self {
        UsersSettings {
            token_ttl: Duration::from_secs(60 * 60),
            signing_key_file: None,
            signing_key_pem: None,
        }
    }
}

impl ServiceSettings for UsersSettings {
    const ENV: &'static [&'static str] = &["TOKEN_TTL", SIGNING_KEY_FILE_ENV, SIGNING_KEY_ENV];

    fn env_key(var: &str) -> String {
        match var.to_ascii_uppercase().as_str() {
            SIGNING_KEY_FILE_ENV => "signing_key_file".into(),
            SIGNING_KEY_ENV => "signing_key_pem".into(),
            other => other.to_ascii_lowercase(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_variables_name_the_documented_keys() {
        assert_eq!(
            UsersSettings::env_key("JWT_SIGNING_KEY_FILE"),
            "signing_key_file"
        );
        assert_eq!(UsersSettings::env_key("JWT_SIGNING_KEY"), "signing_key_pem");
        assert_eq!(UsersSettings::env_key("TOKEN_TTL"), "token_ttl");
    }

    #[test]
    fn tokens_last_an_hour_by_default() {
        assert_eq!(
            UsersSettings::default().token_ttl,
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn durations_are_humane_and_unknown_keys_rejected() {
        let settings: UsersSettings =
            serde_json::from_str(r#"{"token_ttl":"15m"}"#).expect("valid settings");
        assert_eq!(settings.token_ttl, Duration::from_secs(900));
        let error = serde_json::from_str::<UsersSettings>(r#"{"token_tll":"15m"}"#)
            .expect_err("unknown key");
        assert!(error.to_string().contains("token_tll"), "{error}");
    }

    #[test]
    fn the_signing_key_is_never_printed() {
        let settings = UsersSettings {
            signing_key_pem: Some(Secret::new("-----BEGIN PRIVATE KEY-----")),
            ..UsersSettings::default()
        };
        assert!(!format!("{settings:?}").contains("BEGIN"));
    }
}
