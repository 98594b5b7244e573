//! The users service's own `[service]` settings.
//!
//! ```toml
//! [service]
//! token_ttl = "1h"
//! # signing_key_file = "/run/secrets/jwt-signing-key.pem"
//! trust_forwarded_for = false      # true behind a proxy that sets X-Forwarded-For
//!
//! [service.login_throttle]         # see crate::throttle
//! enabled = true
//! window = "15m"
//! base_delay = "1s"
//! max_delay = "1m"
//! free_failures_per_account_and_address = 5
//! free_failures_per_account = 30
//! free_failures_per_address = 20
//! max_tracked = 100000
//! ```

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use storefront_shared::settings::{Secret, ServiceSettings};

/// The environment variable that names the signing key file.
pub const SIGNING_KEY_FILE_ENV: &str = "JWT_SIGNING_KEY_FILE";
/// The environment variable that holds the signing key itself.
pub const SIGNING_KEY_ENV: &str = "JWT_SIGNING_KEY";

/// The environment variable that turns login throttling on or off.
pub const LOGIN_THROTTLE_ENABLED_ENV: &str = "LOGIN_THROTTLE_ENABLED";

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
    /// Whether the first address of `X-Forwarded-For` is the client's
    /// (`TRUST_FORWARDED_FOR`): true only behind a proxy (the router) that
    /// sets that header itself, replacing whatever the client sent. Otherwise
    /// the client is the connection's peer address.
    pub trust_forwarded_for: bool,
    /// How failed logins slow further attempts down (`[service.login_throttle]`).
    pub login_throttle: LoginThrottleSettings,
}

/// Login throttling (see `crate::throttle`): after a number of failed logins
/// within `window`, each further attempt must wait a delay that doubles from
/// `base_delay` up to `max_delay`; attempts that come too early are refused
/// with `TOO_MANY_REQUESTS` and do not count. Kept in each process's memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginThrottleSettings {
    /// Whether logins are throttled at all (`LOGIN_THROTTLE_ENABLED`).
    pub enabled: bool,
    /// Failures older than this (since the last one) are forgotten, e.g. `"15m"`.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// The wait after the first failure beyond the free ones.
    #[serde(with = "humantime_serde")]
    pub base_delay: Duration,
    /// The longest wait: nobody, the account's owner included, ever waits
    /// longer than this for their next attempt.
    #[serde(with = "humantime_serde")]
    pub max_delay: Duration,
    /// Failures for one account from one client address before delays start.
    pub free_failures_per_account_and_address: u32,
    /// Failures for one account from all addresses together before delays
    /// start (guessing spread over many addresses).
    pub free_failures_per_account: u32,
    /// Failures from one client address over all accounts before delays
    /// start (one password tried against many accounts).
    pub free_failures_per_address: u32,
    /// The most accounts and addresses tracked at once; beyond it, the entry
    /// with the oldest failure is forgotten first.
    pub max_tracked: usize,
}

impl Default for LoginThrottleSettings {
    fn default() -> Self {
        LoginThrottleSettings {
            enabled: true,
            window: Duration::from_secs(15 * 60),
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            free_failures_per_account_and_address: 5,
            free_failures_per_account: 30,
            free_failures_per_address: 20,
            max_tracked: 100_000,
        }
    }
}

impl Default for UsersSettings {
    fn default() -> Self {
        UsersSettings {
            token_ttl: Duration::from_secs(60 * 60),
            signing_key_file: None,
            signing_key_pem: None,
            trust_forwarded_for: false,
            login_throttle: LoginThrottleSettings::default(),
        }
    }
}

impl ServiceSettings for UsersSettings {
    const ENV: &'static [&'static str] = &[
        "TOKEN_TTL",
        SIGNING_KEY_FILE_ENV,
        SIGNING_KEY_ENV,
        "TRUST_FORWARDED_FOR",
        LOGIN_THROTTLE_ENABLED_ENV,
    ];

    fn env_key(var: &str) -> String {
        match var.to_ascii_uppercase().as_str() {
            SIGNING_KEY_FILE_ENV => "signing_key_file".into(),
            SIGNING_KEY_ENV => "signing_key_pem".into(),
            LOGIN_THROTTLE_ENABLED_ENV => "login_throttle.enabled".into(),
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
    fn login_throttling_is_on_by_default_and_set_from_a_table() {
        let settings = UsersSettings::default();
        assert!(settings.login_throttle.enabled);
        assert!(!settings.trust_forwarded_for);
        let settings: UsersSettings = serde_json::from_str(
            r#"{"trust_forwarded_for":true,"login_throttle":{"window":"5m","max_delay":"30s"}}"#,
        )
        .expect("valid settings");
        assert!(settings.trust_forwarded_for);
        assert_eq!(settings.login_throttle.window, Duration::from_secs(300));
        assert_eq!(settings.login_throttle.max_delay, Duration::from_secs(30));
        assert_eq!(settings.login_throttle.base_delay, Duration::from_secs(1));
        assert_eq!(
            UsersSettings::env_key("LOGIN_THROTTLE_ENABLED"),
            "login_throttle.enabled"
        );
        assert_eq!(
            UsersSettings::env_key("TRUST_FORWARDED_FOR"),
            "trust_forwarded_for"
        );
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
