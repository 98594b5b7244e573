//! Selections under `@skip`/`@include` on variables that cannot be planned.
//!
//! A valid operation must not fail to plan because of a part its variables
//! may leave out. When the first attempt fails ([`PlanError::Unsatisfiable`]),
//! the planner plans again with [`Builder::tolerant`] set: a selection with a
//! condition on variables whose planning fails is left out (the builder's
//! fetches are restored to what they were before it) and recorded as an
//! [`Unplannable`] under the conditions of it and of every conditional
//! selection around it. The rest is planned as usual; a request whose
//! variables make such a condition hold is refused as the same operation
//! with literal conditions is (the pipeline checks before executing), so the
//! answer never depends on whether a condition was written as a literal or
//! a variable.

use apollo_compiler::ast;

use super::{Builder, Touched};
use crate::core::plan::condition::{When, directives_condition};
use crate::core::plan::{PathElement, PlanError, Unplannable, path_text};

impl Builder<'_> {
    /// Runs `plan` for a selection (response key `key` at `path`, empty for
    /// a fragment) under the conditions in `lists`. Tolerant, and some
    /// condition is on a variable: if `plan` finds the selection cannot be
    /// planned, the builder is put back as it was and the selection is
    /// recorded in [`Builder::unplannable`]; `Ok` with nothing touched.
    pub(super) fn guarded(
        &mut self,
        lists: &[ast::DirectiveList],
        path: &[PathElement],
        key: &str,
        plan: impl FnOnce(&mut Self) -> Result<Touched, PlanError>,
    ) -> Result<Touched, PlanError> {
        let conditional = lists
            .iter()
            .any(|l| matches!(directives_condition(l), When::If(_)));
        if !self.tolerant || !conditional {
            return plan(self);
        }
        let fetches = self.fetches.clone();
        let roots = self.roots.clone();
        let internal = self.internal.clone();
        let depth = self.guards.len();
        self.guards.extend(lists.iter().cloned());
        let result = plan(self);
        let condition = When::all(self.guards.iter().map(directives_condition));
        self.guards.truncate(depth);
        let reason = match result {
            Err(PlanError::Unsatisfiable(reason)) => reason,
            other => return other,
        };
        self.fetches = fetches;
        self.roots = roots;
        self.internal = internal;
        if let When::If(condition) = condition {
            let mut at = path_text(path);
            if !at.is_empty() && !key.is_empty() {
                at.push('.');
            }
            at.push_str(key);
            self.unplannable.push(Unplannable {
                path: at,
                condition,
                reason,
            });
        }
        Ok(Touched::new())
    }
}
