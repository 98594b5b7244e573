//! The payments service's own `[service]` settings.
//!
//! ```toml
//! [service]
//! provider = "sandbox"          # or "http"
//! provider_timeout = "5s"
//! sweep_interval = "10s"
//! # provider_url = "http://provider:8080"
//! # provider_api_key = "..."    # better: PAYMENT_PROVIDER_API_KEY
//! ```
//!
//! The sweeper's period is `sweep_interval` (`SWEEP_INTERVAL`), as in orders
//! and inventory. The old variable `PAYMENTS_SWEEP_INTERVAL` still works for
//! now, with a warning at start-up ([`PaymentsSettings::settle_old_names`]);
//! when both are set, `SWEEP_INTERVAL` wins.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use storefront_shared::settings::{Secret, ServiceSettings};
use storefront_shared::sweeper::{SWEEP_INTERVAL_ENV, settle_old_interval};

/// The environment variable that holds the provider's API key.
pub const PROVIDER_API_KEY_ENV: &str = "PAYMENT_PROVIDER_API_KEY";
/// The deprecated name of `SWEEP_INTERVAL` (payments only), still read.
pub const OLD_SWEEP_INTERVAL_ENV: &str = "PAYMENTS_SWEEP_INTERVAL";
const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// Which payment provider to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// The built-in sandbox (test tokens, no network).
    Sandbox,
    /// A real provider's REST API at `provider_url`.
    Http,
}

/// Settings of the payments service alone (the `[service]` table).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentsSettings {
    /// `sandbox` (default) or `http` (`PAYMENT_PROVIDER`).
    pub provider: ProviderKind,
    /// The provider API's base URL, for `http` (`PAYMENT_PROVIDER_URL`).
    pub provider_url: Option<String>,
    /// The provider API key, for `http` (`PAYMENT_PROVIDER_API_KEY`); never logged.
    pub provider_api_key: Option<Secret>,
    /// How long one provider call may take before its outcome counts as unknown
    /// (`PAYMENT_PROVIDER_TIMEOUT`), e.g. `"5s"`.
    #[serde(with = "humantime_serde")]
    pub provider_timeout: Duration,
    /// How often the sweeper finishes what was left in flight (`SWEEP_INTERVAL`).
    #[serde(with = "humantime_serde")]
    pub sweep_interval: Duration,
    /// What the deprecated `PAYMENTS_SWEEP_INTERVAL` said, if it was set; see
    /// [`PaymentsSettings::settle_old_names`]. Never written.
    #[serde(default, with = "humantime_serde", skip_serializing)]
    pub payments_sweep_interval: Option<Duration>,
    /// How long a call to the orders service may take (`ORDERS_TIMEOUT`).
    #[serde(with = "humantime_serde")]
    pub orders_timeout: Duration,
}

impl Default for PaymentsSettings {
    fn default() -> Self {
        PaymentsSettings {
            provider: ProviderKind::Sandbox,
            provider_url: None,
            provider_api_key: None,
            provider_timeout: Duration::from_secs(5),
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            payments_sweep_interval: None,
            orders_timeout: Duration::from_secs(5),
        }
    }
}

impl ServiceSettings for PaymentsSettings {
    const ENV: &'static [&'static str] = &[
        "PAYMENT_PROVIDER",
        "PAYMENT_PROVIDER_URL",
        PROVIDER_API_KEY_ENV,
        "PAYMENT_PROVIDER_TIMEOUT",
        SWEEP_INTERVAL_ENV,
        OLD_SWEEP_INTERVAL_ENV,
        "ORDERS_TIMEOUT",
    ];

    fn env_key(var: &str) -> String {
        match var.to_ascii_uppercase().as_str() {
            "PAYMENT_PROVIDER" => "provider".into(),
            "PAYMENT_PROVIDER_URL" => "provider_url".into(),
            PROVIDER_API_KEY_ENV => "provider_api_key".into(),
            "PAYMENT_PROVIDER_TIMEOUT" => "provider_timeout".into(),
            other => other.to_ascii_lowercase(),
        }
    }
}

impl PaymentsSettings {
    /// Applies the deprecated `PAYMENTS_SWEEP_INTERVAL` to `sweep_interval`
    /// unless `SWEEP_INTERVAL` is set too (`env_has` says which variables are
    /// set); the warning to log at start-up when the old name was used.
    pub fn settle_old_names(&mut self, env_has: impl Fn(&str) -> bool) -> Option<String> {
        settle_old_interval(
            &mut self.sweep_interval,
            self.payments_sweep_interval.take(),
            DEFAULT_SWEEP_INTERVAL,
            env_has(SWEEP_INTERVAL_ENV),
            OLD_SWEEP_INTERVAL_ENV,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_variables_name_the_documented_keys() {
        assert_eq!(
            PaymentsSettings::env_key("PAYMENT_PROVIDER_API_KEY"),
            "provider_api_key"
        );
        assert_eq!(PaymentsSettings::env_key("PAYMENT_PROVIDER"), "provider");
        assert_eq!(
            PaymentsSettings::env_key("SWEEP_INTERVAL"),
            "sweep_interval"
        );
        assert_eq!(
            PaymentsSettings::env_key("ORDERS_TIMEOUT"),
            "orders_timeout"
        );
    }

    #[test]
    fn the_sandbox_with_a_five_second_timeout_is_the_default() {
        let settings = PaymentsSettings::default();
        assert_eq!(settings.provider, ProviderKind::Sandbox);
        assert_eq!(settings.provider_timeout, Duration::from_secs(5));
        assert_eq!(settings.sweep_interval, Duration::from_secs(10));
    }

    #[test]
    fn durations_are_humane_and_unknown_keys_rejected() {
        let settings: PaymentsSettings =
            serde_json::from_str(r#"{"provider":"http","provider_timeout":"250ms"}"#)
                .expect("valid settings");
        assert_eq!(settings.provider, ProviderKind::Http);
        assert_eq!(settings.provider_timeout, Duration::from_millis(250));
        let error = serde_json::from_str::<PaymentsSettings>(r#"{"provder":"http"}"#)
            .expect_err("unknown key");
        assert!(error.to_string().contains("provder"), "{error}");
    }

    #[test]
    fn the_api_key_is_never_printed() {
        let settings = PaymentsSettings {
            provider_api_key: Some(Secret::new("sk_live_123")),
            ..PaymentsSettings::default()
        };
        assert!(!format!("{settings:?}").contains("sk_live"));
    }

    #[test]
    fn the_old_payments_sweep_interval_still_works_with_a_warning() {
        let mut settings: PaymentsSettings =
            serde_json::from_str(r#"{"payments_sweep_interval":"2s"}"#).expect("valid settings");
        let warning = settings.settle_old_names(|_| false).expect("a warning");
        assert_eq!(settings.sweep_interval, Duration::from_secs(2));
        assert!(
            warning.contains("PAYMENTS_SWEEP_INTERVAL is deprecated"),
            "{warning}"
        );
        assert_eq!(settings.payments_sweep_interval, None);

        let mut both: PaymentsSettings =
            serde_json::from_str(r#"{"payments_sweep_interval":"2s"}"#).expect("valid settings");
        let warning = both
            .settle_old_names(|var| var == "SWEEP_INTERVAL")
            .expect("a warning");
        assert_eq!(
            both.sweep_interval,
            Duration::from_secs(10),
            "SWEEP_INTERVAL wins"
        );
        assert!(warning.contains("ignored"), "{warning}");

        let mut new: PaymentsSettings = PaymentsSettings::default();
        assert_eq!(new.settle_old_names(|_| true), None);
    }
}
