//! Cancelling and expiring orders.
//!
//! ```text
//! cancelOrder (a task of its own):
//!   PENDING_PAYMENT ───────────────────────────────────────── CAS → CANCELLING ─┐
//!   PAID ─ CAS → REFUNDING ─ refundOrderPayment ─┬─ money back ── CAS → CANCELLING ─┤
//!                                                └─ unknown ───── stays REFUNDING    │
//!   REFUNDING (a retry) ─ refundOrderPayment ─ (as above)    releaseStock ─ CAS → CANCELLED
//! sweeper:  REFUNDING ─ refundOrderPayment again (idempotent) ─ (as above)
//! expiry:   PENDING_PAYMENT past expires_at ─ CAS → CANCELLING ─ releaseStock ─ CAS → CANCELLED
//! ```
//!
//! REFUNDING is the durable cancel intent of a paid order: it is stored before
//! payments is asked for the refund. It is shown as PAID (the money is still
//! taken as far as orders knows) and is only ever carried forward, to
//! CANCELLED: a refund whose answer was lost (orders' call timing out, a crash)
//! may well have reached the provider, so going back to PAID could keep a
//! refunded order PAID with its stock sold. Nobody decides from a status
//! whose outcome is unknown: the only way on is payments saying that the money
//! is back (`refundOrderPayment` answers `refunded`), which payments says once
//! the provider confirmed the refund it recorded before asking. A cancel whose
//! refund is slow answers SERVICE_UNAVAILABLE and goes on in the background; a
//! retry or the next sweep asks payments again (the same refund, never a
//! second one) and finishes it.

use storefront_shared::auth::Viewer;
use storefront_shared::{ApiError, ApiResult};

use super::{MAX_ATTEMPTS, Orders, authorize, not_found};
use crate::domain::{Order, OrderId, OrderState};

/// A paid order is cancelled only after its refund. Whatever stopped the
/// refund's answer, the order stays REFUNDING (shown as PAID) and the refund
/// is carried through: by payments in the background, a retry, or the sweeper.
pub(super) fn refund_failed(id: &OrderId, error: ApiError) -> ApiError {
    match &error {
        ApiError::ServiceUnavailable(_) => {
            tracing::warn!(order_id = %id, error = ?error, "the refund of a paid order being cancelled is not confirmed yet; it stays REFUNDING");
        }
        other => {
            tracing::error!(order_id = %id, code = other.code(), error = ?other, "payments did not refund a paid order being cancelled; it stays REFUNDING");
        }
    }
    ApiError::ServiceUnavailable(
        "the order's refund is under way; it is cancelled once the money is back (ask again later)"
            .into(),
    )
}

impl Orders {
    /// Cancels an order for its buyer or an ADMIN: a paid order is refunded first
    /// (PAID → REFUNDING, refund, → CANCELLING); then the stock is released.
    /// When the refund is not confirmed in time the answer is SERVICE_UNAVAILABLE
    /// and the order stays REFUNDING (shown as PAID) until a retry or the sweeper
    /// finishes the cancel. The work runs in a task of its own, so a client that
    /// goes away does not leave it half done. Cancelling a cancelled order is
    /// INVALID_STATE.
    pub async fn cancel(&self, viewer: &Viewer, raw_id: &str) -> ApiResult<Order> {
        let claims = viewer.require_user()?;
        let id = OrderId::parse(raw_id)?;
        let order = self.visible(&id).await?.ok_or_else(|| not_found(&id))?;
        authorize(claims, &order)?;
        let by = claims.sub.clone();
        self.detached(move |orders| async move { orders.cancel_from(order, &by).await })
            .await
    }

    async fn cancel_from(&self, mut order: Order, by: &str) -> ApiResult<Order> {
        let id = order.id.clone();
        for _ in 0..MAX_ATTEMPTS {
            let from = order.state;
            let cancelling = match from {
                OrderState::PendingPayment => {
                    self.transition(&id, from, OrderState::Cancelling).await?
                }
                OrderState::Paid => {
                    // The intent first, so a lost refund answer leaves a trace.
                    match self.transition(&id, from, OrderState::Refunding).await? {
                        Some(refunding) => self.refund(refunding).await?,
                        None => None,
                    }
                }
                OrderState::Refunding => self.refund(order).await?,
                OrderState::Cancelling => {
                    // Shown as CANCELLED already; help the release along, then answer
                    // as for any cancelled order.
                    self.finish_cancel(order).await;
                    return Err(ApiError::InvalidState(format!(
                        "order {id} is already cancelled"
                    )));
                }
                OrderState::Cancelled => {
                    return Err(ApiError::InvalidState(format!(
                        "order {id} is already cancelled"
                    )));
                }
                OrderState::Creating | OrderState::Aborting | OrderState::Failed => {
                    return Err(not_found(&id));
                }
            };
            if let Some(cancelling) = cancelling {
                tracing::info!(order_id = %id, by, was = from.as_str(), "order cancelled");
                return Ok(self.finish_cancel(cancelling).await);
            }
            order = self.visible(&id).await?.ok_or_else(|| not_found(&id))?;
        }
        Err(ApiError::ServiceUnavailable(format!(
            "order {id} kept changing while it was being cancelled; try again"
        )))
    }

    /// Asks payments to refund a REFUNDING order's payment (idempotent at
    /// payments: the same refund however often it is asked), then makes it
    /// CANCELLING; `None` when the order moved on meanwhile. Until payments
    /// confirms, the order stays REFUNDING.
    async fn refund(&self, order: Order) -> ApiResult<Option<Order>> {
        let refunded = self
            .payments
            .refund_order_payment(&order.id)
            .await
            .map_err(|error| refund_failed(&order.id, error))?;
        if !refunded {
            tracing::warn!(order_id = %order.id, "payments had no charged payment to refund for a paid order");
        }
        self.transition(&order.id, OrderState::Refunding, OrderState::Cancelling)
            .await
    }

    /// Carries a REFUNDING order nobody is finishing (for the sweeper) on to
    /// CANCELLED: asks payments for the refund again, and once payments says
    /// the money is back, → CANCELLING, release, → CANCELLED. While payments
    /// cannot say (down, slow, the provider's answer still unknown) it stays
    /// REFUNDING for the next sweep. It never goes back to PAID. The state the
    /// order is in afterwards.
    pub(crate) async fn finish_refund(&self, order: Order) -> ApiResult<OrderState> {
        match self.refund(order.clone()).await? {
            Some(cancelling) => {
                tracing::info!(order_id = %order.id, "an unfinished cancel is finished: the money is back");
                Ok(self.finish_cancel(cancelling).await.state)
            }
            None => Ok(self.reread(order).await.state),
        }
    }

    /// Releases a CANCELLING order's stock and makes it CANCELLED; on failure it
    /// stays CANCELLING (shown as CANCELLED) for the sweeper.
    pub(crate) async fn finish_cancel(&self, order: Order) -> Order {
        if let Err(error) = self.inventory.release(&order.id).await {
            tracing::warn!(order_id = %order.id, error = ?error, "cannot release the stock of a cancelled order; the sweeper will retry");
            return order;
        }
        match self
            .transition(&order.id, OrderState::Cancelling, OrderState::Cancelled)
            .await
        {
            Ok(Some(cancelled)) => cancelled,
            Ok(None) => self.reread(order).await,
            Err(error) => {
                tracing::warn!(order_id = %order.id, error = ?error, "cannot mark the order CANCELLED; the sweeper will retry");
                order
            }
        }
    }

    /// Expires an unpaid order past its time: PENDING_PAYMENT → CANCELLING, then
    /// the stock is released. Whether this call expired it. A payment that
    /// lands afterwards is refused (`markOrderPaid`: INVALID_STATE) and refunded
    /// by payments.
    pub(crate) async fn expire(&self, order: &Order) -> ApiResult<bool> {
        let Some(cancelling) = self
            .transition(
                &order.id,
                OrderState::PendingPayment,
                OrderState::Cancelling,
            )
            .await?
        else {
            return Ok(false);
        };
        tracing::info!(order_id = %order.id, "unpaid order expired");
        self.finish_cancel(cancelling).await;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refund_that_fails_for_any_reason_leaves_the_order_paid_and_retryable() {
        let id = OrderId::generate();
        let error = refund_failed(&id, ApiError::InvalidState("busy".into()));
        assert_eq!(error.code(), "SERVICE_UNAVAILABLE");
        let error = refund_failed(&id, ApiError::ServiceUnavailable("down".into()));
        assert_eq!(error.code(), "SERVICE_UNAVAILABLE");
    }
}
