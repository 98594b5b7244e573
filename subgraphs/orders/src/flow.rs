//! The order flow of DESIGN.md, orders' side: the order operations, each a
//! step of the saga, returning `ApiResult`.
//!
//! ```text
//! createOrder:   insert CREATING ─ reserveStock ─┬─ ok ───────── CAS → PENDING_PAYMENT
//!                                                ├─ definite ─── CAS → FAILED
//!                                                └─ unknown ──── CAS → ABORTING ─ releaseStock ─ CAS → FAILED
//! markOrderPaid: CAS PENDING_PAYMENT → PAID ─ commitStock ─ CAS stock_committed = true
//!                (expired, cancelled or paid by another payment → INVALID_STATE: payments refunds)
//! cancelOrder:   PENDING_PAYMENT → CANCELLING; PAID → REFUNDING ─ refund ─ → CANCELLING;
//!                releaseStock ─ → CANCELLED (see cancel.rs)
//! ```
//!
//! Every change is a compare-and-set on the state the caller saw, so two
//! racing operations never both win; the loser re-reads and decides again.
//! Each operation runs in a task of its own once it has checked its caller
//! (`Orders::detached`): when the client disconnects or its call times out,
//! the work in flight still finishes instead of being dropped half way. Every
//! call to another service is idempotent there, so a call whose answer is late
//! or lost is repeated or compensated, never guessed: an unknown reservation is
//! released (inventory refuses a reservation that arrives after its release),
//! an unknown refund is asked for again. Work left half done by a crash or an
//! outage (CREATING, ABORTING, REFUNDING, CANCELLING, a sale not committed) is
//! finished by [`crate::sweeper`], with the same methods. The calls to
//! inventory and payments are in [`crate::clients`].
//!
//! # Layout
//! - this file: [`Orders`], creating, reading, paying (`markOrderPaid`).
//! - `flow/cancel.rs`: cancelling (with the refund of a paid order) and expiry.
//! - `flow/cart.rs`: carts (reading, changing, merging) and shipping quotes.
//! - `flow/discounts.rs`: ADMIN management of discount codes.
//! - `flow/checkout.rs`: turning a cart into an order (`checkout`).

mod cancel;
mod cart;
mod checkout;
mod discounts;

use std::sync::Arc;
use std::time::Duration;

use storefront_shared::auth::{Claims, Viewer};
use storefront_shared::{ApiError, ApiResult};

use crate::clients::{InventoryClient, PaymentsClient, Reservation, UsersClient};
use crate::domain::{
    Order, OrderId, OrderItem, OrderLimits, OrderPage, OrderRequest, OrderState, OrderStatus,
    PageRequest, Pricing, Transition, now_ms,
};
use crate::events::{OrderChange, OrderEvents};
use crate::shipping::ShippingTable;
use crate::store::SharedRepository;

/// How often an operation re-reads an order that changed under it before giving up.
const MAX_ATTEMPTS: usize = 5;

/// The rules the operations follow (from the settings).
#[derive(Debug, Clone)]
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
    /// How long an anonymous cart lives after its last change.
    pub cart_ttl: Duration,
    /// The shipping rates.
    pub shipping: Arc<ShippingTable>,
}

/// The order operations over a store and the two services orders calls.
#[derive(Clone)]
pub struct Orders {
    repo: SharedRepository,
    inventory: InventoryClient,
    payments: PaymentsClient,
    users: Option<UsersClient>,
    policy: Policy,
    events: OrderEvents,
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

fn not_found(id: &OrderId) -> ApiError {
    ApiError::NotFound(format!("there is no order {id}"))
}

fn authorize(claims: &Claims, order: &Order) -> ApiResult<()> {
    claims.require_owner_or_admin(
        &order.buyer_id,
        "only the buyer or an ADMIN may see or change this order",
    )
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
            users: None,
            policy,
            events: OrderEvents::in_process(),
        }
    }

    /// These operations, reading saved addresses for checkout from `users`.
    pub fn with_users(mut self, users: UsersClient) -> Self {
        self.users = Some(users);
        self
    }

    /// These operations, publishing every change of an order to `events`
    /// (an in-process channel unless given another).
    pub fn with_events(mut self, events: OrderEvents) -> Self {
        self.events = events;
        self
    }

    /// Where changes of orders are published (for subscriptions).
    pub fn events(&self) -> &OrderEvents {
        &self.events
    }

    /// Applies `change` ([`crate::store::OrderRepository::transition`]) and
    /// publishes the changed order when clients can see it. Every change of an
    /// order goes through here, so every change reaches subscribers.
    async fn record(
        &self,
        id: &OrderId,
        change: &Transition,
    ) -> Result<Option<Order>, crate::store::RepoError> {
        let changed = self.repo.transition(id, change).await?;
        if let Some(order) = &changed
            && order.state.public().is_some()
        {
            self.events.publish(OrderChange::of(order)).await;
        }
        Ok(changed)
    }

    /// The store.
    pub fn repository(&self) -> &SharedRepository {
        &self.repo
    }

    /// The rules in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Runs `work` in a task of its own and waits for it. If the caller goes
    /// away (an HTTP handler is dropped when its client disconnects or times
    /// out), the task still carries the work to a recorded state.
    pub(crate) async fn detached<T, Fut>(&self, work: impl FnOnce(Orders) -> Fut) -> ApiResult<T>
    where
        Fut: std::future::Future<Output = ApiResult<T>> + Send + 'static,
        T: Send + 'static,
    {
        storefront_shared::error::detached("an order task", work(self.clone())).await
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
        self.detached(move |orders| async move { orders.place(order).await })
            .await
    }

    /// Stores the intent, reserves its stock and prices it (see [`Orders::create`]).
    async fn place(&self, order: Order) -> ApiResult<Order> {
        self.repo.insert(&order).await?;
        self.reserve(order).await
    }

    /// Reserves the stored intent's stock and prices it; on failure nothing
    /// stays reserved and the order ends FAILED (its discount use given back),
    /// or is left for the sweeper to finish so.
    async fn reserve(&self, order: Order) -> ApiResult<Order> {
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
                // Nothing was reserved. Should a write fail, the sweeper finds the
                // intent after `creating_timeout` and gives it up the long way.
                if !self.give_back_discount(&order).await {
                    return Err(callee_error("inventory", error));
                }
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
            .and_then(|items| self.price(&order, items));
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
        match self.record(&order.id, &change).await? {
            Some(placed) => {
                tracing::info!(order_id = %placed.id, buyer_id = %placed.buyer_id, "order placed");
                Ok(placed)
            }
            None => {
                // The sweeper gave it up meanwhile; a use claimed after its
                // give-back is given back here.
                self.give_back_discount(&order).await;
                Err(ApiError::ServiceUnavailable(
                    "placing the order took too long, so it was given up and nothing was reserved; try again"
                        .into(),
                ))
            }
        }
    }

    /// Prices reserved `items`: a checkout's with its shipping (quoted on the
    /// reserved subtotal) and discount, a plain order's as their sum.
    fn price(&self, order: &Order, items: Vec<OrderItem>) -> ApiResult<Pricing> {
        let max = self.policy.max_order_total;
        let Some(terms) = &order.checkout else {
            return Pricing::of(items, max);
        };
        let plain = Pricing::of(items.clone(), max)?;
        let units = items.iter().map(|item| item.quantity).sum();
        let shipping = self.policy.shipping.quote(
            &terms.shipping_method,
            &terms.address.country,
            units,
            plain.subtotal(),
        )?;
        Pricing::with_checkout(items, shipping, terms.discount.as_ref(), max)
    }

    /// Gives back the discount use the order `order` holds, if any (idempotent).
    /// Whether nothing is held any more; on a store failure the order is
    /// left for the sweeper, which gives it back before the order is FAILED.
    pub(crate) async fn give_back_discount(&self, order: &Order) -> bool {
        let Some(terms) = order.checkout.as_ref().and_then(|c| c.discount.as_ref()) else {
            return true;
        };
        match self
            .repo
            .release_discount(&terms.code, order.id.as_str())
            .await
        {
            Ok(released) => {
                if released {
                    tracing::info!(order_id = %order.id, code = %terms.code, "discount use given back");
                }
                true
            }
            Err(error) => {
                tracing::warn!(order_id = %order.id, error = ?error, "cannot give back a discount use yet; the sweeper will retry");
                false
            }
        }
    }

    /// Gives up an order whose stock may be reserved: `from` → ABORTING, release,
    /// give back its discount use, → FAILED. Whatever fails here is left ABORTING for the sweeper. Whether the
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
        match self.repo.find_by_id(id).await {
            Ok(Some(order)) if !self.give_back_discount(&order).await => return false,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(order_id = %id, error = ?error, "cannot read an aborted order; the sweeper will retry");
                return false;
            }
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
        Ok(self.record(id, &change).await?)
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
        viewer.require_owner_or_admin(
            buyer_id,
            "only the user themselves or an ADMIN may list their orders",
        )?;
        Ok(())
    }

    /// A page of `buyer_id`'s orders, newest first, for that user or an ADMIN.
    pub async fn list(
        &self,
        viewer: &Viewer,
        buyer_id: &str,
        first: i32,
        after: Option<&str>,
    ) -> ApiResult<OrderPage> {
        self.list_in(viewer, buyer_id, first, after, None).await
    }

    /// As [`Orders::list`], only the orders shown with `status` when given.
    pub async fn list_in(
        &self,
        viewer: &Viewer,
        buyer_id: &str,
        first: i32,
        after: Option<&str>,
        status: Option<OrderStatus>,
    ) -> ApiResult<OrderPage> {
        Self::may_list(viewer, buyer_id)?;
        let page = PageRequest::parse(first, after)?;
        Ok(self.repo.list_by_buyer_in(buyer_id, &page, status).await?)
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
        let payment_id = payment_id.trim().to_owned();
        if payment_id.is_empty() {
            return Err(ApiError::BadUserInput("paymentId must not be empty".into()));
        }
        self.detached(move |orders| async move { orders.record_payment(id, &payment_id).await })
            .await
    }

    /// PENDING_PAYMENT → PAID by `payment_id`, then the sale (see [`Orders::mark_paid`]).
    async fn record_payment(&self, id: OrderId, payment_id: &str) -> ApiResult<Order> {
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
                    if let Some(paid) = self.record(&id, &change).await? {
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
        match self.record(&order.id, &change).await {
            Ok(Some(committed)) => committed,
            Ok(None) => self.reread(order).await,
            Err(error) => {
                tracing::warn!(order_id = %order.id, error = %error, "cannot record the committed stock; the sweeper will retry");
                order
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use storefront_shared::auth::Role;

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
}
