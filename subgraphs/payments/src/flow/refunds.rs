//! Refunds, with the same discipline as charges: the intent is durable before
//! the provider is called, the provider call carries one idempotency key
//! ([`refund_key`]) however often it is repeated, and the call and its
//! recording run in a task of their own, so a caller that goes away (orders'
//! call timing out, a client disconnecting, the request being dropped) does not
//! abandon a refund half done.
//!
//! ```text
//! refund ─┬ REFUNDED                    → done (a repeat answers at once)
//!         ├ SUCCEEDED                   → CAS → REFUNDING (lease held) ──┐
//!         ├ REFUNDING, lease ended      → CAS take over (lease held) ────┤
//!         ├ REFUNDING, lease held       → wait for its owner, then       │
//!         │                               SERVICE_UNAVAILABLE (retry)    │
//!         └ PROCESSING / DECLINED       → nothing was charged: error     │
//!   ┌────────────────────────────────────────────────────────────────────┘
//!   └ spawned task: provider refund (key = refund-<payment id>) ─┬ ok      → CAS REFUNDING → REFUNDED
//!                                                                └ unknown → end the lease; stays REFUNDING
//! sweep: REFUNDING with its lease ended → take over → provider refund (same key) → REFUNDED
//! ```
//!
//! A REFUNDING payment is shown as SUCCEEDED: the money counts as taken until
//! the provider confirmed the refund. Nothing ever moves a REFUNDING payment
//! back to SUCCEEDED: once asked for, a refund is always carried through.

use std::future::Future;
use std::time::Instant;

use storefront_shared::{ApiError, ApiResult};

use super::Payments;
use crate::domain::{Payment, PaymentState, now_ms, refund_key};
use crate::provider::{ProviderError, RefundRequest, within};
use crate::store::{Change, Condition};

impl Payments {
    /// Runs `work` in a task of its own and waits for it. If the caller goes
    /// away (an HTTP handler is dropped when its client disconnects or times
    /// out), the task still finishes the work and records its outcome.
    pub(super) async fn detached<T, Fut>(&self, work: impl FnOnce(Payments) -> Fut) -> ApiResult<T>
    where
        Fut: Future<Output = ApiResult<T>> + Send + 'static,
        T: Send + 'static,
    {
        storefront_shared::error::detached("a payment task", work(self.clone())).await
    }

    /// Gives a charged payment's money back, once: records the intent
    /// (SUCCEEDED → REFUNDING) before the provider is asked, then asks it in a
    /// detached task. A payment another request is refunding right now is
    /// waited for. SERVICE_UNAVAILABLE while the outcome is unknown; the payment
    /// then stays REFUNDING and a retry (or the sweeper) finishes it.
    pub(super) async fn refund(&self, payment_id: &str) -> ApiResult<Payment> {
        let give_up = Instant::now() + self.timing.wait_for_duplicate;
        loop {
            let payment = self.reload(payment_id).await?;
            if payment.state == PaymentState::Refunded {
                return Ok(payment);
            }
            if !payment.state.was_charged() {
                return Err(ApiError::internal(format!(
                    "payment {payment_id} was not charged; there is nothing to refund"
                )));
            }
            if let Some(owned) = self.claim_refund(&payment).await? {
                return self
                    .detached(move |payments| async move { payments.call_refund(owned).await })
                    .await;
            }
            if Instant::now() >= give_up {
                return Err(ApiError::ServiceUnavailable(
                    "the refund is still being processed; try again shortly".into(),
                ));
            }
            tokio::time::sleep(self.timing.poll_interval).await;
        }
    }

    /// Takes the refund's lease: SUCCEEDED → REFUNDING (the durable intent), or
    /// a REFUNDING payment whose lease has ended. `None` when someone else holds
    /// it or the payment moved on.
    pub(crate) async fn claim_refund(&self, payment: &Payment) -> ApiResult<Option<Payment>> {
        let now = now_ms();
        let condition = match payment.state {
            PaymentState::Succeeded => Condition::state(PaymentState::Succeeded),
            PaymentState::Refunding => Condition {
                lease_ended_before_ms: Some(now),
                ..Condition::state(PaymentState::Refunding)
            },
            PaymentState::Processing | PaymentState::Declined | PaymentState::Refunded => {
                return Ok(None);
            }
        };
        self.take_lease(&payment.id, &condition, Some(PaymentState::Refunding), now)
            .await
    }

    /// Asks the provider to refund a REFUNDING payment whose lease this caller
    /// holds, and records the answer: REFUNDED, or (outcome unknown) the lease
    /// ended so that the next attempt may take over with the same key.
    pub(crate) async fn call_refund(&self, payment: Payment) -> ApiResult<Payment> {
        let charge_reference = payment.provider_reference.clone().ok_or_else(|| {
            ApiError::internal(format!("payment {} has no charge reference", payment.id))
        })?;
        let request = RefundRequest {
            idempotency_key: refund_key(&payment.id),
            charge_reference,
            amount: payment.amount,
            currency: payment.currency.clone(),
        };
        match within(self.provider.call_deadline(), self.provider.refund(request)).await {
            Ok(outcome) => {
                let change = Change {
                    state: Some(PaymentState::Refunded),
                    refund_reference: Some(outcome.reference),
                    order_notified: Some(true),
                    lease_until_ms: Some(0),
                    updated_at_ms: now_ms(),
                    ..Change::default()
                };
                let condition = Condition::state(PaymentState::Refunding);
                match self
                    .repo
                    .update_payment(&payment.id, &condition, &change)
                    .await?
                {
                    Some(refunded) => {
                        tracing::info!(payment = %payment.id, order = %payment.order_id, "payment refunded");
                        Ok(refunded)
                    }
                    None => self.reload(&payment.id).await,
                }
            }
            Err(error) => {
                if matches!(error, ProviderError::Rejected(_)) {
                    // A definite refusal: the money is not back, and asking again
                    // will not change that. It stays REFUNDING (shown as SUCCEEDED,
                    // its order stays PAID) for someone to look at; the sweeper
                    // keeps asking with the same key.
                    tracing::error!(payment = %payment.id, %error, "the provider refused a refund; it stays REFUNDING");
                } else {
                    tracing::warn!(payment = %payment.id, %error, "the refund's outcome is unknown; it stays REFUNDING");
                }
                let condition = Condition {
                    attempt: Some(payment.attempt),
                    ..Condition::state(PaymentState::Refunding)
                };
                let end_lease = Change {
                    lease_until_ms: Some(0),
                    updated_at_ms: now_ms(),
                    ..Change::default()
                };
                self.repo
                    .update_payment(&payment.id, &condition, &end_lease)
                    .await?;
                Err(error.into())
            }
        }
    }
}
