//! The life of a reservation as both stores record it, and the rules for a repeated
//! `reserve` of an order that already has one.
//!
//! ```text
//! RESERVING ─▶ RESERVED ─▶ COMMITTING ─▶ COMMITTED ─▶ RETURNING ─┐
//!   │   │          │                                             ▼
//!   │   └──────────┴─────────▶ RELEASING ──────────────────▶ RELEASED
//!   └─▶ FAILED (a line was short; nothing is held) ────────────────┘
//! ```
//! The embedded store changes state in one transaction and so uses only the stable
//! states (RESERVED, COMMITTED, RELEASED, FAILED); MongoDB passes through the
//! transitional ones, which `sweep` finishes after a crash.

use serde::{Deserialize, Serialize};

use super::{StoreError, StoreResult};
use crate::domain::{OrderId, Reservation, ReservationStatus, ReservedLine, Sku, StockRequest};

/// A recorded reservation state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    /// The intent is recorded; lines are being held.
    Reserving,
    /// Every line is held.
    Reserved,
    /// Held lines are being turned into sales.
    Committing,
    /// Every line is sold.
    Committed,
    /// Held lines are being returned.
    Releasing,
    /// Nothing is held or sold for the order (also the tombstone of a release that
    /// came before any reserve).
    Released,
    /// Sold lines are being returned (a paid order was cancelled).
    Returning,
    /// A line was short; nothing is held. Terminal: asking again gives the same error.
    Failed,
}

impl State {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Reserving => "RESERVING",
            State::Reserved => "RESERVED",
            State::Committing => "COMMITTING",
            State::Committed => "COMMITTED",
            State::Releasing => "RELEASING",
            State::Released => "RELEASED",
            State::Returning => "RETURNING",
            State::Failed => "FAILED",
        }
    }

    /// What the state means for the order; `None` while reserving or after a failure.
    pub fn public(self) -> Option<ReservationStatus> {
        match self {
            State::Reserving | State::Failed => None,
            State::Reserved => Some(ReservationStatus::Reserved),
            State::Committing | State::Committed => Some(ReservationStatus::Committed),
            State::Releasing | State::Released | State::Returning => {
                Some(ReservationStatus::Released)
            }
        }
    }
}

/// Why a reserve failed, kept so that asking again gives the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shortage {
    /// The first product that was short.
    pub sku: Sku,
    /// Units asked for.
    pub requested: i64,
    /// Units available then.
    pub available: i64,
}

impl Shortage {
    /// The error the failed reserve gave.
    pub fn to_error(&self) -> StoreError {
        StoreError::InsufficientStock {
            sku: self.sku.clone(),
            requested: self.requested,
            available: self.available,
        }
    }
}

/// The answer to a repeated reserve, from what is recorded for the order.
#[derive(Debug)]
pub enum Repeat {
    /// The same reservation: return it.
    Same(Reservation),
    /// Another call is still holding the lines: wait for it.
    Pending,
}

/// Applies the idempotency rules of `reserve` to an existing reservation.
pub fn repeat_reserve(
    order_id: &OrderId,
    request: &StockRequest,
    state: State,
    lines: &[ReservedLine],
    shortage: Option<&Shortage>,
) -> StoreResult<Repeat> {
    if matches!(state, State::Releasing | State::Released | State::Returning) {
        return Err(released(order_id));
    }
    if !request.matches(lines) {
        return Err(StoreError::LinesDiffer(order_id.clone()));
    }
    match (state, state.public()) {
        (State::Reserving, _) => Ok(Repeat::Pending),
        (State::Failed, _) => Err(shortage.map(Shortage::to_error).unwrap_or_else(|| {
            StoreError::Corrupt(format!("failed reservation {order_id} has no reason"))
        })),
        (_, Some(status)) => Ok(Repeat::Same(Reservation {
            order_id: order_id.clone(),
            status,
            lines: lines.to_vec(),
        })),
        (_, None) => Err(StoreError::Corrupt(format!(
            "reservation {order_id} is {}",
            state.as_str()
        ))),
    }
}

/// The error for reserving or committing an order whose reservation was released.
pub fn released(order_id: &OrderId) -> StoreError {
    StoreError::InvalidState(format!(
        "the reservation for order {order_id} was released; it cannot reserve or commit again"
    ))
}

/// The error for committing an order whose reserve failed.
pub fn failed(order_id: &OrderId) -> StoreError {
    StoreError::InvalidState(format!(
        "the reservation for order {order_id} failed; nothing is held to commit"
    ))
}

/// The error for committing an order whose reserve has not finished.
pub fn not_reserved_yet(order_id: &OrderId) -> StoreError {
    StoreError::InvalidState(format!(
        "the reservation for order {order_id} is not complete yet; nothing can be committed"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Money;

    fn line(sku: &str, quantity: i64) -> ReservedLine {
        ReservedLine {
            sku: Sku::parse(sku).expect("valid"),
            quantity,
            unit_price: Money {
                amount: 100,
                currency: "USD".into(),
            },
        }
    }

    #[test]
    fn a_repeat_with_other_lines_conflicts_and_after_release_is_invalid() {
        let order = OrderId::parse("o1").expect("valid");
        let request = StockRequest::parse([("A", 1)]).expect("valid");
        let lines = [line("A", 2)];
        let error = repeat_reserve(&order, &request, State::Reserved, &lines, None)
            .expect_err("different lines");
        assert!(matches!(error, StoreError::LinesDiffer(_)));
        let error =
            repeat_reserve(&order, &request, State::Released, &[], None).expect_err("released");
        assert!(matches!(error, StoreError::InvalidState(_)));
    }

    #[test]
    fn a_repeat_of_a_failed_reserve_gives_the_same_shortage() {
        let order = OrderId::parse("o1").expect("valid");
        let request = StockRequest::parse([("A", 3)]).expect("valid");
        let shortage = Shortage {
            sku: Sku::parse("A").expect("valid"),
            requested: 3,
            available: 1,
        };
        let error = repeat_reserve(
            &order,
            &request,
            State::Failed,
            &[line("A", 3)],
            Some(&shortage),
        )
        .expect_err("failed before");
        assert!(matches!(
            error,
            StoreError::InsufficientStock { available: 1, .. }
        ));
    }

    #[test]
    fn a_repeat_while_reserving_waits_and_after_reserving_returns_the_same() {
        let order = OrderId::parse("o1").expect("valid");
        let request = StockRequest::parse([("A", 2)]).expect("valid");
        let lines = [line("A", 2)];
        assert!(matches!(
            repeat_reserve(&order, &request, State::Reserving, &lines, None),
            Ok(Repeat::Pending)
        ));
        match repeat_reserve(&order, &request, State::Reserved, &lines, None) {
            Ok(Repeat::Same(reservation)) => {
                assert_eq!(reservation.status, ReservationStatus::Reserved);
                assert_eq!(reservation.lines, lines);
            }
            other => panic!("expected the same reservation, got {other:?}"),
        }
    }
}
