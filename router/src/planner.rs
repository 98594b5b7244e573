//! What the pipeline asks of a planner ([`QueryPlanner`], built per loaded
//! supergraph by a [`MakePlanner`]), and its implementation by the core
//! [`Planner`]: the core's [`PlanError`] as is, plans printed in the core's text form.

use std::sync::Arc;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::validation::Valid;

use crate::core::plan::{PlanError, PlanLimits, Planner, QueryPlan};
use crate::core::supergraph::Supergraph;

/// Plans operations for one supergraph. Implemented by the core planner; tests
/// may plug in hand-written plans.
pub trait QueryPlanner: Send + Sync {
    /// The plan for `operation_name` of `document`. A
    /// [`PlanError::TooComplex`] is shown to the client; any other error is
    /// internal (logged, masked for the client).
    fn plan(
        &self,
        document: &Valid<ExecutableDocument>,
        operation_name: Option<&str>,
    ) -> Result<QueryPlan, PlanError>;

    /// The plan as text, for `extensions.queryPlan`.
    fn print(&self, plan: &QueryPlan) -> String {
        serde_json::to_string_pretty(plan).unwrap_or_default()
    }
}

/// Builds the planner for a newly loaded supergraph.
pub type MakePlanner =
    Arc<dyn Fn(Arc<Supergraph>) -> Result<Arc<dyn QueryPlanner>, String> + Send + Sync>;

impl QueryPlanner for Planner {
    fn plan(
        &self,
        document: &Valid<ExecutableDocument>,
        operation_name: Option<&str>,
    ) -> Result<QueryPlan, PlanError> {
        Planner::plan(self, document, operation_name)
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
