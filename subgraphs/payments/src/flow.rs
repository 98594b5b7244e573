//! The order flow of DESIGN.md, payments' side: the payment operations
//! (`payOrder`, `refundOrderPayment`), each a step of the saga.
//!
//! ```text
//! payOrder ─ validate ─ record key (buyer:key → payment id + fingerprint) ─┐
//!   ┌──────────────────────────────────────────────────────────────────────┘
//!   ├ payment settled?      → return it (a retry never charges again)
//!   ├ payment PROCESSING?   → take over an ended lease and call the provider
//!   │                         again with the same key, or wait for the owner
//!   └ no payment yet        → orderForPayment, claim the order guard,
//!                             insert PROCESSING (lease held) → charge;
//!                             order paid or cancelled → re-read the key's payment:
//!                             a duplicate stored it meanwhile → answer it (as above),
//!                             still none → INVALID_STATE
//! charge (a task of its own) ─ provider (key = payment id) ─┬ SUCCEEDED → markOrderPaid
//!                                                           │    ├ INVALID_STATE → refund
//!                                                           │    └ orders slow/down → sweeper retries
//!                                                           ├ DECLINED  → free the order guard
//!                                                           └ timeout   → end the lease, stay PROCESSING
//! refund (flow/refunds.rs) ─ CAS SUCCEEDED → REFUNDING ─ task: provider (key = refund-<id>)
//!                                                     ├ ok      → REFUNDED
//!                                                     └ unknown → end the lease, stay REFUNDING
//! sweep (sweeper.rs) ─ PROCESSING, lease ended and old enough → charge again (same key)
//!                     ─ SUCCEEDED, orders not told             → markOrderPaid again
//!                     ─ REFUNDING, lease ended                 → refund again (same key)
//! ```
//!
//! Every state change is one compare-and-set on one document; concurrent
//! requests with the same key share one payment id, so the provider sees one
//! idempotency key and charges once. Every intent (PROCESSING, REFUNDING) is
//! stored before the provider is called, and the provider call with the
//! recording of its answer runs in a spawned task: when the caller goes away
//! (a client disconnecting, orders' call timing out) the work still finishes,
//! and whatever a crash interrupts the sweeper finishes with the same key.
//!
//! # Layout
//! - this file: [`Payments`] (`payOrder`, `refundOrderPayment`), who may see a
//!   payment.
//! - `flow/refunds.rs`: the refund's durable intent, the provider call and the
//!   detached tasks.
//! - elsewhere: the calls to orders in [`crate::clients`], the sweep in
//!   [`crate::sweeper`].

mod refunds;

use std::sync::Arc;
use std::time::{Duration, Instant};

use storefront_shared::auth::{Claims, Viewer};
use storefront_shared::{ApiError, ApiResult};

use crate::clients::{OrderStatus, OrdersClient};
use crate::domain::{
    IdempotencyKey, IdempotencyRecord, Payment, PaymentState, fingerprint, now_ms,
};
use crate::provider::{ChargeOutcome, ChargeRequest, PaymentProvider, ProviderError, within};
use crate::store::{Change, Condition, GuardClaim, SharedRepository};

/// How long things may take.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How long a duplicate request waits for the first one to finish.
    pub wait_for_duplicate: Duration,
    /// How often a waiting duplicate looks again.
    pub poll_interval: Duration,
    /// How old a PROCESSING payment must be before the sweeper resumes it.
    pub resume_processing_after: Duration,
}

impl Timing {
    /// Waits a little longer than one provider call; resumes after a minute.
    pub fn for_provider(provider: &dyn PaymentProvider) -> Self {
        Timing {
            wait_for_duplicate: provider.call_deadline() + Duration::from_secs(2),
            poll_interval: Duration::from_millis(25),
            resume_processing_after: Duration::from_secs(60),
        }
    }
}

/// The payments service's operations.
#[derive(Clone)]
pub struct Payments {
    repo: SharedRepository,
    provider: Arc<dyn PaymentProvider>,
    orders: OrdersClient,
    timing: Timing,
}

pub(crate) fn ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl Payments {
    /// Operations over `repo`, charging through `provider` and telling `orders`.
    pub fn new(
        repo: SharedRepository,
        provider: Arc<dyn PaymentProvider>,
        orders: OrdersClient,
        timing: Timing,
    ) -> Self {
        Payments {
            repo,
            provider,
            orders,
            timing,
        }
    }

    /// The store.
    pub fn repository(&self) -> &SharedRepository {
        &self.repo
    }

    /// How long things may take.
    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    /// How long the provider call of an attempt is owned by one request.
    fn lease(&self) -> i64 {
        ms(self.provider.call_deadline()) + 1000
    }

    /// `payOrder`: charges the order once per (buyer, idempotency key).
    pub async fn pay_order(
        &self,
        viewer: &Viewer,
        order_id: &str,
        payment_token: &str,
        idempotency_key: &str,
    ) -> ApiResult<Payment> {
        let claims = viewer.require_user()?;
        let key = IdempotencyKey::parse(idempotency_key)?;
        if order_id.trim().is_empty() {
            return Err(ApiError::BadUserInput("orderId must not be empty".into()));
        }
        if !self.provider.accepts_token(payment_token) {
            return Err(ApiError::BadUserInput(format!(
                "unknown payment token `{payment_token}`"
            )));
        }
        let record = IdempotencyRecord {
            id: key.scoped_to(&claims.sub),
            fingerprint: fingerprint(order_id, payment_token),
            payment_id: uuid::Uuid::now_v7().to_string(),
            created_at_ms: now_ms(),
        };
        let payment_id = match self.repo.record_idempotency_key(&record).await? {
            None => record.payment_id,
            Some(existing) if existing.fingerprint != record.fingerprint => {
                return Err(ApiError::Conflict(
                    "this idempotencyKey was already used with different arguments".into(),
                ));
            }
            Some(existing) => existing.payment_id,
        };
        self.drive(&payment_id, claims, order_id, payment_token)
            .await
    }

    /// Brings the payment behind a key to an answer: start it, take it over, or wait.
    async fn drive(
        &self,
        payment_id: &str,
        claims: &Claims,
        order_id: &str,
        token: &str,
    ) -> ApiResult<Payment> {
        let give_up = Instant::now() + self.timing.wait_for_duplicate;
        loop {
            match self.repo.find_payment(payment_id).await? {
                None => match self.start(payment_id, claims, order_id, token).await {
                    Ok(Some(started)) => {
                        return self
                            .detached(move |payments| async move { payments.charge(started).await })
                            .await;
                    }
                    Ok(None) => {}
                    Err(ApiError::InvalidState(reason)) => {
                        // The order may be paid (or paid and cancelled) by this very
                        // key's payment, stored by a duplicate since we looked: then
                        // that payment is the answer. Only when the key has no
                        // payment did the order move on without it.
                        if self.repo.find_payment(payment_id).await?.is_none() {
                            return Err(ApiError::InvalidState(reason));
                        }
                        continue;
                    }
                    Err(error) => return Err(error),
                },
                Some(payment) if payment.state.is_settled() => return Ok(payment),
                Some(payment) => {
                    if let Some(owned) = self.take_over(&payment).await? {
                        return self
                            .detached(move |payments| async move { payments.charge(owned).await })
                            .await;
                    }
                }
            }
            if Instant::now() >= give_up {
                return Err(ApiError::ServiceUnavailable(
                    "the payment is still being processed; retry with the same idempotencyKey"
                        .into(),
                ));
            }
            tokio::time::sleep(self.timing.poll_interval).await;
        }
    }

    /// Checks the order, claims its guard and records the payment as PROCESSING
    /// with the lease held; `None` when a duplicate request recorded it first.
    async fn start(
        &self,
        payment_id: &str,
        claims: &Claims,
        order_id: &str,
        token: &str,
    ) -> ApiResult<Option<Payment>> {
        let order = self
            .orders
            .order_for_payment(order_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("there is no order {order_id}")))?;
        if order.buyer_id != claims.sub {
            return Err(ApiError::Forbidden(
                "only the order's buyer may pay for it".into(),
            ));
        }
        match order.status {
            OrderStatus::PendingPayment => {}
            OrderStatus::Paid => {
                return Err(ApiError::InvalidState("the order is already paid".into()));
            }
            OrderStatus::Cancelled | OrderStatus::Unknown => {
                return Err(ApiError::InvalidState(
                    "the order was cancelled and cannot be paid".into(),
                ));
            }
        }
        self.claim_guard(order_id, payment_id).await?;
        let now = now_ms();
        let payment = Payment {
            id: payment_id.to_owned(),
            order_id: order.id,
            buyer_id: claims.sub.clone(),
            amount: order.total.amount,
            currency: order.total.currency,
            token: token.to_owned(),
            state: PaymentState::Processing,
            provider_reference: None,
            decline_reason: None,
            refund_reference: None,
            order_notified: false,
            attempt: 1,
            lease_until_ms: now + self.lease(),
            created_at_ms: now,
            updated_at_ms: now,
        };
        match self.repo.insert_payment(&payment).await {
            Ok(true) => Ok(Some(payment)),
            Ok(false) => Ok(None),
            Err(error) => {
                let _ = self.repo.release_order(order_id, payment_id).await;
                Err(error.into())
            }
        }
    }

    /// Makes `payment_id` the one payment in flight for the order.
    async fn claim_guard(&self, order_id: &str, payment_id: &str) -> ApiResult<()> {
        let in_progress = || ApiError::Conflict("a payment for this order is in progress".into());
        let mut expected = String::new();
        for _ in 0..3 {
            let (holder, since_ms) = match self
                .repo
                .claim_order(order_id, payment_id, &expected)
                .await?
            {
                GuardClaim::Claimed => return Ok(()),
                GuardClaim::HeldBy { holder, since_ms } => (holder, since_ms),
            };
            if !holder.is_empty() {
                match self.repo.find_payment(&holder).await? {
                    Some(other) if other.state.was_charged() => {
                        return Err(ApiError::InvalidState("the order is already paid".into()));
                    }
                    Some(other) if other.state == PaymentState::Processing => {
                        return Err(in_progress());
                    }
                    // A declined holder, or one that never got recorded and is stale: take over.
                    Some(_) => {}
                    None if since_ms < now_ms() - self.lease() => {}
                    None => return Err(in_progress()),
                }
            }
            expected = holder;
        }
        Err(in_progress())
    }

    /// Takes over a PROCESSING payment whose lease has ended.
    pub(crate) async fn take_over(&self, payment: &Payment) -> ApiResult<Option<Payment>> {
        let now = now_ms();
        let condition = Condition {
            lease_ended_before_ms: Some(now),
            ..Condition::state(PaymentState::Processing)
        };
        self.take_lease(&payment.id, &condition, None, now).await
    }

    /// Takes the lease of a payment where `condition` holds (moving it to
    /// `state`, if given) for the next attempt: the caller then owns its
    /// provider call until [`Self::lease`] runs out. `None` when the
    /// condition no longer holds.
    pub(crate) async fn take_lease(
        &self,
        payment_id: &str,
        condition: &Condition,
        state: Option<PaymentState>,
        now: i64,
    ) -> ApiResult<Option<Payment>> {
        let change = Change {
            state,
            lease_until_ms: Some(now + self.lease()),
            next_attempt: true,
            updated_at_ms: now,
            ..Change::default()
        };
        Ok(self
            .repo
            .update_payment(payment_id, condition, &change)
            .await?)
    }

    /// Calls the provider for a payment whose lease this request holds.
    pub(crate) async fn charge(&self, payment: Payment) -> ApiResult<Payment> {
        let request = ChargeRequest {
            idempotency_key: payment.id.clone(),
            amount: payment.amount,
            currency: payment.currency.clone(),
            token: payment.token.clone(),
        };
        let outcome = within(self.provider.call_deadline(), self.provider.charge(request)).await;
        let now = now_ms();
        let settle = |state, reference: Option<String>, reason: Option<String>| Change {
            state: Some(state),
            provider_reference: reference,
            decline_reason: reason,
            lease_until_ms: Some(0),
            updated_at_ms: now,
            ..Change::default()
        };
        match outcome {
            Ok(ChargeOutcome::Succeeded { reference }) => {
                let change = settle(PaymentState::Succeeded, Some(reference), None);
                let paid = self.settle(&payment, &change).await?;
                if paid.state == PaymentState::Succeeded && !paid.order_notified {
                    return self.notify_orders(paid).await;
                }
                Ok(paid)
            }
            Ok(ChargeOutcome::Declined { reason }) => {
                let change = settle(PaymentState::Declined, None, Some(reason));
                let declined = self.settle(&payment, &change).await?;
                self.repo
                    .release_order(&payment.order_id, &payment.id)
                    .await?;
                Ok(declined)
            }
            Err(ProviderError::Rejected(reason)) => {
                let change = settle(PaymentState::Declined, None, Some(reason.clone()));
                self.settle(&payment, &change).await?;
                self.repo
                    .release_order(&payment.order_id, &payment.id)
                    .await?;
                Err(ProviderError::Rejected(reason).into())
            }
            Err(error) => {
                tracing::warn!(payment = %payment.id, %error, "the charge's outcome is unknown; it stays PROCESSING");
                let condition = Condition {
                    attempt: Some(payment.attempt),
                    ..Condition::state(PaymentState::Processing)
                };
                let end_lease = Change {
                    lease_until_ms: Some(0),
                    updated_at_ms: now,
                    ..Change::default()
                };
                self.repo
                    .update_payment(&payment.id, &condition, &end_lease)
                    .await?;
                Err(error.into())
            }
        }
    }

    /// Records the provider's outcome; if another request recorded it first, that record.
    async fn settle(&self, payment: &Payment, change: &Change) -> ApiResult<Payment> {
        let condition = Condition::state(PaymentState::Processing);
        if let Some(settled) = self
            .repo
            .update_payment(&payment.id, &condition, change)
            .await?
        {
            return Ok(settled);
        }
        self.reload(&payment.id).await
    }

    async fn reload(&self, payment_id: &str) -> ApiResult<Payment> {
        self.repo
            .find_payment(payment_id)
            .await?
            .ok_or_else(|| ApiError::internal(format!("payment {payment_id} vanished")))
    }

    /// Tells orders a SUCCEEDED payment paid the order. If orders refuses
    /// (INVALID_STATE) the money goes back; if it is down, the sweeper retries.
    pub(crate) async fn notify_orders(&self, payment: Payment) -> ApiResult<Payment> {
        match self
            .orders
            .mark_order_paid(&payment.order_id, &payment.id)
            .await
        {
            Ok(()) => {
                let condition = Condition {
                    order_notified: Some(false),
                    ..Condition::state(PaymentState::Succeeded)
                };
                let change = Change {
                    order_notified: Some(true),
                    updated_at_ms: now_ms(),
                    ..Change::default()
                };
                match self
                    .repo
                    .update_payment(&payment.id, &condition, &change)
                    .await?
                {
                    Some(notified) => Ok(notified),
                    None => self.reload(&payment.id).await,
                }
            }
            Err(ApiError::InvalidState(reason)) => {
                tracing::warn!(payment = %payment.id, order = %payment.order_id, %reason, "orders refused the payment; refunding it");
                match self.refund(&payment.id).await {
                    Ok(refunded) => Ok(refunded),
                    Err(error) => {
                        tracing::warn!(payment = %payment.id, error = %error.message(), "refund not finished; the sweeper will retry");
                        Ok(self.reload(&payment.id).await.unwrap_or(payment))
                    }
                }
            }
            Err(error) => {
                tracing::warn!(payment = %payment.id, order = %payment.order_id, error = %error.message(), "cannot tell orders yet; the sweeper will retry");
                Ok(payment)
            }
        }
    }

    /// `refundOrderPayment`: refunds the order's charged payment (idempotent:
    /// a repeat after the refund answers at once); whether the order's money is
    /// (now or already) back. False when nothing was charged. While the
    /// refund's outcome is unknown it is SERVICE_UNAVAILABLE, and the refund
    /// goes on without the caller (see `refunds.rs`).
    pub async fn refund_order_payment(&self, order_id: &str) -> ApiResult<bool> {
        let payments = self
            .repo
            .payments_for_orders(&[order_id.to_owned()])
            .await?;
        let mut refunded = false;
        for payment in payments {
            match payment.state {
                PaymentState::Succeeded | PaymentState::Refunding => {
                    self.refund(&payment.id).await?;
                    refunded = true;
                }
                PaymentState::Refunded => refunded = true,
                PaymentState::Processing | PaymentState::Declined => {}
            }
        }
        Ok(refunded)
    }

    /// The payments with these ids (for the entity loader).
    pub async fn find_payments(&self, ids: &[String]) -> ApiResult<Vec<Payment>> {
        Ok(self.repo.find_payments(ids).await?)
    }
}

/// The payment that stands for an order: the latest charged (SUCCEEDED,
/// REFUNDING or REFUNDED) one, else the latest settled attempt; PROCESSING ones are skipped.
/// `payments` is oldest first.
pub fn order_payment(payments: &[Payment]) -> Option<&Payment> {
    payments
        .iter()
        .rev()
        .find(|p| p.state.was_charged())
        .or_else(|| payments.iter().rev().find(|p| p.state.is_settled()))
}

/// FORBIDDEN unless the caller is the payment's buyer or an ADMIN.
pub fn check_visible(viewer: &Viewer, payment: &Payment) -> ApiResult<()> {
    viewer.require_owner_or_admin(
        &payment.buyer_id,
        "only the order's buyer or an ADMIN may see its payment",
    )?;
    Ok(())
}
