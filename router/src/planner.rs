//! The bridge between the pipeline's [`QueryPlanner`] and the core
//! [`Planner`]: one planner per loaded supergraph, errors kept internal, plans
//! printed in the core's text form.

use std::sync::Arc;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::validation::Valid;

use crate::core::plan::{PlanError, PlanLimits, Planner, QueryPlan};
use crate::pipeline::{MakePlanner, PlanFailure, QueryPlanner};

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
