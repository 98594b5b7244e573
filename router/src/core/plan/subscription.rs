//! A subscription's plan: the emitted plan of its one root field is split
//! into the primary fetch (sent to the subgraph as a `subscription`) and the
//! rest (run for every event), as Apollo's `SubscriptionNode`.
//!
//! # Layout
//! - [`split`]: the emitted node → [`SubscriptionNode`].

use super::planner::PlanError;
use super::query_plan::{PlanNode, SubscriptionNode};

/// Splits the emitted plan of a subscription: its first step must be the
/// root fetch (the only fetch without dependencies); whatever follows is the
/// rest. A subscription whose root fetch is always skipped has no plan.
pub(super) fn split(node: Option<PlanNode>) -> Result<SubscriptionNode, PlanError> {
    let (first, rest) = match node {
        Some(PlanNode::Sequence(mut steps)) if !steps.is_empty() => {
            let first = steps.remove(0);
            let rest = match steps.len() {
                0 => None,
                1 => steps.pop().map(Box::new),
                _ => Some(Box::new(PlanNode::Sequence(steps))),
            };
            (first, rest)
        }
        Some(other) => (other, None),
        None => {
            return Err(PlanError::Unsatisfiable(
                "the subscription's root field is always skipped".into(),
            ));
        }
    };
    match first {
        PlanNode::Fetch(primary) if primary.requires.is_none() => {
            Ok(SubscriptionNode { primary, rest })
        }
        _ => Err(PlanError::Subscription),
    }
}
