//! `[service.demand_control]`: the estimated cost of each operation
//! (`@cost`/`@listSize`, [`crate::core::cost`]) measured, and in enforce
//! mode refused above a maximum before anything is fetched.
//!
//! ```toml
//! [service.demand_control]
//! mode = "enforce"      # off (default) | measure | enforce
//! max_cost = 1000
//! list_size = 10        # lists no @listSize sizes
//! expose_cost = false   # extensions.cost in every response
//! ```
//!
//! Environment: `DEMAND_CONTROL_MODE`, `DEMAND_CONTROL_MAX_COST`,
//! `DEMAND_CONTROL_LIST_SIZE`, `DEMAND_CONTROL_EXPOSE_COST`.
//!
//! # Layout
//! - [`DemandControlSettings`]: the mode, the maximum, the default list
//!   size, whether responses carry the estimate.
//! - [`DemandControlMode`]: off, measure or enforce.

use serde::{Deserialize, Serialize};

/// What the router does with each operation's estimated cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandControlMode {
    /// No estimate is made.
    #[default]
    Off,
    /// Every operation is estimated, counted in the
    /// `router_operation_estimated_cost` histogram and logged when it is
    /// over the maximum; nothing is refused.
    Measure,
    /// As measure, and an operation estimated above the maximum (or that
    /// cannot be estimated) is refused before any subgraph is called:
    /// `COST_ESTIMATED_TOO_EXPENSIVE` (or `COST_QUERY_PARSE_FAILURE`).
    Enforce,
}

/// Demand control (`[service.demand_control]`, `DEMAND_CONTROL_*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemandControlSettings {
    /// Off, measure or enforce (`DEMAND_CONTROL_MODE`); off by default.
    pub mode: DemandControlMode,
    /// The highest estimated cost an operation may have
    /// (`DEMAND_CONTROL_MAX_COST`); 1000 by default.
    pub max_cost: u64,
    /// How many items a list is assumed to hold when no `@listSize` (nor a
    /// slicing argument) says (`DEMAND_CONTROL_LIST_SIZE`); 10 by default.
    pub list_size: u32,
    /// Whether every estimated response carries `extensions.cost`
    /// (`{"estimated", "max", "result", "mode"}`; `DEMAND_CONTROL_EXPOSE_COST`);
    /// off by default, as Apollo Router keeps it to its telemetry.
    pub expose_cost: bool,
}

impl Default for DemandControlSettings {
    fn default() -> Self {
        DemandControlSettings {
            mode: DemandControlMode::Off,
            max_cost: 1000,
            list_size: 10,
            expose_cost: false,
        }
    }
}

/// The settings key of a `DEMAND_CONTROL_*` variable.
pub(super) fn env_key(var: &str) -> Option<String> {
    var.strip_prefix("DEMAND_CONTROL_")
        .map(|rest| format!("demand_control.{}", rest.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::RouterSettings;
    use storefront_process::settings::ServiceSettings;

    #[test]
    fn demand_control_is_off_by_default_with_apollos_example_figures() {
        let settings = RouterSettings::default().demand_control;
        assert_eq!(settings.mode, DemandControlMode::Off);
        assert_eq!(settings.max_cost, 1000);
        assert_eq!(settings.list_size, 10);
        assert!(!settings.expose_cost);
    }

    #[test]
    fn every_demand_control_variable_sets_a_key_of_the_table() {
        let known = serde_json::to_value(DemandControlSettings::default()).expect("serializes");
        let mut seen = 0;
        for var in RouterSettings::ENV {
            let key = RouterSettings::env_key(var);
            if let Some(rest) = key.strip_prefix("demand_control.") {
                assert!(known.get(rest).is_some(), "{var} sets an unknown key {key}");
                seen += 1;
            }
        }
        assert_eq!(seen, 4);
        let settings: RouterSettings = serde_json::from_value(serde_json::json!({
            "demand_control": { "mode": "enforce", "max_cost": 50, "list_size": 3 },
        }))
        .expect("valid settings");
        assert_eq!(settings.demand_control.mode, DemandControlMode::Enforce);
        assert_eq!(settings.demand_control.max_cost, 50);
        assert!(
            serde_json::from_value::<RouterSettings>(serde_json::json!({
                "demand_control": { "mode": "reject" },
            }))
            .is_err()
        );
    }
}
