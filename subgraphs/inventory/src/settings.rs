//! The inventory's own `[service]` settings.
//!
//! ```toml
//! [service]
//! seed_demo_catalogue = true
//! recovery_interval = "30s"
//! stuck_after = "30s"
//! ```

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use storefront_shared::settings::ServiceSettings;

/// Settings of the inventory service alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventorySettings {
    /// Fill an empty catalogue with the demo products at start (`SEED_DEMO_CATALOGUE`:
    /// `true`/`false`, `1`/`0`, `yes`/`no`).
    #[serde(deserialize_with = "flag")]
    pub seed_demo_catalogue: bool,
    /// How often the recovery sweep looks for reservations a crash left half done
    /// (`RECOVERY_INTERVAL`, e.g. "30s").
    #[serde(with = "humantime_serde")]
    pub recovery_interval: Duration,
    /// How long a MongoDB reservation may sit in a transitional state before the sweep
    /// finishes it, or releases it if it was still reserving (`STUCK_AFTER`, e.g. "30s").
    #[serde(with = "humantime_serde")]
    pub stuck_after: Duration,
}

impl Default for InventorySettings {
    fn default() -> Self {
        InventorySettings {
            seed_demo_catalogue: false,
            recovery_interval: Duration::from_secs(30),
            stuck_after: Duration::from_secs(30),
        }
    }
}

impl ServiceSettings for InventorySettings {
    const ENV: &'static [&'static str] =
        &["SEED_DEMO_CATALOGUE", "RECOVERY_INTERVAL", "STUCK_AFTER"];
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
        assert_eq!(settings.recovery_interval, Duration::from_secs(30));
    }

    #[test]
    fn durations_are_read_as_text_and_unknown_keys_rejected() {
        let settings: InventorySettings = serde_json::from_str(
            r#"{"seed_demo_catalogue": true, "recovery_interval": "5s", "stuck_after": "1m"}"#,
        )
        .expect("valid settings");
        assert!(settings.seed_demo_catalogue);
        assert_eq!(settings.recovery_interval, Duration::from_secs(5));
        assert_eq!(settings.stuck_after, Duration::from_secs(60));
        let unknown = serde_json::from_str::<InventorySettings>(
            r#"{"seed_demo_catalogue": true, "recovery_interval": "5s", "stuck_after": "1m", "seed": 1}"#,
        );
        assert!(unknown.is_err());
    }

    #[test]
    fn the_seed_flag_accepts_the_usual_spellings() {
        let read = |value: &str| {
            serde_json::from_str::<InventorySettings>(&format!(
                r#"{{"seed_demo_catalogue": {value}, "recovery_interval": "5s", "stuck_after": "5s"}}"#
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
}
