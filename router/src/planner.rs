//! What the pipeline asks of a planner ([`QueryPlanner`], built per loaded
//! supergraph by a [`MakePlanner`]), and its implementation by the core
//! [`Planner`]: errors kept internal, plans printed in the core's text form.

use std::sync::Arc;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::validation::Valid;

use crate::core::plan::{PlanError, PlanLimits, Planner, QueryPlan};
use crate::core::supergraph::Supergraph;

/// Plans operations for one supergraph. Implemented by the core planner; tests
/// may plug in hand-written plans.
pub trait QueryPlanner: Send + Sync {
    /// The plan for `operation_name` of `document`. The error is internal
    /// (logged, masked for the client).
    fn plan(
        &self,
        document: &Valid<ExecutableDocument>,
        operation_name: Option<&str>,
    ) -> Result<QueryPlan, String>;

    /// As [`QueryPlanner::plan`], telling an operation that is too complex
    /// (shown to the client) apart from internal failures.
    fn plan_checked(
        &self,
        document: &Valid<ExecutableDocument>,
        operation_name: Option<&str>,
    ) -> Result<QueryPlan, PlanFailure> {
        self.plan(document, operation_name)
            .map_err(PlanFailure::Internal)
    }

    /// The plan as text, for `extensions.queryPlan`.
    fn print(&self, plan: &QueryPlan) -> String {
        serde_json::to_string_pretty(plan).unwrap_or_default()
    }
}

/// Why [`QueryPlanner::plan_checked`] failed.
#[derive(Debug, thiserror::Error)]
pub enum PlanFailure {
    /// Too large or too slow to plan; the message is for the client.
    #[error("{0}")]
    TooComplex(String),
    /// Anything else (logged, masked for the client).
    #[error("{0}")]
    Internal(String),
}

/// Builds the planner for a newly loaded supergraph.
pub type MakePlanner =
    Arc<dyn Fn(Arc<Supergraph>) -> Result<Arc<dyn QueryPlanner>, String> + Send + Sync>;

impl QueryPlanner for Planner {
    fn plan(
        &self,
        document: &Valid<ExecutableDocument>,
        operation_name: Option<&str>,
    ) -> Result<QueryPlan, String> {
        Planner::plan(self, document, operation_name).map_err(|e| e.to_string())
    }

    fn plan_checked(
        &self,
        document: &Valid<ExecutableDocument>,
        operation_name: Option<&str>,
    ) -> Result<QueryPlan, PlanFailure> {
        Planner::plan(self, document, operation_name).map_err(|e| match e {
            PlanError::TooComplex(message) => PlanFailure::TooComplex(message),
            other => PlanFailure::Internal(other.to_string()),
        })
    }

    fn print(&self, plan: &QueryPlan) -> String {
        plan.to_string()
    }
}

/// Plans with the core query planner and its default limits.
pub fn core_planner() -> MakePlanner {
    core_planner_with(PlanLimits::default())
}

/// Plans with the core query planner bounded by `limits`.
pub fn core_planner_with(limits: PlanLimits) -> MakePlanner {
    Arc::new(move |supergraph| -> Result<Arc<dyn QueryPlanner>, String> {
        Ok(Arc::new(Planner::with_limits(supergraph, limits)))
    })
}
