//! The order operations, returning `ApiResult`: the order flow of DESIGN.md.
//!
//! ```text
//! createOrder:  insert CREATING ─ reserveStock ─┬─ ok ────────── CAS → PENDING_PAYMENT
//!                                               ├─ definite ──── CAS → FAILED
//!                                               └─ unknown ───── CAS → ABORTING ─ releaseStock ─ CAS → FAILED
//! markOrderPaid: CAS PENDING_PAYMENT → PAID ─ commitStock ─ CAS stock_committed = true
//! cancelOrder:  PENDING_PAYMENT ─────────────────────────────────────────── CAS → CANCELLING ─┐
//!               PAID ─ CAS → REFUNDING ─ refundOrderPayment ─┬─ ok ────────── CAS → CANCELLING ─┤
//!                                                            └─ failed ────── stays REFUNDING    │
//!               (REFUNDING: a retry goes on from the refund)        releaseStock ─ CAS → CANCELLED
//! sweeper:      REFUNDING ─ payment status ─┬─ SUCCEEDED ─── CAS → PAID (the refund never happened)
//!                                           └─ otherwise ─── CAS → CANCELLING ─ release ─ CANCELLED
//! ```
//!
//! REFUNDING is the durable cancel intent of a paid order: it is stored before
//! payments is asked for the refund, so a refund whose answer is lost (or a
//! crash right after it) cannot leave a refunded order PAID with its stock
//! sold. It is shown as PAID: a paid order counts as cancelled only once its
//! money is back. The cancel answers SERVICE_UNAVAILABLE while the refund's
//! outcome is unknown; a retry refunds again (idempotent at payments) and
//! finishes. Without a retry the sweeper settles it by the payment's status:
//! refunded → cancelled; still charged → PAID again, as the client was told.
//!
//! Every change is a compare-and-set on the state the caller saw, so two
//! racing operations never both win; the loser re-reads and decides again.
//! Work left half done by a crash or an outage (ABORTING, REFUNDING,
//! CANCELLING, a sale not committed) is finished by [`crate::sweeper`], with
//! the same methods.

use std::time::Duration;

use storefront_shared::auth::{Claims, Role, Viewer};
use storefront_shared::{ApiError, ApiResult};

use crate::clients::{InventoryClient, PaymentStatus, PaymentsClient, Reservation};
use crate::domain::{
    Order, OrderId, OrderItem, OrderLimits, OrderPage, OrderRequest, OrderState, PageRequest,
    Pricing, Transition, now_ms,
};
use crate::store::SharedRepository;

/// How often an operation re-reads an order that changed under it before giving up.
const MAX_ATTEMPTS: usize = 5;

/// The rules the operations follow (from the settings).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// How big an order may be.
    pub limits: OrderLimits,
    /// The largest order total in minor units (at most `MAX_AMOUNT`); a bigger
    /// order is refused with BAD_USER_INPUT and its reservation released.
    pub max_order_total: i64,
    /// How long an unpaid order lives.
    pub order_ttl: Duration,
    /// How long an order may stay CREATING before the sweeper aborts it.
    pub creating_timeout: Duration,
}

/// The order operations over a store and the two services orders calls.
#[derive(Clone)]
pub struct Orders {
    repo: SharedRepository,
    inventory: InventoryClient,
    payments: PaymentsClient,
    policy: Policy,
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Whether a failed call may still have done its work at the callee.
fn outcome_unknown(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::ServiceUnavailable(_) | ApiError::Internal(_)
    )
}

/// A callee refusing our service credential is our misconfiguration, not the client's fault.
fn callee_error(service: &str, error: ApiError) -> ApiError {
    match error {
        ApiError::Unauthenticated(message) | ApiError::Forbidden(message) => ApiError::internal(
            format!("{service} refused the orders service (check SERVICE_TOKEN): {message}"),
        ),
        other => other,
    }
}

/// A paid order is cancelled only after its refund; whatever stopped the refund,
/// the order stays REFUNDING (shown as PAID) and the client may try again later.
fn refund_failed(id: &OrderId, error: ApiError) -> ApiError {
    match error {
        ApiError::ServiceUnavailable(_) => {
            tracing::warn!(order_id = %id, error = ?error, "the refund of a paid order being cancelled has an unknown outcome; it stays REFUNDING");
            error
        }
        other => {
            tracing::error!(order_id = %id, code = other.code(), error = ?other, "payments did not refund a paid order");
            ApiError::ServiceUnavailable(
                "the payment could not be refunded right now, so the order is not cancelled; try again later"
                    .into(),
            )
        }
    }
}

fn not_found(id: &OrderId) -> ApiError {
    ApiError::NotFound(format!("there is no order {id}"))
}

fn authorize(claims: &Claims, order: &Order) -> ApiResult<()> {
    if claims.sub == order.buyer_id || claims.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only the buyer or an ADMIN may see or change this order".into(),
        ))
    }
}

impl Orders {
    /// Operations over `repo`, calling `inventory` and `payments`.
    pub fn new(
        repo: SharedRepository,
        inventory: InventoryClient,
        payments: PaymentsClient,
        policy: Policy,
    ) -> Self {
        Orders {
            repo,
            inventory,
            payments,
            policy,
        }
    }

    /// The store.
    pub fn repository(&self) -> &SharedRepository {
        &self.repo
    }

    /// The rules in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Places an order for the caller: stores the intent, reserves the stock at
    /// inventory (prices come from the reservation), then makes it PENDING_PAYMENT.
    /// On any failure nothing stays reserved and no order becomes visible.
    pub async fn create<'a>(
        &self,
        viewer: &Viewer,
        lines: impl IntoIterator<Item = (&'a str, i64)>,
    ) -> ApiResult<Order> {
        let claims = viewer.require_user()?;
        let request = OrderRequest::parse(lines, self.policy.limits)?;
        let order = Order::intent(&claims.sub, &request, now_ms());
        self.repo.insert(&order).await?;
        match self.inventory.reserve(&order.id, &order.lines).await {
            Ok(reservation) => self.confirm(order, reservation).await,
            Err(error) if outcome_unknown(&error) => {
                tracing::warn!(order_id = %order.id, error = ?error, "reserving stock had an unknown outcome; aborting the order");
                self.abort(&order.id, OrderState::Creating).await;
                Err(ApiError::ServiceUnavailable(
                    "inventory is unavailable, so the order was not placed; try again shortly"
                        .into(),
                ))
            }
            Err(error) => {
                // Nothing was reserved. Should this write fail, the sweeper finds the
                // intent after `creating_timeout` and gives it up the long way.
                if let Err(store) = self
                    .transition(&order.id, OrderState::Creating, OrderState::Failed)
                    .await
                {
                    tracing::warn!(order_id = %order.id, error = ?store, "cannot mark a refused order FAILED; the sweeper will");
                }
                Err(callee_error("inventory", error))
            }
        }
    }

    /// Prices the reserved order and makes it PENDING_PAYMENT; aborts it when the
    /// reservation cannot be priced.
    async fn confirm(&self, order: Order, reservation: Reservation) -> ApiResult<Order> {
        if reservation.status != "RESERVED" {
            self.abort(&order.id, OrderState::Creating).await;
            return Err(ApiError::internal(format!(
                "inventory answered a new reservation for order {} with status {}",
                order.id, reservation.status
            )));
        }
        let pricing = order
            .lines
            .iter()
            .map(|line| {
                reservation
                    .lines
                    .iter()
                    .find(|reserved| reserved.sku == line.sku && reserved.quantity == line.quantity)
                    .map(|reserved| OrderItem {
                        sku: line.sku.clone(),
                        quantity: line.quantity,
                        unit_price: reserved.unit_price.clone(),
                    })
                    .ok_or_else(|| {
                        ApiError::internal(format!(
                            "inventory reserved other lines than asked for order {}",
                            order.id
                        ))
                    })
            })
            .collect::<ApiResult<Vec<_>>>()
            .and_then(|items| Pricing::of(items, self.policy.max_order_total));
        let pricing = match pricing {
            Ok(pricing) => pricing,
            Err(error) => {
                self.abort(&order.id, OrderState::Creating).await;
                return Err(error);
            }
        };
        let now = now_ms();
        let mut change = Transition::new(OrderState::Creating, OrderState::PendingPayment, now);
        change.pricing = Some(pricing);
        change.expires_at_ms = Some(now.saturating_add(millis(self.policy.order_ttl)));
        match self.repo.transition(&order.id, &change).await? {
            Some(placed) => {
                tracing::info!(order_id = %placed.id, buyer_id = %placed.buyer_id, "order placed");
                Ok(placed)
            }
            None => Err(ApiError::ServiceUnavailable(
                "placing the order took too long, so it was given up and nothing was reserved; try again"
                    .into(),
            )),
        }
    }

    /// Gives up an order whose stock may be reserved: `from` → ABORTING, release,
    /// → FAILED. Whatever fails here is left ABORTING for the sweeper. Whether the
    /// order is now FAILED.
    pub(crate) async fn abort(&self, id: &OrderId, from: OrderState) -> bool {
        if from != OrderState::Aborting {
            match self.transition(id, from, OrderState::Aborting).await {
                Ok(Some(_)) => {}
                Ok(None) => return false,
                Err(error) => {
                    tracing::warn!(order_id = %id, error = ?error, "cannot mark the order ABORTING; the sweeper will retry");
                    return false;
                }
            }
        }
        if let Err(error) = self.inventory.release(id).await {
            tracing::warn!(order_id = %id, error = ?error, "cannot release the stock of an aborted order; the sweeper will retry");
            return false;
        }
        match self
            .transition(id, OrderState::Aborting, OrderState::Failed)
            .await
        {
            Ok(done) => done.is_some(),
            Err(error) => {
                tracing::warn!(order_id = %id, error = ?error, "cannot mark the aborted order FAILED; the sweeper will retry");
                false
            }
        }
    }

    async fn transition(
        &self,
        id: &OrderId,
        from: OrderState,
        to: OrderState,
    ) -> ApiResult<Option<Order>> {
        let change = Transition::new(from, to, now_ms());
        Ok(self.repo.transition(id, &change).await?)
    }

    /// The order if it exists for clients (not while it is being created or after it failed).
    async fn visible(&self, id: &OrderId) -> ApiResult<Option<Order>> {
        let order = self.repo.find_by_id(id).await?;
        Ok(order.filter(|order| order.state.public().is_some()))
    }

    /// The order, for its buyer or an ADMIN.
    pub async fn get(&self, viewer: &Viewer, raw_id: &str) -> ApiResult<Order> {
        let claims = viewer.require_user()?;
        let id = OrderId::parse(raw_id)?;
        let order = self.visible(&id).await?.ok_or_else(|| not_found(&id))?;
        authorize(claims, &order)?;
        Ok(order)
    }

    /// Whether the viewer may see orders of `buyer_id` (their own, or an ADMIN).
    pub fn may_list(viewer: &Viewer, buyer_id: &str) -> ApiResult<()> {
        let claims = viewer.require_user()?;
        if claims.sub == buyer_id || claims.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only the user themselves or an ADMIN may list their orders".into(),
            ))
        }
    }

    /// A page of `buyer_id`'s orders, newest first, for that user or an ADMIN.
    pub async fn list(
        &self,
        viewer: &Viewer,
        buyer_id: &str,
        first: i32,
        after: Option<&str>,
    ) -> ApiResult<OrderPage> {
        Self::may_list(viewer, buyer_id)?;
        let page = PageRequest::parse(first, after)?;
        Ok(self.repo.list_by_buyer(buyer_id, &page).await?)
    }

    /// Cancels an order for its buyer or an ADMIN: a paid order is refunded first
    /// (PAID → REFUNDING, refund, → CANCELLING); then the stock is released.
    /// When the refund's outcome is unknown the answer is SERVICE_UNAVAILABLE and
    /// the order stays REFUNDING (shown as PAID): a retry finishes the cancel.
    /// Cancelling a cancelled order is INVALID_STATE.
    pub async fn cancel(&self, viewer: &Viewer, raw_id: &str) -> ApiResult<Order> {
        let claims = viewer.require_user()?;
        let id = OrderId::parse(raw_id)?;
        let mut order = self.visible(&id).await?.ok_or_else(|| not_found(&id))?;
        authorize(claims, &order)?;
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
                tracing::info!(order_id = %id, by = %claims.sub, was = from.as_str(), "order cancelled");
                return Ok(self.finish_cancel(cancelling).await);
            }
            order = self.visible(&id).await?.ok_or_else(|| not_found(&id))?;
        }
        Err(ApiError::ServiceUnavailable(format!(
            "order {id} kept changing while it was being cancelled; try again"
        )))
    }

    /// Refunds a REFUNDING order's payment (idempotent at payments), then makes
    /// it CANCELLING; `None` when the order moved on meanwhile. Whatever stops the
    /// refund leaves the order REFUNDING, for a retry or the sweeper.
    async fn refund(&self, order: Order) -> ApiResult<Option<Order>> {
        let refunded = self
            .payments
            .refund_order_payment(&order.id)
            .await
            .map_err(|error| refund_failed(&order.id, error))?;
        if !refunded {
            tracing::warn!(order_id = %order.id, "payments had no payment to refund for a paid order");
        }
        self.transition(&order.id, OrderState::Refunding, OrderState::Cancelling)
            .await
    }

    /// Settles a REFUNDING order nobody is finishing (for the sweeper) by how
    /// its payment stands at payments: still SUCCEEDED means the refund never
    /// happened, and the client was told the cancel failed, so it is PAID
    /// again; refunded (or nothing charged) means the money is back, so it is
    /// cancelled and its stock released. If payments cannot say, it stays
    /// REFUNDING for the next sweep. The state the order is in afterwards.
    ///
    /// Should a cancel's refund still be on its way when the order goes back to
    /// PAID, that cancel finds PAID after its refund and goes round again
    /// (PAID → REFUNDING, refund: already done, → CANCELLING).
    pub(crate) async fn settle_refund(&self, order: Order) -> ApiResult<OrderState> {
        let status = self
            .payments
            .order_payment_status(&order.id)
            .await
            .map_err(|error| callee_error("payments", error))?;
        let (to, why) = match status {
            Some(PaymentStatus::Succeeded) => (OrderState::Paid, "the refund never happened"),
            Some(PaymentStatus::Unknown) => {
                return Err(ApiError::internal(format!(
                    "payments reported an unknown payment status for order {}",
                    order.id
                )));
            }
            Some(PaymentStatus::Refunded | PaymentStatus::Declined) | None => {
                (OrderState::Cancelling, "the money is back")
            }
        };
        match self
            .transition(&order.id, OrderState::Refunding, to)
            .await?
        {
            Some(moved) if to == OrderState::Cancelling => {
                tracing::info!(order_id = %order.id, why, "an unfinished cancel is finished");
                Ok(self.finish_cancel(moved).await.state)
            }
            Some(moved) => {
                tracing::info!(order_id = %order.id, why, "an unfinished cancel is given up; the order stays PAID");
                Ok(moved.state)
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

    async fn reread(&self, order: Order) -> Order {
        match self.repo.find_by_id(&order.id).await {
            Ok(Some(fresh)) => fresh,
            _ => order,
        }
    }

    /// The order for payments (any caller with the service credential): null when
    /// it does not exist for clients.
    pub async fn for_payment(&self, raw_id: &str) -> ApiResult<Option<Order>> {
        let id = OrderId::parse(raw_id)?;
        self.visible(&id).await
    }

    /// Records that `payment_id` paid the order: PENDING_PAYMENT → PAID, then the
    /// stock is sold. Idempotent for the same payment (also while a cancel refunds
    /// it); a cancelled or expired order, or one paid by another payment, is
    /// INVALID_STATE (payments then refunds).
    pub async fn mark_paid(&self, raw_id: &str, payment_id: &str) -> ApiResult<Order> {
        let id = OrderId::parse(raw_id)?;
        let payment_id = payment_id.trim();
        if payment_id.is_empty() {
            return Err(ApiError::BadUserInput("paymentId must not be empty".into()));
        }
        for _ in 0..MAX_ATTEMPTS {
            let order = self.visible(&id).await?.ok_or_else(|| not_found(&id))?;
            match order.state {
                OrderState::PendingPayment if order.is_expired(now_ms()) => {
                    return Err(ApiError::InvalidState(format!(
                        "order {id} expired before it was paid"
                    )));
                }
                OrderState::PendingPayment => {
                    let mut change =
                        Transition::new(OrderState::PendingPayment, OrderState::Paid, now_ms());
                    change.payment_id = Some(payment_id.to_owned());
                    if let Some(paid) = self.repo.transition(&id, &change).await? {
                        tracing::info!(order_id = %id, payment_id, "order paid");
                        return Ok(self.commit_sale(paid).await);
                    }
                }
                OrderState::Paid if order.payment_id.as_deref() == Some(payment_id) => {
                    if order.stock_committed {
                        return Ok(order);
                    }
                    return Ok(self.commit_sale(order).await);
                }
                // Paid by this payment, and a cancel is refunding it: nothing to record.
                OrderState::Refunding if order.payment_id.as_deref() == Some(payment_id) => {
                    return Ok(order);
                }
                OrderState::Paid | OrderState::Refunding => {
                    return Err(ApiError::InvalidState(format!(
                        "order {id} is already paid by another payment"
                    )));
                }
                _ => {
                    return Err(ApiError::InvalidState(format!("order {id} is cancelled")));
                }
            }
        }
        Err(ApiError::ServiceUnavailable(format!(
            "order {id} kept changing while it was being paid; try again"
        )))
    }

    /// Turns a PAID order's reservation into a sale at inventory and records that;
    /// on failure the flag stays false for the sweeper.
    pub(crate) async fn commit_sale(&self, order: Order) -> Order {
        if let Err(error) = self.inventory.commit(&order.id).await {
            tracing::warn!(order_id = %order.id, error = ?error, "cannot commit the stock of a paid order; the sweeper will retry");
            return order;
        }
        let mut change = Transition::new(OrderState::Paid, OrderState::Paid, now_ms());
        change.stock_committed = Some(true);
        match self.repo.transition(&order.id, &change).await {
            Ok(Some(committed)) => committed,
            Ok(None) => self.reread(order).await,
            Err(error) => {
                tracing::warn!(order_id = %order.id, error = %error, "cannot record the committed stock; the sweeper will retry");
                order
            }
        }
    }

    /// Expires an unpaid order past its time: PENDING_PAYMENT → CANCELLING, then
    /// the stock is released. Whether this call expired it.
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

    fn claims(sub: &str, role: Role) -> Claims {
        Claims {
            sub: sub.into(),
            role,
            iat: 0,
            exp: 0,
            iss: String::new(),
            aud: String::new(),
            jti: String::new(),
            ver: 0,
        }
    }

    #[test]
    fn only_the_buyer_or_an_admin_may_touch_an_order() {
        let limits = OrderLimits {
            max_quantity_per_line: 1,
            max_lines: 1,
        };
        let request = OrderRequest::parse([("MUG", 1)], limits).expect("valid");
        let order = Order::intent("ada", &request, 0);
        assert!(authorize(&claims("ada", Role::Customer), &order).is_ok());
        assert!(authorize(&claims("root", Role::Admin), &order).is_ok());
        let error = authorize(&claims("bob", Role::Customer), &order).expect_err("forbidden");
        assert_eq!(error.code(), "FORBIDDEN");
    }

    #[test]
    fn a_callee_refusing_our_credential_is_our_fault_not_the_clients() {
        let error = callee_error("inventory", ApiError::Unauthenticated("no".into()));
        assert_eq!(error.code(), "INTERNAL_SERVER_ERROR");
        let error = callee_error("inventory", ApiError::NotFound("no MUG".into()));
        assert_eq!(error.code(), "NOT_FOUND");
        assert!(outcome_unknown(&ApiError::ServiceUnavailable(
            "timeout".into()
        )));
        assert!(!outcome_unknown(&ApiError::NotFound("no MUG".into())));
    }

    #[test]
    fn a_refund_that_fails_for_any_reason_leaves_the_order_paid_and_retryable() {
        let id = OrderId::generate();
        let error = refund_failed(&id, ApiError::InvalidState("busy".into()));
        assert_eq!(error.code(), "SERVICE_UNAVAILABLE");
        let error = refund_failed(&id, ApiError::ServiceUnavailable("down".into()));
        assert_eq!(error.code(), "SERVICE_UNAVAILABLE");
    }
}
