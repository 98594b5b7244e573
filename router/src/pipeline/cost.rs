//! Demand control: the estimated cost of the operation the caller may run
//! (after authorization, with its variables), measured and, in enforce mode,
//! refused above `max_cost` before any subgraph is called
//! ([`crate::settings::DemandControlSettings`]).
//!
//! As Apollo Router answers: a refused operation gets one error, `query
//! estimated cost {estimated} exceeded configured maximum {max}`, with
//! `extensions.code = COST_ESTIMATED_TOO_EXPENSIVE`, `cost.estimated` and
//! `cost.max`, and no `data`; an operation whose list sizes break
//! `requireOneSlicingArgument` gets `COST_QUERY_PARSE_FAILURE`. HTTP status:
//! 200 under `application/json` (as Apollo Router), 400 under
//! `application/graphql-response+json` (the GraphQL-over-HTTP rule this
//! router follows for every request error). Measure mode refuses nothing and
//! logs what enforce would have refused.
//!
//! # Layout
//! - [`CostRefused`]: the stage's error; [`codes`]: its codes.
//! - [`check`]: estimate, record, decide; [`Measured::extension`]: the
//!   `extensions.cost` a response carries when `expose_cost` is on.

use apollo_compiler::ExecutableDocument;
use apollo_compiler::executable::Operation;
use serde_json::{Map, Value, json};

use super::error::StageError;
use crate::core::cost::{self, CostError};
use crate::core::supergraph::Supergraph;
use crate::metrics::CostHistogram;
use crate::response::GraphqlError;
use crate::settings::{DemandControlMode, DemandControlSettings};

/// The codes of this stage (Apollo Router's).
pub mod codes {
    /// The estimate is above `max_cost` (enforce mode).
    pub const COST_ESTIMATED_TOO_EXPENSIVE: &str = "COST_ESTIMATED_TOO_EXPENSIVE";
    /// The operation cannot be estimated (its slicing arguments break
    /// `requireOneSlicingArgument`).
    pub const COST_QUERY_PARSE_FAILURE: &str = "COST_QUERY_PARSE_FAILURE";
    /// The estimate is within `max_cost` (metrics and `extensions.cost`).
    pub const COST_OK: &str = "COST_OK";
}

/// Why demand control refuses an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostRefused {
    /// Estimated above the maximum.
    #[error("query estimated cost {estimated} exceeded configured maximum {max}")]
    TooExpensive {
        /// The estimate.
        estimated: i64,
        /// `max_cost`.
        max: u64,
    },
    /// Not estimable.
    #[error("query could not be parsed: {0}")]
    Unestimable(#[from] CostError),
}

impl StageError for CostRefused {
    fn code(&self) -> &'static str {
        match self {
            CostRefused::TooExpensive { .. } => codes::COST_ESTIMATED_TOO_EXPENSIVE,
            CostRefused::Unestimable(_) => codes::COST_QUERY_PARSE_FAILURE,
        }
    }

    fn into_errors(self) -> Vec<GraphqlError> {
        let mut error = GraphqlError::new(self.to_string(), self.code());
        if let CostRefused::TooExpensive { estimated, max } = self {
            error
                .extensions
                .insert("cost.estimated".into(), json!(estimated));
            error.extensions.insert("cost.max".into(), json!(max));
        }
        vec![error]
    }
}

/// One operation's estimate and what demand control made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measured {
    /// The estimate (`None`: the operation could not be estimated).
    pub estimated: Option<i64>,
    /// `COST_OK`, `COST_ESTIMATED_TOO_EXPENSIVE` or `COST_QUERY_PARSE_FAILURE`.
    pub result: &'static str,
}

impl Measured {
    /// `extensions.cost`: `{"estimated", "max", "result", "mode"}`.
    pub fn extension(&self, settings: &DemandControlSettings) -> Value {
        json!({
            "estimated": self.estimated,
            "max": settings.max_cost,
            "result": self.result,
            "mode": match settings.mode {
                DemandControlMode::Enforce => "enforce",
                _ => "measure",
            },
        })
    }
}

/// The demand-control stage: `None` when it is off; the estimate, or the
/// refusal in enforce mode. Every estimate is recorded in `histogram`.
pub fn check(
    settings: &DemandControlSettings,
    supergraph: &Supergraph,
    document: &ExecutableDocument,
    operation: &Operation,
    variables: &Map<String, Value>,
    histogram: &CostHistogram,
) -> Result<Option<Measured>, CostRefused> {
    if settings.mode == DemandControlMode::Off {
        return Ok(None);
    }
    let enforce = settings.mode == DemandControlMode::Enforce;
    let operation_name = operation.name.as_ref().map(|n| n.as_str());
    let estimated = match cost::estimate(
        supergraph,
        document,
        operation,
        variables,
        settings.list_size,
    ) {
        Ok(estimated) => estimated,
        Err(error) => {
            tracing::info!(operation = operation_name, %error, enforce, "the operation's cost cannot be estimated");
            if enforce {
                return Err(error.into());
            }
            return Ok(Some(Measured {
                estimated: None,
                result: codes::COST_QUERY_PARSE_FAILURE,
            }));
        }
    };
    let too_expensive = u64::try_from(estimated).is_ok_and(|e| e > settings.max_cost);
    let result = if too_expensive {
        codes::COST_ESTIMATED_TOO_EXPENSIVE
    } else {
        codes::COST_OK
    };
    histogram.observe(result, estimated);
    if too_expensive {
        tracing::info!(
            operation = operation_name,
            estimated,
            max = settings.max_cost,
            enforce,
            "operation estimated above the maximum cost"
        );
        if enforce {
            return Err(CostRefused::TooExpensive {
                estimated,
                max: settings.max_cost,
            });
        }
    } else {
        tracing::debug!(
            operation = operation_name,
            estimated,
            "operation cost estimated"
        );
    }
    Ok(Some(Measured {
        estimated: Some(estimated),
        result,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_carries_apollos_message_code_and_figures() {
        let errors = CostRefused::TooExpensive {
            estimated: 120,
            max: 100,
        }
        .into_errors();
        let error = serde_json::to_value(&errors[0]).expect("serializes");
        assert_eq!(
            error,
            json!({
                "message": "query estimated cost 120 exceeded configured maximum 100",
                "extensions": {
                    "code": "COST_ESTIMATED_TOO_EXPENSIVE",
                    "cost.estimated": 120,
                    "cost.max": 100,
                },
            })
        );
    }
}
