//! The inventory's own `[service]` settings.
//!
//! ```toml
//! [service]
//! seed_demo_catalogue = true
//! sweep_interval = "30s"
//! stuck_after = "30s"
//! event_poll_interval = "100ms"
//! ```
//!
//! The sweeper's period is `sweep_interval` (`SWEEP_INTERVAL`), as in orders
//! and payments. The old names `recovery_interval` (`RECOVERY_INTERVAL`) still
//! work for now, with a warning at start-up
//! ([`InventorySettings::settle_old_names`]); when both are set, the new one wins.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use storefront_shared::events::OutboxSettings;
use storefront_shared::settings::ServiceSettings;
use storefront_shared::sweeper::{SWEEP_INTERVAL_ENV, settle_old_interval};

/// The deprecated name of `SWEEP_INTERVAL` (inventory only), still read; in
/// the file, `recovery_interval`.
pub const OLD_SWEEP_INTERVAL_ENV: &str = "RECOVERY_INTERVAL";
const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// Settings of the inventory service alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventorySettings {
    /// Fill an empty catalogue with the demo products at start (`SEED_DEMO_CATALOGUE`:
    /// `true`/`false`, `1`/`0`, `yes`/`no`).
    #[serde(deserialize_with = "flag")]
    pub seed_demo_catalogue: bool,
    /// How often the sweeper looks for reservations a crash left half done
    /// (`SWEEP_INTERVAL`, e.g. "30s").
    #[serde(with = "humantime_serde")]
    pub sweep_interval: Duration,
    /// What the deprecated `recovery_interval` (`RECOVERY_INTERVAL`) said, if
    /// it was set; see [`InventorySettings::settle_old_names`]. Never written.
    #[serde(default, with = "humantime_serde", skip_serializing)]
    pub recovery_interval: Option<Duration>,
    /// How long a MongoDB reservation may sit in a transitional state before the sweep
    /// finishes it, or releases it if it was still reserving (`STUCK_AFTER`, e.g. "30s").
    #[serde(with = "humantime_serde")]
    pub stuck_after: Duration,
    /// How often every replica reads the stock changes that other replicas
    /// made, for `stockChanged` (`EVENT_POLL_INTERVAL`; MongoDB only: the
    /// embedded store delivers at once). The delay of a change to a
    /// subscriber on another replica is at most about this.
    #[serde(default = "default_event_poll_interval", with = "humantime_serde")]
    pub event_poll_interval: Duration,
}

fn default_event_poll_interval() -> Duration {
    Duration::from_millis(100)
}

impl Default for InventorySettings {
    fn default() -> Self {
        InventorySettings {
            seed_demo_catalogue: false,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            recovery_interval: None,
            stuck_after: Duration::from_secs(30),
            event_poll_interval: default_event_poll_interval(),
        }
    }
}

impl ServiceSettings for InventorySettings {
    const ENV: &'static [&'static str] = &[
        "SEED_DEMO_CATALOGUE",
        SWEEP_INTERVAL_ENV,
        OLD_SWEEP_INTERVAL_ENV,
        "STUCK_AFTER",
        "EVENT_POLL_INTERVAL",
    ];
}

impl InventorySettings {
    /// How the outbox of change events is polled (MongoDB).
    pub fn outbox(&self) -> OutboxSettings {
        OutboxSettings {
            poll_interval: self.event_poll_interval,
            ..OutboxSettings::default()
        }
    }

    /// Applies the deprecated `recovery_interval` (`RECOVERY_INTERVAL`) to
    /// `sweep_interval` unless the new name is set too (`env_has` says which
    /// variables are set); the warning to log at start-up when the old name
    /// was used.
    pub fn settle_old_names(&mut self, env_has: impl Fn(&str) -> bool) -> Option<String> {
        settle_old_interval(
            &mut self.sweep_interval,
            self.recovery_interval.take(),
            DEFAULT_SWEEP_INTERVAL,
            env_has(SWEEP_INTERVAL_ENV),
            "RECOVERY_INTERVAL (recovery_interval)",
        )
    }
}

/// A boolean as a file or an environment variable may spell it.
fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Number(u64),
        Text(String),
    }
    match Flag::deserialize(deserializer)? {
        Flag::Bool(value) => Ok(value),
        Flag::Number(0) => Ok(false),
        Flag::Number(1) => Ok(true),
        Flag::Text(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" | "" => Ok(false),
            _ => Err(serde::de::Error::custom(format!(
                "expected true or false, got `{text}`"
            ))),
        },
        Flag::Number(other) => Err(serde::de::Error::custom(format!(
            "expected true or false (or 1 or 0), got {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_do_not_seed_and_sweep_every_thirty_seconds() {
        let settings = InventorySettings::default();
        assert!(!settings.seed_demo_catalogue);
        assert_eq!(settings.sweep_interval, Duration::from_secs(30));
    }

    #[test]
    fn durations_are_read_as_text_and_unknown_keys_rejected() {
        let settings: InventorySettings = serde_json::from_str(
            r#"{"seed_demo_catalogue": true, "sweep_interval": "5s", "stuck_after": "1m"}"#,
        )
        .expect("valid settings");
        assert!(settings.seed_demo_catalogue);
        assert_eq!(settings.sweep_interval, Duration::from_secs(5));
        assert_eq!(settings.stuck_after, Duration::from_secs(60));
        let unknown = serde_json::from_str::<InventorySettings>(
            r#"{"seed_demo_catalogue": true, "sweep_interval": "5s", "stuck_after": "1m", "seed": 1}"#,
        );
        assert!(unknown.is_err());
    }

    #[test]
    fn the_seed_flag_accepts_the_usual_spellings() {
        let read = |value: &str| {
            serde_json::from_str::<InventorySettings>(&format!(
                r#"{{"seed_demo_catalogue": {value}, "sweep_interval": "5s", "stuck_after": "5s"}}"#
            ))
            .map(|s| s.seed_demo_catalogue)
        };
        for yes in ["true", "1", "\"yes\"", "\"TRUE\""] {
            assert!(read(yes).expect(yes), "{yes}");
        }
        for no in ["false", "0", "\"no\""] {
            assert!(!read(no).expect(no), "{no}");
        }
        assert!(read("\"maybe\"").is_err());
        assert!(read("7").is_err());
    }

    #[test]
    fn the_old_recovery_interval_still_works_with_a_warning() {
        let old = r#"{"seed_demo_catalogue": false, "sweep_interval": "30s", "recovery_interval": "5s", "stuck_after": "5s"}"#;
        let mut settings: InventorySettings = serde_json::from_str(old).expect("valid settings");
        let warning = settings.settle_old_names(|_| false).expect("a warning");
        assert_eq!(settings.sweep_interval, Duration::from_secs(5));
        assert!(
            warning.contains("RECOVERY_INTERVAL (recovery_interval) is deprecated"),
            "{warning}"
        );

        let mut both: InventorySettings = serde_json::from_str(old).expect("valid settings");
        let warning = both
            .settle_old_names(|var| var == "SWEEP_INTERVAL")
            .expect("a warning");
        assert_eq!(
            both.sweep_interval,
            Duration::from_secs(30),
            "SWEEP_INTERVAL wins"
        );
        assert!(warning.contains("ignored"), "{warning}");

        assert_eq!(
            InventorySettings::default().settle_old_names(|_| true),
            None
        );
    }

    #[test]
    fn the_old_key_is_read_from_a_settings_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("inventory.toml");
        std::fs::write(&file, "[service]\nrecovery_interval = \"7s\"\n").expect("writes");
        let mut settings =
            storefront_shared::settings::load::<InventorySettings>(4004, Some(&file))
                .expect("loads");
        assert!(settings.service.settle_old_names(|_| false).is_some());
        assert_eq!(settings.service.sweep_interval, Duration::from_secs(7));
    }
}
