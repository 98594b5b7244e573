//! Plan: the normalised operation to a [`QueryPlan`], by the engine's
//! [`QueryPlanner`] (built per loaded supergraph by a [`MakePlanner`]; the
//! core [`Planner`] unless a test plugs in hand-written plans). Also the check,
//! at run time, that the variables do not select a part the planner left out.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::error::StageError;
use crate::core::normalize::Normalized;
use crate::core::plan::{PlanError, PlanLimits, Planner, QueryPlan};
use crate::core::supergraph::Supergraph;
use crate::response::codes;

/// Plans operations for one supergraph. Implemented by the core planner; tests
/// may plug in hand-written plans.
pub trait QueryPlanner: Send + Sync {
    /// The plan for the one operation of a normalised document. A
    /// [`PlanError::TooComplex`] is shown to the client; any other error is
    /// internal (logged, masked for the client).
    fn plan(&self, operation: &Normalized) -> Result<QueryPlan, PlanError>;

    /// The plan as text, for `extensions.queryPlan`.
    fn print(&self, plan: &QueryPlan) -> String {
        serde_json::to_string_pretty(plan).unwrap_or_default()
    }
}

/// Builds the planner for a newly loaded supergraph.
pub type MakePlanner =
    Arc<dyn Fn(Arc<Supergraph>) -> Result<Arc<dyn QueryPlanner>, String> + Send + Sync>;

impl QueryPlanner for Planner {
    fn plan(&self, operation: &Normalized) -> Result<QueryPlan, PlanError> {
        self.plan_normalized(operation)
    }

    fn print(&self, plan: &QueryPlan) -> String {
        plan.to_string()
    }
}

/// Plans with the core query planner bounded by `limits`.
pub fn core_planner_with(limits: PlanLimits) -> MakePlanner {
    Arc::new(move |supergraph| -> Result<Arc<dyn QueryPlanner>, String> {
        Ok(Arc::new(Planner::with_limits(supergraph, limits)))
    })
}

/// Why an operation has no plan to run.
#[derive(Debug, thiserror::Error)]
pub enum PlanStageError {
    /// Too large or too slow to plan: the client is told.
    #[error("{0}")]
    TooComplex(String),
    /// The planner failed (or, with these variables, the operation selects a
    /// part it could not plan): logged when made, masked for the client.
    #[error("the router could not plan this operation")]
    Failed,
}

impl PlanStageError {
    /// A planner failure, logged with its detail.
    fn failed(detail: &str) -> Self {
        tracing::error!(error = %detail, "query planning failed");
        PlanStageError::Failed
    }
}

impl StageError for PlanStageError {
    fn code(&self) -> &'static str {
        match self {
            PlanStageError::TooComplex(_) => codes::QUERY_TOO_COMPLEX,
            PlanStageError::Failed => codes::INTERNAL,
        }
    }
}

/// Plans `operation` with `planner`.
pub fn plan(
    planner: &dyn QueryPlanner,
    operation: &Normalized,
) -> Result<QueryPlan, PlanStageError> {
    planner.plan(operation).map_err(|error| match error {
        PlanError::TooComplex(message) => PlanStageError::TooComplex(message),
        other => PlanStageError::failed(&other.to_string()),
    })
}

/// Refuses a plan whose operation, with these variables, selects a part the
/// planner could not plan (as the operation with its conditions written as
/// literals would be refused).
pub fn check_variables(
    plan: &QueryPlan,
    variables: &Map<String, Value>,
) -> Result<(), PlanStageError> {
    match plan.unplannable_for(variables) {
        Some(left_out) => Err(PlanStageError::failed(&format!(
            "cannot plan {}: {}",
            left_out.path, left_out.reason
        ))),
        None => Ok(()),
    }
}
