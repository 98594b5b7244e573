//! The bridge between the pipeline's [`QueryPlanner`] and the core
//! [`Planner`]: one planner per loaded supergraph, errors kept internal, plans
//! printed in the core's text form.

use std::sync::Arc;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::validation::Valid;

use crate::core::plan::{Planner, QueryPlan};
use crate::pipeline::{MakePlanner, QueryPlanner};

impl QueryPlanner for Planner {
    fn plan(
        &self,
        document: &Valid<ExecutableDocument>,
        operation_name: Option<&str>,
    ) -> Result<QueryPlan, String> {
        Planner::plan(self, document, operation_name).map_err(|e| e.to_string())
    }

    fn print(&self, plan: &QueryPlan) -> String {
        plan.to_string()
    }
}

/// Plans with the core query planner.
pub fn core_planner() -> MakePlanner {
    Arc::new(|supergraph| -> Result<Arc<dyn QueryPlanner>, String> {
        Ok(Arc::new(Planner::new(supergraph)))
    })
}
